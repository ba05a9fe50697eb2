-- title_fr: Qui enchérit : les enchérisseurs du header bidding et d'OpenRTB
-- description_fr: Chaque enchérisseur ou place de marché vu dans les enchères publicitaires des pages (Prebid.js,
--   Google Publisher Tag, Amazon) et dans le trafic OpenRTB des applications : sur combien de sites et
--   d'applications, combien d'enchères, d'offres et d'enchères gagnées, le prix moyen, et quels champs personnels ils
--   ont reçus (device.ifa, device.geo, user.buyeruid, user.eids...).
-- title: Who bids: header-bidding and OpenRTB bidders
-- description: Every bidder or exchange seen in header-bidding auctions in pages (Prebid.js, Google Publisher Tag,
--   Amazon) and in OpenRTB traffic of apps: on how many sites and apps, how many auctions, bids and wins, the
--   average price, and which personal fields they received (device.ifa, device.geo, user.buyeruid, user.eids...).
-- chart: bidder sites_and_apps
-- links: company = company
WITH field_lists AS (
    -- Most events repeat the same JSON list: read each distinct list once.
    SELECT DISTINCT coalesce(bidder, exchange) AS bidder, personal_fields
    FROM rtb
    WHERE json_valid(personal_fields)
),
fields AS (
    SELECT l.bidder, group_concat(DISTINCT j.value) AS names
    FROM field_lists AS l, json_each(l.personal_fields) AS j
    GROUP BY l.bidder
),
bidders AS (
    SELECT coalesce(r.bidder, r.exchange) AS bidder,
           max(r.tracker_entity) AS company,
           count(DISTINCT v.site) AS sites,
           count(DISTINCT f.app) AS apps,
           count(DISTINCT r.auction_id) AS auctions,
           sum(r.event IN ('bidResponse', 'openrtb-response')) AS bids,
           coalesce(sum(r.won), 0) AS wins,
           round(avg(r.cpm), 3) AS average_cpm,
           group_concat(DISTINCT r.currency) AS currencies
    FROM rtb AS r
    LEFT JOIN visits AS v ON v.id = r.visit_id
    LEFT JOIN flows AS f ON f.id = r.flow_id
    WHERE coalesce(r.bidder, r.exchange) IS NOT NULL
    GROUP BY coalesce(r.bidder, r.exchange)
)
SELECT b.bidder, b.company, b.sites, b.apps, b.sites + b.apps AS sites_and_apps, b.auctions, b.bids, b.wins,
       b.average_cpm, b.currencies, fl.names AS personal_fields
FROM bidders AS b
LEFT JOIN fields AS fl ON fl.bidder = b.bidder
ORDER BY sites_and_apps DESC, b.auctions DESC, b.bidder
