"""The audit spec: every key parsed, every bad value a one-line error naming the key; the collector plan."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from audits import collect
from audits.spec import BROKER_KEYS, BROWSER_KEYS, KEYS, NETWORK_KEYS, TARGET_KEYS, load_spec, parse_spec
from mouchard.errors import UserError

DATA = Path(__file__).parent / "data" / "audits"


def test_example_spec_reads_every_key():
    spec = load_spec(DATA / "eu-news.yml")
    assert (spec.case, spec.jurisdiction) == ("CNIL-2026-0042", "fr")
    assert spec.targets.sites == ("https://www.example-news.fr/", "https://www.example-daily.fr/")
    assert spec.targets.urls == ("https://www.example-news.fr/politique/article-1",)
    assert spec.targets.app_capture == (str((DATA / "capture.har").resolve()),)
    assert spec.targets.profile == str((DATA / "phone.yml").resolve()) and spec.targets.app == "fr.example.news"
    assert spec.targets.brokers.registries == ("list",) and spec.targets.brokers.limit == 10
    assert spec.targets.brokers.source == str((DATA / "brokers-list.csv").resolve())
    assert spec.phases == ("initial", "reject", "accept", "gpc") and spec.pages_per_site == 3
    assert spec.rules == ("consent.*", "web.canvas-fingerprinting", "apps.*")
    assert [str(r) for r in spec.network.host_map] == ["*=127.0.0.1"] and spec.network.ignore_https_errors
    assert spec.browser.args == ("--lang=fr-FR",)
    assert (spec.seed, spec.timeout, spec.concurrency) == (42, 30.0, 2)
    assert set(spec.data) == set(KEYS)


def test_minimal_spec_has_defaults():
    spec = load_spec(DATA / "us-ca-brokers.yml")
    assert spec.targets.brokers.registries == ("ca",) and spec.rules is None and spec.pages_per_site is None
    assert spec.phases == ("initial", "gpc") and spec.network.proxy is None


BASE = {"case": "C-1", "jurisdiction": "eu", "targets": {"sites": ["https://a.example/"]}}


def spec_with(**changes):
    data = yaml.safe_load(yaml.safe_dump(BASE))
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        if value is ...:
            node.pop(last)
        else:
            node[last] = value
    return data


@pytest.mark.parametrize("changes, message", [
    ({"target": {}}, "unknown key 'target' (expected one of case, jurisdiction, targets"),
    ({"targets__site": ["https://a.example/"]}, "unknown key 'targets.site'"),
    ({"network__hostmap": []}, "unknown key 'network.hostmap'"),
    ({"browser__flags": []}, "unknown key 'browser.flags'"),
    ({"targets__brokers": {"registry": "ca", "url": "x"}}, "unknown key 'targets.brokers.url'"),
    ({"case": ...}, "case: missing (required)"),
    ({"jurisdiction": "de"}, "jurisdiction: expected one of eu, fr, uk, us-ca, got 'de'"),
    ({"targets__sites": ["https://a.example/", "ftp://b.example/"]}, "targets.sites[1]: not an http(s) URL: 'ftp://b.example/'"),
    ({"targets__urls": "not a url"}, "targets.urls[0]: not an http(s) URL"),
    ({"targets__sites": [], "targets__urls": []}, "targets: nothing to audit"),
    ({"targets__app_capture": "missing.mitm"}, "targets.app_capture: no such file"),
    ({"targets__profile": str(DATA / "phone.yml")}, "targets.profile: only meaningful with targets.app_capture"),
    ({"targets__app_capture": str(DATA / "capture.har")}, "targets.profile: required with targets.app_capture"),
    ({"targets__brokers": "ny"}, "targets.brokers: expected one of ca, vt, tx, or, all, list, got 'ny'"),
    ({"targets__brokers": {"limit": 3}}, "targets.brokers: give a registry"),
    ({"targets__brokers": {"registry": "ca", "limit": 0}}, "targets.brokers.limit: expected a whole number ≥ 1"),
    ({"phases": ["initial", "later"]}, "phases[1]: expected one of initial, reject, accept, gpc, revoke, second-site, got 'later'"),
    ({"phases": []}, "phases: expected at least one"),
    ({"pages_per_site": True}, "pages_per_site: expected a whole number 0..100, got True"),
    ({"pages_per_site": -1}, "pages_per_site: expected a whole number 0..100"),
    ({"pages_per_site": "3"}, "pages_per_site: expected a whole number"),
    ({"rules": ["consent.nope"]}, "rules: no rule matches 'consent.nope'"),
    ({"rules": 5}, "rules: expected a list of strings"),
    ({"network": ["*=127.0.0.1"]}, "network: expected a mapping"),
    ({"network__host_map": ["nonsense"]}, "network: bad --host-map rule 'nonsense'"),
    ({"network__proxy": "ftp://p:1"}, "network: bad --proxy 'ftp://p:1'"),
    ({"network__ignore_https_errors": "yes"}, "network.ignore_https_errors: expected true or false, got 'yes'"),
    ({"network__ca_file": "nowhere.pem"}, "network.ca_file: no such file"),
    ({"browser__args": [1]}, "browser.args[0]: expected a non-empty string"),
    ({"seed": 1.5}, "seed: expected a whole number"),
    ({"timeout": 0}, "timeout: expected a number from 1 to 3600, got 0"),
    ({"concurrency": 100}, "concurrency: expected a whole number 1..64, got 100"),
])
def test_bad_spec_is_one_line_naming_the_key(changes, message):
    with pytest.raises(UserError) as error:
        parse_spec(spec_with(**changes), source="case.yml", folder=DATA)
    text = str(error.value)
    assert text.startswith("case.yml: ") and message in text, text
    assert "\n" not in text


def test_spec_that_is_not_a_mapping_or_not_yaml(tmp_path):
    (tmp_path / "list.yml").write_text("- a\n- b\n")
    with pytest.raises(UserError, match="expected a mapping of case, jurisdiction"):
        load_spec(tmp_path / "list.yml")
    (tmp_path / "broken.yml").write_text("case: [unclosed\n")
    with pytest.raises(UserError, match=r"broken.yml: not valid YAML: .*\(line \d+, column \d+\)"):
        load_spec(tmp_path / "broken.yml")
    with pytest.raises(UserError, match="no audit spec at"):
        load_spec(tmp_path / "none.yml")


def test_numeric_case_reference_is_text():
    assert parse_spec(spec_with(case=2026)).case == "2026"


def test_cli_reports_a_bad_spec_in_one_line(tmp_path):
    (tmp_path / "bad.yml").write_text(yaml.safe_dump(spec_with(jurisdiction="de")))
    out = subprocess.run([sys.executable, "-m", "mouchard", "audit", str(tmp_path / "bad.yml"), "--out",
                          str(tmp_path / "bundle")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.strip() == f"mouchard: {tmp_path / 'bad.yml'}: jurisdiction: expected one of eu, fr, uk, us-ca, got 'de'"
    assert not (tmp_path / "bundle").exists()


def test_documented_keys_are_the_parsed_keys():
    doc = (Path(__file__).parents[1] / "docs" / "audits.md").read_text()
    for key in KEYS:
        assert f"| `{key}` |" in doc, key
    for group, keys in (("targets", TARGET_KEYS), ("network", NETWORK_KEYS), ("browser", BROWSER_KEYS)):
        for key in keys:
            assert f"| `{group}.{key}` |" in doc, f"{group}.{key}"
    for key in BROKER_KEYS:
        assert f"`{key}`" in doc


def test_documented_example_spec_parses(tmp_path):
    doc = (Path(__file__).parents[1] / "docs" / "audits.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    for name in ("capture.mitm", "phone.yml"):
        (tmp_path / name).write_text("x")
    spec = parse_spec(yaml.safe_load(example), source="doc", folder=tmp_path)
    assert spec.case == "CNIL-2026-0042" and spec.targets.brokers.registries == ("ca",)


# -- the collector plan ------------------------------------------------------------------------------------------


def test_plan_calls_each_collector_through_the_api(tmp_path):
    spec = load_spec(DATA / "eu-news.yml")
    db = str(tmp_path / "audit.db")
    steps = collect.plan(spec, tmp_path / "audit.db")
    assert [(s.kind, s.job) for s in steps] == [("web", "crawl"), ("web", "crawl"), ("app", "import_capture"),
                                                ("brokers-fetch", "fetch_brokers"), ("brokers-crawl", "crawl_brokers")]
    sites, urls = steps[0].options, steps[1].options
    assert set(sites) == {"urls", "settings"} and sites["urls"] == spec.targets.sites
    run = sites["settings"]
    assert (run.db, run.phases, run.pages_per_site, run.seed, run.timeout, run.concurrency) == (
        db, ("initial", "reject", "accept", "gpc"), 3, 42, 30.0, 2)
    assert run.screenshots and run.har and run.network is spec.network and run.browser.args == ("--lang=fr-FR",)
    assert (urls["urls"], urls["settings"].pages_per_site) == (spec.targets.urls, 0)
    assert steps[2].options == {"capture": spec.targets.app_capture[0], "db": db, "profile": spec.targets.profile,
                                "app": "fr.example.news"}
    assert steps[3].options == {"registry": "list", "db": db, "source": spec.targets.brokers.source,
                                "network": spec.network}
    assert steps[4].needs == "brokers-fetch" and steps[4].options == {
        "db": db, "limit": 10, "network": spec.network, "browser": None, "browser_args": ("--lang=fr-FR",),
        "sandbox": True, "concurrency": 2}
    record = steps[0].record()
    assert record["settings"]["network"] == {"proxy": None, "host_map": ["*=127.0.0.1"], "ignore_https_errors": True,
                                             "ca_file": None}
    assert steps[2].describe() == (f"import_capture(capture={spec.targets.app_capture[0]!r}, db={db!r}, "
                                   f"profile={spec.targets.profile!r}, app='fr.example.news')")


@pytest.mark.parametrize("phases, crawled", [
    (("initial", "reject", "accept"), ("initial", "reject", "accept")),
    (("initial", "reject", "accept", "gpc"), ("initial", "reject", "accept", "gpc")),
    (("initial",), ("initial",)),
    (("initial", "gpc"), ("initial", "gpc")),
    (("reject", "accept"), ("initial", "reject", "accept")),  # one crawl: initial is always visited first
    (("accept",), ("initial", "accept")),
    (("gpc",), ("initial", "gpc")),
])
def test_consent_phases_map_to_one_crawl(phases, crawled):
    assert collect.crawl_phases(phases) == crawled


def test_failed_collectors_are_recorded_not_fatal(tmp_path):
    """Real jobs in real children, each failing its own way: a browser that does not exist (the job's UserError), a
    capture that is no capture, a registry file that is not a table; the broker crawl then does not run."""
    (tmp_path / "junk.har").write_text("not a capture")
    (tmp_path / "junk.csv").write_bytes(b"\x00\xff\xfe garbage")
    (tmp_path / "phone.yml").write_bytes((DATA / "phone.yml").read_bytes())
    spec = parse_spec({"case": "C-1", "jurisdiction": "eu", "phases": ["initial"],
                       "targets": {"urls": ["https://a.example/"], "app_capture": "junk.har", "profile": "phone.yml",
                                   "brokers": {"registry": "list", "from": "junk.csv"}}},
                      source="s.yml", folder=tmp_path)
    steps = collect.plan(spec, tmp_path / "audit.db", browser=str(tmp_path / "no-chromium"))
    results = collect.run(steps, tmp_path / "logs")
    assert [(r.kind, r.status) for r in results] == [
        ("web", "failed"), ("app", "failed"), ("brokers-fetch", "failed"), ("brokers-crawl", "not-run")]
    assert [r.reason for r in results[:3]] == [
        f"crawl: browser not found or not executable: {tmp_path / 'no-chromium'}",
        f"import_capture: {tmp_path / 'junk.har'} is neither a mitmproxy capture (.mitm), a HAR file nor a pcap/pcapng "
        "capture",
        f"fetch_brokers: {tmp_path / 'junk.csv'}: no header row found in the first 10 rows (expected columns such as a "
        "broker name and a website)"]
    assert results[3].reason == "needs a finished brokers-fetch step first" and results[3].log is None
    log = (tmp_path / "logs" / results[1].log).read_text()
    assert log.startswith("# mouchard.api.import_capture(capture=")
    assert all(r.started_at and r.finished_at and r.crawl_id is None for r in results[:3])
def test_collectors_write_the_bundle_database_only(tmp_path, monkeypatch):
    """The job gets its database as an argument: $MOUCHARD_DB (the user's own database) is never written."""
    monkeypatch.setenv("MOUCHARD_DB", str(tmp_path / "users.db"))
    spec = parse_spec({"case": "C-1", "jurisdiction": "eu",
                       "targets": {"app_capture": "capture.har", "profile": "phone.yml"}}, source="s", folder=DATA)
    (result,) = collect.run(collect.plan(spec, tmp_path / "a.db"), tmp_path / "logs")
    assert (result.status, result.reason, result.crawl_id) == ("finished", "", 1), result
    assert (tmp_path / "a.db").is_file() and not (tmp_path / "users.db").exists()


def test_the_crawl_uses_the_specs_network_not_the_environments(tmp_path, monkeypatch):
    """The plan shows the spec's network: a $MOUCHARD_PROXY of the auditor's shell does not change what runs."""
    monkeypatch.setenv("MOUCHARD_PROXY", "http://127.0.0.1:9")
    spec = parse_spec({"case": "C-1", "jurisdiction": "eu", "targets": {"sites": ["https://a.example/"]}}, source="s")
    (step,) = collect.plan(spec, tmp_path / "a.db")
    assert step.options["settings"].network.proxy is None and step.record()["settings"]["network"]["proxy"] is None
