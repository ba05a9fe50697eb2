-- title_fr: Les courtiers en données par État
-- description_fr: Où les courtiers en données inscrits disent se trouver, par État ou région de leur adresse, avec
--   combien d'entre eux déclarent collecter des données de mineurs, une géolocalisation précise ou des données de
--   santé reproductive. (Les registres donnent des adresses postales, pas des coordonnées : mouchard ne les géocode
--   pas, c'est donc un classement plutôt qu'une carte.)
-- title: Data brokers by state
-- description: Where registered data brokers say they are, by state or region of their address, with how many
--   declare collecting minors' data, precise geolocation or reproductive health data. (Registries give street
--   addresses, not coordinates: mouchard does not geocode them, so this is a ranking rather than a map.)
-- chart: state brokers
WITH latest AS (
    SELECT registry, key, max(year) AS year FROM brokers GROUP BY registry, key
)
SELECT coalesce(nullif(trim(b.state), ''), '(unknown)') AS state,
       count(DISTINCT b.key) AS brokers,
       count(DISTINCT CASE WHEN b.minors = 'yes' THEN b.key END) AS minors,
       count(DISTINCT CASE WHEN b.precise_geolocation = 'yes' THEN b.key END) AS precise_geolocation,
       count(DISTINCT CASE WHEN b.reproductive_health = 'yes' THEN b.key END) AS reproductive_health
FROM brokers AS b
JOIN latest AS l ON l.registry = b.registry AND l.key = b.key AND l.year = b.year
GROUP BY coalesce(nullif(trim(b.state), ''), '(unknown)')
ORDER BY brokers DESC, state
