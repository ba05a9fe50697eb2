"""The `mouchard` command: a thin click layer; each command's module is imported only when it runs.

This is the composition root: the only core module allowed to reach into crawler/, addons/ and audits/, and only
lazily, so `mouchard --help` starts fast and works without a browser.
"""

from __future__ import annotations

import importlib
import sys

import click

from mouchard import __version__
from mouchard.errors import UserError

# name -> ("module:attribute" of a click command, one-line help). Help lives here so listing imports nothing.
COMMANDS: dict[str, tuple[str, str]] = {
    "crawl": ("crawler.cli:crawl", "Visit websites in Chromium and record trackers, cookies, consent, bidding."),
    "brokers": ("crawler.brokers_cli:brokers", "Data-broker registries (fetch) and what brokers' own sites hide (crawl)."),
    "proxy": ("addons.cli:proxy", "Run mitmdump with mouchard's addons: record a phone's traffic and leaks."),
    "import": ("addons.cli:import_", "Record flows and leaks from a .mitm or .har file, offline."),
    "audit": ("audits.cli:audit", "Run a declarative audit and write a verifiable evidence bundle."),
    "verify": ("audits.cli:verify", "Recompute every hash of an evidence bundle."),
    "diff": ("audits.cli:diff", "Findings that appeared, disappeared or changed between two bundles."),
    "classify": ("mouchard.commands.classify:classify", "Re-derive tracker entities and categories with the current lists."),
    "serve": ("mouchard.commands.datasette:serve", "Browse a database in Datasette with mouchard's metadata and queries."),
    "publish": ("mouchard.commands.datasette:publish", "Prepare a redacted copy and a Datasette deployment."),
    "lists": ("mouchard.commands.lists:lists", "Download and show tracker lists (Ghostery, DuckDuckGo, EasyList...)."),
    "vendors": ("mouchard.commands.vendors:vendors", "Record IAB Europe's Global Vendor List and vendors' storage disclosures."),
    "demo": ("mouchard.commands.demo:demo", "Start the demo web on 127.0.0.1, crawl it, and open the results."),
    "merge": ("mouchard.commands.merge:merge", "Combine SQLite shards into one database without duplicates."),
    "me": ("mouchard.cli:me", "Your own data: what companies received about you, and letters to ask for the rest."),
}


# `mouchard me`'s subcommands: its captures run the addons' and the crawler's jobs into a private database.
ME_COMMANDS: dict[str, tuple[str, str]] = {
    "import": ("addons.me_cli:import_", "Record a capture of your own traffic (HAR, PCAPdroid, iOS report)."),
    "proxy": ("addons.me_cli:proxy", "Record your phone's traffic through mouchard until Ctrl-C."),
    "crawl": ("crawler.me_cli:crawl", "Visit the sites you use in your own browser profile."),
    "contacts": ("mouchard.commands.me:contacts", "Fetch companies' privacy contacts (datenanfragen.de, CC0)."),
    "report": ("mouchard.commands.me:report", "Your page and letters: what each company received about you."),
    "sent": ("mouchard.commands.me:sent", "Note that you sent a letter: its deadline starts."),
    "answer": ("mouchard.commands.me:answer", "Note a company's answer, import its export, or an extension."),
    "update": ("mouchard.commands.me:update", "Note a reminder sent, a complaint filed, or a request closed."),
    "status": ("mouchard.commands.me:status", "Your requests: deadlines, reminders and complaints due."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on use."""

    commands_table: dict[str, tuple[str, str]] = COMMANDS

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands_table)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands_table:
            return None
        target, short_help = self.commands_table[name]
        module, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module), attr)
        command.short_help = command.short_help or short_help
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, help_) in self.commands_table.items()])


class MeGroup(LazyGroup):
    commands_table = ME_COMMANDS


def _print_versions(ctx: click.Context, _param, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from mouchard.browser import browser_version, find_browser
    from mouchard.versions import dependency_versions

    versions = dependency_versions()
    click.echo(f"mouchard {__version__}")
    try:
        click.echo(f"browser {browser_version(find_browser())}")
    except UserError as exc:
        click.echo(f"browser: {exc}")
    for name in ("playwright", "scrapy", "scrapy-playwright", "mitmproxy", "datasette", "sqlite-utils"):
        click.echo(f"{name} {versions.get(name)}")
    click.echo(f"python {versions['python']}, sqlite {versions['sqlite']}")
    ctx.exit()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_versions,
              help="Show versions of mouchard, Chromium, Playwright, Scrapy, mitmproxy, Datasette and exit.")
def cli() -> None:
    """mouchard informs on trackers and data brokers.

    Crawl websites, record a phone's traffic, check data brokers, audit, and publish with Datasette.
    """
    install_rules()


@click.group("me", cls=MeGroup)
def me() -> None:
    """Your own data: what companies received about you, and the letters to ask them for the rest.

    \b
    1. Capture into your private database: `mouchard me import` (a HAR from your browser, a PCAPdroid capture
       of your phone, the iOS App Privacy Report), `mouchard me proxy` (your phone through mouchard) or
       `mouchard me crawl` (the sites you use, with your own browser profile).
    2. `mouchard me contacts` fetches companies' privacy contacts; `mouchard me report` writes your page and
       letters (French and English: text, HTML, PDF, e-mail).
    3. `mouchard me sent`, `mouchard me answer`, `mouchard me status`: deadlines, reminders, answers, complaints.

    Nothing leaves your machine: `mouchard publish` refuses a private database (docs/me.md).
    """


def install_rules() -> None:
    """Let collector runs in this process end with the audit rules' findings (`mouchard.detect.derive`): done by each
    composition root, the command and the child process of an API job (crawler/child.py)."""
    from mouchard.detect.derive import set_deriver

    set_deriver(_audit_rules)


def _audit_rules(store, crawl_ids: list[int], rules: list[str] | None) -> list[dict]:
    """Findings of a collector run, by the audit rules (imported here: collectors may not import audits)."""
    from audits.engine import evaluate

    return list(evaluate(store, rules=rules, crawl_ids=crawl_ids).findings)


def main() -> None:
    """Entry point: user errors become one line on stderr and exit status 1, never a traceback."""
    try:
        cli.main(standalone_mode=False)
    except UserError as exc:
        click.echo(f"mouchard: {exc}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("mouchard: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("mouchard: interrupted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug, not a user error: still one line, with the way to see more
        from mouchard.settings import debug_enabled

        if debug_enabled():
            raise
        click.echo(f"mouchard: internal error: {type(exc).__name__}: {exc} (set MOUCHARD_DEBUG=1 for details)", err=True)
        sys.exit(3)
