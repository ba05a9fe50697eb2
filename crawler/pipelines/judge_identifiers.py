"""JudgeIdentifiers: whether each cookie of a visit looks like a user identifier (`mouchard.detect.cookies.judge_identifier`).

Every visit runs in a fresh profile, so the same cookie (name and domain) seen in other visits of the crawl is
the same cookie in other fresh profiles: values that differ mark an identifier. Earlier visits' rows were judged
with what was known then; when a new value changes their verdict they are updated in the same transaction.
"""

from __future__ import annotations

from crawler.browser.visit import VisitRecord
from crawler.pipelines.base import Pipeline
from mouchard.detect.cookies import asked_lifetime, judge_identifier

MAX_OTHERS = 20  # other profiles' values compared (enough for a verdict, bounded on large crawls)


class JudgeIdentifiers(Pipeline):
    """Sets cookies.identifier and identifier_reason; queues updates of earlier rows whose verdict changes."""

    item_type = VisitRecord

    def process(self, item: VisitRecord) -> VisitRecord:
        if not item.rows.get("cookies"):
            return item
        for row in item.rows["cookies"]:
            value = row.get("value") or ""
            earlier = self.store.rows(
                "SELECT c.id, c.visit_id, c.value, c.lifetime_days, c.requested_lifetime_days, c.identifier, "
                "c.identifier_reason FROM cookies c "
                "JOIN visits v ON v.id = c.visit_id WHERE v.crawl_id = ? AND c.name = ? AND c.domain = ? "
                "AND c.value IS NOT NULL ORDER BY c.id DESC LIMIT ?",
                (self.crawl_id, row.get("name"), row.get("domain"), MAX_OTHERS))
            verdict, reason = judge_identifier(value, asked_lifetime(row), _one_per_visit(earlier))
            row["identifier"], row["identifier_reason"] = int(verdict), reason
            for old in earlier:
                # A new profile can only add a difference: rows already judged identifiers by comparison stay so.
                # The others are judged again against this profile's value (and the values they were judged on).
                if old["identifier"] and not (old["identifier_reason"] or "").startswith("seen in one"):
                    continue
                others = [value, *_one_per_visit(r for r in earlier if r["visit_id"] != old["visit_id"])]
                verdict, reason = judge_identifier(old["value"] or "", asked_lifetime(old), others)
                if int(verdict) != old["identifier"] or reason != old["identifier_reason"]:
                    item.updates.append(("cookies", old["id"], {"identifier": int(verdict),
                                                                "identifier_reason": reason}))
        return item


def _one_per_visit(rows) -> list[str]:
    """One value per earlier visit (a profile may set the same cookie twice: that is not two profiles)."""
    seen: dict[int, str] = {}
    for row in rows:
        seen.setdefault(row["visit_id"], row["value"])
    return list(seen.values())
