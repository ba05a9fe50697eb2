"""ClassifyDestinations: who is behind each destination → tracker_entity, tracker_category, tracker_list.

    mitmdump -s addons/classify_destinations.py        # alone: logs the company behind each flow

Uses `mouchard.classification.classify` (the shipped list plus the lists downloaded by `mouchard lists update`) on the flow's
URL, and gives its leaks the same destination; cookies are classified by their domain, OpenRTB rows by their
exchange, ID syncs get the companies on both sides. Runs after the other analysis stages, before redaction.
"""

from __future__ import annotations

from addons.pipeline import FlowRecord, StageAddon, packaged

from addons.snapshots import FlowSnapshot

TRACKER_COLUMNS = ("tracker_entity", "tracker_category", "tracker_list")


class ClassifyStage:
    """Stage: the tracker columns of flows, leaks, cookies, rtb and the entities of id_syncs."""

    order = 90

    def __init__(self) -> None:
        self.classifier = None

    def setup(self) -> None:
        from mouchard.classification.classify import default_classifier

        self.classifier = default_classifier()

    def _classifier(self):
        if self.classifier is None:
            self.setup()
        return self.classifier

    def process(self, snap: FlowSnapshot, record: FlowRecord) -> None:
        from mouchard.classification.classify import classify_rows

        classifier = self._classifier()
        subject = {"url": record.flow.get("url"), "host": record.flow.get("host"), "resource_type": "xhr"}
        classify_rows([subject], classifier=classifier)
        destination = {k: subject[k] for k in TRACKER_COLUMNS}
        record.flow.update(destination)
        for row in record.leaks:
            if row.get("destination_host") == record.flow.get("host"):
                row.update(destination)
            else:  # a WebSocket message's leaks name their own host
                found = classify_rows([{"host": row.get("destination_host")}], classifier=classifier)[0]
                row.update({k: found[k] for k in TRACKER_COLUMNS})
        if record.cookies:
            classify_rows(record.cookies, classifier=classifier)
        for row in record.rtb:
            found = classify_rows([{"host": row.get("exchange") or record.flow.get("host")}], classifier=classifier)
            row.update({k: found[0][k] for k in TRACKER_COLUMNS})
        for row in record.id_syncs:
            row["from_entity"] = row.get("from_entity") or self._entity(row.get("from_site"))
            row["to_entity"] = row.get("to_entity") or self._entity(row.get("to_site"))

    def _entity(self, site: str | None) -> str | None:
        found = self._classifier().classify(site) if site else None
        return found.entity if found else None

    def describe(self, record: FlowRecord):
        flow = record.flow
        yield f"{flow.get('host')}: {flow.get('tracker_entity') or 'not in the lists'} ({flow.get('tracker_category')})"


class ClassifyDestinations(StageAddon):
    """Provides the classification stage (see the module docstring)."""

    def mouchard_stages(self) -> list:
        return [ClassifyStage()]


addons = [packaged("addons.classify_destinations", "ClassifyDestinations")]
