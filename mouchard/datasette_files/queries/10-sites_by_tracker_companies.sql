-- title: Sites ranked by tracker companies
-- description: Every site visited, ranked by how many distinct tracker companies its pages contacted (third-party
--   requests that the tracker lists attribute to a company). Choose a consent phase (initial = before any click,
--   reject, accept, gpc) or leave it empty for all phases. Sites that contacted none are listed last; visits that
--   failed and recorded nothing are left out.
-- chart: site tracker_companies
WITH pairs AS (
    SELECT r.visit_id, r.tracker_entity, count(*) AS requests
    FROM requests AS r
    WHERE r.tracker_entity IS NOT NULL AND r.third_party = 1
    GROUP BY r.visit_id, r.tracker_entity
)
SELECT v.site,
       count(DISTINCT p.tracker_entity) AS tracker_companies,
       coalesce(sum(p.requests), 0) AS tracker_requests,
       count(DISTINCT v.id) AS visits,
       group_concat(DISTINCT v.phase) AS phases,
       group_concat(DISTINCT p.tracker_entity) AS companies
FROM visits AS v
LEFT JOIN pairs AS p ON p.visit_id = v.id
WHERE v.site IS NOT NULL AND (v.status = 'ok' OR p.visit_id IS NOT NULL) AND (:phase = '' OR v.phase = :phase)
GROUP BY v.site
ORDER BY tracker_companies DESC, tracker_requests DESC, v.site
