"""Datasette pages in process: descriptions, questions, evidence images and links, search, charts, headers."""

from __future__ import annotations

import re

import pytest

from data.datasette.client import SyncClient
from data.datasette.fixtures import HOSTILE, build, png
from mouchard.storage import schema
from mouchard.publishing.serve import build_datasette


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    return build(tmp_path_factory.mktemp("pages") / "mouchard.db", hostile=True)


@pytest.fixture(scope="module")
def client(fixture):
    client = SyncClient(build_datasette(fixture.path))
    yield client
    client.close()


def test_every_table_page_shows_its_description(client):
    for table in schema.TABLES:
        page = client.get(f"/mouchard/{table.name}", params={"lang": "en"})
        assert page.status_code == 200, table.name
        assert table.description.replace("'", "&#39;") in page.text, table.name


def test_column_descriptions_and_units_are_on_the_table_page(client):
    page = client.get("/mouchard/visits", params={"lang": "en"}).text
    assert "What each column means" in page
    assert "Time to the load event. (unit: ms)" in page


def test_home_page_lists_the_questions_and_the_charts(client):
    page = client.get("/", params={"lang": "en"}).text
    assert "Sites ranked by tracker companies" in page
    assert 'href="/mouchard/site_profile"' in page
    assert 'href="/-/dashboards/mouchard"' in page
    assert 'id="search-all-q"' in page


def test_search_across_tables_finds_brokers_and_page_titles(client):
    assert client.json("/mouchard/brokers", _search="Acme")[0]["name"] == "Acme Data LLC"
    assert client.json("/mouchard/broker_pages", _search="reproductive")[0]["kind"] == "opt-out"
    assert {row["site"] for row in client.json("/mouchard/visits", _search="Shop")} == {"shop.example"}
    assert client.get("/-/search", params={"q": "Acme"}).status_code == 200


def test_dashboard_renders_a_chart_per_ranking(client):
    page = client.get("/-/dashboards/mouchard")
    assert page.status_code == 200
    assert "Sites ranked by tracker companies" in page.text and "Apps ranked by leaks" in page.text


def test_registered_screenshot_is_served_as_a_checked_png(client, fixture):
    response = client.get(f"/-/evidence/mouchard/{fixture.ids['news_screenshot']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "default-src 'none'"
    assert response.content == (fixture.evidence_dir / "screens" / "news-banner.png").read_bytes()


@pytest.mark.parametrize("key", ["traversal_file", "symlink_file", "absolute_file"])
def test_evidence_outside_the_evidence_folder_is_never_served(client, fixture, key):
    response = client.get(f"/-/evidence/mouchard/{fixture.ids[key]}")
    assert response.status_code == 404
    assert not response.content.startswith(b"\x89PNG")


def test_only_registered_files_are_served(client):
    assert client.get("/-/evidence/mouchard/999999").status_code == 404
    assert client.get("/-/evidence/mouchard/..%2F..%2Fetc%2Fpasswd", follow_redirects=True).status_code == 404
    assert client.get("/-/evidence/nosuchdb/1").status_code == 404


def test_unknown_pages_are_a_plain_404(client):
    assert client.get("/no/such/page").status_code == 404
    assert client.get("/mouchard/no_such_table").status_code == 404


def test_changed_or_disguised_evidence_is_refused(tmp_path):
    fx = build(tmp_path / "mouchard.db")
    target = fx.evidence_dir / "screens" / "news-banner.png"
    ds = SyncClient(build_datasette(fx.path))
    try:
        target.write_bytes(png(rgb=(0, 200, 0)))  # another image: the recorded hash no longer matches
        assert ds.get(f"/-/evidence/mouchard/{fx.ids['news_screenshot']}").status_code == 409
        target.write_bytes(b"<html><script>alert(1)</script></html>")  # not a PNG at all
        response = ds.get(f"/-/evidence/mouchard/{fx.ids['news_screenshot']}")
        assert response.status_code == 409 and "script" not in response.text
    finally:
        ds.close()


def test_screenshots_show_inline_where_they_are_referenced(client, fixture):
    image = f'<img src="/-/evidence/mouchard/{fixture.ids["news_screenshot"]}"'
    assert image in client.get("/mouchard/evidence_files").text
    assert image in client.get("/mouchard/consent").text
    assert image in client.get("/mouchard/site_profile", params={"site": "news.example"}).text


def test_finding_evidence_links_to_the_rows_that_prove_it(client, fixture):
    page = client.get(f"/mouchard/findings/{fixture.ids['tcf_finding']}").text
    assert f'<a href="/mouchard/requests/{fixture.ids["news_dc_request"]}">' in page
    assert f'<a href="/mouchard/cookies/{fixture.ids["news_ide_cookie"]}">' in page
    assert f'<img src="/-/evidence/mouchard/{fixture.ids["news_screenshot"]}"' in page


def test_ids_in_query_results_link_to_their_rows(client, fixture):
    page = client.get("/mouchard/tracking_after_reject").text
    assert f'<a href="/mouchard/visits/{fixture.ids["news_reject"]}">' in page


def test_hostile_evidence_json_stays_text(client, fixture):
    page = client.get("/mouchard/findings", params={"rule_id": "consent.tcf-hostile"}).text
    assert "<script>window.__pwned" not in page
    assert "&lt;script&gt;window.__pwned" in page


def test_crawled_strings_are_escaped_on_every_page(client):
    pages = ["/mouchard/visits", "/mouchard/requests", "/mouchard/cookies", "/mouchard/brokers", "/mouchard/leaks",
             "/mouchard/flows", "/mouchard/findings", "/mouchard/storage_items",
             "/mouchard/companies_on_most_sites", "/mouchard/apps_by_leaks", "/mouchard/brokers_by_state"]
    for path in pages:
        text = client.get(path).text
        for value in HOSTILE.values():
            assert value not in text, (path, value)
        assert not re.search(r'href="\s*javascript:', text, re.I), path


def test_every_response_carries_the_security_headers(client, fixture):
    for path in ("/", "/mouchard/visits", "/robots.txt", f"/-/evidence/mouchard/{fixture.ids['news_screenshot']}"):
        headers = client.get(path).headers
        assert "default-src" in headers["content-security-policy"], path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] in ("same-origin", "no-referrer")  # Datasette's data pages: no-referrer


def test_robots_txt_keeps_crawlers_off_queries_and_downloads(client):
    robots = client.get("/robots.txt").text
    assert "Disallow: /*?" in robots and "Disallow: /mouchard.db" in robots
    assert "Disallow: /\n" not in robots + "\n"


def test_database_is_immutable_and_refuses_writes(client):
    response = client.get("/mouchard.json", params={"sql": "DELETE FROM visits", "_shape": "array"})
    assert response.status_code == 400
    assert client.json("/mouchard/visits", _size=1)
