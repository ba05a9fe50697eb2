-- title_fr: Les sites classés par nombre d'entreprises de pistage
-- description_fr: Chaque site visité, classé selon le nombre d'entreprises de pistage distinctes que ses pages ont
--   contactées (requêtes vers des tiers que les listes de traceurs attribuent à une entreprise). Choisissez une phase
--   de consentement (initial = avant tout clic, reject = après « tout refuser », accept = après « tout accepter »,
--   gpc = avec le signal Global Privacy Control) ou laissez vide pour toutes. Les sites qui n'en ont contacté aucune
--   sont en fin de liste ; les visites échouées qui n'ont rien enregistré sont écartées.
-- title: Sites ranked by tracker companies
-- description: Every site visited, ranked by how many distinct tracker companies its pages contacted (third-party
--   requests that the tracker lists attribute to a company). Choose a consent phase (initial = before any click,
--   reject, accept, gpc) or leave it empty for all phases. Sites that contacted none are listed last; visits that
--   failed and recorded nothing are left out.
-- chart: site tracker_companies
-- choices: phase = SELECT j.value FROM json_each('["initial", "reject", "accept", "gpc"]') AS j
--   WHERE EXISTS (SELECT 1 FROM visits WHERE phase = j.value) LIMIT 4
-- links: site = site
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
