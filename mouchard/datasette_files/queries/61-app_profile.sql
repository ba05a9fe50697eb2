-- title_fr: Le profil complet d'une application
-- description_fr: Tout ce que mouchard a enregistré sur une application (donnez son nom tel qu'il figure dans
--   flows.app, par exemple com.example.app) : où est parti son trafic et vers quelles entreprises, quelles valeurs du
--   téléphone ont fuité où et sous quel encodage, les connexions qu'elle a refusé de laisser voir au proxy (épinglage
--   de certificat), les cookies, les enchères, les synchronisations d'identifiants, et les constats avec leurs
--   preuves.
-- title: An app's full profile
-- description: Everything mouchard recorded about one app (give its name as in flows.app, e.g. com.example.app):
--   where its traffic went and to which companies, which of the phone's values leaked where and how they were
--   encoded, connections it refused to let the proxy see (certificate pinning), cookies, bidding, ID syncs and
--   the findings with their evidence.
-- suggestions: app = SELECT DISTINCT app FROM flows WHERE app IS NOT NULL ORDER BY app LIMIT 500
-- Rows of the app's flows are found with IN (...): the worst plan SQLite may choose is then one scan per table.
SELECT section, what, detail, rows, flow_id, evidence FROM (
    SELECT 1 AS section_order, 'destination' AS section, f.site AS what,
           coalesce(f.tracker_entity || ' (' || coalesce(f.tracker_category, '?') || ')', 'not a known tracker') AS detail,
           count(*) AS rows, min(f.id) AS flow_id, NULL AS evidence
    FROM flows AS f
    WHERE f.app = :app AND f.kind <> 'tls-failure'
    GROUP BY f.site
    UNION ALL
    SELECT 2, 'leak', l.identifier,
           'to ' || coalesce(l.destination_host, '?') || ' in ' || coalesce(l.location, '?')
               || coalesce(' ' || l.field, '') || coalesce(' as ' || l.chain, ''),
           count(*), min(l.flow_id), NULL
    FROM leaks AS l
    WHERE l.flow_id IN (SELECT id FROM flows WHERE app = :app)
    GROUP BY l.identifier, l.destination_host, l.location, l.field, l.chain
    UNION ALL
    SELECT 3, 'hidden from the proxy', f.host, coalesce(f.error, f.kind), count(*), min(f.id), NULL
    FROM flows AS f
    WHERE f.app = :app AND (f.kind = 'tls-failure' OR f.error IS NOT NULL)
    GROUP BY f.host, coalesce(f.error, f.kind)
    UNION ALL
    SELECT 4, 'cookie', c.name, c.domain || coalesce(' (' || c.tracker_entity || ')', ''), count(*), min(c.flow_id), NULL
    FROM cookies AS c
    WHERE c.flow_id IN (SELECT id FROM flows WHERE app = :app)
    GROUP BY c.name, c.domain
    UNION ALL
    SELECT 5, 'bidding', coalesce(r.bidder, r.exchange), r.event || coalesce(' ' || r.personal_fields, ''), count(*),
           min(r.flow_id), NULL
    FROM rtb AS r
    WHERE r.flow_id IN (SELECT id FROM flows WHERE app = :app)
    GROUP BY coalesce(r.bidder, r.exchange), r.event, r.personal_fields
    UNION ALL
    SELECT 6, 'id sync', coalesce(s.from_entity, s.from_site) || ' → ' || coalesce(s.to_entity, s.to_site),
           group_concat(DISTINCT s.location), count(*), min(s.flow_id), NULL
    FROM id_syncs AS s
    WHERE s.flow_id IN (SELECT id FROM flows WHERE app = :app)
    GROUP BY coalesce(s.from_entity, s.from_site), coalesce(s.to_entity, s.to_site)
    UNION ALL
    SELECT 7, 'finding', f.title, f.severity || ' · ' || f.rule_id, NULL, f.flow_id, f.evidence
    FROM findings AS f
    WHERE f.subject = :app
)
ORDER BY section_order, rows DESC, what
