-- title: ID syncs between companies
-- description: Pairs of companies where an identifier of the first (a cookie or ID value) was seen going to the
--   second: in a URL, a redirect, a body or a header. That is how ad-tech companies match their profiles of the
--   same person. Counted over sites (web) and apps.
SELECT coalesce(s.from_entity, s.from_site) AS from_company,
       coalesce(s.to_entity, s.to_site) AS to_company,
       count(*) AS syncs,
       count(DISTINCT v.site) AS sites,
       count(DISTINCT f.app) AS apps,
       group_concat(DISTINCT s.location) AS carried_in,
       group_concat(DISTINCT s.identifier_name) AS identifiers,
       group_concat(DISTINCT s.parameter) AS parameters,
       min(s.id) AS id_sync_id
FROM id_syncs AS s
LEFT JOIN visits AS v ON v.id = s.visit_id
LEFT JOIN flows AS f ON f.id = s.flow_id
GROUP BY from_company, to_company
ORDER BY sites + apps DESC, syncs DESC, from_company, to_company
