"""DetectLeaks: a test phone's planted identifiers, contacts and position found in its traffic → `leaks`.

    mitmdump -s addons/detect_leaks.py --set mouchard_profile=device.yml        # alone: logs each leak

Searches every request (URL, headers, cookies, body) and every WebSocket message the device sends with
`mouchard.identify.leakdetect.LeakDetector`, in every encoding it knows; a `leaks` row says which kind of value, the
decoding chain, where (location and field) and to whom, never the value. It also provides the last stage of the
pipeline: redaction (`mouchard.identify.redact`) of URLs, headers, cookie values and OpenRTB fields before they are
stored, so the database can be published.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import TYPE_CHECKING, Optional

from mitmproxy import ctx, exceptions

from addons.pipeline import FlowRecord, StageAddon, packaged

from addons.snapshots import FlowSnapshot, MessageSnapshot

if TYPE_CHECKING:
    from mouchard.identify.profile import DeviceProfile


# A layer the needles cannot see into: %-escapes (a number behind %22), or a long run of base64 characters with
# upper-case letters and digits (base64 of compressed data, a JWT); hex and base64 of a value are needles already.
_LAYER = re.compile(r"%[0-9A-Fa-f]{2}|[A-Za-z0-9+/_=-]{24,}")
_UPPER, _DIGIT = re.compile(r"[A-Z]"), re.compile(r"[0-9]")


def _layered(text: str) -> bool:
    return any(m[0][0] == "%" or (_UPPER.search(m[0]) and _DIGIT.search(m[0])) for m in _LAYER.finditer(text))


def leak_row(match, host: str | None, site: str | None, position, first_party: str | None) -> dict:
    """A `leaks` row for one match (crawl_id and flow_id are added when written)."""
    from mouchard.decode.domains import is_third_party

    # Without a known first party (app traffic), every destination counts as third party: mouchard.decode.domains' rule.
    row = {"identifier": match.kind, "chain": match.chain or "plain", "location": match.location,
           "field": match.field, "destination_host": host, "destination_site": site,
           "third_party": int(is_third_party(site, first_party)) if site else None}
    if match.kind == "location" and position is not None:
        row.update(precision_m=match.precision_m, **map_position(position))
    return row


def map_position(position) -> dict:
    """The planted position for maps: rounded to 2 decimals (about 1 km), or to 1 decimal when the 2-decimal
    point happens to fall within the profile's radius (it would then be the position itself, by the detector's
    own rule: Bordeaux's 44.841225,-0.570431 rounds to 44.84,-0.57, 140 m away)."""
    from mouchard.identify.location import distance_m

    for decimals in (2, 1, 0):
        lat, lon = round(position.lat, decimals), round(position.lon, decimals)
        if distance_m(lat, lon, position.lat, position.lon) > position.radius_m:
            break
    return {"lat": lat, "lon": lon}


class LeakStage:
    """Stage: leaks rows for the profile's values in requests and the device's WebSocket messages.

    Its matches decide the redaction (`redaction`: if it raises, the pipeline seals the flow). Work is charged
    to the flow's budget (`record.budget`); when that runs out the redaction stage fails closed.
    """

    order = 20
    redaction = True

    def __init__(self, profile: DeviceProfile):
        self.profile = profile  # parsed once by DetectLeaks.configure; small, so it travels to the recorder as is
        self.detector = self.redactor = None
        self.counts: Counter = Counter()

    def setup(self) -> None:
        """Build the detector where the stage runs (an automaton is not worth sending between processes)."""
        from mouchard.identify.leakdetect import LeakDetector
        from mouchard.identify.redact import Redactor

        self.detector = LeakDetector.for_profile(self.profile)
        self.redactor = Redactor.for_profile(self.profile, self.detector)

    def __getstate__(self) -> dict:
        return {"profile": self.profile, "detector": None, "redactor": None, "counts": Counter()}

    def process(self, snap: FlowSnapshot, record: FlowRecord) -> None:
        if snap.kind in ("http", "websocket") and snap.url:
            matches = self.detector.scan_http(snap.url, snap.request_headers, snap.request_body,
                                              snap.request_header("content-type"),
                                              snap.request_header("content-encoding"), budget=record.budget)
        elif snap.kind == "tcp" and snap.request_body:
            matches = self.detector.scan_message(snap.request_body, "body", budget=record.budget)
        else:
            return
        record.matches.extend(matches)
        first_party = record.notes.get("first_party_site")
        for m in matches:
            record.leaks.append(leak_row(m, record.flow["host"], record.flow["site"], self.profile.position,
                                         first_party))
            self.counts[m.kind] += 1

    def message(self, msg: MessageSnapshot, rows: list[dict], budget=None) -> None:
        if not msg.from_client:
            return
        from mouchard.decode.domains import host_of, site_of

        host = host_of(msg.host or "") or None
        for m in self.detector.scan_message(msg.content, "websocket", f"message {msg.index}", budget=budget):
            rows.append(leak_row(m, host, site_of(host) if host else None, self.profile.position, None))
            self.counts[m.kind] += 1

    def summary(self) -> dict:
        return {f"leaks/{kind}": n for kind, n in sorted(self.counts.items())}

    def describe(self, record: FlowRecord):
        for leak in record.leaks:
            yield (f"leak: {leak['identifier']} to {leak['destination_host']} in {leak['location']} "
                   f"{leak['field'] or ''} ({leak['chain']})")


class DetectLeaks(StageAddon):
    """Declares `mouchard_profile` (checked at start) and provides the leak and redaction stages."""

    def __init__(self) -> None:
        self.profile: DeviceProfile | None = None

    def load(self, loader) -> None:
        loader.add_option("mouchard_profile", Optional[str], None,
                          "Device profile (YAML): the identifiers, position and contacts planted on the test phone.")

    def configure(self, updated) -> None:
        if "mouchard_profile" not in updated:
            return
        from mouchard.errors import UserError
        from mouchard.identify.profile import load_profile

        path = ctx.options.mouchard_profile
        try:
            # The one parse in this process: the stages get the object (the option can only carry the path).
            self.profile = load_profile(path) if path else None
        except UserError as exc:
            raise exceptions.OptionsError(str(exc)) from None  # a bad profile stops mitmdump at start

    def mouchard_stages(self) -> list:
        if self.profile is None:
            return []
        leaks = LeakStage(self.profile)
        return [leaks, Redact(leaks)]


class Redact:
    """Last stage: planted values in every stored text replaced by tokens like [GAID].

    URLs, headers and cookie values get the full two-pass treatment (`mouchard.identify.redact`: layers re-encoded); every
    other text or JSON value of every row (a JSON key that was an identifier, a setter URL, OpenRTB fields) gets the
    first pass. Then the last check (`_last_check`) searches every stored text again with the full detector.
    Fails closed: if the flow's budget ran out (in any stage, before or during redaction) it raises
    `RedactionIncomplete` and the pipeline stores placeholders instead of the flow's texts; a column the last
    check still finds a planted value in becomes a placeholder, and the flow says redaction failed.
    """

    order = 100
    redaction = True
    URL_COLUMNS = ("url", "setter_url")

    def __init__(self, owner: LeakStage):
        self.owner = owner  # shares the leak stage's detector and matches

    def process(self, snap: FlowSnapshot, record: FlowRecord) -> None:
        from mouchard.budget import RedactionIncomplete

        budget = record.budget
        if budget.exhausted:  # the detector could not finish: its matches cannot be trusted to redact
            raise RedactionIncomplete(f"analysis budget ran out before redaction: {budget.reason}")
        redactor = self.owner.redactor
        flow = record.flow
        matches = record.matches
        if flow.get("url"):
            flow["url"] = redactor.url(flow["url"], matches, budget=budget)
        flow["request_headers"] = [list(p) for p in redactor.headers(flow["request_headers"], matches,
                                                                     budget=budget)]
        # Response headers are not searched for leaks (the device sends leaks): the first pass is enough there.
        flow["response_headers"] = [list(p) for p in redactor.headers(flow["response_headers"], [], budget=budget)]
        for row in record.cookies:
            row["value"] = redactor.cookie_value(row.get("value"), budget=budget)
        done = {"url", "request_headers", "response_headers"}
        clean: dict[int, set[str]] = {}  # id(row) -> columns the sweep found nothing in (left as they were)
        self._sweep(flow, done, budget, clean)
        for rows in (record.leaks, record.cookies, record.rtb, record.id_syncs):
            for row in rows:
                self._sweep(row, {"value"} if rows is record.cookies else set(), budget, clean)
        self._last_check(record, budget, clean)

    def _last_check(self, record: FlowRecord, budget, clean: dict[int, set[str]] | None = None) -> None:
        """Fail closed: every text the flow will store is searched again, with the full detector, as it will be
        written. A text that still holds a planted value gets the full redaction once more (a response header
        or a row that had only the first pass); if it still holds one, the column becomes `[redaction failed]`, the
        flow gets a `redaction-failed` failures row naming the columns (never the value) and `flows.analysis`
        says redaction-failed. Cost: one multi-pattern search over each row's texts together (but the columns
        `clean` says the sweep already searched and left as they were), and the full decoder only on the texts that
        hold a layer the needles cannot see into (%-escapes, a base64 or JWT run)."""
        from addons.seal import PLACEHOLDER
        from mouchard.storage.store import failure_row

        # The detector already decoded the request's URL and headers as sent: where it found nothing, their redacted
        # text (tokens put in, layers re-encoded) cannot hold more, and the needle search below is enough.
        where = {m.location for m in record.matches}
        searched = {k for k, locations in (("url", {"path", "query", "fragment"}), ("request_headers",
                                                                                      {"header", "cookie"}))
                    if not where & locations}
        bad: list[str] = []
        for table, rows in (("flows", [record.flow]), ("leaks", record.leaks), ("cookies", record.cookies),
                            ("rtb", record.rtb), ("id_syncs", record.id_syncs), ("failures", record.failures)):
            for row in rows:
                keys = [k for k, v in row.items()
                        if not k.startswith("_") and v and isinstance(v, (str, list, dict))]
                if not keys:
                    continue
                texts = {k: row[k] if isinstance(row[k], str) else json.dumps(row[k], default=str) for k in keys}
                swept = (clean or {}).get(id(row), set())
                if self._spans("\n".join(t for k, t in texts.items() if k not in swept), budget):
                    suspects = keys  # which column: each is searched on its own below
                elif _layered("\n".join(texts.values())):
                    suspects = [k for k in keys if not (row is record.flow and k in searched)
                                and self._decoded_leak(row[k], budget)]
                else:
                    suspects = []
                for key in suspects:
                    value = row[key]
                    if not self._holds(value, budget):
                        continue
                    value = row[key] = self._again(key, value, budget)
                    if self._holds(value, budget):
                        row[key] = (PLACEHOLDER if isinstance(value, str) else [[PLACEHOLDER, PLACEHOLDER]]
                                    if key.endswith("_headers") else {"redaction": "failed"}
                                    if isinstance(value, dict) else [PLACEHOLDER])
                        bad.append(f"{table}.{key}")
        if bad:
            record.failures.append(failure_row(type(self).__name__, "redaction-failed",
                                               "a planted value was still found after redaction in "
                                               f"{', '.join(dict.fromkeys(bad))}: replaced by {PLACEHOLDER}"))
            record.flow["analysis"] = "redaction-failed"

    def _spans(self, text: str, budget) -> bool:
        """Whether the needles (every precomputed encoding) or a near-position number are in `text`."""
        from mouchard.budget import RedactionIncomplete
        from mouchard.identify.leakdetect import as_hay

        if not text:
            return False
        found = bool(self.owner.detector.hay_spans(as_hay(text), budget=budget))
        if budget.exhausted:
            raise RedactionIncomplete(f"redaction budget ran out in the last check: {budget.reason}")
        return found

    def _decoded_leak(self, value, budget) -> bool:
        """Whether the full decoder finds a planted value in a string of `value` that holds a layer."""
        from mouchard.budget import RedactionIncomplete

        stack = [value]
        while stack:
            node = stack.pop()
            if not budget.spend(steps=1):
                raise RedactionIncomplete(f"redaction budget ran out in the last check: {budget.reason}")
            if isinstance(node, dict):
                stack.extend(node.keys())
                stack.extend(node.values())
            elif isinstance(node, (list, tuple)):
                stack.extend(node)
            elif isinstance(node, str) and _layered(node):
                if self.owner.detector.scan_value(node, "stored", budget=budget):
                    return True
                if budget.exhausted:
                    raise RedactionIncomplete(f"redaction budget ran out in the last check: {budget.reason}")
        return False

    def _holds(self, value, budget) -> bool:
        """Whether a stored text (or JSON value, as it will be serialised) still holds a planted value."""
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        return self._spans(text, budget) or self._decoded_leak(value, budget)

    def _again(self, key: str, value, budget):
        """The full two-pass redaction of one stored value, whatever the first decision was."""
        redactor = self.owner.redactor
        if key.endswith("_headers") and isinstance(value, list) and all(
                isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in value):
            return [list(p) for p in redactor.headers(value, budget=budget)]
        if isinstance(value, str):
            if key in self.URL_COLUMNS:
                return redactor.url(value, budget=budget)
            return redactor.value(value, budget=budget)
        return redactor.json(value, budget=budget)

    def _sweep(self, row: dict, done: set[str], budget, clean: dict[int, set[str]] | None = None) -> None:
        from mouchard.budget import RedactionIncomplete

        redactor = self.owner.redactor
        todo = [k for k, v in row.items() if k not in done and not k.startswith("_") and isinstance(v, (str, dict, list))]
        # One search over all of the row's texts first: most rows hold nothing to redact.
        joined = "\n".join(row[k] if isinstance(row[k], str) else json.dumps(row[k], default=str) for k in todo)
        if not joined:
            return
        spans = redactor.detector.spans(joined, budget=budget)
        if budget.exhausted:
            raise RedactionIncomplete(f"redaction budget ran out: {budget.reason}")
        if not spans:
            if clean is not None:
                clean[id(row)] = set(todo)
            return
        for key in todo:
            value = row[key]
            if key in self.URL_COLUMNS and isinstance(value, str):
                row[key] = redactor.url(value, budget=budget)
            elif isinstance(value, str):
                row[key] = redactor.text(value, budget=budget)
            else:
                row[key] = redactor.json(value, budget=budget)


addons = [packaged("addons.detect_leaks", "DetectLeaks")]
