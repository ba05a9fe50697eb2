"""Audits that archive and replay, without a browser: the spec's `warc` key, the plan of a replay, the bundles a
replay refuses (one line each), the replay's sequence and provenance with a stand-in proxy and crawl, `verify` on
WARC files, and `diff` saying why findings differ on two hand-made databases."""

from __future__ import annotations

import dataclasses
import gzip
import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from audits import api, bundle, collect, replay, runner
from audits.diff import render_table
from audits.spec import load_spec, parse_spec
from mouchard.archive.records import ArchivedVisit, Exchange, VisitArchive
from mouchard.archive.warc import warc_name, write_visit_warc
from mouchard.errors import UserError
from mouchard.net import NetworkOptions
from mouchard.settings import ReplaySettings
from mouchard.storage.store import Store

DATA = Path(__file__).parent / "data" / "audits"
BASE = {"case": "C-1", "jurisdiction": "eu", "targets": {"sites": ["https://a.example/"]}}


# -- the spec's warc key and the plan ------------------------------------------------------------------------


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8), st.floats(allow_nan=False),
                 st.lists(st.booleans(), max_size=2)))
def test_spec_warc_is_true_false_or_absent(value):
    data = {**BASE, "warc": value}
    if value is None or isinstance(value, bool):
        assert parse_spec(data, source="s.yml").warc is bool(value)
    else:
        with pytest.raises(UserError) as caught:
            parse_spec(data, source="s.yml")
        assert str(caught.value) == f"s.yml: warc: expected true or false, got {value!r}"
        assert "\n" not in str(caught.value)


@pytest.mark.parametrize("in_spec, flag, archived", [
    (False, None, False), (True, None, True), (False, True, True), (True, False, False)])
def test_the_command_line_warc_wins_over_the_spec(tmp_path, in_spec, flag, archived):
    spec = parse_spec({**BASE, "warc": in_spec, "targets": {"sites": ["https://a.example/"],
                                                            "urls": ["https://b.example/x"]}})
    steps = collect.plan(spec, tmp_path / "audit.db", warc=flag)
    assert [(s.kind, s.options["settings"].warc) for s in steps] == [("web", archived), ("web", archived)]
    assert [s.record()["settings"]["warc"] for s in steps] == [archived, archived]


def test_a_replay_plan_points_the_web_steps_at_the_archive_and_runs_nothing_else(tmp_path):
    spec = load_spec(DATA / "eu-news.yml")
    network = NetworkOptions.build("http://127.0.0.1:9", (), False, None)
    replay_settings = ReplaySettings(bundle="ab" * 32, clock=(("initial", "https://www.example-news.fr/",
                                                               "2026-01-02T03:04:05Z"),))
    planned = collect.for_replay(collect.plan(dataclasses.replace(spec, network=network), tmp_path / "audit.db"),
                                 replay_settings, warc=False)
    assert [(s.kind, s.skip) for s in planned] == [
        ("web", None), ("web", None), ("app", collect.REPLAY_SKIPPED), ("brokers-fetch", collect.REPLAY_SKIPPED),
        ("brokers-crawl", collect.REPLAY_SKIPPED)]
    for step in planned[:2]:
        run = step.options["settings"]
        assert (run.network, run.replay, run.warc) == (network, replay_settings, False)
        assert run.network.chromium_args() == ["--proxy-server=http://127.0.0.1:9"]
        assert step.record()["settings"]["replay"] == {"bundle": "ab" * 32, "clock": [
            ["initial", "https://www.example-news.fr/", "2026-01-02T03:04:05Z"]], "proxies": []}
    again = collect.for_replay(planned, replay_settings, warc=True)
    assert [s.options["settings"].warc for s in again[:2]] == [True, True]
    lines = runner.describe_plan(spec, planned, {"path": None, "version": "x", "sandbox": "off", "user": None})
    assert sum(line.startswith("  will not run (replay covers the archived web visits only): ") for line in lines) == 3
    assert sum(line.startswith("  will run: mouchard.api.crawl(") for line in lines) == 2
    results = collect.run(planned[2:], tmp_path / "logs")  # skipped: no child process, no log
    assert [(r.kind, r.status, r.reason, r.log) for r in results] == [
        (kind, "not-run", collect.REPLAY_SKIPPED, None) for kind in ("app", "brokers-fetch", "brokers-crawl")]
    assert not (tmp_path / "logs").exists()


# -- bundles a replay refuses ----------------------------------------------------------------------------------


def small_bundle(root: Path, *, warc: bool = False) -> Path:
    """A verifiable bundle without a browser: an empty audit database, provenance, maybe one visit's WARC."""
    root.mkdir()
    Store(root / bundle.DATABASE).close()
    bundle.write_json(root / "provenance.json", {"case": "SMALL-1"})
    if warc:
        write_visit_warc(root / "audit.db.evidence" / "crawl-1" / warc_name("k1"), VisitArchive(
            1, "k1", "https://a.example/", "a.example", "initial", "2026-01-02T03:04:05Z", (Exchange(
                "https://a.example/", status=200, status_text="OK",
                response_headers=(("Content-Type", "text/html"),), body=b"<p>archived page</p>",
                captured_at="2026-01-02T03:04:05Z"),)))
    bundle.write_manifest(root)
    return root


def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "spec.yml"
    path.write_text(yaml.safe_dump(BASE))
    return path


def test_replay_refuses_a_tampered_bundle_in_one_line(tmp_path):
    source = small_bundle(tmp_path / "b", warc=True)
    (source / "provenance.json").write_text('{"case": "SMALL-2"}\n')
    with pytest.raises(UserError) as caught:
        api.replay_audit(spec_file(tmp_path), source, tmp_path / "out")
    assert str(caught.value) == (f"{source} does not verify (1 problem(s), first: changed provenance.json): a bundle "
                                 "that does not verify is never replayed")
    assert not (tmp_path / "out").exists()


def test_replay_refuses_a_bundle_without_warc_files(tmp_path):
    source = small_bundle(tmp_path / "b")
    with pytest.raises(UserError) as caught:
        api.replay_audit(spec_file(tmp_path), source, tmp_path / "out")
    assert str(caught.value) == f"{source} holds no WARC archive (audit it with --warc)"
    assert not (tmp_path / "out").exists()


def test_replay_refuses_an_out_folder_inside_the_bundle(tmp_path):
    source = small_bundle(tmp_path / "b", warc=True)
    with pytest.raises(UserError, match="is inside the replayed bundle"):
        api.replay_audit(spec_file(tmp_path), source, source / "again")


def test_the_command_says_the_refusal_in_one_line(tmp_path):
    source = small_bundle(tmp_path / "b")
    out = subprocess.run([sys.executable, "-m", "mouchard", "audit", str(spec_file(tmp_path)), "--replay",
                          str(source), "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and out.stdout == ""
    assert out.stderr.strip().splitlines() == [f"mouchard: {source} holds no WARC archive (audit it with --warc)"]


# -- the replay's sequence, with a stand-in proxy and crawl -----------------------------------------------------


class FakeStats:
    served, fuzzy = 7, 2
    not_archived = [("GET", f"https://t.example/{n}") for n in range(60)]
    not_archived_total = 75


class FakeServer:
    """What audits.replay needs of mouchard.archive.replay_server.ReplayServer."""

    started: list = []

    def __init__(self, index, **_):
        self.index, self.proxy_url, self.ca_file, self.stats = index, "http://127.0.0.1:9", None, FakeStats()

    def __enter__(self):
        FakeServer.started.append(self)
        return self

    def proxy_url_for(self, phase=None, site=None):
        return self.proxy_url

    def __exit__(self, *exc):
        self.stopped = True


def test_a_replay_runs_the_web_steps_against_the_archive_and_records_it(tmp_path, monkeypatch):
    source = small_bundle(tmp_path / "b", warc=True)
    ran: list = []

    def fake_run(steps, logs, *, echo=None):
        ran.extend(steps)
        return [collect.StepResult(s.target, s.kind, s.job, s.record(), "not-run" if s.skip else "finished",
                                   s.skip or "", None, None, None, None) for s in steps]

    monkeypatch.setattr("mouchard.archive.replay_server.ReplayServer", FakeServer)
    monkeypatch.setattr(collect, "run", fake_run)
    spec = parse_spec({**BASE, "warc": True, "network": {"host_map": ["*=127.0.0.1"], "ignore_https_errors": True},
                       "targets": {"sites": ["https://a.example/"], "app_capture": str(DATA / "capture.har"),
                                   "profile": str(DATA / "phone.yml")}}, source=str(spec_file(tmp_path)))
    lines: list[str] = []
    result = replay.replay_audit(spec, source, tmp_path / "out", echo=lines.append)
    digest = api.verify(source).digest
    assert [(s.kind, s.skip) for s in ran] == [("web", None), ("app", collect.REPLAY_SKIPPED)]
    run = ran[0].options["settings"]
    assert (run.network.proxy, run.network.host_map, run.network.ignore_https_errors, run.warc) == (
        "http://127.0.0.1:9", (), False, False)
    assert run.replay == ReplaySettings(digest, (("initial", "https://a.example/", "2026-01-02T03:04:05Z"),),
                                        (("initial", "http://127.0.0.1:9"),))
    assert FakeServer.started[-1].stopped and isinstance(FakeServer.started[-1].index.visits[0], ArchivedVisit)
    assert lines[0].startswith(f"replay of bundle {source} (digest {digest}, case 'SMALL-1'): 1 archived visits")
    provenance = json.loads((result.out / "provenance.json").read_text())
    assert provenance["replay"] == {
        "of": digest, "case": "SMALL-1", "served": 7, "fuzzy": 2, "not_archived": 0, "not_archived_sample": [],
        "not_archived_by_proxy": 75, "archived_visits": 1,
        "archive_problems": 0, "archive_problems_sample": []}
    assert provenance["network"] == {"proxy": "http://127.0.0.1:9", "host_map": [], "ignore_https_errors": False,
                                     "ca_file": None}
    assert provenance["warc"] is False and provenance["case"] == "C-1"
    assert [(c["kind"], c["status"]) for c in provenance["collectors"]] == [("web", "finished"), ("app", "not-run")]
    assert api.verify(result.out).ok and (result.out / "report.html").is_file()


# -- verify reads the WARC records -------------------------------------------------------------------------------


def gzip_members(data: bytes) -> list[bytes]:
    """The decompressed members of a record-by-record gzip file."""
    members = []
    while data:
        inflater = zlib.decompressobj(wbits=31)
        members.append(inflater.decompress(data))
        data = inflater.unused_data
    return members


def flip_in_warc_body(path: Path, needle: bytes) -> None:
    """Change one byte of a response body inside a WARC (every member re-compressed alone, as warcio writes)."""
    members = gzip_members(path.read_bytes())
    hit = [i for i, m in enumerate(members) if needle in m]
    assert len(hit) == 1
    members[hit[0]] = members[hit[0]].replace(needle, bytes([needle[0] ^ 1]) + needle[1:])
    path.write_bytes(b"".join(gzip.compress(m) for m in members))


def test_verify_fails_a_warc_edited_behind_a_regenerated_manifest(tmp_path):
    source = small_bundle(tmp_path / "b", warc=True)
    assert api.verify(source).ok
    warc = next((source / "audit.db.evidence").rglob("*.warc.gz"))
    flip_in_warc_body(warc, b"archived page")
    assert [p.kind for p in api.verify(source).problems] == ["changed"]
    bundle.write_manifest(source)  # the hashes agree again: only the record digests can tell
    problems = api.verify(source).problems
    assert problems and {p.kind for p in problems} == {"warc"}
    assert {p.path for p in problems} == {warc.relative_to(source).as_posix()}


# -- diff says why ----------------------------------------------------------------------------------------------


def hand_made(path: Path, requests: list[tuple], cookies: list[tuple], finding: str | None) -> Path:
    """A database with one visit per phase of a.example, its requests (phase, method, url, replay mark), cookies
    (phase, name, domain) and maybe one finding (its fingerprint)."""
    with Store(path) as store:
        crawl = store.insert("crawls", {"kind": "web", "status": "finished"})
        visits = {phase: store.insert("visits", {"crawl_id": crawl, "key": phase, "url": "https://a.example/",
                                                 "site": "a.example", "phase": phase, "status": "ok"})
                  for phase in ("initial", "accept")}
        for phase, method, url, mark in requests:
            headers = {"content-type": "text/html", **({"X-Mouchard-Replay": mark} if mark else {})}
            store.insert("requests", {"visit_id": visits[phase], "method": method, "url": url, "status": 200,
                                      "response_headers": json.dumps(headers)})
        for phase, name, domain in cookies:
            store.insert("cookies", {"visit_id": visits[phase], "name": name, "domain": domain})
        if finding:
            store.insert("findings", {"crawl_id": crawl, "rule_id": "web.r", "severity": "high", "title": "T",
                                      "subject": "a.example", "fingerprint": finding})
        store.conn.commit()
    return path


def test_diff_says_which_requests_and_cookies_differ(tmp_path):
    page = ("initial", "GET", "https://a.example/", None)
    a = hand_made(tmp_path / "a.db", [page, ("initial", "GET", "https://t.example/random?r=1", None),
                                      ("accept", "POST", "https://t.example/collect", None)],
                  [("initial", "uid", ".t.example"), ("initial", "s", "a.example")], "f-a")
    b = hand_made(tmp_path / "b.db", [("initial", "GET", "https://a.example/", "exact"),
                                      ("initial", "GET", "https://t.example/random?r=2", "not-archived"),
                                      ("accept", "POST", "https://t.example/collect", "fuzzy"),
                                      ("accept", "GET", "https://a.example/new", "exact")],
                  [("initial", "s", "a.example")], None)
    result = api.diff(a, b)
    assert [f["fingerprint"] for f in result.disappeared] == ["f-a"] and not result.appeared
    assert result.reasons == {"f-a": [
        "1 requests only in A: the replay did not ask for them: behaviour not fixed by what was served (timers, "
        "randomness)",
        "  GET https://t.example/random?r=1 (initial)",
        "1 requests only in B, not in the archive: served 404",
        "  GET https://t.example/random?r=2 (initial)",
        "1 requests only in B",
        "  GET https://a.example/new (accept)",
        "1 requests of B served by a fuzzy match (an archived response of a similar URL)",
        "  POST https://t.example/collect (accept)",
        "1 cookies set only in A",
        "  uid (.t.example, initial)"]}
    assert result.as_json()["reasons"] == [{"difference": "disappeared", "rule_id": "web.r", "subject": "a.example",
                                            "fingerprint": "f-a", "lines": result.reasons["f-a"]}]
    text = render_table(result)
    assert "why: 1 requests only in B, not in the archive: served 404" in text
    assert api.diff(a, a).reasons == {} and api.diff(a, a).identical


def test_diff_reasons_are_bounded_and_on_one_line_each(tmp_path):
    many = [("initial", "GET", f"https://t.example/{n}\n\x1b[31mred", None) for n in range(40)]
    a = hand_made(tmp_path / "a.db", many, [("initial", f"c{n}", "t.example") for n in range(30)], "f-a")
    b = hand_made(tmp_path / "b.db", [], [], "f-b")
    lines = api.diff(a, b).reasons  # one finding each side, same rule and subject: a change, explained once
    assert set(lines) == {"f-b"}
    assert lines["f-b"] == ["40 requests only in A", "  GET https://t.example/0??[31mred (initial)",
                            "  GET https://t.example/1??[31mred (initial)",
                            "  GET https://t.example/10??[31mred (initial)", "30 cookies set only in A",
                            "  c0 (t.example, initial)", "  c1 (t.example, initial)", "  c10 (t.example, initial)"]


def test_diff_of_the_same_traffic_says_the_rules_judged_it_differently(tmp_path):
    traffic = [("initial", "GET", "https://a.example/", None)]
    a = hand_made(tmp_path / "a.db", traffic, [], "f-a")
    b = hand_made(tmp_path / "b.db", traffic, [], None)
    assert api.diff(a, b).reasons == {"f-a": [
        "the same requests and cookies for this site on both sides: the rules judged them differently (rule "
        "version, other tables)"]}


def test_diff_reasons_stop_at_twenty_lines(tmp_path):
    a = hand_made(tmp_path / "a.db", [("initial", "GET", f"https://t.example/a{n}", None) for n in range(4)]
                  + [("accept", "GET", f"https://t.example/f{n}", None) for n in range(4)],
                  [("initial", f"a{n}", "t.example") for n in range(4)], "f-a")
    b = hand_made(tmp_path / "b.db", [("initial", "GET", f"https://t.example/n{n}", "not-archived") for n in range(4)]
                  + [("initial", "GET", f"https://t.example/b{n}", "exact") for n in range(4)]
                  + [("accept", "GET", f"https://t.example/f{n}", "fuzzy") for n in range(4)],
                  [("initial", f"b{n}", "t.example") for n in range(4)], None)
    lines = api.diff(a, b).reasons["f-a"]
    assert len(lines) == 20 and lines[-1] == "... 5 more lines"
    assert [line for line in lines if not line.startswith("  ")] == [
        "4 requests only in A: the replay did not ask for them: behaviour not fixed by what was served (timers, "
        "randomness)", "4 requests only in B, not in the archive: served 404", "4 requests only in B",
        "4 requests of B served by a fuzzy match (an archived response of a similar URL)",
        "4 cookies set only in A", "... 5 more lines"]


@pytest.mark.parametrize("args, message", [
    (["--warc"], "--out, --from-db, --sign-key, --warc and --replay need a SPEC file"),
    (["--replay", "b"], "--out, --from-db, --sign-key, --warc and --replay need a SPEC file"),
    (["SPEC", "--out", "o", "--warc", "--from-db", "x.db"],
     "--warc archives the visits a collector makes: with --from-db no collector runs"),
    (["SPEC", "--out", "o", "--replay", "b", "--from-db", "x.db"],
     "--replay runs the visits again from the archive: --from-db and --vantage-lookup do not apply"),
    (["SPEC", "--replay", "b"], "--out DIR is required with a spec: the bundle folder to create"),
])
def test_audit_options_that_do_not_go_together_are_one_line_errors(tmp_path, args, message):
    from audits.cli import audit

    args = [str(spec_file(tmp_path)) if a == "SPEC" else a for a in args]
    with pytest.raises(UserError) as caught:
        audit.main(args, standalone_mode=False)
    assert str(caught.value) == message


@given(st.one_of(st.none(), st.text(max_size=200), st.binary(max_size=50).map(lambda b: b.decode("latin-1")),
                 st.dictionaries(st.sampled_from(["X-Mouchard-Replay", "x-mouchard-replay", "Content-Type"]),
                                 st.text(max_size=20)).map(json.dumps),
                 st.lists(st.lists(st.text(max_size=20), max_size=3), max_size=3).map(json.dumps)))
def test_areplay_mark_is_read_from_any_stored_headers_without_raising(headers):
    from audits.diff import replay_mark

    mark = replay_mark(headers)
    assert mark is None or (isinstance(mark, str) and isinstance(headers, str) and "mouchard-replay" in headers.lower())


keys = st.tuples(st.sampled_from(["initial", "accept"]), st.sampled_from(["GET", "POST"]), st.text(max_size=300))


@given(st.lists(keys, max_size=40), st.lists(keys, max_size=40),
       st.dictionaries(keys, st.sampled_from(["exact", "fuzzy", "not-archived", "?"]), max_size=10),
       st.sets(st.tuples(st.just("initial"), st.text(max_size=200), st.text(max_size=50)), max_size=10))
def test_diff_reasons_are_at_most_twenty_printable_lines(a, b, marks, cookies):
    from collections import Counter

    from audits.diff import REASON_LINES, URL_SHOWN, _site_reasons, _SiteTraffic

    lines = _site_reasons(_SiteTraffic(Counter(a), {}, cookies, False),
                          _SiteTraffic(Counter(b), marks, set(), bool(marks)))
    assert len(lines) <= REASON_LINES
    assert all(line.isprintable() and len(line) <= URL_SHOWN + 40 for line in lines)
    assert bool(lines) == bool(a or b or cookies)
