-- title_fr: Qui reçoit la position du téléphone ou son identifiant publicitaire
-- description_fr: Les destinataires qui ont reçu la position du téléphone ou l'un de ses identifiants d'appareil
--   (identifiant publicitaire, IDFV, Android ID, IMEI, numéro de série, adresses MAC...), de quelles applications,
--   combien de fois, sous quels encodages, et pour les positions la meilleure précision vue. Choisissez un type
--   d'identifiant (location = position, advertising_id...) ou laissez vide. Les lignes de position portent la
--   position du téléphone arrondie à 2 décimales, affichée sur une carte.
-- title: Who receives a phone's location or advertising id
-- description: Destinations that received the phone's location or one of its device identifiers (advertising id,
--   IDFV, Android id, IMEI, serial, MAC addresses...), from which apps, how often, in which encodings, and for
--   locations the best precision seen. Choose an identifier kind (location, advertising_id, ...) or leave it empty.
--   Rows with a location carry the phone's position rounded to 2 decimals, shown on a map.
-- choices: identifier = SELECT j.value FROM json_each('["location", "advertising_id", "idfa", "idfv", "android_id",
--   "imei", "serial", "imsi", "wifi_mac", "bluetooth_mac"]') AS j
--   WHERE EXISTS (SELECT 1 FROM leaks WHERE identifier = j.value) LIMIT 10
-- links: company = company
SELECT l.destination_site,
       l.tracker_entity AS company,
       l.identifier,
       count(DISTINCT f.app) AS apps,
       group_concat(DISTINCT f.app) AS app_names,
       count(*) AS leaks,
       group_concat(DISTINCT l.chain) AS encodings,
       min(l.precision_m) AS best_precision_metres,
       round(avg(l.lat), 2) AS lat,
       round(avg(l.lon), 2) AS lon
FROM leaks AS l
LEFT JOIN flows AS f ON f.id = l.flow_id
WHERE l.identifier IN ('location', 'advertising_id', 'idfa', 'idfv', 'android_id', 'imei', 'serial', 'imsi',
                       'wifi_mac', 'bluetooth_mac')
  AND (:identifier = '' OR l.identifier = :identifier)
GROUP BY l.destination_site, l.tracker_entity, l.identifier
ORDER BY apps DESC, leaks DESC, l.destination_site, l.identifier
