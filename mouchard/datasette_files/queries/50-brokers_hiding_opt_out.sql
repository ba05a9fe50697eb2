-- title_fr: Les courtiers en données qui cachent leur page de désinscription aux moteurs de recherche
-- description_fr: Les pages où l'on se désinscrit, fait effacer ou consulte ses données, que le courtier soustrait
--   aux moteurs de recherche : une balise meta robots (dans le HTML servi ou rendu), un en-tête X-Robots-Tag, ou
--   robots.txt. hidden_reasons dit lequel. Choisissez un registre (ca = Californie, vt = Vermont, tx = Texas, or =
--   Oregon) ou laissez vide.
-- title: Data brokers hiding their opt-out page from search engines
-- description: Pages where consumers opt out, delete or access their data, that the broker keeps out of search
--   engines: a robots meta tag (in the served or the rendered HTML), an X-Robots-Tag header, or robots.txt.
--   hidden_reasons says which. Choose a registry (ca, vt, tx, or) or leave it empty.
-- choices: registry = SELECT DISTINCT registry FROM brokers WHERE registry IS NOT NULL ORDER BY registry LIMIT 20
-- links: broker = broker(broker_key)
SELECT b.name AS broker,
       b.registry,
       b.year,
       b.site,
       p.kind,
       p.url,
       p.hidden_reasons,
       p.meta_noindex_raw,
       p.meta_noindex_rendered,
       p.x_robots_tag,
       p.robots_txt,
       p.hosted_by,
       p.fetched_at,
       b.key AS broker_key,
       p.broker_id,
       p.id AS broker_page_id
FROM broker_pages AS p
JOIN brokers AS b ON b.id = p.broker_id
WHERE p.hidden = 1
  AND p.kind IN ('opt-out', 'deletion', 'access', 'rights')
  AND (:registry = '' OR b.registry = :registry)
ORDER BY b.name, p.kind
