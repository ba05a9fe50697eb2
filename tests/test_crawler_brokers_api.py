"""The broker jobs through the Python API (crawler/brokers/jobs.py, `mouchard.api.fetch_brokers` / `crawl_brokers`):
every registry of the test web fetched with exact broker counts, a journalist's list read in process, the broker
sites crawled twice from one Python process (Scrapy runs in a child each time) with every hidden opt-out page
found, and one-line UserErrors for an unknown registry, an empty database and a fetch that brought nothing."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import urllib.parse
from collections import Counter

import pytest
from hypothesis import given, settings, strategies as st

from demoweb import DATA as SAMPLES, Response, Site, TestWeb
from demoweb.sites import brokers as broker_sites
from mouchard import api
from mouchard.errors import UserError
from mouchard.net import NetworkOptions
from mouchard.registries import NAMES
from test_crawler_brokers_sites import page_key, rows

CA_2025 = SAMPLES / "brokers" / "ca-registry-2025.csv"


def test_fetch_brokers_reads_every_state_registry_through_the_proxy(testweb, tmp_path):
    db = str(tmp_path / "m.db")
    result = api.fetch_brokers("all", db=db, network=NetworkOptions.build(proxy=testweb.proxy_url))
    assert (result.status, result.db, result.errors) == ("finished", db, ())
    counts = {s["registry"]: s["brokers"] for s in result.summary["snapshots"]}
    assert counts == {"ca": 3, "vt": 5, "tx": 5, "or": 2}
    stored = {r["registry"]: r["n"] for r in rows(db, "SELECT registry, count(*) n FROM brokers GROUP BY registry")}
    assert stored == counts
    run = rows(db, "SELECT id, kind, status, summary FROM crawls")
    assert [(r["id"], r["kind"], r["status"]) for r in run] == [(result.crawl_id, "brokers-fetch", "finished")]
    assert json.loads(run[0]["summary"]) == result.summary
    assert isinstance(result.linked, int)


def test_fetch_brokers_reads_a_year_file_and_a_journalists_list(testweb, tmp_path):
    db = str(tmp_path / "m.db")
    year = api.fetch_brokers("ca", db=db, year=2025, network=NetworkOptions.build(proxy=testweb.proxy_url))
    [snapshot] = year.summary["snapshots"]
    assert (snapshot["registry"], snapshot["year"], snapshot["brokers"]) == ("ca", 2025, 535)
    assert snapshot["source_url"] == "https://cppa.ca.gov/data_broker_registry/registry2025.csv"
    # The same file given as a path is read in this process, and recognised as the snapshot already stored.
    again = api.fetch_brokers("ca", db=db, source=str(CA_2025))
    assert again.summary["snapshots"][0]["unchanged"] is True and again.crawl_id == year.crawl_id + 1
    listing = tmp_path / "list.csv"
    listing.write_text(broker_sites.list_csv(), encoding="utf-8")
    listed = api.fetch_brokers("list", db=db, source=listing)  # a path as str or Path
    assert listed.summary["snapshots"][0]["brokers"] == len(broker_sites.BROKERS) == 11
    assert rows(db, "SELECT count(*) n FROM brokers WHERE registry = 'list'")[0]["n"] == 11


def test_fetch_that_brings_nothing_is_a_user_error_and_a_failed_run(testweb, tmp_path):
    db = str(tmp_path / "m.db")
    missing = "https://cppa.ca.gov/data_broker_registry/registry1999.csv"
    with pytest.raises(UserError) as error:
        api.fetch_brokers("ca", db=db, source=missing, network=NetworkOptions.build(proxy=testweb.proxy_url))
    assert str(error.value) == f"nothing was fetched ({missing}: HTTP 404); no snapshot stored"
    assert [(r["kind"], r["status"]) for r in rows(db, "SELECT kind, status FROM crawls")] == [
        ("brokers-fetch", "failed")]
    assert [(r["component"], r["kind"], r["detail"]) for r in rows(db, "SELECT * FROM failures")] == [
        ("brokers", "run-error", f"nothing was fetched: {missing}: HTTP 404")]
    assert not rows(db, "SELECT 1 FROM registry_snapshots")


@pytest.mark.parametrize("call, message", [
    (lambda db: api.fetch_brokers("ny", db=db), "unknown registry 'ny': choose one of ca, vt, tx, or, list"),
    (lambda db: api.fetch_brokers("list", db=db), "--registry list needs --from PATH_OR_URL"),
    (lambda db: api.fetch_brokers("all", db=db, source="x.csv"), "--from reads one registry"),
    (lambda db: api.crawl_brokers(db=db, registries=["ca", "ny"]), "unknown registry 'ny'"),
    (lambda db: api.crawl_brokers(db=db, registries="ca"), "registries: expected a list of names"),
    (lambda db: api.crawl_brokers(db=db, render="sometimes"), "--render 'sometimes': choose one of auto, always"),
    (lambda db: api.crawl_brokers(db=db, limit=0), "--limit 0: expected a whole number from 1"),
    (lambda db: api.crawl_brokers(db=db, concurrency=0), "--concurrency 0: expected a number from 1 to 64"),
    (lambda db: api.fetch_brokers("ca", db=db, year="2025"), "--year '2025': expected a year such as 2025"),
    (lambda db: api.fetch_brokers("ca", db=db, timeout=float("nan")), "--timeout nan: expected a number from 1"),
])
def test_bad_arguments_are_user_errors_before_anything_starts(tmp_path, call, message):
    db = tmp_path / "m.db"
    with pytest.raises(UserError, match="^" + message.replace("(", r"\(").replace("|", r"\|")):
        call(str(db))
    assert not db.exists()  # nothing was started, not even a run row


def test_crawl_brokers_on_a_database_without_brokers_says_what_to_do(tmp_path):
    db = tmp_path / "empty.db"
    sqlite3.connect(db).close()
    with pytest.raises(UserError) as error:
        api.crawl_brokers(db=str(db))  # raised in the child, raised again here with the same one line
    assert str(error.value) == f"no brokers in {db}: run 'mouchard brokers fetch' first"
    with pytest.raises(UserError, match="no database at"):
        api.crawl_brokers(db=str(tmp_path / "missing.db"))


def expected_hidden(rendered: bool) -> set[tuple[str, str]]:
    """(broker, page) of every page the test web hides from search engines; without rendering, those hidden
    only by a meta tag a script adds stay unseen."""
    return {(b["name"], key) for b in broker_sites.BROKERS for key, page in b["pages"].items()
            if page["hidden"] and (rendered or page.get("reasons") != ["meta-rendered"])}


def hidden_pages(db: str, crawl_id: int) -> set[tuple[str, str]]:
    return {(r["name"], page_key(r["final_url"] or r["url"])) for r in rows(
        db, "SELECT b.name, p.url, p.final_url FROM broker_pages p JOIN brokers b ON b.id = p.broker_id "
            "WHERE p.crawl_id = ? AND p.hidden = 1", (crawl_id,))}


@pytest.mark.browser
def test_crawl_brokers_twice_in_one_process_finds_every_hidden_page(testweb, tmp_path):
    def with_port(url: str) -> str:
        p = urllib.parse.urlsplit(url)
        return urllib.parse.urlunsplit((p.scheme, f"{p.hostname}:{testweb.https_port}", p.path, p.query, ""))

    listing = tmp_path / "list.csv"
    listing.write_text(broker_sites.list_csv(with_port), encoding="utf-8")
    db = str(tmp_path / "m.db")
    api.fetch_brokers("list", db=db, source=str(listing))
    network = NetworkOptions.build(host_map=["*=127.0.0.1"], ignore_https_errors=True)

    first = api.crawl_brokers(db=db, network=network, concurrency=4)
    assert first.status == "finished" and first.summary["brokers"] == 11
    assert hidden_pages(db, first.crawl_id) == expected_hidden(rendered=True)
    # 8 pages, 13 rows: a registered rights page that is also linked as the opt-out page is a row of each kind.
    assert (len(expected_hidden(rendered=True)), first.summary["hidden_pages"]) == (8, 13)
    findings = Counter(rule for b in broker_sites.BROKERS for rule in b["findings"])
    assert first.summary["findings"] == dict(findings)

    # Scrapy's reactor runs once per process: a second crawl from this process works only because each runs in
    # a child. Without rendering, only the page hidden by a script's meta tag goes unseen.
    second = api.crawl_brokers(db=db, network=network, render="never", limit=4)
    assert (second.status, second.crawl_id, second.summary["brokers"]) == ("finished", first.crawl_id + 2, 4)
    first_four = {b["name"] for b in broker_sites.BROKERS[:4]}
    assert hidden_pages(db, second.crawl_id) == {h for h in expected_hidden(rendered=False) if h[0] in first_four}
    runs = rows(db, "SELECT id, kind, status FROM crawls ORDER BY id")
    assert [(r["kind"], r["status"]) for r in runs] == [
        ("brokers-fetch", "finished"), ("brokers-crawl", "finished"), ("audit", "finished"),
        ("brokers-crawl", "finished"), ("audit", "finished")]


@pytest.fixture
def hanging_broker():
    """A broker whose home page answers and whose rights page never does; `asked` is set when it is requested."""
    asked = threading.Event()
    site = Site("broker that hangs", ["www.slowlane-data.com"])
    site.add_route("/", lambda req: Response.html("<title>Slow Lane</title><a href='/privacy'>Privacy</a>"))
    site.add_route("/privacy", lambda req: Response.html("<title>Privacy</title><p>We sell data.</p>"))

    def opt_out(req):
        asked.set()
        return Response(hang=True)

    site.add_route("/opt-out", opt_out)
    web = TestWeb(sites=[site]).start()
    yield web, asked
    web.stop()


def test_a_stop_signal_ends_the_crawl_interrupted_with_what_it_recorded(hanging_broker, tmp_path):
    web, asked = hanging_broker
    base = f"https://www.slowlane-data.com:{web.https_port}"
    listing = tmp_path / "list.csv"
    listing.write_text(f"name,website,country,notes,rights_url\nSlow Lane Data LLC,{base}/,USA,,{base}/opt-out\n",
                       encoding="utf-8")
    db = str(tmp_path / "m.db")
    api.fetch_brokers("list", db=db, source=str(listing))
    # Another Python program crawls through the API; its stop signal reaches the crawl in its child process. Scrapy
    # stops gracefully: it waits for the hanging page until its timeout (10 s), which bounds the test's length only.
    script = ("import sys; from mouchard import api; from mouchard.net import NetworkOptions\n"
              "r = api.crawl_brokers(db=sys.argv[1], render='never', timeout=10, network=NetworkOptions.build("
              "host_map=['*=127.0.0.1'], ignore_https_errors=True))\nprint(r.status, r.summary['pages'])\n")
    program = subprocess.Popen([sys.executable, "-c", script, db], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        assert asked.wait(120), "the rights page was never requested"
        program.send_signal(signal.SIGTERM)
        out, err = program.communicate(timeout=120)
    finally:
        if program.poll() is None:
            program.kill()
    assert program.returncode == 0, err[-2000:]
    runs = rows(db, "SELECT id, kind, status, summary FROM crawls ORDER BY id")
    assert [(r["kind"], r["status"]) for r in runs] == [("brokers-fetch", "finished"), ("brokers-crawl", "interrupted")]
    pages = rows(db, "SELECT url, kind FROM broker_pages ORDER BY id")
    assert out.split() == ["interrupted", str(len(pages))] and json.loads(runs[1]["summary"])["pages"] == len(pages)
    assert ("home", f"{base}/") in {(p["kind"], p["url"]) for p in pages}
    assert not rows(db, "SELECT 1 FROM findings")  # an interrupted crawl's missing pages prove nothing


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=8), max_size=4), st.one_of(st.none(), st.integers(-3, 3)), st.text(max_size=8))
def test_crawl_arguments_are_checked_whatever_they_are(registries, limit, render):
    from crawler.brokers.jobs import RENDER_MODES, _check_crawl

    valid = (all(r in NAMES for r in registries) and (limit is None or limit >= 1) and render in RENDER_MODES)
    try:
        _check_crawl(registries, limit, render)
    except UserError as exc:
        assert not valid and "\n" not in str(exc)
    else:
        assert valid
