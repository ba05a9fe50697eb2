-- title_fr: Les applications classées par fuites
-- description_fr: Les applications dont le trafic a emporté les identifiants du téléphone de test, sa position ou des
--   valeurs personnelles, classées selon le nombre de types de valeurs qui ont fuité et le nombre de tiers
--   destinataires. Une ligne de fuite dit quelle valeur, sous quel encodage, est partie où ; la valeur elle-même
--   n'est jamais enregistrée.
-- title: Apps ranked by leaks
-- description: Apps whose traffic carried the test phone's identifiers, location or personal values, ranked by how
--   many kinds of value leaked and to how many third parties. A leak row says which value, in which encoding, went
--   where; the raw value is never stored.
-- chart: app leaks
-- links: app = app
SELECT coalesce(f.app, '(unattributed)') AS app,
       count(*) AS leaks,
       count(DISTINCT l.identifier) AS kinds,
       group_concat(DISTINCT l.identifier) AS identifiers,
       count(DISTINCT l.destination_site) AS destinations,
       count(DISTINCT CASE WHEN l.third_party = 1 THEN l.destination_site END) AS third_party_destinations,
       group_concat(DISTINCT l.tracker_entity) AS companies
FROM leaks AS l
JOIN flows AS f ON f.id = l.flow_id
GROUP BY coalesce(f.app, '(unattributed)')
ORDER BY kinds DESC, third_party_destinations DESC, leaks DESC, app
