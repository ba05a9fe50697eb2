"""Tracker Radar Collector side by side: speed and what each records, on the crawl benchmark's pages.

    .venv/bin/python benchmarks/trc.py --trc /path/to/tracker-radar-collector [--pages 100] [--concurrency 1 4]
                                       [--write]

DuckDuckGo's Tracker Radar Collector (TRC) must already be installed (a checkout with its npm dependencies:
`--trc` or MOUCHARD_TRC); this script only runs it. For each concurrency, one after the other, never together:
TRC's command-line crawler with ALL its collectors (`cli/crawl-cli.js`, no `-d`), then `mouchard crawl` on the
same URLs (the pages of benchmarks/crawl.py, `page_urls`) and the same concurrency, each timed with its process
tree's peak memory (`measure`). Then per page: TRC's API calls (`apis.callStats` script -> API -> count, and
`savedCalls`), request URLs and cookies (name, domain) against mouchard's `js_calls`, `requests` and `cookies`;
TRC's API names are mapped to mouchard's catalogue names (`mouchard_api`), its `document.cookie` writes are
compared with mouchard's script-set cookie rows, and the reads of TRC's own anti-bot script are kept apart.
`--keep DIR` keeps both sides' outputs (TRC's JSON files and log, mouchard's database) for a closer look.

How TRC is pointed at the test web without touching its code: its CLI has no executable or browser-flag option
and always asks `helpers/chromiumDownload.downloadChrome` for a browser (a download). A preload module given to
node with `-r` (written to a temporary folder at run time) makes that function return a wrapper script, also
written at run time, that execs the system Chromium with the test web's flags (crawl.py's `chromium_args`, the
same on both sides: the test web's proxy and certificate pins), the autoplay policy mouchard uses, and the profile preference that keeps third-party cookies (Debian
Chromium blocks them in a fresh profile; mouchard's profiles allow them): both browsers see the same pages do the
same things. TRC runs as root here, so it needs TRC_UNSAFE_DISABLE_SANDBOX=1 (its own switch: Chromium without
its sandbox); mouchard keeps the sandbox (as the unprivileged browser user).

Dwell: TRC waits for the main frame's `networkIdle` (no connection for 0.5 s), runs its collectors' `postLoad`,
then waits `extraExecutionTimeMs` (2.5 s from the CLI: crawler.js's default) and reads its data; it never scrolls.
mouchard gets `--dwell 2.5` (after `load`, with its scrolling and mouse gestures, then its network-quiet settle),
so both see each page for about as long. `--write` replaces the "## tracker radar collector" section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag

from crawl import (  # benchmarks/ is on sys.path when run as a script
    chromium_args,
    measure,
    page_urls,
)
from results import write_section

from mouchard.detect.fingerprinting import BY_NAME

ROOT = Path(__file__).resolve().parent.parent
ENV_TRC = "MOUCHARD_TRC"
CHROMIUM = "/usr/bin/chromium"
# crawler.js: `extraExecutionTimeMs || 2500`, and the CLI passes none (only a --config file can).
TRC_EXTRA_EXECUTION_S = 2.5
TRC_NETWORK_IDLE_S = 0.5  # Chromium's networkIdle lifecycle event: no network connection for 500 ms
SHOWN = 20  # concrete missed items listed per kind

# Why TRC's crawler is given these flags on top of the test web's (see the module docstring).
SAME_PAGE_ARGS = ("--autoplay-policy=no-user-gesture-required",)
PREFERENCES = {"profile": {"cookie_controls_mode": 0}}  # crawler/browser/profile.py: keep third-party cookies

# node -r: TRC's conductor destructures downloadChrome when it is loaded, so the helper module is patched first.
PRELOAD = """// Written by mouchard's benchmarks/trc.py at run time: use the browser wrapper instead of a download.
const helper = require(process.env.MOUCHARD_TRC_HELPER);
const browser = process.env.MOUCHARD_TRC_BROWSER;
helper.downloadChrome = async () => browser;
"""


def wrapper_script(chromium: str, args: list[str], preferences: dict) -> str:
    """A /bin/sh script that writes `preferences` into the profile TRC made and execs Chromium with `args` added.

    The arguments are our test web's and the preferences ours: nothing from crawled data reaches this script."""
    quoted = " ".join(shlex.quote(arg) for arg in args)
    prefs = shlex.quote(json.dumps(preferences))
    return f"""#!/bin/sh
# Written by mouchard's benchmarks/trc.py at run time: TRC's Chromium, sent to the test web.
set -eu
profile=
for arg do
  case $arg in
    --user-data-dir=*) profile=${{arg#--user-data-dir=}} ;;
  esac
done
if [ -n "$profile" ] && [ -d "$profile" ] && [ ! -e "$profile/Default/Preferences" ]; then
  mkdir -p -- "$profile/Default"
  printf '%s' {prefs} > "$profile/Default/Preferences"
fi
exec {shlex.quote(chromium)} "$@" {quoted}
"""


def check_trc(path: str | None) -> Path:
    """The TRC checkout, or a one-line error saying what to do."""
    if not path:
        raise SystemExit(f"trc.py: no Tracker Radar Collector: pass --trc PATH (a checkout with `npm install` done) "
                         f"or set {ENV_TRC}")
    trc = Path(path).resolve()
    for needed in ("cli/crawl-cli.js", "helpers/chromiumDownload.js", "node_modules/puppeteer-core"):
        if not (trc / needed).exists():
            raise SystemExit(f"trc.py: {trc} is not an installed Tracker Radar Collector (missing {needed}): "
                             "clone it and run `npm install` there (PUPPETEER_SKIP_DOWNLOAD=1)")
    if not shutil.which("node"):
        raise SystemExit("trc.py: node not found on PATH (Tracker Radar Collector runs on Node.js >= 18)")
    return trc


# --- API names ---------------------------------------------------------------------------------------------------

SENSORS = ("Accelerometer", "LinearAccelerationSensor", "GravitySensor", "Gyroscope", "Magnetometer",
           "AbsoluteOrientationSensor", "RelativeOrientationSensor", "AmbientLightSensor")
COOKIE_SETTER = "Document.cookie setter"  # mouchard keeps document.cookie writes in `cookies`, not `js_calls`


def mouchard_api(description: str) -> tuple[str, ...]:
    """mouchard's catalogue names (`js_calls.api`, mouchard.detect.fingerprinting) for a TRC breakpoint description.

    TRC names a breakpoint `<object>.<member>` where the object is `Interface.prototype`, a global
    (`window`, `document.fonts`, `speechSynthesis.__proto__`, `Notification`) or a custom description
    (`window.matchMedia("pointer")`, `Document.cookie getter`). mouchard names `Interface.member`, with
    `Window` for the global object and `Interface.constructor` for `new Interface()`. TRC's abstract
    `Sensor` constructor fires for every concrete sensor, hence several names. A name may be absent from
    mouchard's catalogue (`BY_NAME`): the caller tells that apart from a missed call."""
    name = description.strip()
    if name in ("Document.cookie getter", COOKIE_SETTER):
        return ("Document.cookie",)
    if name.startswith("window.matchMedia("):
        return ("Window.matchMedia",)
    if name.startswith("CSSStyleDeclaration.setProperty("):
        return ("CSSStyleDeclaration.setProperty",)
    special = {"document.fonts.check": "FontFaceSet.check",
               "speechSynthesis.__proto__.getVoices": "SpeechSynthesis.getVoices"}
    if name in special:
        return (special[name],)
    name = name.replace(".prototype.", ".")
    if name.startswith("window."):
        name = "Window." + name.removeprefix("window.")
    if name == "Sensor.constructor":
        return tuple(f"{sensor}.constructor" for sensor in SENSORS)
    return (name,)


def trc_version(trc: Path) -> str:
    """The installed checkout's commit (`git rev-parse`), or "unknown version" when it is not a git checkout."""
    done = subprocess.run(["git", "-C", str(trc), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                          timeout=30, check=False)
    commit = done.stdout.strip()
    return f"commit {commit}" if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{4,40}", commit) else "unknown version"


def in_catalogue(description: str) -> bool:
    return any(name in BY_NAME for name in mouchard_api(description))


def trc_breakpoints(trc: Path) -> list[str]:
    """Every breakpoint description TRC's APICallCollector sets (read from its own module)."""
    program = ("const b = require(process.argv[1]); const out = [];"
               "for (const g of b) { const o = g.global || `${g.proto}.prototype`;"
               "for (const p of g.props) out.push(p.description || `${o}.${p.name}`);"
               "for (const m of g.methods) out.push(m.description || `${o}.${m.name}`); }"
               "console.log(JSON.stringify([...new Set(out)]));")
    done = subprocess.run(["node", "-e", program, str(trc / "collectors/APICalls/breakpoints.js")],
                          capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        return []
    return json.loads(done.stdout)


# --- what each side recorded ---------------------------------------------------------------------------------------

# TRC's anti-bot script (helpers/notABot.js, on by default) runs in every frame at document start and itself reads
# these two; in an iframe a script creates, its reads are blamed on that script (the creating call is on the stack),
# and in the main frame on the page ("about:blank" when TRC cannot name a script).
TRC_OWN_READS = frozenset({"Notification.permission", "Navigator.prototype.plugins"})
_VOLATILE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{6,}", re.IGNORECASE)


def _url(value: str) -> str:
    return urldefrag(value or "")[0]


def attributed(script: str) -> bool:
    """TRC names a script, not the page's blank initial document or nothing."""
    return script.startswith(("http://", "https://"))


def cookie_name(name: str) -> str:
    """A cookie name with its per-visit parts (timestamps, UUIDs) blanked, so two crawls' names compare."""
    return _VOLATILE.sub("#", name)


@dataclass
class Page:
    """What one side recorded on one page."""

    ok: bool = False
    apis: dict[tuple[str, str], int] = field(default_factory=dict)  # (script, API as that side names it) -> calls
    requests: set[str] = field(default_factory=set)
    cookies: set[tuple[str, str]] = field(default_factory=set)  # (name, domain)
    cookie_writes: set[tuple[str, str]] = field(default_factory=set)  # (script, cookie_name) of kept script writes


def trc_cookie_write(argument: str, page_url: str, started_ms: float) -> str | None:
    """The cookie name a TRC-saved `document.cookie` write sets, or None for a deletion (an expiry before the visit
    started, Max-Age <= 0) or a write the browser refuses (Domain not the page's host or a parent of it, a public
    suffix, HttpOnly). Short-lived cookies count: a 10-second cookie is a cookie the page set."""
    from crawler.collectors.cookies import browser_accepts
    from mouchard.detect.cookies import parse_set_cookie
    from mouchard.decode.domains import offline_tldextract

    set_at = dt.datetime.fromtimestamp(started_ms / 1000, dt.UTC)
    row = parse_set_cookie(argument, page_url, set_at)
    if row is None or not browser_accepts(row, page_url):
        return None
    domain = (row.get("requested_domain") or "").lstrip(".")
    if domain and not offline_tldextract()(domain).top_domain_under_public_suffix:
        return None  # Chromium refuses a Domain attribute that is a public suffix
    expires = row.get("requested_expires_at")
    if expires and dt.datetime.fromisoformat(expires) <= set_at:
        return None
    return cookie_name(row["name"])


def read_trc(folder: Path, urls: list[str]) -> dict[str, Page]:
    """TRC's per-page JSON files (by `initialUrl`); a page without a file failed."""
    pages = {url: Page() for url in urls}
    for path in folder.glob("*.json"):
        if path.name == "metadata.json":
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        url = data.get("initialUrl", "")
        page = pages.get(url)
        if page is None:
            continue
        page.ok = True
        collected = data.get("data") or {}
        apis = collected.get("apis") or {}
        for script, calls in (apis.get("callStats") or {}).items():
            for description, count in calls.items():
                page.apis[(_url(script), description)] = count
        for call in apis.get("savedCalls") or []:
            script, description = _url(call.get("source", "")), call.get("description", "")
            page.apis.setdefault((script, description), 1)
            if description == COOKIE_SETTER:
                for argument in call.get("arguments") or []:
                    name = trc_cookie_write(str(argument), url, data.get("testStarted") or 0)
                    if name is not None:
                        page.cookie_writes.add((script, name))
        page.requests = {_url(r["url"]) for r in collected.get("requests") or [] if r.get("url")}
        page.cookies = {(c["name"], c["domain"]) for c in collected.get("cookies") or []}
    return pages


def read_mouchard(db: Path, urls: list[str]) -> dict[str, Page]:
    """mouchard's rows per visited URL (`--consent none`: one visit per page)."""
    pages = {url: Page() for url in urls}
    conn = sqlite3.connect(db)
    try:
        visits = {vid: url for vid, url, status in conn.execute("SELECT id, url, status FROM visits")
                  if url in pages and status in ("ok", "partial")}
        for url in visits.values():
            pages[url].ok = True
        for vid, script, api, calls in conn.execute("SELECT visit_id, script_url, api, calls FROM js_calls"):
            if vid in visits:
                key = (_url(script or ""), api)
                page = pages[visits[vid]]
                page.apis[key] = page.apis.get(key, 0) + (calls or 0)
        for vid, url in conn.execute("SELECT visit_id, url FROM requests"):
            if vid in visits and url:
                pages[visits[vid]].requests.add(_url(url))
        for vid, name, domain, set_by, setter in conn.execute(
                "SELECT visit_id, name, domain, set_by, setter_url FROM cookies"):
            if vid in visits:
                pages[visits[vid]].cookies.add((name, domain))
                if set_by == "script" and setter:
                    pages[visits[vid]].cookie_writes.add((_url(setter), cookie_name(name)))
    finally:
        conn.close()
    return pages


def compare(trc: dict[str, Page], ours: dict[str, Page]) -> dict:
    """Per page both sides loaded: what TRC recorded that mouchard did not.

    An API pair (script, API) in mouchard's catalogue counts as missed when mouchard has no `js_calls` row for the
    same script and API (for a call TRC could not attribute, no row for that API on the page at all). TRC's own
    anti-bot reads are kept apart (`TRC_OWN_READS`), and so are APIs mouchard's catalogue does not watch. The
    `document.cookie` setter is compared as cookie writes: each (script, cookie name) TRC saw written, that was
    neither a deletion nor refused, against mouchard's script-set `cookies` rows."""
    fewer, totals = Counter(), Counter()
    missed_apis: Counter = Counter()  # mouchard API name -> pages with a missed pair
    own_reads: Counter = Counter()  # TRC's anti-bot reads mouchard has no row for -> pages
    uncatalogued: Counter = Counter()  # TRC API without a mouchard catalogue entry -> pages
    elsewhere: Counter = Counter()  # missed under TRC's script, present under another script -> pages
    examples: dict[str, Counter] = defaultdict(Counter)  # kind -> concrete thing missed -> pages
    both = [url for url in trc if trc[url].ok and ours[url].ok]

    for url in both:
        theirs, mine = trc[url], ours[url]
        for side, page in (("trc", theirs), ("our", mine)):
            totals[f"{side}_pairs"] += len(page.apis)
            totals[f"{side}_calls"] += sum(page.apis.values())
            totals[f"{side}_requests"] += len(page.requests)
            totals[f"{side}_cookies"] += len(page.cookies)
            totals[f"{side}_cookie_writes"] += len(page.cookie_writes)
        our_apis = {api for _, api in mine.apis}
        missed, own, outside, moved = set(), set(), set(), set()
        comparable = 0
        for script, description in theirs.apis:
            if description == COOKIE_SETTER:
                continue
            if not in_catalogue(description):
                outside.add(description)
                examples["unwatched"][f"{description} by {script}"] += 1
                continue
            names = mouchard_api(description)
            label = names[0] if len(names) == 1 else description
            seen = (any((script, name) in mine.apis for name in names) if attributed(script)
                    else any(name in our_apis for name in names))
            if seen:
                comparable += 1
                continue
            if description in TRC_OWN_READS:
                own.add(label)
                continue
            comparable += 1
            totals["missed_pairs"] += 1
            missed.add(label)
            if any(name in our_apis for name in names):
                moved.add(label)
            examples["apis"][f"{label} by {script}"] += 1
        if len(mine.apis) < comparable:
            fewer["apis"] += 1
        for counter, found in ((missed_apis, missed), (own_reads, own), (uncatalogued, outside), (elsewhere, moved)):
            counter.update(found)
        for kind, theirs_set, mine_set in (("requests", theirs.requests, mine.requests),
                                           ("cookies", theirs.cookies, mine.cookies),
                                           ("cookie_writes", theirs.cookie_writes, mine.cookie_writes)):
            if len(mine_set) < len(theirs_set):
                fewer[kind] += 1
            for item in sorted(theirs_set - mine_set):
                totals[f"missed_{kind}"] += 1
                examples[kind][item if isinstance(item, str) else " by ".join(reversed(item))] += 1
    return {"pages": len(both), "fewer": fewer, "missed_apis": missed_apis, "own_reads": own_reads,
            "uncatalogued": uncatalogued, "elsewhere": elsewhere, "examples": examples, "totals": totals,
            "trc_failed": [u for u in trc if not trc[u].ok], "our_failed": [u for u in ours if not ours[u].ok]}


# --- the runs -------------------------------------------------------------------------------------------------------

def run_trc(trc: Path, urls: list[str], concurrency: int, folder: Path, wrapper: Path, preload: Path) -> dict:
    """TRC's CLI with all its collectors; returns time, peak memory and its output folder."""
    site_list = folder / f"trc-pages-{concurrency}.txt"
    site_list.write_text("\n".join(urls) + "\n")
    out = folder / f"trc-{concurrency}"
    logs = folder / f"trc-logs-{concurrency}"
    out.mkdir()
    logs.mkdir()
    # `env` execs node: the measured process tree is node's (its Chromiums are its children).
    command = ["env", "TRC_UNSAFE_DISABLE_SANDBOX=1", f"MOUCHARD_TRC_BROWSER={wrapper}",
               f"MOUCHARD_TRC_HELPER={trc / 'helpers' / 'chromiumDownload.js'}",
               "node", "-r", str(preload), str(trc / "cli" / "crawl-cli.js"), "-i", str(site_list), "-o", str(out),
               "-c", str(concurrency), "--reporters", "file", "-l", str(logs), "-f"]
    elapsed, peak, done = measure(command)
    if done.returncode != 0:
        raise SystemExit(f"TRC failed ({done.returncode}): {(done.stderr or done.stdout)[-2000:]}")
    metadata = json.loads((out / "metadata.json").read_text()) if (out / "metadata.json").exists() else {}
    if metadata.get("result", "success") != "success":
        raise SystemExit(f"TRC fatal error: {metadata['result']} (log: {logs / 'log.txt'})")
    return {"s": elapsed, "peak": peak, "out": out, "log": logs / "log.txt",
            "collectors": (metadata.get("config") or {}).get("dataCollectors", []),
            "successes": (metadata.get("stats") or {}).get("successes", 0)}


def run_mouchard(web, urls: list[str], concurrency: int, folder: Path, dwell_s: float) -> dict:
    """`mouchard crawl` as benchmarks/crawl.py's run_pair builds it (same options, same test web flags)."""
    site_list = folder / f"pages-{concurrency}.txt"
    site_list.write_text("\n".join(urls) + "\n")
    db = folder / f"crawl-{concurrency}.db"
    command = [sys.executable, "-m", "mouchard", "crawl", "--db", str(db), "--consent", "none",
               "--list", str(site_list), "--concurrency", str(concurrency), "--timeout", "30", "--dwell", str(dwell_s),
               *(f"--browser-arg={flag}" for flag in chromium_args(web))]
    elapsed, peak, done = measure(command)
    if done.returncode != 0:
        raise SystemExit(f"mouchard crawl failed: {done.stderr[-2000:]}")
    return {"s": elapsed, "peak": peak, "db": db}


def run(trc: Path, web, urls: list[str], concurrency: int, folder: Path, dwell_s: float, keep: Path | None) -> dict:
    wrapper = folder / "chromium-for-trc"
    wrapper.write_text(wrapper_script(CHROMIUM, [*chromium_args(web), *SAME_PAGE_ARGS], PREFERENCES))
    wrapper.chmod(0o700)
    preload = folder / "trc-use-system-chromium.js"
    preload.write_text(PRELOAD)
    theirs = run_trc(trc, urls, concurrency, folder, wrapper, preload)
    print(f"TRC, concurrency {concurrency}: {theirs['s']:.1f} s, {theirs['successes']}/{len(urls)} pages",
          file=sys.stderr)
    ours = run_mouchard(web, urls, concurrency, folder, dwell_s)
    print(f"mouchard, concurrency {concurrency}: {ours['s']:.1f} s", file=sys.stderr)
    result = compare(read_trc(theirs["out"], urls), read_mouchard(ours["db"], urls))
    if keep:
        target = keep / f"concurrency-{concurrency}"
        shutil.copytree(folder, target, dirs_exist_ok=True)
        print(f"outputs kept in {target}", file=sys.stderr)
    return {"concurrency": concurrency, "pages": len(urls), "trc": theirs, "ours": ours, **result,
            "trc_ppm": len(urls) / theirs["s"] * 60, "our_ppm": len(urls) / ours["s"] * 60}


# --- the report -------------------------------------------------------------------------------------------------

def _top(counter: Counter, limit: int = SHOWN) -> str:
    return ", ".join(f"`{name}` ({n})" for name, n in counter.most_common(limit)) or "none"


def report(results: list[dict], pages: int, dwell_s: float, load: float, breakpoints: list[str],
           version: str = "unknown version") -> str:
    """The "## tracker radar collector" section of benchmarks/RESULTS.md."""
    mib = 1024 * 1024
    collectors = ", ".join(results[0]["trc"]["collectors"]) if results else ""
    outside = [d for d in breakpoints if not in_catalogue(d)]
    concurrencies = " ".join(str(r["concurrency"]) for r in results)
    intro = (
        f"`benchmarks/trc.py --pages {pages} --concurrency {concurrencies}` on {platform.node()} "
        f"({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}), "
        f"{dt.date.today().isoformat()}: the pages of the crawl benchmark, crawled by DuckDuckGo's Tracker Radar "
        f"Collector ({version}, installed beside the project with its npm dependencies and no browser download; its "
        f"CLI, all collectors: {collectors}) and then by `mouchard crawl --consent none --dwell "
        f"{dwell_s:g}`, one after the other. TRC stays on a page until the main frame is network-idle "
        f"({TRC_NETWORK_IDLE_S:g} s without a connection), then {TRC_EXTRA_EXECUTION_S:g} s (its "
        f"`extraExecutionTimeMs` default) without scrolling; mouchard dwells {dwell_s:g} s after load (scrolling, "
        "mouse moves), then waits for network quiet. TRC uses the system Chromium through a wrapper with the same "
        "test-web flags, mouchard's autoplay policy and third-party cookies allowed, and runs without Chromium's "
        "sandbox (TRC_UNSAFE_DISABLE_SANDBOX=1, as root); mouchard keeps the sandbox. Load average at the start: "
        f"{load:.1f}. Peak memory: RSS summed over each process tree.")
    header = ("| concurrency | TRC pages/min | mouchard pages/min | speed ratio | TRC peak MiB | mouchard peak MiB | "
              "TRC (script, API) pairs / calls | mouchard pairs / calls | TRC requests | mouchard requests | "
              "TRC cookies | mouchard cookies |")
    lines = ["## tracker radar collector", "", intro, "", header,
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        t = r["totals"]
        lines.append(
            f"| {r['concurrency']} | {r['trc_ppm']:.1f} | {r['our_ppm']:.1f} | {r['our_ppm'] / r['trc_ppm']:.2f} | "
            f"{r['trc']['peak'] / mib:.0f} | {r['ours']['peak'] / mib:.0f} | {t['trc_pairs']} / {t['trc_calls']} | "
            f"{t['our_pairs']} / {t['our_calls']} | {t['trc_requests']} | {t['our_requests']} | "
            f"{t['trc_cookies']} | {t['our_cookies']} |")
    lines.append("")
    for r in results:
        t, fewer = r["totals"], r["fewer"]
        summary = (
            f"Concurrency {r['concurrency']}, {r['pages']} pages loaded by both (TRC failed {len(r['trc_failed'])}, "
            f"mouchard {len(r['our_failed'])}). Pages where mouchard has fewer than TRC: (script, API) pairs in its "
            f"catalogue {fewer['apis']}, request URLs {fewer['requests']}, cookies (name, domain) {fewer['cookies']}, "
            f"script cookie writes {fewer['cookie_writes']}. Recorded by TRC, not by mouchard: {t['missed_pairs']} "
            f"(script, API) pairs, {t['missed_requests']} request URLs, {t['missed_cookies']} cookies, "
            f"{t['missed_cookie_writes']} script cookie writes (TRC {t['trc_cookie_writes']}, mouchard "
            f"{t['our_cookie_writes']}).")
        moved = f"; recorded under another script: {_top(r['elsewhere'])}" if r["elsewhere"] else ""
        lines += [summary, "",
                  f"- Catalogue APIs TRC saw and mouchard missed (pages): {_top(r['missed_apis'])}{moved}.",
                  f"- TRC's own anti-bot reads, not the page's (pages): {_top(r['own_reads'])}.",
                  f"- APIs TRC saw that mouchard's catalogue does not watch (pages): {_top(r['uncatalogued'])}."]
        for kind, what in (("apis", "API calls missed"), ("requests", "requests missed"),
                           ("cookies", "cookies missed"), ("cookie_writes", "script cookie writes missed"),
                           ("unwatched", "uncatalogued API calls")):
            shown = r["examples"].get(kind)
            if shown:
                lines.append(f"- Most frequent {what} (pages): {_top(shown)}.")
        lines.append("")
    speed = min((r["our_ppm"] / r["trc_ppm"] for r in results), default=0.0)
    complete = all(not r["missed_apis"] and not any(r["totals"][f"missed_{kind}"]
                                                    for kind in ("requests", "cookies", "cookie_writes"))
                   for r in results)
    unwatched = ", ".join(f"`{d}`" for d in outside)
    lines += [
        (f"Target: mouchard >= 3x TRC's pages per minute (worst ratio {speed:.2f}: "
         f"{'met' if speed >= 3 else 'NOT met'}) while recording at least TRC's API calls (in mouchard's catalogue), "
         f"requests and cookies ({'met' if complete else 'NOT met'})."),
        "",
        (f"TRC sets {len(breakpoints)} API breakpoints; {len(outside)} have no entry in mouchard's catalogue: "
         f"{unwatched}." if outside else
         f"TRC sets {len(breakpoints)} API breakpoints; every one has an entry in mouchard's catalogue."),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trc", default=os.environ.get(ENV_TRC),
                        help=f"installed Tracker Radar Collector checkout (default ${ENV_TRC})")
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--dwell", type=float, default=TRC_EXTRA_EXECUTION_S,
                        help="mouchard's dwell after load (default: TRC's extraExecutionTimeMs, 2.5 s)")
    parser.add_argument("--keep", type=Path, help="copy both sides' outputs (TRC JSON, mouchard DB) here")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    trc = check_trc(args.trc)
    sys.path.insert(0, str(ROOT / "tests"))
    from demoweb import TestWeb

    print(f"dwell: TRC waits network idle ({TRC_NETWORK_IDLE_S:g} s) + {TRC_EXTRA_EXECUTION_S:g} s "
          f"(extraExecutionTimeMs), no scrolling; mouchard --dwell {args.dwell:g}", file=sys.stderr)
    load = os.getloadavg()[0]
    web = TestWeb(latency=0).start()
    try:
        urls = page_urls(web, args.pages)
        results = []
        for concurrency in args.concurrency:
            with tempfile.TemporaryDirectory(prefix="mouchard-trc-") as folder:
                results.append(run(trc, web, urls, concurrency, Path(folder), args.dwell, args.keep))
    finally:
        web.stop()
    text = report(results, args.pages, args.dwell, load, trc_breakpoints(trc), trc_version(trc))
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
