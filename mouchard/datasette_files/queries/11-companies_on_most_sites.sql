-- title_fr: Les entreprises présentes sur le plus de sites
-- description_fr: Les entreprises de pistage classées selon le nombre de sites dont les pages les ont contactées,
--   avec combien de ces sites l'ont fait avant tout consentement (phase initial) et après « tout refuser », et la
--   catégorie de l'entreprise dans les listes de traceurs. Filtrez par catégorie (advertising = publicité, analytics
--   = mesure d'audience, social, session-replay = enregistrement de session...) ou laissez vide.
-- title: Companies on the most sites
-- description: Tracker companies ranked by the number of sites whose pages contacted them, with how many of those
--   sites did so before any consent (initial phase) and after "reject", and the company's category in the tracker
--   lists. Filter by category (advertising, analytics, social, session-replay...) or leave it empty.
-- chart: company sites
-- choices: category = WITH RECURSIVE present(category) AS (
--   SELECT min(tracker_category) FROM requests
--   UNION ALL
--   SELECT (SELECT min(tracker_category) FROM requests WHERE tracker_category > present.category)
--   FROM present WHERE present.category IS NOT NULL
--   ) SELECT category FROM present WHERE category IS NOT NULL LIMIT 50
-- links: company = company
WITH pairs AS (
    SELECT r.visit_id, r.tracker_entity, count(*) AS requests
    FROM requests AS r
    WHERE r.tracker_entity IS NOT NULL AND r.third_party = 1
      AND (:category = '' OR r.tracker_category = :category)
    GROUP BY r.visit_id, r.tracker_entity
),
companies AS (
    SELECT p.tracker_entity AS company,
           count(DISTINCT v.site) AS sites,
           count(DISTINCT CASE WHEN v.phase = 'initial' THEN v.site END) AS sites_before_consent,
           count(DISTINCT CASE WHEN v.phase = 'reject' THEN v.site END) AS sites_after_reject,
           sum(p.requests) AS requests
    FROM pairs AS p
    JOIN visits AS v ON v.id = p.visit_id
    GROUP BY p.tracker_entity
)
SELECT c.company,
       -- One lookup per company (by index), rather than carrying the category through every request.
       (SELECT r.tracker_category FROM requests AS r
        WHERE r.tracker_entity = c.company AND r.tracker_category IS NOT NULL LIMIT 1) AS category,
       c.sites, c.sites_before_consent, c.sites_after_reject, c.requests
FROM companies AS c
ORDER BY c.sites DESC, c.requests DESC, c.company
