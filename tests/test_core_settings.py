"""The run's settings: one typed object built from options and environment (mouchard/settings.py), the only module
that reads `MOUCHARD_*` environment variables; one evidence folder for the crawl and its workers."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings as hyp_settings, strategies as st

from mouchard import settings as run_settings
from mouchard.errors import UserError
from mouchard.net import NetworkOptions
from mouchard.settings import ENV_NAMES, RunSettings

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mouchard", "crawler", "addons", "audits", "demoweb")  # mouchard/ holds the Datasette plugins
SETTINGS_MODULE = ROOT / "mouchard" / "settings.py"
ENV_CONSTANTS = {name for name in dir(run_settings) if name.startswith("ENV_") and name != "ENV_NAMES"}
ENV_GETTERS = {"get", "pop", "setdefault", "__getitem__"}


# -- the contract: no module reads MOUCHARD_* but mouchard/settings.py -------------------------------------------------

def env_reads(source: str, filename: str = "<source>") -> list[str]:
    """Every place `source` reads a MOUCHARD_* environment variable itself or declares one, as 'file:line what'."""
    tree = ast.parse(source, filename)
    local_names: set[str] = set()  # names bound here to a MOUCHARD_ string (a variable declared outside settings)
    imported: set[str] = set()  # names imported from mouchard.settings (declared there: allowed as envvar=)
    found: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str) and node.value.value.startswith("MOUCHARD_"):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id.startswith("ENV"):
                    local_names.add(target.id)
                    found.append(f"{filename}:{node.lineno} declares {target.id} = {node.value.value!r}")
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "mouchard.settings":
            imported.update(alias.asname or alias.name for alias in node.names if alias.name in ENV_CONSTANTS)

    def mouchard_name(expr: ast.AST | None) -> bool:
        if isinstance(expr, ast.Constant):
            return isinstance(expr.value, str) and expr.value.startswith("MOUCHARD_")
        if isinstance(expr, ast.Name):
            return expr.id in local_names or expr.id in imported
        if isinstance(expr, ast.Attribute):
            return expr.attr in ENV_CONSTANTS
        if isinstance(expr, ast.JoinedStr):  # f"MOUCHARD_{x}"
            first = expr.values[0] if expr.values else None
            return isinstance(first, ast.Constant) and str(first.value).startswith("MOUCHARD_")
        return False

    def is_environ(expr: ast.AST) -> bool:
        return (isinstance(expr, ast.Attribute) and expr.attr in ("environ", "environb")) or \
            (isinstance(expr, ast.Name) and expr.id in ("environ", "environb"))

    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call):
            func = node.func
            first = node.args[0] if node.args else None
            if isinstance(func, ast.Attribute) and func.attr in ENV_GETTERS and is_environ(func.value) \
                    and mouchard_name(first):
                found.append(f"{where} reads os.environ.{func.attr}(MOUCHARD_...)")
            if ((isinstance(func, ast.Attribute) and func.attr in ("getenv", "getenvb"))
                    or (isinstance(func, ast.Name) and func.id in ("getenv", "getenvb"))) and mouchard_name(first):
                found.append(f"{where} reads getenv(MOUCHARD_...)")
            for keyword in node.keywords:
                if keyword.arg == "envvar" and mouchard_name(keyword.value) and not (
                        isinstance(keyword.value, ast.Name) and keyword.value.id in imported
                        or isinstance(keyword.value, ast.Attribute)):
                    found.append(f"{where} envvar= a MOUCHARD_ name not declared in mouchard.settings")
        elif isinstance(node, ast.Subscript) and is_environ(node.value) and mouchard_name(node.slice):
            found.append(f"{where} reads os.environ[MOUCHARD_...]")
        elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops) \
                and mouchard_name(node.left) and any(is_environ(c) for c in node.comparators):
            found.append(f"{where} tests MOUCHARD_... in os.environ")
    return found


def product_modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py") if p != SETTINGS_MODULE)


def test_no_module_but_settings_reads_a_mouchard_environment_variable():
    modules = product_modules()
    assert len(modules) > 100  # the scan sees the code base, not an empty folder
    found = [hit for path in modules
             for hit in env_reads(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert found == []


def test_settings_module_is_where_the_variables_are_read():
    """Every variable is declared in mouchard/settings.py (the one file the contract scan skips)."""
    hits = env_reads(SETTINGS_MODULE.read_text(encoding="utf-8"), "settings.py")
    assert sorted(hit.split(" ", 2)[2].split(" ")[0] for hit in hits) == sorted(ENV_CONSTANTS)
    assert sorted(ENV_NAMES) == sorted(getattr(run_settings, name) for name in ENV_CONSTANTS) == [
        "MOUCHARD_BROWSER", "MOUCHARD_CACHE", "MOUCHARD_CA_FILE", "MOUCHARD_DB", "MOUCHARD_DEBUG", "MOUCHARD_DWELL",
        "MOUCHARD_PROXY", "MOUCHARD_SCHEDULER"]


@pytest.mark.parametrize("source, what", [
    ('import os\nos.environ.get("MOUCHARD_DB")\n', "reads os.environ.get(MOUCHARD_...)"),
    ('import os\nos.environ["MOUCHARD_DEBUG"]\n', "reads os.environ[MOUCHARD_...]"),
    ('import os\nos.getenv("MOUCHARD_X", "1")\n', "reads getenv(MOUCHARD_...)"),
    ('from os import environ\nenviron.get(f"MOUCHARD_{1}")\n', "reads os.environ.get(MOUCHARD_...)"),
    ('import os\nif "MOUCHARD_DB" in os.environ: pass\n', "tests MOUCHARD_... in os.environ"),
    ('import click\nclick.option("--x", envvar="MOUCHARD_X")\n',
     "envvar= a MOUCHARD_ name not declared in mouchard.settings"),
    ('import os\nfrom mouchard.settings import ENV_DB\nos.environ.get(ENV_DB)\n', "reads os.environ.get(MOUCHARD_...)"),
    ('import os\nfrom mouchard import settings\nos.environ[settings.ENV_DB]\n', "reads os.environ[MOUCHARD_...]"),
])
def test_the_scan_finds_every_way_of_reading_a_variable(source, what):
    hits = env_reads(source)
    assert [hit.split(" ", 1)[1] for hit in hits if "declares" not in hit] == [what]


def test_the_scan_lets_click_use_declared_names_and_other_variables():
    source = ('import os, click\nfrom mouchard.settings import ENV_DB\nclick.option("--db", envvar=ENV_DB)\n'
              'os.environ.get("PATH")\nos.environ.get("XDG_CACHE_HOME")\n')
    assert env_reads(source) == []
    assert env_reads('ENV_X = "MOUCHARD_X"\n', "m.py") == ["m.py:1 declares ENV_X = 'MOUCHARD_X'"]


# -- RunSettings ------------------------------------------------------------------------------------------------------

def test_defaults_without_options_or_environment():
    run = RunSettings.from_options(env={})
    assert run == RunSettings(db="mouchard.db", network=NetworkOptions(), concurrency=2, timeout=30.0, dwell=5.0,
                              phases=("initial", "reject", "accept"), pages_per_site=0, seed=20240601)
    assert dataclasses.is_dataclass(run) and run.__dataclass_params__.frozen


def test_environment_fills_what_options_do_not_give():
    env = {"MOUCHARD_DB": "/data/env.db", "MOUCHARD_PROXY": "http://127.0.0.1:8080", "MOUCHARD_DWELL": "1.5",
           "MOUCHARD_BROWSER": "/usr/bin/chromium", "MOUCHARD_SCHEDULER": "tcp://10.0.0.5:8786",
           "MOUCHARD_DEBUG": "1"}
    run = RunSettings.from_options(env=env)
    assert (run.db, run.network.proxy, run.dwell, run.browser.executable, run.scheduler, run.debug) == (
        "/data/env.db", "http://127.0.0.1:8080", 1.5, "/usr/bin/chromium", "tcp://10.0.0.5:8786", True)


def test_options_win_over_the_environment():
    env = {"MOUCHARD_DB": "/data/env.db", "MOUCHARD_PROXY": "http://127.0.0.1:8080", "MOUCHARD_DWELL": "1.5"}
    run = RunSettings.from_options(env=env, db="given.db", proxy="socks5://127.0.0.1:1080", dwell=0.0,
                                   consent="reject", gpc=True, host_map=("*=127.0.0.1",), no_sandbox=True,
                                   browser_args=("--mute-audio",))
    assert (run.db, run.network.proxy, run.dwell, run.phases) == (
        "given.db", "socks5://127.0.0.1:1080", 0.0, ("initial", "reject", "gpc"))
    assert [str(rule) for rule in run.network.host_map] == ["*=127.0.0.1"]
    assert run.browser == run_settings.BrowserSettings(None, ("--mute-audio",), sandbox=False)


def test_the_process_environment_is_the_default(monkeypatch):
    monkeypatch.setenv("MOUCHARD_DB", "from-process.db")
    monkeypatch.setenv("MOUCHARD_DEBUG", "0")
    assert RunSettings.from_options().db == "from-process.db"
    assert (run_settings.default_db(), run_settings.debug_enabled()) == ("from-process.db", False)


@pytest.mark.parametrize("options, env, message", [
    ({}, {"MOUCHARD_DWELL": "soon"}, "$MOUCHARD_DWELL='soon': expected a number from 0 to 300"),
    ({}, {"MOUCHARD_DWELL": "nan"}, "$MOUCHARD_DWELL='nan': expected a number from 0 to 300"),
    ({"dwell": 301.0}, {}, "--dwell 301.0: expected a number from 0 to 300"),
    ({"concurrency": 0}, {}, "--concurrency 0: expected a number from 1 to 64"),
    ({"timeout": "x"}, {}, "--timeout 'x': expected a number from 1 to 3600"),
    ({"pages_per_site": 2.5}, {}, "--pages-per-site 2.5: expected a whole number from 0 to 100"),
    ({"seed": "x"}, {}, "--seed 'x': expected a whole number from "),
    ({"consent": "maybe"}, {}, "--consent maybe: choose one of none, reject, accept, all"),
    ({}, {"MOUCHARD_PROXY": "ftp://x"}, "bad --proxy 'ftp://x': expected SCHEME://HOST:PORT with scheme one of "),
])
def test_bad_values_are_one_line_user_errors(options, env, message):
    with pytest.raises(UserError) as error:
        RunSettings.from_options(env=env, **options)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_unknown_options_and_undeclared_variables_are_programming_errors():
    with pytest.raises(TypeError, match="unknown run options: colour"):
        RunSettings.from_options(env={}, colour="blue")
    with pytest.raises(KeyError, match="MOUCHARD_TIMEOUT is not a declared"):
        run_settings.env_value("MOUCHARD_TIMEOUT", {})


@hyp_settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_any_dwell_text_is_a_number_in_range_or_one_user_error(text):
    try:
        run = RunSettings.from_options(env={"MOUCHARD_DWELL": text})
    except UserError as error:
        assert str(error).startswith("$MOUCHARD_DWELL=") and "\n" not in str(error)
    else:
        assert 0 <= run.dwell <= 300 and (run.dwell == 5.0 or text.strip())


def test_as_record_is_what_crawls_config_keeps():
    run = RunSettings.from_options(env={}, consent="none", gpc=True, screenshots=True, dwell=2, seed=7,
                                   pages_per_site=3, concurrency=4, timeout=10)
    assert run.as_record() == {"phases": ["initial", "gpc"], "concurrency": 4, "timeout": 10.0, "pages_per_site": 3,
                               "seed": 7, "screenshots": True, "har": False, "warc": False, "replay": None,
                               "dwell": 2.0, "collectors": {
                                   "session_replay": True, "keylogging": True, "keylogging_wait": 2.0,
                                   "keylogging_fields": 12, "pixels": True, "id_syncs": True, "fingerprinting": True,
                                   "fingerprinting_workers": True, "autoconsent": True, "consent_wait": 6.0,
                                   "consent_reload": True, "max_requests": None, "visit_body_budget": None,
                                   "async_stack_depth": None}, "workers": 0, "scheduler": None}


def test_replay_settings_go_through_a_record_and_refuse_what_is_not_theirs():
    replay = {"bundle": "ab" * 32, "clock": [["accept", "https://a.example/", "2026-01-02T03:04:05Z"]],
              "proxies": [["accept", "http://127.0.0.1:4242"]]}
    run = RunSettings.from_options(env={}, warc=True, replay=replay)
    assert (run.warc, run.replay.capture_time("accept", "https://a.example/"), run.replay.proxy_for("accept"),
            run.replay.proxy_for("reject")) == (True, "2026-01-02T03:04:05Z", "http://127.0.0.1:4242", None)
    assert RunSettings.from_record(run.as_record(), db="x.db").replay == run.replay
    for bad in ({"clock": [["a", "b"]]}, {"proxies": [["accept", "http://10.0.0.1:80"]]}, {"bundle": 3},
                {"clock": "x"}, ["not", "a", "mapping"]):
        with pytest.raises(UserError, match="replay settings"):
            RunSettings.from_options(env={}, replay=bad)


# -- dead keys and the evidence folder -----------------------------------------------------------------------------

def test_browser_settings_carry_no_dead_keys_and_the_evidence_folder(tmp_path):
    from crawler.settings import browser_settings

    settings = browser_settings(db=str(tmp_path / "a.db"), crawl_id=1, net=NetworkOptions(), launch_options={},
                                concurrency=1, timeout=5.0)
    assert "MOUCHARD_TIMEOUT" not in settings and "MOUCHARD_NETWORK" not in settings
    assert settings["MOUCHARD_EVIDENCE_DIR"] == f"{tmp_path / 'a.db'}.evidence"
    assert RunSettings.from_options(env={}, db=str(tmp_path / "a.db")).evidence_dir == tmp_path / "a.db.evidence"


class FakeProcess:
    """Stands in for Scrapy's CrawlerProcess: keeps the settings and the spider's arguments, crawls nothing."""

    seen: list[tuple[dict, dict]] = []

    def __init__(self, settings):
        self.settings = dict(settings)

    def create_crawler(self, spider_cls):
        return SimpleNamespace(stats=None)

    def crawl(self, crawler, **kwargs):
        FakeProcess.seen.append((self.settings, kwargs))

    def start(self):
        return None


def test_the_crawl_keeps_evidence_in_the_folder_its_settings_derive(tmp_path, monkeypatch):
    """The spider's evidence folder and the Scrapy setting both come from RunSettings.evidence_dir (a crawl on a
    cluster runs the same crawl_sites into each shard, so every worker derives it the same way)."""
    import crawler.crawl as crawl_module
    import scrapy.crawler
    from crawler.browser.launch import LaunchPlan
    from crawler.crawl import Ledger
    from mouchard.browser import browser_version, find_browser, sandbox

    monkeypatch.setattr(scrapy.crawler, "CrawlerProcess", FakeProcess)
    FakeProcess.seen = []
    db = str(tmp_path / "crawl.db")
    executable = find_browser("/usr/bin/chromium")
    plan = LaunchPlan(executable, NetworkOptions(), (), version=browser_version(executable), sandbox=sandbox(True))
    run = RunSettings.from_options(env={}, db=db, concurrency=1, timeout=5.0, consent="none")
    crawl_module._run([], Ledger(), run=run, crawl_id=1, plan=plan)
    [(crawl_settings, crawl_kwargs)] = FakeProcess.seen
    expected = f"{db}.evidence"
    assert (crawl_settings["MOUCHARD_EVIDENCE_DIR"], crawl_kwargs["evidence_dir"]) == (expected, expected)


# -- the Scrapy side: one key holds the typed settings; only crawler/settings.py names MOUCHARD_* keys it reads ------

CRAWLER_SETTINGS_MODULE = ROOT / "crawler" / "settings.py"
SCRAPY_GETTERS = {"get", "getint", "getbool", "getfloat", "getlist", "getdict", "getdictorlist", "getwithbase",
                  "getpriority"}


def scrapy_setting_reads(source: str, filename: str = "<source>") -> list[str]:
    """Every `<...>settings.get*("MOUCHARD_...")` call in `source` (a Scrapy setting read by name)."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in SCRAPY_GETTERS and node.args):
            continue
        owner, key = node.func.value, node.args[0]
        owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        if "settings" in owner_name and isinstance(key, ast.Constant) and isinstance(key.value, str) \
                and key.value.startswith("MOUCHARD_"):
            found.append(f"{filename}:{node.lineno} {owner_name}.{node.func.attr}({key.value!r})")
    return found


def test_only_crawler_settings_reads_mouchard_scrapy_settings_by_name():
    readers: dict[str, list[str]] = {}
    for path in product_modules():
        if path == CRAWLER_SETTINGS_MODULE:
            continue
        relative = str(path.relative_to(ROOT))
        hits = scrapy_setting_reads(path.read_text(encoding="utf-8"), relative)
        if hits:
            readers[relative] = hits
    assert readers == {}
    assert scrapy_setting_reads(CRAWLER_SETTINGS_MODULE.read_text(encoding="utf-8"))  # the readers live there


def test_the_setting_scan_finds_reads_by_name():
    source = ('def f(crawler, self, settings):\n    crawler.settings.getbool("MOUCHARD_PIXELS", True)\n'
              '    self.settings.get("MOUCHARD_DB")\n    settings.getint("MOUCHARD_CRAWL_ID")\n'
              '    settings.get("CONCURRENT_REQUESTS")\n    options.get("MOUCHARD_X")\n')
    assert [hit.split(" ", 1)[1] for hit in scrapy_setting_reads(source)] == [
        "settings.getbool('MOUCHARD_PIXELS')", "settings.get('MOUCHARD_DB')", "settings.getint('MOUCHARD_CRAWL_ID')"]


def test_every_collector_switch_names_a_settings_field():
    from scrapy.utils.misc import load_object

    from crawler.settings import DEFAULT_COLLECTORS

    fields = {f.name for f in dataclasses.fields(run_settings.CollectorSettings)}
    switches = {load_object(path).__name__: getattr(load_object(path), "switch", None) for path in DEFAULT_COLLECTORS}
    assert {name: switch for name, switch in switches.items() if switch} == {
        "DetectSessionReplay": "session_replay", "DetectKeyLogging": "keylogging", "RecordPixels": "pixels",
        "DetectIdSyncs": "id_syncs", "RecordFingerprinting": "fingerprinting"}
    assert set(filter(None, switches.values())) <= fields


def spider_with(run: RunSettings | None):
    from scrapy.utils.test import get_crawler

    from crawler.settings import RUN_KEY, browser_settings
    from crawler.spiders.browser import BrowserSpider

    settings = browser_settings(db="unused.db", crawl_id=1, net=NetworkOptions(), launch_options={}, concurrency=1,
                                timeout=5.0, run=run)
    if run is None:
        settings.pop(RUN_KEY)
    return BrowserSpider.from_crawler(get_crawler(BrowserSpider, settings), specs=[])


def test_switched_off_collectors_are_left_out_and_others_read_their_fields():
    all_on = [c.name for c in spider_with(None).collectors]
    assert all_on == ["network", "script_cookies", "cookies", "storage", "consent", "bidding", "replay", "keylogging", "pixels",
                      "idsync", "fingerprinting", "evidence"]
    switches = run_settings.CollectorSettings(keylogging=False, pixels=False, consent_wait=1.5, autoconsent=False,
                                              fingerprinting_workers=False, max_requests=7, async_stack_depth=0)
    spider = spider_with(RunSettings(db="unused.db", collectors=switches))
    assert [c.name for c in spider.collectors] == [n for n in all_on if n not in ("keylogging", "pixels")]
    by_name = {c.name: c for c in spider.collectors}
    assert (by_name["network"].max_requests, by_name["network"].async_depth) == (7, 0)
    assert (by_name["consent"].wait, by_name["consent"].autoconsent) == (1.5, None)
    assert by_name["fingerprinting"].workers is False


def test_a_recorded_run_gives_back_the_same_settings():
    run = RunSettings.from_options(env={}, db="a.db", consent="accept", gpc=True, dwell=1, pages_per_site=2,
                                   seed=9, har=True, collectors={"keylogging": False, "consent_wait": 2})
    assert RunSettings.from_record(run.as_record(), db="a.db") == run
    assert RunSettings.from_record({}, db="b.db") == RunSettings(db="b.db", phases=("initial",))


@pytest.mark.parametrize("record, message", [
    ({"phases": ["initial", "rm -rf"]}, "recorded phases ['initial', 'rm -rf']: expected some of "),
    ({"concurrency": 10_000}, "--concurrency 10000: expected a number from 1 to 64"),
    ({"dwell": "1e999"}, "--dwell '1e999': expected a number from 0 to 300"),
    ({"collectors": {"keylogging": "no"}}, "collector setting keylogging: expected true or false, not 'no'"),
    ({"collectors": ["keylogging"]}, "collector settings: expected a mapping of names to values, not list"),
    ({"collectors": {"rm": True}}, "unknown collector settings: rm (known: session_replay, "),
    ({"collectors": {"max_requests": -1}}, "collector setting max_requests -1: expected a number from 0 to "),
])
def test_a_hostile_record_is_refused_in_one_line(record, message):
    with pytest.raises(UserError) as error:
        RunSettings.from_record(record, db="a.db")
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


# -- `mouchard crawl --collector NAME=VALUE` ---------------------------------------------------------------------

def test_collector_option_values_become_the_collector_settings():
    from mouchard.commands.options import collectors_from

    changes = collectors_from(("fingerprinting=false", "keylogging=off", "consent_wait=2.5", "max_requests=500",
                               "async_stack_depth=none", " pixels = True "))
    assert changes == {"fingerprinting": False, "keylogging": False, "consent_wait": 2.5, "max_requests": 500,
                       "async_stack_depth": None, "pixels": True}
    switches = RunSettings.from_options(env={}, collectors=changes).collectors
    assert (switches.fingerprinting, switches.consent_wait, switches.max_requests) == (False, 2.5, 500)


@pytest.mark.parametrize("pair, message", [
    ("fingerprinting", "expected NAME=VALUE"), ("=1", "expected NAME=VALUE"),
    ("consent_wait=soon", "is not true, false, none or a number")])
def test_a_bad_collector_option_is_one_line(pair, message):
    from mouchard.commands.options import collectors_from

    with pytest.raises(UserError, match=message) as caught:
        collectors_from((pair,))
    assert "\n" not in str(caught.value)


@given(st.lists(st.text(max_size=40), max_size=5))
def test_any_collector_option_is_a_setting_or_a_one_line_error(pairs):
    from mouchard.commands.options import collectors_from

    try:
        RunSettings.from_options(env={}, collectors=collectors_from(tuple(pairs)))
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc)
