"""`mouchard demo`: the newcomer's first command.

Starts the bundled demo web (the test web of tests/web: publishers, trackers, consent banners, a header-bidding
auction, data brokers, all on 127.0.0.1 under real-looking names), crawls it in every consent phase, imports a
sample phone capture and a registry sample, checks the demo brokers, runs the rules, and opens Datasette.
Every step is the real command a user would run (a subprocess of `python -m mouchard ...`), so the demo shows
exactly what those commands do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from mouchard.errors import UserError
from mouchard.lifecycle import StopSignals, Stopped, signal_name

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
DATA = TESTS / "data"

# Pages of the demo web, with tags so the Datasette questions can compare kinds of site.
DEMO_SITES = (
    ("https://www.example-news.fr/", "news"),
    ("https://www.daily-example.co.uk/", "news"),
    ("https://shop.example-store.com/", "shop"),
    ("https://blog.example-user.github.io/", "blog"),
    ("https://www.example-campaign.org/", "party,campaign"),
    ("https://www.clean-example.org/", "clean"),
    ("https://www.journal-exemple.fr/", "news,cmp"),
    ("https://www.tcf-news.com/", "news,cmp"),
    ("https://www.fair-news.org/", "news,cmp"),
    ("https://www.cookie-example.com/", "cmp"),
)
CAPTURE = DATA / "demo" / "phone.har"  # made by tests/data/demo/make_capture.py from the labelled app corpus
PROFILE = DATA / "profiles" / "android.yml"
REGISTRY = DATA / "brokers" / "ca-registry-2025.csv"


def _demo_web():
    """The test web of a repository checkout (it is not part of an installed package)."""
    if not (TESTS / "web" / "__init__.py").exists():
        raise UserError("mouchard demo needs a clone of the repository: its demo web lives in tests/web")
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    from web import TestWeb  # noqa: PLC0415  (tests/web, found through the path set just above)
    from web.sites import brokers as demo_brokers

    return TestWeb, demo_brokers


def _step(title: str, args: list[str], log: Path, stop: StopSignals) -> float:
    """Run one mouchard command, showing its title and duration; its output goes to the log file. A stop signal
    is passed on to it (it finishes its run `interrupted`), then ends the demo (`Stopped`)."""
    click.echo(click.style(f"• {title}", bold=True), nl=False)
    start = time.monotonic()
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ mouchard {' '.join(args)}\n")
        out.flush()
        code = stop.run([sys.executable, "-m", "mouchard", *args], stdout=out, stderr=subprocess.STDOUT,
                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seconds = time.monotonic() - start
    if stop.received is not None:
        click.echo(f"  stopped by {signal_name(stop.received)}")
        raise Stopped(stop.received)
    if code not in (0, 1):  # 1: some pages or lists failed, which the summary reports
        click.echo(click.style(f"  failed ({code}) after {seconds:.0f} s — see {log}", fg="red"))
        raise UserError(f"demo step '{title}' failed: see {log}")
    click.echo(f"  {seconds:.0f} s")
    return seconds


def run_demo(db: str, *, serve: bool, port: int, concurrency: int) -> None:
    """Build the demo database at `db` (replaced if it exists) and serve it unless `serve` is False.

    SIGINT, SIGTERM and SIGHUP stop it whatever it inherited: the running step is stopped (its run ends
    `interrupted`), the demo web closes, and `Stopped` is raised; every step runs with a parent-death signal, so
    even a killed demo leaves nothing running (mouchard.lifecycle).
    """
    with StopSignals() as stop:
        _run_demo(db, serve=serve, port=port, concurrency=concurrency, stop=stop)


def _run_demo(db: str, *, serve: bool, port: int, concurrency: int, stop: StopSignals) -> None:
    TestWeb, demo_brokers = _demo_web()
    for suffix in ("", "-wal", "-shm"):
        Path(db + suffix).unlink(missing_ok=True)
    log = Path(db + ".log")
    log.write_text("mouchard demo\n", encoding="utf-8")
    started = time.monotonic()
    with TestWeb() as web, tempfile.TemporaryDirectory(prefix="mouchard-demo-") as tmp:
        click.echo(f"demo web on 127.0.0.1 (proxy {web.proxy_url}); database {db}; log {log}")
        sites = Path(tmp) / "sites.csv"
        sites.write_text("url,tags\n" + "".join(f'{url},"{tags}"\n' for url, tags in DEMO_SITES), encoding="utf-8")
        brokers = Path(tmp) / "brokers.csv"
        brokers.write_text(demo_brokers.list_csv(), encoding="utf-8")
        browser_args = [f"--browser-arg={flag}" for flag in web.chromium_args(proxy=True)]
        net = ["--proxy", web.proxy_url, "--ca-file", web.ca_pem_path]
        _step(f"crawling {len(DEMO_SITES)} sites in every consent phase (initial, reject, accept, gpc)",
              ["crawl", "--db", db, "--list", str(sites), "--consent", "all", "--gpc", "--screenshots",
               "--concurrency", str(concurrency), "--timeout", "20", *browser_args], log, stop)
        _step("importing a sample phone capture", ["import", str(CAPTURE), "--profile", str(PROFILE),
                                                   "--app", "com.example.app", "--db", db], log, stop)
        _step("importing the 2025 California data-broker registry",
              ["brokers", "fetch", "--registry", "ca", "--from", str(REGISTRY), "--db", db], log, stop)
        _step("importing a journalist's list of brokers",
              ["brokers", "fetch", "--registry", "list", "--from", str(brokers), "--db", db], log, stop)
        _step("checking the demo brokers' sites", ["brokers", "crawl", "--registry", "list", "--db", db,
                                                   "--concurrency", str(concurrency * 2), *net, *browser_args],
              log, stop)
    _step("judging everything with the rules", ["audit", "--db", db], log, stop)
    click.echo(f"done in {time.monotonic() - started:.0f} s")
    if serve:
        click.echo("opening Datasette (Ctrl-C to stop)")
        stop.run([sys.executable, "-m", "mouchard", "serve", "--db", db, "--port", str(port), "--open"])


@click.command("demo")
@click.option("--db", default="demo.db", show_default=True, type=click.Path(dir_okay=False),
              help="Database to (re)create for the demo.")
@click.option("--serve/--no-serve", default=True, show_default=True, help="Open Datasette on the result.")
@click.option("--port", type=int, default=8001, show_default=True, help="Datasette's port.")
@click.option("--concurrency", type=click.IntRange(1, 16), default=3, show_default=True,
              help="Browsers at once.")
def demo(db: str, serve: bool, port: int, concurrency: int) -> None:
    """Start the demo web on 127.0.0.1, crawl it with every consent phase, import a phone capture and a
    registry, check the demo brokers, run the rules, and open the result in Datasette."""
    try:
        run_demo(db, serve=serve, port=port, concurrency=concurrency)
    except Stopped as exc:
        raise UserError(f"demo stopped by {signal_name(exc.signum)}: what it recorded is kept in {db} "
                        f"(log {db}.log)") from None
