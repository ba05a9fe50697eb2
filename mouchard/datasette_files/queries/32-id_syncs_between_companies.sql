-- title_fr: Les synchronisations d'identifiants entre entreprises
-- description_fr: Les paires d'entreprises où un identifiant de la première (un cookie ou une valeur d'identifiant) a
--   été vu partir vers la seconde : dans une URL, une redirection, un corps de requête ou un en-tête. C'est ainsi que
--   les entreprises de la publicité en ligne rapprochent leurs profils d'une même personne. Compté sur les sites
--   (web) et les applications.
-- title: ID syncs between companies
-- description: Pairs of companies where an identifier of the first (a cookie or ID value) was seen going to the
--   second: in a URL, a redirect, a body or a header. That is how ad-tech companies match their profiles of the
--   same person. Counted over sites (web) and apps.
-- links: from_company = company(from_entity), to_company = company(to_entity)
SELECT coalesce(s.from_entity, s.from_site) AS from_company,
       coalesce(s.to_entity, s.to_site) AS to_company,
       count(*) AS syncs,
       count(DISTINCT v.site) AS sites,
       count(DISTINCT f.app) AS apps,
       group_concat(DISTINCT s.location) AS carried_in,
       group_concat(DISTINCT s.identifier_name) AS identifiers,
       group_concat(DISTINCT s.parameter) AS parameters,
       min(s.id) AS id_sync_id,
       -- The keys of the company pages: empty when only the site is known (from_company is then a domain).
       max(s.from_entity) AS from_entity,
       max(s.to_entity) AS to_entity
FROM id_syncs AS s
LEFT JOIN visits AS v ON v.id = s.visit_id
LEFT JOIN flows AS f ON f.id = s.flow_id
GROUP BY from_company, to_company
ORDER BY sites + apps DESC, syncs DESC, from_company, to_company
