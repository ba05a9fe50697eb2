-- title_fr: Le signal Global Privacy Control ignoré
-- description_fr: Les sites visités avec Global Privacy Control activé (l'en-tête Sec-GPC: 1 et
--   navigator.globalPrivacyControl) qui ont quand même contacté des entreprises publicitaires ou déposé des cookies
--   identifiants de traceurs. gpc_statement est ce que dit le fichier /.well-known/gpc.json du site ; findings compte
--   les constats GPC des règles.
-- title: Global Privacy Control ignored
-- description: Sites visited with Global Privacy Control on (the Sec-GPC: 1 header and
--   navigator.globalPrivacyControl) that still contacted advertising companies or set identifier cookies of
--   trackers. gpc_statement is what the site's /.well-known/gpc.json says; findings counts the GPC findings of
--   the rules.
-- links: site = site
WITH ads AS (
    -- Requests always belong to a visit: CROSS JOIN makes SQLite start from the GPC visits.
    SELECT v.site, count(DISTINCT r.tracker_entity) AS companies, count(*) AS requests,
           group_concat(DISTINCT r.tracker_entity) AS names
    FROM visits AS v
    CROSS JOIN requests AS r ON r.visit_id = v.id
    WHERE v.phase = 'gpc' AND v.status = 'ok' AND r.tracker_category = 'advertising' AND r.third_party = 1
    GROUP BY v.site
),
cookies_set AS (
    SELECT v.site, count(*) AS cookies
    FROM visits AS v
    JOIN cookies AS c ON c.visit_id = v.id
    WHERE v.phase = 'gpc' AND v.status = 'ok'
      AND c.identifier = 1 AND (c.tracker_entity IS NOT NULL OR c.third_party = 1)
    GROUP BY v.site
),
statements AS (
    SELECT v.site, max(c.raw) AS gpc_statement
    FROM visits AS v
    CROSS JOIN consent AS c ON c.visit_id = v.id
    WHERE v.phase = 'gpc' AND c.framework = 'gpc' AND c.source = 'well-known'
    GROUP BY v.site
),
gpc_findings AS (
    SELECT subject AS site, count(*) AS findings FROM findings WHERE rule_id LIKE '%gpc%' GROUP BY subject
),
sites AS (
    SELECT site, min(id) AS visit_id FROM visits WHERE phase = 'gpc' AND status = 'ok' GROUP BY site
)
SELECT s.site,
       st.gpc_statement,
       coalesce(a.companies, 0) AS advertising_companies,
       coalesce(a.requests, 0) AS advertising_requests,
       a.names AS companies,
       coalesce(k.cookies, 0) AS tracking_cookies,
       coalesce(f.findings, 0) AS findings,
       s.visit_id
FROM sites AS s
LEFT JOIN statements AS st ON st.site = s.site
LEFT JOIN ads AS a ON a.site = s.site
LEFT JOIN cookies_set AS k ON k.site = s.site
LEFT JOIN gpc_findings AS f ON f.site = s.site
WHERE a.companies > 0 OR k.cookies > 0 OR f.findings > 0
ORDER BY advertising_companies DESC, tracking_cookies DESC, s.site
