"""`mouchard demo`: the newcomer's first command.

Starts the bundled demo web (package `demoweb`, shipped with mouchard; also the tests' web: publishers, trackers,
consent banners, a header-bidding auction, data brokers, all on 127.0.0.1 under real-looking names), crawls it in
every consent phase, imports a sample phone capture and a registry sample, checks the demo brokers, runs the rules,
and opens Datasette.
Every step is a job of mouchard's Python API (`mouchard.api.crawl`, `import_capture`, `fetch_brokers`,
`crawl_brokers`), called as a library user would and run in a child process with its output in `<db>.log`; Datasette
is started as `mouchard serve`.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from demoweb.paths import DATA as SAMPLES
from mouchard.errors import UserError
from mouchard.lifecycle import StopSignals, Stopped, signal_name
from mouchard.net import NetworkOptions


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
# Sample files shipped with the demo web (demoweb/data/README.md says where each comes from).
CAPTURE = SAMPLES / "phone.har"  # made by tests/data/demo/make_capture.py from the labelled app corpus
PROFILE = SAMPLES / "profiles" / "android.yml"
REGISTRY = SAMPLES / "brokers" / "ca-registry-2025.csv"


def _demo_web():
    """The demo web's server and its brokers' site (package `demoweb`, installed with mouchard)."""
    from demoweb import TestWeb
    from demoweb.sites import brokers as demo_brokers

    return TestWeb, demo_brokers


def _step(title: str, job: str, log: Path, stop: StopSignals, **options: Any) -> float:
    """Run one job of mouchard.api in a child process (its output appended to the log), showing its title and
    duration. A stop signal is passed on to it (it finishes its run `interrupted`), then ends the demo (`Stopped`).
    A user error (nothing to fetch...) is shown and the demo goes on; a crash ends it."""
    from mouchard import api

    click.echo(click.style(f"• {title}", bold=True), nl=False)
    start = time.monotonic()
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n# mouchard.api.{job}({', '.join(f'{name}={value!r}' for name, value in options.items())})\n")
    problem = None
    try:
        api.run_in_child(f"mouchard.api:{job}", log=log, **options)
    except Stopped as exc:
        stop.received = stop.received or exc.signum
    except UserError as exc:
        problem = str(exc)
    except api.JobFailed as exc:
        if stop.received is None:
            click.echo(click.style(f"  failed after {time.monotonic() - start:.0f} s — see {log}", fg="red"))
            raise UserError(f"demo step '{title}' failed: {exc} (see {log})") from None
    seconds = time.monotonic() - start
    if stop.received is not None:  # noted by run_in_child's handlers (mouchard.lifecycle.StopSignals.restore)
        click.echo(f"  stopped by {signal_name(stop.received)}")
        raise Stopped(stop.received)
    click.echo(f"  {seconds:.0f} s" + (click.style(f" — {problem}", fg="yellow") if problem else ""))
    return seconds


def _judge(db: str, log: Path) -> None:
    """The last step, in this process (no Scrapy): every rule over everything recorded (`mouchard audit --db`)."""
    from mouchard import api

    click.echo(click.style("• judging everything with the rules", bold=True), nl=False)
    start = time.monotonic()
    evaluation = api.rebuild_findings(db, command=["mouchard", "demo"])
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n# mouchard.api.rebuild_findings({db!r}): {len(evaluation.findings)} findings over "
                  f"{len(evaluation.scope)} runs\n" + "".join(f"rule error: {e}\n" for e in evaluation.errors))
    click.echo(f"  {time.monotonic() - start:.0f} s")


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
        browser_args = tuple(web.chromium_args(proxy=True))
        _step(f"crawling {len(DEMO_SITES)} sites in every consent phase (initial, reject, accept, gpc)", "crawl",
              log, stop, list_file=str(sites), db=db, consent="all", gpc=True, screenshots=True,
              concurrency=concurrency, timeout=20, browser_args=browser_args)
        _step("importing a sample phone capture", "import_capture", log, stop, capture=str(CAPTURE), db=db,
              profile=str(PROFILE), app="com.example.app")
        _step("importing the 2025 California data-broker registry", "fetch_brokers", log, stop, registry="ca",
              db=db, source=str(REGISTRY))
        _step("importing a journalist's list of brokers", "fetch_brokers", log, stop, registry="list", db=db,
              source=str(brokers))
        _step("checking the demo brokers' sites", "crawl_brokers", log, stop, db=db, registries=("list",),
              concurrency=concurrency * 2, browser_args=browser_args,
              network=NetworkOptions.build(web.proxy_url, ca_file=web.ca_pem_path))
    _judge(db, log)
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
