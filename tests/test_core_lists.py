"""`mouchard lists`: downloads from a local server, cache and manifest, provenance rows, failures, host map."""

import hashlib
import http.server
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mouchard.classification import lists
from mouchard.classification.classify import Classifier
from mouchard.cli import cli
from mouchard.errors import UserError
from mouchard.net import FetchError
from mouchard.storage.store import Store


def _trackerdb_tarball() -> bytes:
    """A tiny npm tarball shaped like @ghostery/trackerdb: package/package.json and package/dist/trackerdb.json."""
    db = {
        "categories": {"advertising": {"name": "Advertising"}},
        "organizations": {"acme_ads": {"name": "Acme Ads Ltd", "country": "GB"}},
        "patterns": {"acme": {"name": "Acme Pixel", "category": "advertising", "organization": "acme_ads",
                              "domains": ["acme-ads.example"], "filters": ["||neutral-cdn.example/acme.js^$3p"]}},
        "domains": {"acme-ads.example": "acme"},
        "filters": {"||neutral-cdn.example/acme.js^$3p": "acme"},
    }
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in (("package/package.json", {"name": "@ghostery/trackerdb", "version": "9.9.9"}),
                           ("package/dist/trackerdb.json", db)):
            raw = json.dumps(data).encode()
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return out.getvalue()


FILES: dict[str, bytes] = {
    "/trackerdb.tgz": _trackerdb_tarball(),
    "/tds.json": json.dumps({
        "_builtWith": {"tracker-radar": "abcdef1234567890"},
        "trackers": {"radar-metrics.example": {
            "domain": "radar-metrics.example", "owner": {"name": "Google LLC", "displayName": "Google"},
            "categories": ["Analytics", "Audience Measurement"], "default": "block"}},
        "entities": {}, "domains": {}}).encode(),
    "/services.json": json.dumps({"license": "test", "categories": {
        "Advertising": [{"Disconnected Ads": {"https://disc.example/": ["disc-ads.example"]}}],
        "Social": [{"Facebook": {"http://www.facebook.com/": ["facebook-share.example"], "dnt": "x"}}]}}).encode(),
    "/easylist.txt": b"[Adblock Plus 2.0]\n! Version: 202501010101\n! Title: EasyList\n||banner-farm.example^\n"
                     b"example.com##.ad\n",
    "/easyprivacy.txt": b"[Adblock Plus 2.0]\n! Version: 202501010202\n||beacon-farm.example^$third-party\n",
    "/broken.json": b"{not json",
    "/page.html": b"<html><body>Sign in</body></html>",
}


class ListServer:
    def __init__(self) -> None:
        self.hosts: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hosts.append(self.headers.get("Host", ""))
                body = FILES.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="session")
def list_server() -> Iterator[ListServer]:
    server = ListServer()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(lists.ENV_CACHE, str(tmp_path / "cache"))
    return tmp_path / "cache" / "lists"


def all_sources(server: ListServer) -> list[str]:
    return ["--source", f"ghostery={server.url('/trackerdb.tgz')}", "--source", f"duckduckgo={server.url('/tds.json')}",
            "--source", f"disconnect={server.url('/services.json')}",
            "--source", f"easylist={server.url('/easylist.txt')}",
            "--source", f"easyprivacy={server.url('/easyprivacy.txt')}"]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=True)


def test_update_caches_every_list_with_a_manifest(list_server, cache, tmp_path):
    result = run("lists", "update", "--db", str(tmp_path / "m.db"), *all_sources(list_server))
    assert result.exit_code == 0, result.output
    assert "5 of 5 lists updated" in result.output
    expected = {"ghostery": ("9.9.9", "/trackerdb.tgz", lists.LICENCE_NC, 2),
                "duckduckgo": ("tracker-radar abcdef123456", "/tds.json", lists.LICENCE_NC, 1),
                "disconnect": (None, "/services.json", lists.LICENCE_NC, 2),
                "easylist": ("202501010101", "/easylist.txt", lists.LICENCE_EASYLIST, 1),
                "easyprivacy": ("202501010202", "/easyprivacy.txt", lists.LICENCE_EASYLIST, 1)}
    for name, (version, path, licence, entries) in expected.items():
        manifest = json.loads((cache / f"{name}.manifest.json").read_text())
        raw = (cache / manifest["file"]).read_bytes()
        assert raw == FILES[path]
        assert manifest["sha256"] == hashlib.sha256(raw).hexdigest()
        assert manifest["source_url"] == list_server.url(path)
        assert manifest["licence"] == licence and manifest["entries"] == entries
        assert manifest["fetched_at"].endswith("Z")
        assert manifest["version"] == (version or f"fetched {manifest['fetched_at'][:10]}")


def test_update_records_provenance_rows(list_server, cache, tmp_path):
    db = tmp_path / "m.db"
    assert run("lists", "update", "--db", str(db), *all_sources(list_server)).exit_code == 0
    with Store(db) as store:
        rows = {r["name"]: r for r in store.rows("SELECT * FROM tracker_lists")}
        versions = store.tracker_list_versions()
    assert set(rows) == {"mouchard", "ghostery", "duckduckgo", "disconnect", "easylist", "easyprivacy"}
    assert rows["ghostery"]["sha256"] == hashlib.sha256(FILES["/trackerdb.tgz"]).hexdigest()
    assert rows["ghostery"]["licence"] == "CC BY-NC-SA 4.0" and rows["ghostery"]["version"] == "9.9.9"
    assert rows["easylist"]["licence"].startswith("GPL-3.0")
    assert rows["mouchard"]["sha256"] == hashlib.sha256(lists.shipped_path().read_bytes()).hexdigest()
    assert {v["name"] for v in versions} == set(rows)


def test_classifier_uses_the_downloaded_lists(list_server, cache, tmp_path):
    assert run("lists", "update", "--db", str(tmp_path / "m.db"), *all_sources(list_server)).exit_code == 0
    classifier = Classifier.load()
    assert {m["name"] for m in classifier.manifests} == {"mouchard", "ghostery", "duckduckgo", "disconnect",
                                                         "easylist", "easyprivacy"}
    acme = classifier.classify("https://px.acme-ads.example/p.gif")
    assert (acme.entity, acme.category, acme.list, acme.country) == ("Acme Ads Ltd", "advertising", "ghostery", "GB")
    radar = classifier.classify("https://radar-metrics.example/collect")
    assert (radar.entity, radar.category, radar.list) == ("Google", "analytics", "duckduckgo")
    assert classifier.classify("disc-ads.example").entity == "Disconnected Ads"
    assert classifier.classify("https://facebook-share.example/button").entity == "Meta"
    rule = classifier.classify("https://neutral-cdn.example/acme.js", "script", "https://news.example/")
    assert (rule.entity, rule.list, rule.rule) == ("Acme Ads Ltd", "ghostery", "||neutral-cdn.example/acme.js^$3p")
    banner = classifier.classify("https://banner-farm.example/300x250.png", "image", "https://news.example/")
    assert (banner.entity, banner.category, banner.list) == (None, "advertising", "easylist")
    assert classifier.classify("https://beacon-farm.example/b", "ping", "https://news.example/").list == "easyprivacy"


def test_a_broken_source_is_one_line_and_the_others_still_update(list_server, cache, tmp_path):
    db = str(tmp_path / "m.db")
    assert run("lists", "update", "--db", db, "--only", "duckduckgo",
               "--source", f"duckduckgo={list_server.url('/tds.json')}").exit_code == 0
    good = (cache / "duckduckgo.manifest.json").read_text()
    result = run("lists", "update", "--db", db, "--only", "duckduckgo", "--only", "disconnect", "--only", "easylist",
                 "--only", "easyprivacy",
                 "--source", f"duckduckgo={list_server.url('/broken.json')}",
                 "--source", f"disconnect={list_server.url('/missing.json')}",
                 "--source", f"easylist={list_server.url('/page.html')}",
                 "--source", f"easyprivacy={list_server.url('/easyprivacy.txt')}")
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert len(errors) == 3 and "Traceback" not in result.output
    assert errors[0].startswith("mouchard lists: duckduckgo failed: ") and "not a DuckDuckGo" in errors[0]
    assert errors[1].startswith("mouchard lists: disconnect failed: ") and "404" in errors[1]
    assert errors[2].startswith("mouchard lists: easylist failed: ") and "HTML" in errors[2]
    assert "1 of 4 lists updated" in result.stdout
    assert (cache / "duckduckgo.manifest.json").read_text() == good  # the last good copy stays in use
    assert (cache / "easyprivacy.manifest.json").exists() and not (cache / "disconnect.manifest.json").exists()
    with Store(db) as store:
        names = [r["name"] for r in store.rows("SELECT name FROM tracker_lists ORDER BY id")]
    assert names == ["mouchard", "duckduckgo", "easyprivacy"]


def test_show_lists_versions_hashes_and_licences(list_server, cache, tmp_path):
    empty = run("lists", "show")
    assert empty.exit_code == 0 and "No lists downloaded yet" in empty.output and "mouchard" in empty.output
    assert run("lists", "update", "--db", str(tmp_path / "m.db"), *all_sources(list_server)).exit_code == 0
    shown = run("lists", "show")
    assert shown.exit_code == 0 and "No lists downloaded yet" not in shown.output
    for text in ("ghostery", "9.9.9", "duckduckgo", "easyprivacy", "202501010202", "CC BY-NC-SA 4.0",
                 hashlib.sha256(FILES["/trackerdb.tgz"]).hexdigest()[:12]):
        assert text in shown.output, text


def test_downloads_follow_the_host_map(list_server, cache, tmp_path):
    url = f"http://lists.example.org:{list_server.port}/easylist.txt"
    result = run("lists", "update", "--db", str(tmp_path / "m.db"), "--only", "easylist",
                 "--host-map", "lists.example.org=127.0.0.1", "--source", f"easylist={url}")
    assert result.exit_code == 0, result.output
    assert f"lists.example.org:{list_server.port}" in list_server.hosts
    assert json.loads((cache / "easylist.manifest.json").read_text())["source_url"] == url


def test_missing_npm_is_one_clear_line(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(FetchError, match=r"^npm not found: .*--source ghostery=URL\)$"):
        lists.resolve_npm(lists.NetworkOptions())


def test_bad_source_option_is_a_user_error():
    with pytest.raises(UserError, match="unknown list 'nosuch'"):
        lists.parse_overrides(["nosuch=http://127.0.0.1/x"])
    with pytest.raises(UserError, match="expected NAME=URL"):
        lists.parse_overrides(["easylist"])


def test_a_tarball_without_the_database_is_refused():
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        info = tarfile.TarInfo("package/README.md")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(lists.ListFormatError, match="no dist/trackerdb.json"):
        lists.parse_ghostery(out.getvalue())


def test_the_default_cache_is_in_the_users_home(monkeypatch, tmp_path):
    monkeypatch.delenv(lists.ENV_CACHE, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert lists.cache_folder() == tmp_path / ".cache" / "mouchard" / "lists"
    monkeypatch.setenv(lists.ENV_CACHE, str(tmp_path / "elsewhere"))
    assert lists.cache_folder() == tmp_path / "elsewhere" / "lists"
