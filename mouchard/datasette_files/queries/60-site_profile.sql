-- title_fr: Le profil complet d'un site
-- description_fr: Tout ce que mouchard a enregistré sur un site (donnez son domaine enregistrable, par exemple
--   exemple.fr) : chaque visite par phase de consentement, le bandeau de consentement et ce qu'a produit le clic
--   (avec la capture d'écran), les entreprises de pistage, les cookies de pistage, les scripts d'empreinte
--   (fingerprinting), les enchérisseurs, les synchronisations d'identifiants, et les constats avec leurs preuves.
-- title: A site's full profile
-- description: Everything mouchard recorded about one site (give its registrable domain, e.g. example.fr): each
--   visit by consent phase, the consent banner and what clicking did (with the screenshot), tracker companies,
--   tracking cookies, fingerprinting scripts, header-bidding bidders, ID syncs and the findings with their
--   evidence.
-- suggestions: site = SELECT DISTINCT site FROM visits WHERE site IS NOT NULL ORDER BY site LIMIT 500
-- Requests and consent rows always belong to a visit: CROSS JOIN makes SQLite start from the site's visits.
-- (Cookies, bids and syncs may come from apps, with no visit: there the planner chooses.)
SELECT section, phase, what, detail, rows, visit_id, screenshot_file_id, evidence FROM (
    SELECT 1 AS section_order, 'visit' AS section, v.phase, v.final_url AS what,
           trim(v.status || ' ' || coalesce(v.http_status, '') || ' ' || coalesce(v.title, '')) AS detail,
           NULL AS rows, v.id AS visit_id, NULL AS screenshot_file_id, NULL AS evidence
    FROM visits AS v
    WHERE v.site = :site
    UNION ALL
    SELECT 2, 'consent', v.phase, coalesce(c.cmp, c.framework),
           'action: ' || coalesce(c.action, '?') || ', verified: ' || coalesce(c.verified, '?')
               || ', reject on first layer: ' || coalesce(c.reject_first_layer, '?'),
           NULL, v.id, c.screenshot_file_id, NULL
    FROM visits AS v CROSS JOIN consent AS c ON c.visit_id = v.id
    WHERE v.site = :site AND (c.action IS NOT NULL OR c.screenshot_file_id IS NOT NULL OR c.cmp IS NOT NULL)
    UNION ALL
    SELECT 3, 'tracker company', v.phase, r.tracker_entity, group_concat(DISTINCT r.tracker_category),
           count(*), min(v.id), NULL, NULL
    FROM visits AS v CROSS JOIN requests AS r ON r.visit_id = v.id
    WHERE v.site = :site AND r.tracker_entity IS NOT NULL AND r.third_party = 1
    GROUP BY v.phase, r.tracker_entity
    UNION ALL
    SELECT 4, 'tracking cookie', v.phase, c.name,
           c.domain || coalesce(' (' || c.tracker_entity || ')', '') || ', '
               || coalesce(round(coalesce(c.requested_lifetime_days, c.lifetime_days)), 'session')
               || ' days' || CASE WHEN c.before_consent = 1 THEN ', before consent' ELSE '' END,
           NULL, v.id, NULL, NULL
    FROM visits AS v JOIN cookies AS c ON c.visit_id = v.id
    WHERE v.site = :site AND c.identifier = 1 AND (c.tracker_entity IS NOT NULL OR c.third_party = 1)
    UNION ALL
    SELECT 5, 'fingerprinting script', v.phase, s.script_url,
           trim(CASE WHEN s.canvas_fingerprinting = 1 THEN 'canvas ' ELSE '' END
                || CASE WHEN s.canvas_font_fingerprinting = 1 THEN 'canvas-font ' ELSE '' END
                || CASE WHEN s.webgl_fingerprinting = 1 THEN 'webgl ' ELSE '' END
                || CASE WHEN s.audio_fingerprinting = 1 THEN 'audio ' ELSE '' END
                || CASE WHEN s.session_replay = 1 THEN 'session-replay' ELSE '' END),
           s.apis, v.id, NULL, NULL
    FROM visits AS v CROSS JOIN scripts AS s ON s.visit_id = v.id
    WHERE v.site = :site AND (s.canvas_fingerprinting = 1 OR s.canvas_font_fingerprinting = 1
                              OR s.webgl_fingerprinting = 1 OR s.audio_fingerprinting = 1 OR s.session_replay = 1)
    UNION ALL
    SELECT 6, 'bidder', v.phase, coalesce(r.bidder, r.exchange),
           sum(r.event IN ('bidResponse', 'openrtb-response')) || ' bids, ' || coalesce(sum(r.won), 0) || ' won',
           count(DISTINCT r.auction_id), min(v.id), NULL, NULL
    FROM visits AS v JOIN rtb AS r ON r.visit_id = v.id
    WHERE v.site = :site
    GROUP BY v.phase, coalesce(r.bidder, r.exchange)
    UNION ALL
    SELECT 7, 'id sync', v.phase, coalesce(s.from_entity, s.from_site) || ' → ' || coalesce(s.to_entity, s.to_site),
           group_concat(DISTINCT s.location), count(*), min(v.id), NULL, NULL
    FROM visits AS v JOIN id_syncs AS s ON s.visit_id = v.id
    WHERE v.site = :site
    GROUP BY v.phase, coalesce(s.from_entity, s.from_site), coalesce(s.to_entity, s.to_site)
    UNION ALL
    SELECT 8, 'finding', v.phase, f.title, f.severity || ' · ' || f.rule_id, NULL, f.visit_id, NULL, f.evidence
    FROM findings AS f LEFT JOIN visits AS v ON v.id = f.visit_id
    WHERE f.subject = :site
)
ORDER BY section_order, CASE phase WHEN 'initial' THEN 0 WHEN 'reject' THEN 1 WHEN 'accept' THEN 2 ELSE 3 END,
         rows DESC, what
