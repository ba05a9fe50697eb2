-- title_fr: Les sites qui continuent de pister après « tout refuser »
-- description_fr: Les visites de la phase reject (mouchard a cliqué « tout refuser ») qui ont encore contacté des
--   entreprises de pistage après le clic, ou encore déposé des cookies identifiants après lui. reject_verified = 1
--   signifie que mouchard a vérifié que l'état du consentement était bien devenu un refus. Quand l'heure du clic est
--   inconnue, toutes les requêtes de pistage de la visite comptent.
-- title: Sites that keep tracking after "reject"
-- description: Visits in the reject phase (mouchard clicked "reject all") that still contacted tracker companies
--   after the click, or still set identifier cookies after it. reject_verified = 1 means mouchard checked that the
--   consent state really changed to a refusal. When the click time is unknown, every tracker request of the visit
--   counts.
-- links: site = site
WITH clicks AS MATERIALIZED (
    SELECT visit_id, min(time_ms) AS reject_ms, max(verified) AS verified
    FROM consent
    WHERE action = 'reject'
    GROUP BY visit_id
),
trackers AS (
    -- Requests always belong to a visit: CROSS JOIN makes SQLite start from the reject visits.
    SELECT v.site, r.tracker_entity, count(*) AS requests
    FROM visits AS v
    LEFT JOIN clicks AS k ON k.visit_id = v.id
    CROSS JOIN requests AS r ON r.visit_id = v.id
    WHERE v.phase = 'reject' AND v.status = 'ok'
      AND r.tracker_entity IS NOT NULL AND r.third_party = 1 AND coalesce(r.time_ms, 0) >= coalesce(k.reject_ms, 0)
    GROUP BY v.site, r.tracker_entity
),
tracker_sites AS (
    SELECT site, count(*) AS companies, sum(requests) AS requests, group_concat(tracker_entity) AS names
    FROM trackers
    GROUP BY site
),
cookies_after AS (
    SELECT v.site, count(*) AS cookies, group_concat(DISTINCT ck.name) AS names
    FROM visits AS v
    JOIN cookies AS ck ON ck.visit_id = v.id
    WHERE v.phase = 'reject' AND v.status = 'ok'
      AND ck.identifier = 1 AND ck.before_consent = 0 AND (ck.tracker_entity IS NOT NULL OR ck.third_party = 1)
    GROUP BY v.site
),
sites AS (
    SELECT v.site, max(k.verified) AS reject_verified, min(v.id) AS visit_id
    FROM visits AS v
    LEFT JOIN clicks AS k ON k.visit_id = v.id
    WHERE v.phase = 'reject' AND v.status = 'ok'
    GROUP BY v.site
)
SELECT s.site,
       s.reject_verified,
       coalesce(t.companies, 0) AS tracker_companies,
       coalesce(t.requests, 0) AS tracker_requests,
       t.names AS companies,
       coalesce(k.cookies, 0) AS tracking_cookies,
       k.names AS cookie_names,
       s.visit_id
FROM sites AS s
LEFT JOIN tracker_sites AS t ON t.site = s.site
LEFT JOIN cookies_after AS k ON k.site = s.site
WHERE t.companies > 0 OR k.cookies > 0
ORDER BY s.reject_verified DESC, tracker_companies DESC, tracking_cookies DESC, s.site
