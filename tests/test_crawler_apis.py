"""The whole fingerprinting catalogue in a real crawl of one page (tests/web/sites/apis_lab.py): every API family
is recorded with exactly the calls the page makes (API, arguments, calling script, line, function), large return
values as their SHA-256, the cookie names a `document.cookie` read saw, and every catalogue function still looks
untouched to the page.

One real crawl (`mouchard crawl` in a subprocess: Scrapy, scrapy-playwright, Chromium) of one page, shared.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys

import pytest

from web.sites import apis_lab
from web.sites.apis_lab import EXPECTED_CALLS, HOST, SCRIPT

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def crawled(testweb, tmp_path_factory):
    """(database after one crawl of /apis, the page's report)."""
    db = tmp_path_factory.mktemp("apis") / "apis.db"
    apis_lab.REPORTS.clear()
    apis_lab.REPORTED.clear()
    args = [sys.executable, "-m", "mouchard", "crawl", "--db", str(db), "--consent", "none", "--timeout", "20"]
    args += [f"--browser-arg={flag}" for flag in testweb.chromium_args()]
    result = subprocess.run([*args, testweb.url(HOST, "/apis")], capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert apis_lab.REPORTED.is_set(), "the page never reported"  # posted during the visit, before the crawl ended
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    yield conn, apis_lab.REPORTS[0]
    conn.close()


def family_rows(conn) -> dict[str, sqlite3.Row]:
    """js_calls rows of families.js by API (one row per script, frame and API)."""
    found: dict[str, sqlite3.Row] = {}
    for row in conn.execute("SELECT * FROM js_calls WHERE script_url LIKE ?", (f"%{SCRIPT}",)):
        assert row["api"] not in found, f"two rows for {row['api']}"
        found[row["api"]] = row
    return found


def canonical(arguments: str | None) -> set[str]:
    """js_calls.arguments (a JSON list of argument lists) as a set of canonical JSON strings."""
    return {json.dumps(v, sort_keys=True) for v in json.loads(arguments)} if arguments else set()


def test_the_page_ran_every_family_without_an_error(crawled):
    _, report = crawled
    assert report["errors"] == []


def test_exactly_the_expected_apis_are_recorded_for_the_script(crawled):
    conn, _ = crawled
    assert set(family_rows(conn)) == set(EXPECTED_CALLS)


@pytest.mark.parametrize("api", sorted(EXPECTED_CALLS))
def test_each_call_has_its_count_arguments_lines_and_function(crawled, api):
    conn, _ = crawled
    row, expected = family_rows(conn)[api], EXPECTED_CALLS[api]
    sites = json.loads(row["call_sites"])
    assert row["calls"] == expected["calls"]
    assert {s["line"] for s in sites} == expected["lines"]
    assert {s["function"] for s in sites} == expected["functions"]
    assert sum(s["calls"] for s in sites) == expected["calls"]
    # the stack names the site (V8 built-ins such as Date.prototype.getTimezoneOffset show their own frame first)
    assert all(any(f"{SCRIPT}:{s['line']}:{s['column']}" in frame for frame in s["stack"][:2]) for s in sites)
    assert row["call_line"] in expected["lines"] and row["call_function"] in expected["functions"]
    assert canonical(row["arguments"]) == {json.dumps(json.loads(a), sort_keys=True) for a in expected["arguments"]}


def test_large_results_are_kept_as_their_sha256_and_cookie_reads_as_names(crawled):
    conn, report = crawled
    rows = family_rows(conn)
    data_url = hashlib.sha256(report["data_url"].encode("latin-1")).hexdigest()
    pixels = hashlib.sha256(bytes(report["pixels"])).hexdigest()
    assert json.loads(rows["HTMLCanvasElement.toDataURL"]["returned"]) == [f"sha256:{data_url}"]
    assert json.loads(rows["CanvasRenderingContext2D.getImageData"]["returned"]) == [f"sha256:{pixels}"]
    assert json.loads(rows["Document.cookie"]["returned"]) == ["lab_id"]  # the name, never the value
    assert rows["Document.cookie"]["operation"] == "get"
    assert not [r for r in rows.values() if r["api"] != "Document.cookie" and "s3cr3t" in (r["returned"] or "")]
    others = [r["api"] for r in rows.values() if r["returned"]]
    assert sorted(others) == ["CanvasRenderingContext2D.getImageData", "Document.cookie", "HTMLCanvasElement.toDataURL"]


def test_every_catalogue_function_still_looks_untouched(crawled):
    _, report = crawled
    assert report["checked"] > 100
    assert report["not_native"] == [] and report["extra_properties"] == [] and report["globals"] == 0


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the recorder outside a browser")
def test_the_recorders_sha256_matches_hashlib_at_every_padding_boundary():
    from crawler.collectors.recorder import recorder_source

    # a test-only command -5 exposing the recorder's sha256 over a string's code units
    source = recorder_source("_rec").replace(
        "if (i === -4) return spare;",
        "if (i === -4) return spare;\n    if (i === -5) return sha256((p) => receiver.charCodeAt(p) & 0xff, receiver.length);")
    assert source.count("i === -5") == 1
    cases = ["", "a", "x" * 55, "x" * 56, "x" * 63, "x" * 64, "x" * 65, "y" * 119, "z" * 1000, "data:image/png;base64,A"]
    script = ("const self = globalThis; globalThis.location = {href: 'about:blank'};\n" + source
              + f"\nconsole.log(JSON.stringify({json.dumps(cases)}.map((c) => _rec(-5, c, []))));")
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60,
                            check=False)
    assert json.loads(result.stdout) == [f"sha256:{hashlib.sha256(c.encode()).hexdigest()}" for c in cases]
