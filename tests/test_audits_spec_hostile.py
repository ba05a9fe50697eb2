"""A received audit spec is data, not code: it never names an executable, its browser flags are allow-listed, the
plan is printed before anything runs, and no structure of YAML makes the parser raise anything but UserError.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from audits import collect
from audits.runner import _browser, describe_plan
from audits.spec import BROWSER_FLAGS, KEYS, NETWORK_KEYS, TARGET_KEYS, BROWSER_KEYS, load_spec, parse_spec
from mouchard.errors import UserError

BASE = {"case": "C-1", "jurisdiction": "eu", "targets": {"sites": ["https://a.example/"]}}

# Flags that run a command, load code, move the profile, weaken the browser or send its traffic elsewhere.
DANGEROUS = ("--renderer-cmd-prefix", "--utility-cmd-prefix", "--gpu-launcher", "--browser-subprocess-path",
             "--load-extension", "--user-data-dir", "--no-sandbox", "--disable-web-security", "--proxy-server",
             "--host-resolver-rules", "--enable-features", "--disable-features", "--remote-debugging-port",
             "--disk-cache-dir", "--ppapi-plugin-launcher", "--zygote-cmd-prefix", "--js-flags")
COMMAND = "/bin/sh -c 'touch /tmp/pwned'"


def hostile_flags() -> list[str]:
    """Each dangerous flag in = and space forms, with case tricks, a single dash, and hidden behind allowed ones."""
    corpus = []
    for flag in DANGEROUS:
        name = flag[2:]
        corpus += [f"{flag}={COMMAND}", f"{flag} {COMMAND}", flag, f"--{name.upper()}=x", f"--{name.title()}=x",
                   f"-{name}=x", f"--{name}\t=x", f"--lang=fr {flag}={COMMAND}", f"--lang=fr\n{flag}=x",
                   f"--user-agent=x {flag}=y" + "\x00", f"--window-size=1,1,{flag}"]
    corpus += ["--LANG=fr", "--lang", "--lang=", "--lang=fr;id", "--lang=../../etc", "--window-size=1e9,1",
               "--window-size=99999,1", "--mute-audio=1", "--user-agent=" + "a" * 600, "--user-agent=\x1b[2J",
               "--force-device-scale-factor=100", "--autoplay-policy=$(id)", "/bin/sh", "about:blank"]
    return corpus


def parse(**browser):
    return parse_spec({**BASE, "browser": browser}, source="spec.yml")


@pytest.mark.parametrize("flag", hostile_flags())
def test_hostile_browser_flag_is_refused_in_one_line(flag):
    with pytest.raises(UserError) as error:
        parse(args=[flag])
    message = str(error.value)
    assert message.startswith("spec.yml: browser.args[0]: ") and "\n" not in message.strip()


@pytest.mark.parametrize("path", ["/bin/sh", "chromium", "../../tmp/evil", "/usr/bin/chromium"])
def test_spec_never_names_an_executable(path):
    with pytest.raises(UserError, match=r"browser\.path: a spec never names an executable: give the browser on the "
                                        r"command line \(mouchard audit SPEC --browser PATH\)"):
        parse(path=path)


@pytest.mark.parametrize("flag", ["--lang=fr-FR", "--accept-lang=fr-FR,fr,en", "--window-size=1366,768",
                                  "--force-device-scale-factor=2", "--user-agent=Mozilla/5.0 (X11) Test",
                                  "--autoplay-policy=no-user-gesture-required", "--mute-audio"])
def test_allowed_flags_pass_and_reach_the_crawl_as_one_token(flag, tmp_path):
    spec = parse(args=[flag])
    steps = collect.plan(spec, tmp_path / "audit.db")
    assert steps[0].options["settings"].browser.args == (flag,)
    assert flag.partition("=")[0] in BROWSER_FLAGS


def test_browser_comes_from_the_command_line_and_is_recorded(tmp_path):
    spec = parse(args=["--lang=fr-FR"])
    steps = collect.plan(spec, tmp_path / "audit.db", browser="/usr/bin/chromium", no_sandbox=True)
    web = steps[0].options["settings"].browser
    assert (web.executable, web.sandbox) == ("/usr/bin/chromium", False)
    assert collect.plan(spec, tmp_path / "audit.db")[0].options["settings"].browser.sandbox


def test_plan_says_what_will_run_before_it_runs(tmp_path):
    spec = parse_spec({**BASE, "targets": {"sites": ["https://a.example/", "https://b.example/"]},
                       "phases": ["initial", "gpc"], "browser": {"args": ["--lang=fr-FR"]},
                       "network": {"proxy": "http://10.0.0.1:8080", "host_map": ["*=127.0.0.1"]}}, source="s.yml")
    info = _browser(spec)
    steps = collect.plan(spec, tmp_path / "audit.db", browser=info["path"])
    lines = describe_plan(spec, steps, info)
    text = "\n".join(lines)
    assert lines[0] == "audit plan: case 'C-1', jurisdiction eu, spec s.yml"
    assert "sites (2): https://a.example/, https://b.example/" in text and "phases: initial, gpc" in text
    assert "network: proxy http://10.0.0.1:8080; host map *=127.0.0.1" in text
    assert f"browser: {info['path']}" in text and "flags from the spec: --lang=fr-FR" in text
    assert "sandboxed" in text and "WITHOUT" not in text
    assert any(line.startswith(f"  will run: mouchard.api.crawl(urls=['https://a.example/', 'https://b.example/'], "
                               f"settings={{'db': {str(tmp_path / 'audit.db')!r}, 'phases': ['initial', 'gpc'],")
               for line in lines), lines


def test_from_db_never_runs_a_path_from_the_spec(tmp_path):
    """Before: `browser.path` was run (`PATH --version`) to fill the provenance, even with --from-db."""
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.sh"
    evil.write_text(f"#!/bin/sh\ntouch {marker}\necho Chromium 1.2.3.4\n")
    evil.chmod(0o755)
    spec = tmp_path / "received.yml"
    spec.write_text(yaml.safe_dump({**BASE, "browser": {"path": str(evil)}}))
    db = tmp_path / "old.db"
    from mouchard.storage.store import Store

    Store(db).close()
    env = {k: v for k, v in os.environ.items() if k not in ("MOUCHARD_BROWSER", "MOUCHARD_DB")}
    out = subprocess.run([sys.executable, "-m", "mouchard", "audit", str(spec), "--out", str(tmp_path / "bundle"),
                          "--from-db", str(db)], capture_output=True, text=True, timeout=120, env=env)
    assert not marker.exists()
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "browser.path: a spec never names an executable" in out.stderr


def test_audit_prints_its_plan_first(tmp_path):
    spec = tmp_path / "received.yml"
    spec.write_text(yaml.safe_dump(BASE))
    db = tmp_path / "old.db"
    from mouchard.storage.store import Store

    Store(db).close()
    out = subprocess.run([sys.executable, "-m", "mouchard", "audit", str(spec), "--out", str(tmp_path / "bundle"),
                          "--from-db", str(db)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stderr.splitlines()[0] == f"audit plan: case 'C-1', jurisdiction eu, spec {spec}"
    assert f"no collector runs: the findings are judged from the existing database {db}" in out.stderr


# -- property: whatever YAML a spec holds, only UserError escapes ------------------------------------------------

NAMES = st.sampled_from([*KEYS, *TARGET_KEYS, *NETWORK_KEYS, *BROWSER_KEYS, "registry", "from", "limit", "x"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
                    st.sampled_from(["https://a.example/", "http://[::1", "http://[zz]/", "~nobody-here/x", "eu",
                                     "ca", "initial", "gpc", "*=127.0.0.1", "socks5://h:1", "\x00", "../../etc/passwd",
                                     "--lang=fr", "--renderer-cmd-prefix=/bin/sh", "consent.*", "all", "list"]))
TREES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(st.one_of(NAMES, SCALARS), inner, max_size=5)),
                     max_leaves=25)
NASTY = st.sampled_from(["http://[::1", "https://[zz]/", "http://h:99999/", "~nobody-here/x", "a=[::1", "\x00",
                         "socks5://[::1", "https://a.example/", "ca", "gpc", "--lang=fr", "--renderer-cmd-prefix=x"])
LEAVES = st.one_of(NASTY, SCALARS, st.lists(NASTY | SCALARS, max_size=3))


def _group(keys) -> st.SearchStrategy:
    return st.dictionaries(st.sampled_from(keys), LEAVES, max_size=len(keys)) | TREES


TARGETS = st.dictionaries(st.sampled_from(TARGET_KEYS), LEAVES | st.dictionaries(
    st.sampled_from(["registry", "from", "limit", "x"]), LEAVES, max_size=3), max_size=4) | TREES
SPECS = st.fixed_dictionaries(
    {"case": st.just("C-1") | SCALARS, "jurisdiction": st.sampled_from(["eu", "fr", "us-ca", "de"]),
     "targets": TARGETS},
    optional={"phases": LEAVES, "pages_per_site": SCALARS, "rules": LEAVES, "network": _group(NETWORK_KEYS),
              "browser": _group(BROWSER_KEYS), "seed": SCALARS, "timeout": SCALARS, "concurrency": SCALARS,
              "x": SCALARS}) | TREES


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=SPECS)
@example(data={**BASE, "targets": {"sites": ["http://[::1"]}})  # urlsplit's ValueError escaped before
@example(data={**BASE, "targets": {"sites": ["https://a.example:99999/"]}})
@example(data={**BASE, "network": {"ca_file": "~no-such-user-here/ca.pem"}})  # expanduser's RuntimeError
@example(data={**BASE, "network": {"proxy": "http://[::1"}})
def test_any_yaml_structure_gives_a_spec_or_a_user_error(data, tmp_path_factory):
    try:
        parse_spec(data, source="random.yml", folder=tmp_path_factory.getbasetemp())
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc).strip()


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=200) | st.builds(yaml.safe_dump, TREES))
def test_any_spec_file_gives_a_spec_or_a_user_error(text, tmp_path_factory):
    path = Path(tmp_path_factory.getbasetemp()) / "random-spec.yml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_spec(path)
    except UserError:
        pass
