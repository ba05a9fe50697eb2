"""`mouchard me`'s commands over mouchard.me.jobs: contacts, report, sent, answer, status; and the options its
capture commands share (addons/me_cli.py: import, proxy; crawler/me_cli.py: crawl). The group is in mouchard/cli.py."""

from __future__ import annotations

import datetime as dt

import click

from mouchard.commands.options import network_from, network_options
from mouchard.errors import UserError

DB_HELP = "Your private database (never published: `mouchard publish` refuses it)."
ME_HELP = "Your file me.yml: who you are (for the letters) and your own values (advertising id, e-mail...)."


def db_option(fn):
    return click.option("--db", "db", default="me.db", show_default=True,
                        type=click.Path(dir_okay=False), help=DB_HELP)(fn)


def me_option(fn):
    return click.option("--me", "person_file", required=True, type=click.Path(exists=True, dir_okay=False),
                        help=ME_HELP)(fn)


def _date(_ctx, _param, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected a date YYYY-MM-DD") from None


def date_option(name: str, help_: str):
    return click.option(name, callback=_date, metavar="YYYY-MM-DD", help=help_)


@click.command("contacts")
@click.option("--source", metavar="URL|FILE",
              help="Company database to read (default: datenanfragen.de's, CC0, downloaded now).")
@network_options
@db_option
def contacts(source, proxy, host_map, ignore_https_errors, ca_file, db) -> None:
    """Fetch companies' privacy contacts (datenanfragen.de's database, CC0) into your private database, with
    where and when they came from."""
    from mouchard.me.contacts import describe
    from mouchard.me.jobs import fetch_contacts

    summary = fetch_contacts(db, source=source, net=network_from(proxy, host_map, ignore_https_errors, ca_file))
    for line in describe(summary):
        click.echo(line)


@click.command("report")
@click.option("--out", type=click.Path(file_okay=False), help="Folder for your page and letters (default: <db>.me/).")
@date_option("--today", "Date the deadlines are counted to (default: today).")
@click.option("--since", metavar="YYYY-MM-DD", help="Only what was received from that day on.")
@db_option
def report(out, today, since, db) -> None:
    """Write your page (index.html in French, index.en.html in English) and the letters for each company that
    received data about you."""
    from mouchard.me.jobs import report as run

    if since is not None:
        _date(None, None, since)
    result = run(db, out, today=today, since=since)
    click.echo(f"{result.companies} companies received data about you ({result.items} items); "
               f"{result.letters} letters, {result.reminders} reminders and {result.complaints} complaint drafts "
               f"written")
    if result.without_contact:
        hint = ("; run `mouchard me contacts` to fetch companies' privacy contacts" if not result.contact_databases
                else ": their letters say so")
        click.echo(f"{result.without_contact} companies without a known privacy contact{hint}")
    click.echo(f"open {result.pages.get('fr') or next(iter(result.pages.values()), result.out)}")


@click.command("sent")
@click.argument("company")
@click.argument("kind", type=click.Choice(["access", "objection", "erasure", "ccpa-know", "ccpa-delete"]))
@date_option("--on", "Date you sent it (default: today).")
@click.option("--channel", type=click.Choice(["email", "post", "webform"]), default="email", show_default=True)
@date_option("--received-on", "Date the company received it, if you know (a registered letter's receipt).")
@db_option
def sent(company, kind, on, channel, received_on, db) -> None:
    """Note that you sent a letter: its deadline is counted from the day the company received it."""
    from mouchard.me.jobs import sent as run

    row = run(db, company, kind, on=on, channel=channel, received_on=received_on)
    click.echo(f"request {row['id']}: {kind} to {row.get('company_name') or company}, due {row['due_on']}")


@click.command("answer")
@click.argument("request_id", type=int)
@date_option("--on", "Date the answer arrived (default: today).")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False),
              help="The export the company sent (CSV, JSON or a ZIP of them): set next to what mouchard saw.")
@click.option("--extended", is_flag=True, help="The company extended its deadline by two months (Art. 12(3)).")
@date_option("--until", "With --extended: the new deadline the company gave.")
@db_option
def answer(request_id, on, file, extended, until, db) -> None:
    """Note a company's answer (and import its export), or that it extended the deadline."""
    from mouchard.me.jobs import answer as run

    if extended and file:
        raise UserError("--extended and --file: record the extension and the answer separately")
    if until and not extended:
        raise UserError("--until goes with --extended")
    row = run(db, request_id, on=on, file=file, extended=extended, until=until)
    line = f"request {row['id']}: {row['status']}"
    if row.get("import"):
        line += f"; {row['import'].get('items', 0):,} values imported"
    click.echo(line)


@click.command("update")
@click.argument("request_id", type=int)
@click.argument("event", type=click.Choice(["reminder", "complaint", "closed"]))
@date_option("--on", "Date it happened (default: today).")
@db_option
def update(request_id, event, on, db) -> None:
    """Note what you did next: sent the reminder, filed the complaint, or closed the request."""
    from mouchard.me.jobs import update as run

    row = run(db, request_id, event, on=on)
    click.echo(f"request {row['id']}: {row['status']}")


@click.command("status")
@date_option("--today", "Date to count to (default: today).")
@db_option
def status(today, db) -> None:
    """Your requests: deadlines, and the reminders and complaints due."""
    from mouchard.me.jobs import status as run

    rows = run(db, today=today)
    if not rows:
        click.echo("no request recorded yet: after sending a letter, run `mouchard me sent COMPANY KIND`")
    for row in rows:
        due = [what for what, flag in (("reminder due", row.get("reminder_due")),
                                       ("complaint due", row.get("complaint_due"))) if flag]
        click.echo(f"{row['id']}: {row['kind']} to {row.get('company_name') or row['company_key']}, sent "
                   f"{row['sent_on']}, due {row.get('extended_to') or row['due_on']}: {row['status']}"
                   + (f" ({', '.join(due)})" if due else ""))
