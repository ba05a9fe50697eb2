-- title_fr: Les partenaires TCF appelés sans consentement
-- description_fr: Les constats des règles de consentement sur le TCF de l'IAB : un partenaire (vendor) a reçu une
--   requête alors que la chaîne TC en vigueur ne lui donne aucun consentement (ou une chaîne de consentement a été
--   enregistrée avant tout choix). Chaque constat renvoie aux lignes qui le prouvent. Choisissez un site pour ne voir
--   que ses constats.
-- title: TCF vendors called without consent
-- description: Findings of the consent rules about the IAB TCF: a vendor received a request although the TC string
--   in force gives it no consent (or a consent string was stored before any choice). Each finding links to the
--   rows that prove it. Give a site to see only its findings.
-- suggestions: site = SELECT DISTINCT site FROM visits WHERE site IS NOT NULL ORDER BY site LIMIT 500
-- links: site = site
SELECT f.subject AS site,
       f.severity,
       f.title,
       f.detail,
       v.phase,
       f.rule_id,
       f.legal_reference,
       f.evidence,
       f.visit_id,
       f.id AS finding_id
FROM findings AS f
LEFT JOIN visits AS v ON v.id = f.visit_id
WHERE f.rule_id LIKE 'consent.%'
  AND (f.rule_id LIKE '%tcf%' OR f.rule_id LIKE '%vendor%')
  AND (:site = '' OR f.subject = :site)
ORDER BY CASE f.severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 WHEN 'low' THEN 2 ELSE 3 END, f.subject, f.id
