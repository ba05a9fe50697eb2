"""The banner's layout facts (crawler/consent/layout.py), the screenshot after the click, and the rules
consent.pre-ticked-boxes and consent.reject-less-visible: one real crawl (`--consent all`, Chromium) of the layout
pages of the test web (demoweb/sites/consent_layout.py), then the pure parts (colours, contrast, the summary of a
frame's answer) with hypothesis.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audits.engine import evaluate
from audits.rules.base import fingerprint
from conftest import NO_CALLS, needs
from crawler.consent.layout import (
    NAMED, Banner, background_of, colour_text, contrast_ratio, control_facts, looks_like, measure, parse_colour, summarise,
)
from demoweb.sites.consent_layout import BALANCED_HOST, EXPECTED, KLARO_HOST, MEASURED_HOST
from demoweb.sites.consent_lib import missing_packages
from mouchard.storage.store import Store

HOSTS = [KLARO_HOST, MEASURED_HOST, BALANCED_HOST]
PHASES = ("initial", "reject", "accept")
LAYOUT_RULES = {"consent.pre-ticked-boxes", "consent.reject-less-visible"}


# --- one crawl of the layout pages ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def crawl(testweb, tmp_path_factory):
    """(connection, findings by site) after `mouchard crawl --consent all` of the three pages and an audit."""
    needs(missing_packages(("klaro", "@duckduckgo/autoconsent")))
    path = tmp_path_factory.mktemp("consent-layout") / "layout.db"
    args = [sys.executable, "-m", "mouchard", "crawl", "--db", str(path), "--consent", "all", "--timeout", "20",
            "--concurrency", "2", *NO_CALLS, *(f"--browser-arg={flag}" for flag in testweb.chromium_args(proxy=True))]
    result = subprocess.run([*args, *(f"https://{host}/" for host in HOSTS)], capture_output=True, text=True,
                            timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    with Store(path) as store:
        evaluation = evaluate(store)
    assert evaluation.errors == ()
    findings: dict[str, set[str]] = {}
    for finding in evaluation.findings:
        findings.setdefault(finding["subject"], set()).add(finding["rule_id"])
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    yield conn, findings, evaluation.findings
    conn.close()


def action_rows(conn: sqlite3.Connection, host: str) -> dict[str, sqlite3.Row]:
    rows = conn.execute("""SELECT c.*, v.phase AS visit_phase FROM consent c JOIN visits v ON v.id = c.visit_id
                           WHERE c.source = 'action' AND v.url = ?""", (f"https://{host}/",)).fetchall()
    return {row["visit_phase"]: row for row in rows}


def layouts(conn: sqlite3.Connection, host: str) -> dict[str, dict]:
    return {phase: json.loads(row["layout"]) for phase, row in action_rows(conn, host).items()}


def test_every_phase_measured_the_banner(crawl):
    conn, _, _ = crawl
    for host in HOSTS:
        found = layouts(conn, host)
        assert set(found) == set(PHASES), host
        for phase, layout in found.items():
            assert "error" not in layout, (host, phase, layout)


def test_plain_banner_layout_has_the_exact_values_set_in_its_css(crawl):
    """Exact pixels, colours and contrasts, although the page replaced getComputedStyle and
    getBoundingClientRect in its own world: the measurement runs in an isolated one."""
    conn, _, _ = crawl
    expected = EXPECTED[f"{MEASURED_HOST}/"]["layout"]
    for phase, layout in layouts(conn, MEASURED_HOST).items():
        assert {key: layout[key] for key in expected} == expected, phase
        assert layout["detected_by"] == "generic" and layout["frame_url"] == f"https://{MEASURED_HOST}/"


def test_cmp_banner_ratios_and_pre_ticked_boxes(crawl):
    conn, _, _ = crawl
    expected = EXPECTED[f"{KLARO_HOST}/"]["layout"]
    for phase, layout in layouts(conn, KLARO_HOST).items():
        assert layout["ratios"] == expected["ratios"], phase
        for control in ("accept", "reject"):
            assert {k: layout[control][k] for k in expected[control]} == expected[control], (phase, control)
        for key in ("boxes", "pre_ticked", "pre_ticked_labels", "necessary_locked", "necessary_locked_labels"):
            assert layout[key] == expected[key], (phase, key)


def test_balanced_banner_is_symmetric_and_unticked(crawl):
    conn, _, _ = crawl
    expected = EXPECTED[f"{BALANCED_HOST}/"]["layout"]
    for phase, layout in layouts(conn, BALANCED_HOST).items():
        assert {key: layout[key] for key in expected} == expected, phase
        assert layout["accept"]["looks_like"] == layout["reject"]["looks_like"] == "button"


def test_screenshot_after_the_click_is_stored_with_its_hash(crawl):
    conn, _, _ = crawl
    folder = conn.execute("PRAGMA database_list").fetchone()["file"] + ".evidence"
    for host in HOSTS:
        rows = action_rows(conn, host)
        assert rows["initial"]["screenshot_after_file_id"] is None  # nothing clicked
        for phase in ("reject", "accept"):
            row = rows[phase]
            after = conn.execute("SELECT * FROM evidence_files WHERE id = ?",
                                 (row["screenshot_after_file_id"],)).fetchone()
            before = conn.execute("SELECT * FROM evidence_files WHERE id = ?", (row["screenshot_file_id"],)).fetchone()
            assert after["documents"] == "banner-after" and after["visit_id"] == row["visit_id"], (host, phase)
            assert after["media_type"] == "image/png"
            with open(os.path.join(folder, after["path"]), "rb") as handle:
                assert hashlib.sha256(handle.read()).hexdigest() == after["sha256"]
            assert after["sha256"] != before["sha256"], (host, phase)  # the banner reacted: the page changed


def test_findings_per_site(crawl):
    _, findings, _ = crawl
    for host in HOSTS:
        site = host.removeprefix("www.")
        assert findings.get(site, set()) & LAYOUT_RULES == set(EXPECTED[f"{host}/"]["findings"]), host
    assert findings.get(BALANCED_HOST.removeprefix("www."), set()) == set()  # the control: no finding at all


def test_findings_fingerprint_the_rounded_measures(crawl):
    """Facts (what the fingerprint hashes): ratios and contrasts rounded to one decimal, labels sorted."""
    _, _, all_findings = crawl
    prints = {(f["subject"], f["rule_id"]): f["fingerprint"] for f in all_findings if f["rule_id"] in LAYOUT_RULES}
    assert prints[("bandeau-mesure.fr", "consent.reject-less-visible")] == fingerprint(
        "consent.reject-less-visible", "bandeau-mesure.fr", {
            "reasons": ["area", "contrast", "link-not-button"], "area_ratio": 0.1, "font_size_ratio": 0.5,
            "reject_contrast": 2.9, "accept_contrast": 6.7, "reject_looks_like": "link",
            "accept_looks_like": "button"})
    assert prints[("bandeau-klaro.fr", "consent.reject-less-visible")] == fingerprint(
        "consent.reject-less-visible", "bandeau-klaro.fr", {
            "reasons": ["area", "font-size", "contrast", "link-not-button"], "area_ratio": 0.1,
            "font_size_ratio": 0.5, "reject_contrast": 2.3, "accept_contrast": 6.5, "reject_looks_like": "link",
            "accept_looks_like": "button"})
    assert prints[("bandeau-mesure.fr", "consent.pre-ticked-boxes")] == fingerprint(
        "consent.pre-ticked-boxes", "bandeau-mesure.fr",
        {"pre_ticked": 2, "labels": ["Mesure d'audience", "Publicité personnalisée"], "cmps": []})
    assert prints[("bandeau-klaro.fr", "consent.pre-ticked-boxes")] == fingerprint(
        "consent.pre-ticked-boxes", "bandeau-klaro.fr", {
            "pre_ticked": 3, "labels": ["Activer ou désactiver tous les services", "Mesure d'audience",
                                        "Publicité ciblée"], "cmps": ["klaro"]})


# --- pure parts ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, colour", [
    ("rgb(255, 255, 255)", (255, 255, 255, 1)), ("rgba(0, 0, 0, 0)", (0, 0, 0, 0)),
    ("rgba(10,20,30,0.5)", (10, 20, 30, 0.5)), ("rgb(1 2 3 / 50%)", (1, 2, 3, 0.5)),
    ("rgb(100%, 0%, 50%)", (255, 0, 127.5, 1)), ("#999", (153, 153, 153, 1)), ("#1D4ED8", (29, 78, 216, 1)),
    ("#00000080", (0, 0, 0, 128 / 255)), ("RebeccaPurple", (102, 51, 153, 1)), ("transparent", (0, 0, 0, 0)),
    ("hsl(120, 100%, 50%)", (0, 255, 0, 1)), ("color(srgb 1 0 0 / 0.5)", (255, 0, 0, 0.5)),
    ("currentcolor", None), ("#12", None), ("rgb(1, 2)", None), ("oklch(0.5 0.1 20)", None), ("", None),
])
def test_parse_colour(text, colour):
    assert parse_colour(text) == (None if colour is None else tuple(float(c) for c in colour))


def test_contrast_ratio_known_values():
    assert contrast_ratio("black", "white") == 21.0
    assert contrast_ratio("#999999", "#ffffff") == 2.85
    assert contrast_ratio("#ffffff", "#1d4ed8") == 6.7
    assert contrast_ratio("rgba(0, 0, 0, 0.5)", "white") == contrast_ratio("rgb(127.5 127.5 127.5)", "white") == 3.98
    assert contrast_ratio("currentcolor", "white") is None


def test_background_is_composited_up_to_the_first_opaque_ancestor():
    assert colour_text(background_of(["rgba(0, 0, 0, 0)", "rgba(0, 0, 0, 0.5)", "rgb(255, 255, 255)"])) == \
        "rgb(128, 128, 128)"
    assert colour_text(background_of([])) == "rgb(255, 255, 255)"  # the canvas


def test_looks_like_reads_visual_chrome_not_the_tag():
    flat = {"backgrounds": ["rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"], "borders": [[0, "none", "rgb(0, 0, 0)"]] * 4}
    assert looks_like(flat) == "link"
    assert looks_like({**flat, "backgrounds": ["rgb(29, 78, 216)", "rgb(255, 255, 255)"]}) == "button"
    assert looks_like({**flat, "borders": [[1, "solid", "rgb(0, 0, 0)"]] * 4}) == "button"
    assert looks_like({**flat, "borders": [[0, "none", "x"]] * 3 + [[1, "solid", "rgb(0, 0, 0)"]]}) == "link"
    assert looks_like({**flat, "background_image": True}) == "button"


COLOURS = st.one_of(
    st.text(max_size=40),
    st.builds(lambda r, g, b: f"rgb({r}, {g}, {b})", *(st.integers(-10, 300),) * 3),
    st.builds(lambda r, g, b, a: f"rgba({r}, {g}, {b}, {a})", *(st.integers(0, 255),) * 3,
              st.floats(allow_nan=True, allow_infinity=True)),
    st.builds(lambda h: "#" + h, st.text("0123456789abcdefABCDEFxyz", max_size=9)),
    st.sampled_from(sorted(NAMED) + ["transparent", "currentcolor", "inherit"]),
    st.builds(lambda *parts: f"hsl({parts[0]} {parts[1]}% {parts[2]}% / {parts[3]})",
              *(st.floats(allow_nan=True, allow_infinity=True),) * 4),
)


@settings(max_examples=400, deadline=None)
@given(COLOURS, COLOURS)
def test_contrast_never_raises_and_stays_in_range(foreground, background):
    ratio = contrast_ratio(foreground, background)
    assert ratio is None or 1.0 <= ratio <= 21.0
    parsed = parse_colour(foreground)
    if parsed is not None:
        assert all(0 <= c <= 255 for c in parsed[:3]) and 0 <= parsed[3] <= 1
        assert contrast_ratio(parsed[:3] + (1.0,), parsed[:3] + (1.0,)) == 1.0


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))
def test_named_hex_and_rgb_forms_agree(red, green, blue):
    assert parse_colour(f"#{red:02x}{green:02x}{blue:02x}") == parse_colour(f"rgb({red}, {green}, {blue})") == \
        parse_colour(f"rgb({red} {green} {blue} / 1)") == (float(red), float(green), float(blue), 1.0)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                        st.sampled_from(["accept", "reject", "banner", "boxes", "boxes_over", "width", "height",
                                         "color", "backgrounds", "borders", "text", "checked", "label", "padding",
                                         "font_size", "frame_url", "layers"]) | st.text(max_size=5),
                        inner, max_size=6), max_leaves=40)


@settings(max_examples=300, deadline=None)
@given(st.lists(JSON, max_size=3))
def test_summary_of_hostile_frame_answers_never_raises_and_stays_json(frames):
    layout = summarise(frames)
    json.dumps(layout, allow_nan=False)
    assert set(layout["ratios"]) == {"area", "font_size", "contrast"}
    assert control_facts("not a dict") is None


class _Page:
    frames: list = []


class _Target:
    def __init__(self, send):
        self.type, self.target_id, self.detached, self._send = "page", "main", False, send

    async def send(self, method, params=None, *, timeout=None):
        return await self._send(method, params)


def test_a_failed_measurement_is_one_line_not_an_exception():
    async def hang(method, params):
        await asyncio.sleep(30)

    async def refuse(method, params):
        raise RuntimeError("Target closed\nwith a second line")

    async def lie(method, params):
        if method == "Page.getFrameTree":
            return {"frameTree": {"frame": {"id": "main", "url": "https://x.example/"}}}
        if method == "Page.createIsolatedWorld":
            return {"executionContextId": 7}
        return {"exceptionDetails": {"text": "Uncaught", "exception": {"description": "TypeError: boom"}}}

    banner = Banner()
    assert asyncio.run(measure(_Page(), banner, [_Target(hang)], timeout=0.2)) == {
        "error": "layout not measured within 0.2 s"}
    assert asyncio.run(measure(_Page(), banner, [_Target(refuse)])) == {"error": "no frame to measure"}
    assert asyncio.run(measure(_Page(), banner, [_Target(lie)])) == {"error": "TypeError: boom"}
