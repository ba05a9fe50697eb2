"""A real audit of test-web sites, archived and replayed: `mouchard audit --warc` runs the crawl (mouchard.api.crawl)
into the bundle and archives every visit as WARC, finds the planted violations with evidence, and the bundle
verifies; then one site changes, and `mouchard audit --replay` of the first bundle runs the same visits with the
network cut off: the test web receives nothing, and the requests, cookies, fingerprinting calls and findings are
those of the capture (`diff` empty), the changed site's included. A WARC edited behind a regenerated manifest
does not verify."""

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import zlib
from collections import Counter

import pytest
import yaml

from audits.bundle import write_manifest
from demoweb import Response, Site
from demoweb.client import fetch
from demoweb.sites.trackers import TRACKERS
from mouchard.storage.store import connect_readonly

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NEWS = "www.example-news.fr"  # six tracker scripts, no consent banner: tracking before any consent, session replay
CLEAN = "www.clean-example.org"  # no third party at all: no finding
CHANGING = "www.changing-example.fr"  # one page that drops its Meta pixel after the capture (PIXEL["on"])
PIXEL = {"on": True}
META = TRACKERS["meta-pixel"]


def changing_site() -> Site:
    """A page with the Meta pixel while PIXEL["on"], without it after: the site that changes after the capture."""
    site = Site("changes after the capture", [CHANGING])

    @site.route("/", ["GET"])
    def home(req):
        tag = ('<script async src="{{https://' + META.host + META.script + '}}"></script>') if PIXEL["on"] else ""
        return Response.html(req.render('<!doctype html><html><head><meta charset="utf-8"><title>Changing</title>'
                                        + tag + "</head><body><h1>A page that changes</h1></body></html>"))

    return site


def mouchard(*args, timeout=600):
    env = {k: v for k, v in os.environ.items() if k != "MOUCHARD_DB"}
    return subprocess.run([sys.executable, "-m", "mouchard", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module")
def audits(testweb, tmp_path_factory):
    """The spec audited with --warc ("first"), one site changed, then the first bundle replayed ("second"); also
    how many requests the test web received during the replay and the changed page as the live web serves it."""
    testweb.add_site(changing_site())
    root = tmp_path_factory.mktemp("e2e")
    spec = {"case": "TEST-E2E-1", "jurisdiction": "eu",
            "targets": {"sites": [testweb.url(NEWS), testweb.url(CLEAN), testweb.url(CHANGING)]},
            "pages_per_site": 1, "seed": 11, "rules": "all", "timeout": 30, "concurrency": 2,
            "network": {"host_map": ["*=127.0.0.1"], "ignore_https_errors": True}}
    (root / "spec.yml").write_text(yaml.safe_dump(spec))
    first, second = root / "first", root / "second"
    try:
        out = mouchard("audit", str(root / "spec.yml"), "--out", str(first), "--warc")
        assert out.returncode == 0, out.stdout + out.stderr
        PIXEL["on"] = False  # the site changes after the capture
        received = len(testweb.log)
        out = mouchard("audit", str(root / "spec.yml"), "--replay", str(first), "--out", str(second))
        assert out.returncode == 0, out.stdout + out.stderr
        during_replay = testweb.log[received:]
        live = fetch(testweb, testweb.url(CHANGING)).body.decode()
    finally:
        PIXEL["on"] = True
    return {"first": first, "second": second, "during_replay": during_replay, "live": live, "root": root}


def findings(bundle):
    return json.loads((bundle / "findings.json").read_text())


def connect(bundle):
    return connect_readonly(bundle / "audit.db", immutable=True)


def test_audit_runs_the_crawl_into_the_bundle(audits):
    first = audits["first"]
    provenance = json.loads((first / "provenance.json").read_text())
    web = [s for s in provenance["collectors"] if s["kind"] == "web"]
    assert web and all(s["status"] == "finished" for s in web), web
    assert (web[0]["job"], web[0]["crawl_id"]) == ("crawl", 1) and (first / "logs" / web[0]["log"]).is_file()
    assert web[0]["options"]["settings"]["db"] == str(first / "audit.db")
    assert web[0]["options"]["settings"]["warc"] is True and provenance["warc"] is True
    assert [r["kind"] for r in provenance["runs"]] == ["web"] and provenance["runs"][0]["browser_version"]
    conn = connect(first)
    sites = {r[0] for r in conn.execute("SELECT DISTINCT site FROM visits WHERE status = 'ok'")}
    assert sites == {"example-news.fr", "clean-example.org", "changing-example.fr"}
    visits = {r[0] for r in conn.execute("SELECT id FROM visits")}
    archived = [r[0] for r in conn.execute("SELECT visit_id FROM evidence_files WHERE documents = 'warc'")]
    assert sorted(archived) == sorted(visits)  # one WARC per visit


def test_planted_violations_are_found_with_evidence(audits):
    first = audits["first"]
    found = findings(first)
    by_rule = {(f["rule_id"], f["subject"]) for f in found}
    assert ("consent.tracking-before-consent", "example-news.fr") in by_rule
    assert ("web.session-replay", "example-news.fr") in by_rule
    assert ("consent.tracking-before-consent", "changing-example.fr") in by_rule
    assert not [f for f in found if f["subject"] == "clean-example.org"]
    conn = connect(first)
    for finding in found:
        tables = {e["table"] for e in finding["evidence"]}
        assert "visits" in tables, finding["rule_id"]
        for ref in finding["evidence"]:
            assert conn.execute(f"SELECT count(*) FROM [{ref['table']}] WHERE id = ?", (ref["id"],)).fetchone()[0] == 1
    tracking = next(f for f in found if f["rule_id"] == "consent.tracking-before-consent"
                    and f["subject"] == "example-news.fr")
    assert {"cookies", "requests", "evidence_files"} <= {e["table"] for e in tracking["evidence"]}
    assert "Google" in tracking["detail"] and "Meta" in tracking["detail"]


def test_the_replay_never_reaches_the_network(audits):
    assert audits["during_replay"] == []
    conn = connect(audits["second"])
    marks = Counter()
    for status, headers in conn.execute("SELECT status, response_headers FROM requests WHERE status IS NOT NULL"):
        values = [v for k, v in json.loads(headers or "{}").items() if k.lower() == "x-mouchard-replay"]
        marks[tuple(values)] += 1
    assert set(marks) <= {("exact",), ("fuzzy",)}, marks
    provenance = json.loads((audits["second"] / "provenance.json").read_text())
    first_digest = json.loads((audits["first"] / "MANIFEST.json").read_text())["digest"]
    replay = provenance["replay"]
    assert (replay["of"], replay["case"]) == (first_digest, "TEST-E2E-1")
    # No request of the replayed pages went unanswered; what else reached the proxy unarchived is Chromium's own
    # background traffic (account and component-update checks), which page records leave out
    assert (replay["not_archived"], replay["not_archived_sample"]) == (0, [])
    assert replay["not_archived_by_proxy"] >= 0
    assert replay["archive_problems"] == 0 and provenance["warc"] is False
    assert provenance["network"]["proxy"].startswith("http://127.0.0.1:") and provenance["network"]["host_map"] == []
    assert provenance["runs"][0]["config"]["replay"]["bundle"] == first_digest
    report = (audits["second"] / "report.html").read_text()
    assert f"<dt>Replay of</dt><dd>bundle <span class=\"mono\">{first_digest}</span> (case TEST-E2E-1)" in report
    assert "<dt>Archive</dt>" in (audits["first"] / "report.html").read_text()
    (warnings,) = conn.execute("SELECT warnings FROM crawls WHERE kind = 'web'").fetchone()
    assert f"replay of bundle {first_digest}" in warnings


# The test web's tags make their identifiers as real ones do, from Math.random (left alone by a replay) and the
# clock (pinned to the capture time, then running): `cid=GA1.1.<random>.<seconds>`, `fbp=fb.1.<random>.<seconds>`,
# a server-made hex id echoed in a script URL. Compared URLs have them as placeholders; everything else is exact.
GENERATED = re.compile(r"[0-9a-f]{32}|[0-9]{6,}")


def generic(url: str) -> str:
    return GENERATED.sub("<id>", url)


def traffic(bundle):
    conn = connect(bundle)
    requests = Counter((phase, site, method, generic(url), status) for phase, site, method, url, status in conn.execute(
        "SELECT v.phase, v.site, r.method, r.url, r.status FROM requests r JOIN visits v ON v.id = r.visit_id"))
    cookies = Counter((name, domain, phase, site, None if days is None else round(days)) for
                      name, domain, phase, site, days in conn.execute(
        "SELECT c.name, c.domain, v.phase, v.site, c.lifetime_days FROM cookies c JOIN visits v ON v.id = c.visit_id"))
    calls = Counter((generic(script), api, n) for script, api, n in conn.execute(
        "SELECT script_url, api, calls FROM js_calls"))
    return requests, cookies, calls


def test_the_replay_sees_what_the_capture_saw(audits):
    requests, cookies, calls = traffic(audits["first"])
    again = traffic(audits["second"])
    assert requests and cookies and calls
    assert (requests - again[0], again[0] - requests) == (Counter(), Counter())
    assert (cookies - again[1], again[1] - cookies) == (Counter(), Counter())
    assert (calls - again[2], again[2] - calls) == (Counter(), Counter())
    out = mouchard("diff", str(audits["first"]), str(audits["second"]))
    assert out.returncode == 0, out.stdout
    assert out.stdout.startswith("identical: the same")


def test_a_site_changed_after_the_capture_replays_as_captured(audits):
    assert META.script not in audits["live"] and "A page that changes" in audits["live"]
    conn = connect(audits["second"])
    pixel = conn.execute("SELECT count(*) FROM requests r JOIN visits v ON v.id = r.visit_id "
                         "WHERE v.site = 'changing-example.fr' AND r.host = ?", (META.host,)).fetchone()[0]
    assert pixel == len(json.loads((audits["first"] / "provenance.json").read_text())["runs"][0]["config"]["phases"])
    assert ("consent.tracking-before-consent", "changing-example.fr") in {
        (f["rule_id"], f["subject"]) for f in findings(audits["second"])}


def test_bundles_verify_and_a_warc_edited_behind_its_manifest_does_not(audits):
    for name in ("first", "second"):
        out = mouchard("verify", str(audits[name]))
        assert out.returncode == 0, out.stdout + out.stderr
    copy = audits["root"] / "tampered"
    shutil.copytree(audits["first"], copy)
    def members_of(path):
        members, data = [], path.read_bytes()
        while data:  # one gzip member per record, as warcio writes them
            inflater = zlib.decompressobj(wbits=31)
            members.append(inflater.decompress(data))
            data = inflater.unused_data
        return members

    def html(member):
        return b"WARC-Type: response" in member and b"</html>" in member

    # the first archive (by name: a hash of the visit key) holding an HTML page
    archives = [(path, members_of(path)) for path in sorted((copy / "audit.db.evidence").rglob("*.warc.gz"))]
    warc, members = next((path, members) for path, members in archives if any(html(m) for m in members))
    edited = next(i for i, m in enumerate(members) if html(m))
    members[edited] = members[edited].replace(b"</html>", b"</htmk>", 1)
    warc.write_bytes(b"".join(gzip.compress(m) for m in members))
    write_manifest(copy)  # the hashes agree again: only the records' own digests can tell
    out = mouchard("verify", "--json", str(copy))
    assert out.returncode == 1
    problems = json.loads(out.stdout)["problems"]
    assert {(p["kind"], p["path"]) for p in problems} == {("warc", warc.relative_to(copy).as_posix())}
    report = (audits["first"] / "report.html").read_text()
    assert "example-news.fr: tracking before any consent" in report and "data:image/png;base64," in report
