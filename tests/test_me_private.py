"""A person's own database never leaves their machine: `publish`, `merge` and a public `serve` refuse it, and
nothing of it reaches a published file, even when it turns private between publish's check and its copy."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from data.datasette.fixtures import build
from mouchard.errors import UserError
from mouchard.me.jobs import prepare
from mouchard.publishing.publish import PublishOptions, publish
from mouchard.publishing.serve import ServeOptions, serve
from mouchard.storage.merge import merge
from mouchard.storage.private import PrivateDatabaseError, is_private, is_private_file, person_row
from mouchard.storage.store import Store

ME = Path(__file__).parent / "data" / "me" / "me.yml"
# The person's values (tests/data/me/me.yml) and a cookie value of their own browsing: none may reach a published file.
VALUES = ("38400000-8cf0-11bd-b23e-10b96e40000d", "9774d56d682e549c", "356938035643809", "+33612345678",
          "jean.dupont.mouchard@example.org", "Jean Dupont-Mouchard", "uuid2-of-jean-7d1e9f")


@pytest.fixture
def private_db(tmp_path) -> Path:
    """A person's database: made private first, then a crawl of their own browsing and a phone flow in it."""
    path = tmp_path / "me.db"
    prepare(path, ME)
    with Store(path) as store:
        crawl = store.start_crawl("web")
        visit = store.insert("visits", {"crawl_id": crawl, "key": "initial https://www.example-news.fr/",
                                        "url": "https://www.example-news.fr/", "site": "example-news.fr",
                                        "phase": "initial", "status": "ok"})
        store.insert("cookies", {"visit_id": visit, "name": "uuid2", "value": VALUES[-1], "domain": ".adnxs.com",
                                 "site": "adnxs.com", "tracker_entity": "Microsoft"})
        app = store.start_crawl("import")
        store.insert("flows", {"crawl_id": app, "app": "com.example.game", "kind": "http", "host": "t.example",
                               "url": f"https://t.example/c?gaid={VALUES[0]}&imei={VALUES[2]}&em={VALUES[4]}"})
        store.finish_crawl(crawl)
        store.finish_crawl(app)
    return path


def _files_holding_values(folder: Path) -> list[str]:
    found = []
    for file in folder.rglob("*") if folder.exists() else ():
        if file.is_file():
            data = file.read_bytes()
            found += [f"{file.name}: {v}" for v in VALUES if v.encode() in data]
    return found


def test_prepare_marks_the_database_private_with_the_person(private_db):
    conn = sqlite3.connect(private_db)
    assert is_private(conn) and is_private_file(private_db)
    row = person_row(conn)
    assert (row["name"], row["email"], row["country"], row["language"], row["profile_file"]) == \
        ("Jean Dupont-Mouchard", "jean.dupont.mouchard@example.org", "FR", "fr", "me.yml")
    assert row["profile"]["identifiers"]["advertising_id"] == VALUES[0]


def test_prepare_refuses_a_database_holding_crawls(tmp_path):
    fixture = build(tmp_path / "crawl.db")
    with pytest.raises(UserError, match="already holds crawls and is not private"):
        prepare(fixture.path, ME)
    assert not is_private_file(fixture.path)


def test_publish_refuses_and_writes_nothing(private_db, tmp_path):
    out = tmp_path / "site"
    with pytest.raises(PrivateDatabaseError, match="is a private database .* never published"):
        publish(PublishOptions(private_db, out))
    assert not out.exists()
    result = subprocess.run([sys.executable, "-m", "mouchard", "publish", "--db", str(private_db), "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].endswith("use `mouchard me report` to read it on this machine")
    assert not out.exists()


def test_a_database_made_private_after_the_check_is_caught_in_the_copy(private_db, tmp_path, monkeypatch):
    """The second guard: the snapshot publish takes is checked again, and the folder keeps no file."""
    import mouchard.publishing.publish as publishing

    monkeypatch.setattr(publishing, "refuse_private", lambda *_args: None)
    out = tmp_path / "site"
    with pytest.raises(PrivateDatabaseError, match="became private"):
        publish(PublishOptions(private_db, out))
    assert _files_holding_values(out) == []
    assert not out.exists() or list(out.iterdir()) == []


def test_merge_refuses_a_private_shard_unless_into_another_private_database(private_db, tmp_path):
    public = tmp_path / "public.db"
    with pytest.raises(PrivateDatabaseError, match="never merged"):
        merge([private_db], public)
    assert not public.exists() or not is_private_file(public)
    assert _files_holding_values(tmp_path / "public.db.evidence") == []
    other = tmp_path / "other-me.db"
    prepare(other, ME)
    merge([private_db], other)  # the person's two captures into one private database
    assert is_private_file(other)


def test_serve_keeps_a_private_database_on_this_machine(private_db):
    with pytest.raises(PrivateDatabaseError, match="served on 127.0.0.1 only, not on 0.0.0.0"):
        serve(ServeOptions(private_db, host="0.0.0.0", port=0))


def test_a_crawl_with_a_person_s_browser_profile_goes_only_into_a_private_database(tmp_path, private_db):
    from crawler.crawl import own_profile_checks
    from mouchard.settings import RunSettings

    profile = tmp_path / "chromium"
    (profile / "Default").mkdir(parents=True)
    with pytest.raises(UserError, match="is not a private database: a crawl with your own browser profile"):
        own_profile_checks(RunSettings.from_options(db=str(tmp_path / "crawl.db"), browser_profile=str(profile)))
    own_profile_checks(RunSettings.from_options(db=str(private_db), browser_profile=str(profile)))
    with pytest.raises(UserError, match="not a Chromium profile folder"):
        own_profile_checks(RunSettings.from_options(db=str(private_db), browser_profile=str(tmp_path)))


def test_profile_copy_leaves_caches_and_locks_and_never_follows_links(tmp_path):
    from crawler.browser.profile import new_profile

    source = tmp_path / "chromium"
    (source / "Default" / "Cache").mkdir(parents=True)
    (source / "Default" / "Cache" / "data_0").write_bytes(b"x" * 100)
    (source / "Default" / "Cookies").write_bytes(b"cookies")
    (source / "Local State").write_text("{}")
    (source / "SingletonLock").symlink_to("host-1234")
    (source / "Default" / "outside").symlink_to("/etc/passwd")
    copy = Path(new_profile(str(tmp_path), str(source)))
    assert sorted(str(p.relative_to(copy)) for p in copy.rglob("*")) == \
        ["Default", "Default/Cookies", "Default/outside", "Local State"]
    assert (copy / "Default" / "outside").is_symlink()  # copied as a link, not the file it points to
    assert (source / "Default" / "Cache" / "data_0").exists()  # the person's folder is untouched


def test_a_corrupt_marker_fails_closed(tmp_path):
    path = tmp_path / "odd.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE VIEW me_person AS SELECT 1/0 AS x FROM nowhere")  # unreadable: counted private
    conn.commit()
    assert is_private(conn)
    conn.close()


def test_served_on_this_machine_a_private_database_describes_its_own_tables(private_db):
    """The same Datasette, private mode: on 127.0.0.1 the person browses their own tables, described."""
    import asyncio

    from mouchard.publishing.serve import build_datasette

    ds = build_datasette(private_db)

    async def pages() -> list[tuple[int, str]]:
        await ds.invoke_startup()
        return [(r.status_code, r.text) for r in [await ds.client.get("/mouchard/me_person"),
                                                  await ds.client.get("/mouchard/me_person?lang=en")]]

    (fr_status, french), (en_status, english) = asyncio.run(pages())
    assert fr_status == en_status == 200
    assert "La personne dont cette base privée contient les propres captures" in french  # French first
    assert "The person whose own captures this private database holds" in english
