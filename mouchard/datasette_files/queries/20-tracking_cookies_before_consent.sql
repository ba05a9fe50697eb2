-- title_fr: Les cookies de pistage déposés avant tout consentement
-- description_fr: Les cookies identifiants (longue durée, propres à chaque navigateur) d'entreprises de pistage ou de
--   tiers, déposés avant que le visiteur ait cliqué quoi que ce soit : dans la phase initial, ou avant le clic dans
--   les autres phases. Une ligne par site et par cookie. Choisissez un site (par exemple exemple.fr) pour ne voir que
--   ses cookies. lifetime_days est la durée que le navigateur a gardée (400 jours au plus), asked_lifetime_days celle
--   que le site demandait.
-- title: Tracking cookies set before any consent
-- description: Identifier cookies (long-lived, unique per browser) of tracker companies or third parties, set
--   before the visitor clicked anything: in the initial phase, or before the click in the other phases. One row
--   per site and cookie. Give a site (e.g. example.fr) to see only its cookies. lifetime_days is what the browser
--   kept (at most 400 days), asked_lifetime_days what the site asked for.
-- suggestions: site = SELECT DISTINCT site FROM visits WHERE site IS NOT NULL ORDER BY site LIMIT 500
-- links: site = site, company = company
SELECT v.site,
       c.name AS cookie,
       c.domain,
       c.tracker_entity AS company,
       c.tracker_category AS category,
       max(c.lifetime_days) AS lifetime_days,
       max(coalesce(c.requested_lifetime_days, c.lifetime_days)) AS asked_lifetime_days,
       max(c.third_party) AS third_party,
       group_concat(DISTINCT c.set_by) AS set_by,
       group_concat(DISTINCT v.phase) AS phases,
       count(DISTINCT c.visit_id) AS visits,
       min(c.id) AS cookie_id
FROM cookies AS c
JOIN visits AS v ON v.id = c.visit_id
WHERE c.identifier = 1
  AND (c.before_consent = 1 OR v.phase = 'initial')
  AND (c.tracker_entity IS NOT NULL OR c.third_party = 1)
  AND (:site = '' OR v.site = :site)
GROUP BY v.site, c.name, c.domain
ORDER BY v.site, company, cookie
