-- title_fr: Ce que les vendeurs publicitaires déclarent et ce qu'ils font
-- description_fr: Pour chaque site, phase de consentement et vendeur de la liste des vendeurs de l'IAB (GVL, TCF) :
--   ce que le vendeur déclare (finalités par consentement et par intérêt légitime, durée de ses cookies, domaines de
--   sa déclaration de stockage) à côté de ce qu'il a fait (cookies et domaines non déclarés, cookies gardés plus
--   longtemps que déclaré, finalités sans base légale dans la chaîne TC en vigueur, intérêt légitime interdit,
--   position précise sans accord, vendeur absent de la liste du bandeau ou supprimé du GVL), avec le verdict et les
--   lignes qui le prouvent. Les pires verdicts d'abord. Choisissez un site et une phase, ou laissez vide pour tous
--   (sans site choisi : les 1 000 premières lignes dans l'ordre des sites).
--   Vide si aucune version du GVL n'a été récupérée (mouchard vendors fetch, puis mouchard classify).
-- title: What ad-tech vendors declare and what they do
-- description: For each site, consent phase and vendor of the IAB's Global Vendor List (GVL, TCF): what the vendor
--   declares (purposes by consent and by legitimate interest, its cookies' lifetime, the domains of its storage
--   disclosure) next to what it did (undisclosed cookies and domains, cookies kept longer than declared, purposes
--   without a legal basis in the TC string in force, forbidden legitimate interest, precise location without
--   opt-in, a vendor missing from the CMP's list or deleted from the GVL), with the verdict and the rows that prove
--   it. Worst verdicts first. Choose a site and a phase, or leave them empty for all (with no site chosen: the first
--   1,000 rows in site order). Empty when no GVL version was fetched (mouchard vendors fetch, then mouchard
--   classify).
-- choices: site = SELECT DISTINCT site FROM vendor_conduct WHERE site IS NOT NULL ORDER BY site LIMIT 500
-- choices: phase = SELECT j.value FROM json_each('["initial", "reject", "accept", "gpc", "revoke", "second-site"]')
--   AS j WHERE EXISTS (SELECT 1 FROM visits WHERE phase = j.value) LIMIT 6
-- links: site = site
-- The rows come from vendor_conduct's (crawl_id, site, phase, vendor_id) and site indexes: `site` between two bounds
-- that are the site itself, or everything when it is empty, keeps the index (an "OR :site = ''" would scan). The
-- purposes are named from TCF policy (2.2); JSON columns are read only when valid, so a broken row shows empty.
WITH purpose(id, name) AS (
    VALUES (1, 'store information on a device'), (2, 'advertising on limited data'),
           (3, 'personalised advertising profiles'), (4, 'personalised advertising'),
           (5, 'personalised content profiles'), (6, 'personalised content'),
           (7, 'advertising performance measurement'), (8, 'content performance measurement'),
           (9, 'audience research'), (10, 'develop and improve services'), (11, 'content on limited data')
),
picked AS (
    SELECT vc.*,
           (SELECT vd.id FROM vendor_lists AS vl JOIN vendors AS vd
                   ON vd.vendor_list_id = vl.id AND vd.vendor_id = vc.vendor_id
            WHERE vl.version = vc.vendor_list_version ORDER BY vl.id DESC LIMIT 1) AS declared_id
    FROM vendor_conduct AS vc
    WHERE vc.site BETWEEN (CASE WHEN :site = '' THEN '' ELSE :site END)
                      AND (CASE WHEN :site = '' THEN char(1114111) ELSE :site END)
      AND (:phase = '' OR vc.phase = :phase)
    ORDER BY vc.site
    LIMIT 1000
)
SELECT p.site,
       p.crawl_id,
       p.phase,
       p.vendor_id,
       p.vendor_name AS vendor,
       CASE p.verdict WHEN 'as-declared' THEN 'did only what it declares'
                      WHEN 'beyond-declared' THEN 'did more than it declares'
                      WHEN 'without-basis' THEN 'received data without a legal basis'
                      WHEN 'not-comparable' THEN 'nothing to compare: no storage disclosure'
                      ELSE p.verdict END AS verdict,
       (SELECT group_concat(j.value, ', ') FROM json_each(CASE WHEN json_valid(p.matched_by)
            AND json_type(p.matched_by) = 'array' THEN p.matched_by ELSE '[]' END) AS j
        WHERE j.type = 'text') AS recognised_by,
       CASE WHEN p.consent = 1 THEN 'consent' WHEN p.legitimate_interest = 1 THEN 'legitimate interest'
            WHEN p.consent IS NULL AND p.legitimate_interest IS NULL THEN 'no TC string' ELSE 'none' END
           AS basis_in_force,
       p.requests,
       p.cookies,
       (SELECT group_concat(coalesce(pu.name, 'purpose ' || j.value) || ' (' || j.value || ')', ', ')
        FROM json_each(CASE WHEN json_valid(vd.purposes) AND json_type(vd.purposes) = 'array'
                            THEN vd.purposes ELSE '[]' END) AS j LEFT JOIN purpose AS pu ON pu.id = j.value
        WHERE j.type = 'integer')
           AS declared_purposes_by_consent,
       (SELECT group_concat(coalesce(pu.name, 'purpose ' || j.value) || ' (' || j.value || ')', ', ')
        FROM json_each(CASE WHEN json_valid(vd.leg_int_purposes) AND json_type(vd.leg_int_purposes) = 'array'
                            THEN vd.leg_int_purposes ELSE '[]' END) AS j LEFT JOIN purpose AS pu ON pu.id = j.value
        WHERE j.type = 'integer')
           AS declared_purposes_by_legitimate_interest,
       round(vd.cookie_max_age_seconds / 86400.0, 1) AS declared_cookie_days,
       (SELECT group_concat(j.value, ', ') FROM json_each(CASE WHEN json_valid(p.undisclosed_cookies)
            AND json_type(p.undisclosed_cookies) = 'array' THEN p.undisclosed_cookies ELSE '[]' END) AS j
        WHERE j.type = 'text')
           AS undisclosed_cookies,
       (SELECT group_concat(j.value, ', ') FROM json_each(CASE WHEN json_valid(p.undisclosed_storage)
            AND json_type(p.undisclosed_storage) = 'array' THEN p.undisclosed_storage ELSE '[]' END) AS j
        WHERE j.type = 'text')
           AS undisclosed_storage,
       (SELECT group_concat(json_extract(j.value, '$.name') || ': ' || round(json_extract(j.value, '$.days'))
                            || ' days, declared ' || coalesce(round(nullif(json_extract(j.value, '$.declared_days'),
                                                                           0)), 'session'), '; ')
        FROM json_each(CASE WHEN json_valid(p.longer_cookies) AND json_type(p.longer_cookies) = 'array'
                            THEN p.longer_cookies ELSE '[]' END) AS j WHERE j.type = 'object')
           AS longer_cookies,
       (SELECT group_concat(j.value, ', ') FROM json_each(CASE WHEN json_valid(p.undisclosed_domains)
            AND json_type(p.undisclosed_domains) = 'array' THEN p.undisclosed_domains ELSE '[]' END) AS j
        WHERE j.type = 'text')
           AS undisclosed_domains,
       (SELECT group_concat(coalesce(pu.name, 'purpose ' || j.value) || ' (' || j.value || ')', ', ')
        FROM json_each(CASE WHEN json_valid(p.purposes_without_basis) AND json_type(p.purposes_without_basis) = 'array'
                            THEN p.purposes_without_basis ELSE '[]' END) AS j LEFT JOIN purpose AS pu ON pu.id = j.value
        WHERE j.type = 'integer')
           AS purposes_without_basis,
       (SELECT group_concat(coalesce(pu.name, 'purpose ' || j.value) || ' (' || j.value || ')', ', ')
        FROM json_each(CASE WHEN json_valid(p.forbidden_legitimate_interest)
                                 AND json_type(p.forbidden_legitimate_interest) = 'array'
                            THEN p.forbidden_legitimate_interest ELSE '[]' END) AS j
             LEFT JOIN purpose AS pu ON pu.id = j.value
        WHERE j.type = 'integer')
           AS forbidden_legitimate_interest,
       p.precise_geo_without_opt_in AS precise_location_bids_without_opt_in,
       CASE p.not_in_cmp_list WHEN 1 THEN 'yes' WHEN 0 THEN 'no' END AS not_in_cmp_list,
       CASE p.deleted WHEN 1 THEN 'yes' WHEN 0 THEN 'no' END AS deleted_from_gvl,
       p.vendor_list_version AS gvl_version,
       p.evidence,
       p.id AS vendor_conduct_id,
       p.declared_id AS vendors_id
FROM picked AS p
LEFT JOIN vendors AS vd ON vd.id = p.declared_id
ORDER BY CASE p.verdict WHEN 'without-basis' THEN 0 WHEN 'beyond-declared' THEN 1 WHEN 'not-comparable' THEN 2
                        ELSE 3 END,
         p.site, p.crawl_id DESC,
         CASE p.phase WHEN 'initial' THEN 0 WHEN 'reject' THEN 1 WHEN 'accept' THEN 2 WHEN 'gpc' THEN 3
                      WHEN 'revoke' THEN 4 WHEN 'second-site' THEN 5 ELSE 6 END,
         p.vendor_id
