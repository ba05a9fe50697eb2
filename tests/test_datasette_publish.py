"""`mouchard publish`: a redacted, vacuumed copy with its evidence images and a deployment that serves."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

import mouchard
from data.datasette.client import SyncClient
from data.datasette.fixtures import build
from mouchard.errors import UserError
from mouchard.publishing.metadata import build_metadata
from mouchard.publishing.publish import PublishOptions, publish
from mouchard.storage.store import Store

GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
EMAIL = "jean.test@example.org"
PROFILE = f"""device: {{platform: android, name: Pixel test phone}}
identifiers: {{advertising_id: {GAID}, email: {EMAIL}, imei: "490154203237518"}}
location: {{lat: 48.85837, lon: 2.29448, radius_m: 200}}
contacts: [Dominique Bernard]
"""


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("source")
    fixture = build(folder / "crawl.db", hostile=True)
    with Store(fixture.path) as store:  # an app flow carrying the phone's own values, as an unredacted addon would
        flow = store.insert("flows", {"app": "com.leaky.app", "kind": "http", "host": "t.example", "site": "t.example",
                                      "url": f"https://t.example/c?gaid={GAID.upper()}&em={EMAIL.replace('@', '%40')}"
                                             "&lat=48.85837&who=Dominique%20Bernard&imei=490154203237518"})
        store.insert("leaks", {"flow_id": flow, "identifier": "location", "lat": 48.85837, "lon": 2.29448})
        store.insert("storage_items", {"visit_id": fixture.ids["news_initial"], "origin": "https://www.news.example",
                                       "kind": "local", "name": "_uid", "value": "uid-7d1e9f", "value_size": 10})
        store.insert("bodies", {"sha256": "a" * 64, "size": 9, "content": b"body-text"})
    profile = folder / "device.yml"
    profile.write_text(PROFILE)
    return fixture, profile


@pytest.fixture(scope="module")
def published(source, tmp_path_factory):
    fixture, profile = source
    out = tmp_path_factory.mktemp("published") / "site"
    result = publish(PublishOptions(fixture.path, out, profiles=(profile,), license="CC BY 4.0", license_url=None))
    return result, sqlite3.connect(out / "mouchard.db"), (out / "mouchard.db").read_bytes()


def test_personal_broker_contacts_are_gone_everywhere_business_ones_stay(published):
    _, db, data = published
    assert b"jane.doe@gmail.com" not in data
    rows = {key: rest for key, *rest in db.execute(
        "SELECT key, email, phone, address, state FROM brokers WHERE year = 2025 AND registry = 'ca'")}
    assert rows == {"acme data": [None, None, None, "CA"],
                    "beta brokers": ["privacy@beta.example", "+1 555 0100", "1 Main St", "CA"],
                    "gamma": ["privacy@gamma.example", "+1 555 0100", "1 Main St", "TX"]}
    assert "[personal contact removed]" in db.execute("SELECT raw_json FROM brokers WHERE key = 'acme data'").fetchone()[0]
    assert db.execute("SELECT count(*) FROM brokers_fts WHERE brokers_fts MATCH 'jane'").fetchone()[0] == 0


def test_identifier_values_secret_headers_and_bodies_are_removed(published):
    _, db, data = published
    assert db.execute("SELECT count(*) FROM cookies WHERE value IS NOT NULL").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM storage_items WHERE value IS NOT NULL").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM bodies WHERE content IS NOT NULL").fetchone()[0] == 0
    for secret in (b"value-0123456789", b"abc123secret", b"secret-token", b"uid-7d1e9f", b"body-text", b"10.0.0.7"):
        assert secret not in data, secret
    headers = json.loads(db.execute("SELECT request_headers FROM requests LIMIT 1").fetchone()[0])
    assert headers == {"Accept": "*/*", "Cookie": "[redacted]"}
    assert db.execute("SELECT count(*) FROM crawls WHERE host IS NOT NULL").fetchone()[0] == 0


def test_device_profile_values_become_tokens_in_every_form(published):
    _, db, data = published
    url = db.execute("SELECT url FROM flows WHERE app = 'com.leaky.app'").fetchone()[0]
    assert url == "https://t.example/c?gaid=[GAID]&em=[EMAIL]&lat=[LOCATION]&who=[CONTACT]&imei=[IMEI]"
    for value in (GAID.encode(), GAID.upper().encode(), b"jean.test%40example.org", b"48.85837", b"490154203237518"):
        assert value not in data, value
    assert db.execute("SELECT lat, lon FROM leaks WHERE lat IS NOT NULL ORDER BY id DESC LIMIT 1").fetchone() == (
        48.86, 2.29)


def test_only_checked_evidence_images_are_copied(published, source):
    result, _, _ = published
    files = sorted(p.relative_to(result.out).as_posix() for p in (result.out / "mouchard.db.evidence").rglob("*")
                   if p.is_file())
    assert files == ["mouchard.db.evidence/screens/news-banner.png"]  # not the symlink, traversal or absolute rows
    assert result.evidence_files == 1


def test_copy_is_one_self_contained_vacuumed_file(published):
    result, db, _ = published
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA freelist_count").fetchone()[0] == 0
    report = json.loads((result.out / "redaction.json").read_text())
    assert report["redacted"] is True and report["steps"]["cookies.value removed"] > 0


def test_folder_holds_metadata_and_ready_commands(published):
    result, _, _ = published
    metadata = json.loads((result.out / "metadata.json").read_text())
    assert metadata == build_metadata(license="CC BY 4.0", license_url=None)
    assert {p.name for p in (result.out / "plugins").iterdir()} == {"mouchard_evidence.py", "mouchard_links.py",
                                                                 "mouchard_pages.py", "mouchard_readers.py"}
    for name in ("cloudrun", "package"):
        command = result.commands[name]
        assert "mouchard.db" in command and "--metadata metadata.json" in command
        assert "--install datasette==0.65." in command and "--plugins-dir plugins" in command
        # The readers' pages and the language switch are mouchard code: the deployment installs mouchard too.
        assert f"--install mouchard=={mouchard.__version__}" in command
        assert "--static mouchard.db.evidence:mouchard.db.evidence" in command
    assert "datasette publish cloudrun" in (result.out / "publish.sh").read_text()


def test_published_folder_serves_with_its_evidence(published):
    from datasette.app import Datasette

    result, _, _ = published
    out = result.out
    ds = Datasette(immutables=[str(out / "mouchard.db")], metadata=json.loads((out / "metadata.json").read_text()),
                   plugins_dir=str(out / "plugins"), template_dir=str(out / "templates"))
    client = SyncClient(ds)
    try:
        assert client.json("/mouchard/sites_by_tracker_companies")[0]["site"] == "news.example"
        image = client.get("/-/evidence/mouchard/1")
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
        assert "CC BY 4.0" in client.get("/").text
    finally:
        client.close()


def test_no_redact_keeps_the_values(source, tmp_path):
    fixture, _ = source
    publish(PublishOptions(fixture.path, tmp_path / "raw", redact=False))
    db = sqlite3.connect(tmp_path / "raw" / "mouchard.db")
    assert db.execute("SELECT count(*) FROM cookies WHERE value IS NOT NULL").fetchone()[0] > 0


def test_refuses_to_overwrite_a_folder_unless_forced(source, tmp_path):
    fixture, _ = source
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep")
    with pytest.raises(UserError, match="not empty"):
        publish(PublishOptions(fixture.path, other))
    with pytest.raises(UserError, match="no earlier publication"):
        publish(PublishOptions(fixture.path, other, force=True))
    publish(PublishOptions(fixture.path, tmp_path / "site"))
    publish(PublishOptions(fixture.path, tmp_path / "site", force=True))


def test_out_holding_the_source_is_refused_even_forced_and_nothing_is_deleted(tmp_path):
    """`publish --out . --force` from the database's folder deleted the database and everything beside it."""
    fixture = build(tmp_path / "crawl.db")
    (tmp_path / "notes.txt").write_text("mine")
    before = sorted(p.name for p in tmp_path.iterdir())
    data = fixture.path.read_bytes()
    out = subprocess.run([sys.executable, "-m", "mouchard", "publish", "--db", "crawl.db", "--out", ".", "--force"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and out.stderr.startswith("mouchard: ") and out.stderr.count("\n") == 1, out.stderr
    assert "source database" in out.stderr
    assert set(before) <= {p.name for p in tmp_path.iterdir()} and fixture.path.read_bytes() == data
    for folder in (tmp_path.parent, tmp_path / "crawl.db.evidence", tmp_path / "crawl.db.evidence" / "site"):
        with pytest.raises(UserError, match="source database"):
            publish(PublishOptions(fixture.path, folder, force=True))
    assert (tmp_path / "notes.txt").read_text() == "mine" and fixture.path.read_bytes() == data


def test_force_deletes_only_what_an_earlier_publication_wrote(source, tmp_path):
    fixture, _ = source
    site = tmp_path / "site"
    publish(PublishOptions(fixture.path, site))
    manifest = json.loads((site / ".mouchard-publish.json").read_text())
    assert manifest["status"] == "complete" and "mouchard.db" in manifest["files"]
    written = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    assert written == sorted(manifest["files"] + [".mouchard-publish.json"])
    (site / "my-notes.txt").write_text("keep")
    (site / "templates" / "mine.html").write_text("keep")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    # A forged manifest naming files outside the folder deletes none of them.
    manifest["files"] += ["../victim.txt", str(victim), "templates/../../victim.txt"]
    (site / ".mouchard-publish.json").write_text(json.dumps(manifest))
    publish(PublishOptions(fixture.path, site, force=True))
    assert victim.read_text() == "keep"
    assert (site / "my-notes.txt").read_text() == "keep" and (site / "templates" / "mine.html").read_text() == "keep"
    assert (site / "mouchard.db").is_file()


def test_a_failed_publication_leaves_no_file(source, tmp_path, monkeypatch):
    import mouchard.publishing.publish as publishing

    fixture, _ = source

    def broken(*args, **kwargs):
        raise UserError("simulated failure")

    monkeypatch.setattr(publishing, "copy_evidence_images", broken)
    with pytest.raises(UserError, match="simulated"):
        publish(PublishOptions(fixture.path, tmp_path / "site"))
    assert list((tmp_path / "site").iterdir()) == []


def test_cli_prints_the_steps_and_the_commands(source, tmp_path):
    fixture, profile = source
    out = subprocess.run([sys.executable, "-m", "mouchard", "publish", "--db", str(fixture.path), "--out",
                          str(tmp_path / "site"), "--profile", str(profile)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "cookies.value removed" in out.stdout and "datasette package mouchard.db" in out.stdout
    again = subprocess.run([sys.executable, "-m", "mouchard", "publish", "--db", str(fixture.path), "--out",
                            str(tmp_path / "site")], capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and again.stderr.startswith("mouchard: ") and "Traceback" not in again.stderr
