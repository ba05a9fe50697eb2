-- title_fr: Les courtiers selon les données déclarées : mineurs, géolocalisation précise, santé reproductive
-- description_fr: Les courtiers en données dont l'inscription la plus récente déclare collecter des données de
--   mineurs, une géolocalisation précise ou des données de santé reproductive, et si leur page de désinscription est
--   cachée aux moteurs de recherche. Choisissez un type de données (minors = mineurs, precise_geolocation =
--   géolocalisation précise, reproductive_health = santé reproductive) ou laissez vide pour n'importe lequel.
-- title: Brokers by declared data: minors, precise geolocation, reproductive health
-- description: Data brokers whose latest registration declares collecting minors' data, precise geolocation or
--   reproductive health data, with whether their opt-out page is hidden from search engines. Choose one kind of
--   data (minors, precise_geolocation, reproductive_health) or leave it empty for any of them.
-- choices: data = SELECT 'minors' WHERE EXISTS (SELECT 1 FROM brokers WHERE minors = 'yes')
--   UNION ALL SELECT 'precise_geolocation' WHERE EXISTS (SELECT 1 FROM brokers WHERE precise_geolocation = 'yes')
--   UNION ALL SELECT 'reproductive_health' WHERE EXISTS (SELECT 1 FROM brokers WHERE reproductive_health = 'yes')
--   LIMIT 3
-- links: broker = broker(broker_key)
WITH latest AS (
    SELECT registry, key, max(year) AS year FROM brokers GROUP BY registry, key
)
SELECT b.name AS broker,
       b.registry,
       b.year,
       b.site,
       b.minors,
       b.precise_geolocation,
       b.reproductive_health,
       b.fcra,
       b.glba,
       b.rights_url,
       (SELECT max(p.hidden) FROM broker_pages AS p WHERE p.broker_id = b.id) AS opt_out_hidden,
       b.key AS broker_key,
       b.id AS broker_id
FROM brokers AS b
JOIN latest AS l ON l.registry = b.registry AND l.key = b.key AND l.year = b.year
WHERE (b.minors = 'yes' OR b.precise_geolocation = 'yes' OR b.reproductive_health = 'yes')
  AND (:data = ''
       OR (:data = 'minors' AND b.minors = 'yes')
       OR (:data = 'precise_geolocation' AND b.precise_geolocation = 'yes')
       OR (:data = 'reproductive_health' AND b.reproductive_health = 'yes'))
ORDER BY (b.minors = 'yes') + (b.precise_geolocation = 'yes') + (b.reproductive_health = 'yes') DESC, broker
