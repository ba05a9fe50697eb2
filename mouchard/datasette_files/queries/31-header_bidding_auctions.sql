-- title_fr: Les enchères du header bidding
-- description_fr: Une ligne par enchère : où elle a eu lieu (site et phase de consentement, ou application), quels
--   enchérisseurs ont été sollicités, combien ont fait une offre, qui a gagné et à quel prix, et les champs
--   personnels envoyés. Choisissez un site ou une application pour ne voir que ses enchères.
-- title: Header-bidding auctions
-- description: One row per auction: where it ran (site and consent phase, or app), which bidders were asked, how
--   many bid, who won and at what price, and the personal fields sent. Give a site or an app to see only its
--   auctions.
-- suggestions: site = SELECT name FROM (SELECT * FROM (SELECT DISTINCT site AS name FROM visits WHERE site IS NOT NULL
--   ORDER BY site LIMIT 500) UNION SELECT * FROM (SELECT DISTINCT app FROM flows WHERE app IS NOT NULL ORDER BY app
--   LIMIT 500)) ORDER BY name LIMIT 1000
WITH auctions AS (
    SELECT coalesce(v.site, f.app) AS site_or_app,
           v.phase,
           r.auction_id,
           group_concat(DISTINCT r.library) AS libraries,
           count(DISTINCT r.bidder) AS bidders,
           group_concat(DISTINCT r.bidder) AS bidder_names,
           sum(r.event IN ('bidResponse', 'openrtb-response')) AS bids,
           max(CASE WHEN r.won = 1 THEN r.bidder END) AS winner,
           max(CASE WHEN r.won = 1 THEN r.cpm END) AS winning_cpm,
           max(r.currency) AS currency,
           max(r.timeout_ms) AS timeout_ms,
           min(r.visit_id) AS visit_id,
           min(r.flow_id) AS flow_id
    FROM rtb AS r
    LEFT JOIN visits AS v ON v.id = r.visit_id
    LEFT JOIN flows AS f ON f.id = r.flow_id
    WHERE r.auction_id IS NOT NULL AND (:site = '' OR v.site = :site OR f.app = :site)
    GROUP BY r.auction_id, v.site, v.phase, f.app
),
field_lists AS (
    SELECT DISTINCT r.auction_id, r.personal_fields
    FROM rtb AS r
    WHERE r.auction_id IN (SELECT auction_id FROM auctions) AND json_valid(r.personal_fields)
),
fields AS (
    SELECT l.auction_id, group_concat(DISTINCT j.value) AS names
    FROM field_lists AS l, json_each(l.personal_fields) AS j
    GROUP BY l.auction_id
)
SELECT a.site_or_app, a.phase, a.auction_id, a.libraries, a.bidders, a.bidder_names, a.bids, a.winner,
       a.winning_cpm, a.currency, a.timeout_ms, fl.names AS personal_fields, a.visit_id, a.flow_id
FROM auctions AS a
LEFT JOIN fields AS fl ON fl.auction_id = a.auction_id
ORDER BY a.site_or_app, a.phase, a.auction_id
