"""The readers' framework in process: the home page in French by default and in English on request, the language
switch and its cookie on every page, 404 pages in both languages, hostile keys, and any Page rendered (sections,
verdicts, links, tables, charts) through `mouchard_page.html`."""

from __future__ import annotations

import importlib.machinery
import json
import re
import sys
import types
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from data.datasette.client import SyncClient
from data.datasette.fixtures import HOSTILE
from data.datasette.readers import served, world
from mouchard.publishing import i18n
from mouchard.publishing.metadata import build_metadata
from mouchard.publishing.pages import KINDS
from mouchard.publishing.pages.model import Chart, Fact, Link, Page, Section, Table
from mouchard.publishing.serve import build_datasette

FR_COUNTS = ["<li>4 sites visités</li>",
             "<li>5 entreprises de suivi vues sur les sites et dans les applications</li>",
             "<li>3 applications dont le trafic a été enregistré</li>",
             "<li>3 courtiers en données inscrits dans les registres</li>"]
EN_COUNTS = ["<li>4 websites visited</li>",
             "<li>5 tracker companies seen on the websites and in the apps</li>",
             "<li>3 apps whose traffic was recorded</li>",
             "<li>3 data brokers in the registries</li>"]


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    return world(tmp_path_factory, "framework", hostile=False)


@pytest.fixture(scope="module")
def client(fixture):
    yield from served(fixture)


@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory):
    yield from served(world(tmp_path_factory, "framework-hostile"))


def main(html: str) -> str:
    return re.search(r"<main[^>]*>(.*)</main>", html, re.S).group(1)


def switch_links(html: str) -> dict[str, str]:
    """The language switch's links by language (the current language is not a link)."""
    nav = re.search(r'<nav class="mouchard-lang"[^>]*>(.*?)</nav>', html, re.S).group(1)
    return {lang: href.replace("&amp;", "&") for href, lang in re.findall(r'<a href="([^"]*)" lang="(\w+)"', nav)}


# -- The home page ---------------------------------------------------------------------------------------------


def test_home_page_is_french_by_default(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="fr">' in html
    assert "<title>mouchard : qui piste les gens, et qui fait commerce de leurs données</title>" in html
    assert "<h1>mouchard : qui piste les gens, et qui fait commerce de leurs données</h1>" in html
    assert '<h2 id="measured">Ce que mouchard a mesuré</h2>' in html
    for line in FR_COUNTS:
        assert line in html
    assert '<a href="/compare">Comparer des groupes de sites (partis, campagnes, médias…)</a>' in html
    assert '<a href="/changes">Ce qui a changé entre deux collectes</a>' in html
    assert '<label for="search-all-q">Chercher un site, un titre de page, un courtier ou une page de courtier</label>' in html
    assert '<a href="/-/dashboards/mouchard">Toutes les questions en graphiques</a>' in html
    assert '<a class="mouchard-skip" href="#main">Aller au contenu</a>' in html
    assert "<figcaption id=\"chart-home-0-caption\">Nombre d&#39;entreprises de suivi par site</figcaption>" in html


@pytest.mark.parametrize("how", [{"params": {"lang": "en"}}, {"headers": {"Accept-Language": "en-GB,en;q=0.9"}},
                                 {"headers": {"Accept-Language": "de-DE, en;q=0.5, fr;q=0.2"}},
                                 {"cookies": {i18n.COOKIE: "en"}}])
def test_home_page_in_english_on_request(client, how):
    html = client.get("/", **how).text
    assert '<html lang="en">' in html
    assert "<h1>mouchard: who tracks people, and who trades their data</h1>" in html
    for line in EN_COUNTS:
        assert line in html
    assert '<a href="/compare">Compare groups of sites (parties, campaigns, news…)</a>' in html
    assert "<figcaption id=\"chart-home-1-caption\">The 20 companies on the most sites</figcaption>" in html


@pytest.mark.parametrize("how", [{"headers": {"Accept-Language": "de-DE,de;q=0.9"}},
                                 {"params": {"lang": "xx"}}, {"cookies": {i18n.COOKIE: "<script>"}},
                                 {"headers": {"Accept-Language": "en;q=0.5, fr;q=0.8"}},
                                 {"params": {"lang": "fr"}, "cookies": {i18n.COOKIE: "en"}}])
def test_home_page_stays_french_otherwise(client, how):
    html = client.get("/", **how).text
    assert '<html lang="fr">' in html and FR_COUNTS[0] in html


def test_home_questions_follow_the_readers_language(fixture):
    metadata = build_metadata()
    queries = metadata["databases"]["mouchard"]["queries"]
    name = next(iter(queries))
    queries[name] = {**queries[name], "title": "Sites by trackers", "title_fr": "Les sites par traceurs",
                     "description": "English description.", "description_fr": "Description française."}
    client = SyncClient(build_datasette(fixture.path, metadata=metadata))
    try:
        french, english = client.get("/").text, client.get("/?lang=en").text
    finally:
        client.close()
    assert f'<dt><a href="/mouchard/{name}"><strong>Les sites par traceurs</strong></a></dt>' in french
    assert "<dd>Description française.</dd>" in french
    assert f'<dt><a href="/mouchard/{name}"><strong>Sites by trackers</strong></a></dt>' in english
    assert "<dd>English description.</dd>" in english and "Les sites par traceurs" not in english


def test_home_lists_every_question_of_the_metadata(client):
    html = client.get("/?lang=en").text
    for name, query in build_metadata()["databases"]["mouchard"]["queries"].items():
        assert f'<a href="/mouchard/{name}"><strong>' in html, name


# -- The language switch and its cookie --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/mouchard", "/mouchard/visits?phase=reject&_sort=id",
                                  "/mouchard/sites_by_tracker_companies?phase=initial", "/mouchard/visits/1",
                                  "/-/search?q=shop", "/-/dashboards/mouchard", "/company/a%2Fb?x=1&y=%3Cb%3E",
                                  "/mouchard/nosuchtable?a=1"])
def test_language_switch_keeps_path_and_query(client, path):
    page = client.get(path)
    assert page.status_code in (200, 404), path
    links = switch_links(page.text)
    assert set(links) == {"en"}  # French is current: shown, not linked
    target = urlsplit(links["en"])
    original = urlsplit(path)
    assert target.path == original.path
    assert parse_qsl(target.query, keep_blank_values=True) == [*parse_qsl(original.query), ("lang", "en")]
    english = client.get(links["en"])
    assert '<html lang="en">' in english.text
    assert set(switch_links(english.text)) == {"fr"}


def test_lang_parameter_sets_the_cookie_and_the_cookie_is_remembered(client):
    response = client.get("/mouchard/visits", params={"lang": "en"})
    assert response.headers["set-cookie"] == f"{i18n.COOKIE}=en; Max-Age=31536000; Path=/; SameSite=Lax"
    assert '<html lang="en">' in client.get("/mouchard", cookies={i18n.COOKIE: "en"}).text
    assert "set-cookie" not in client.get("/mouchard").headers
    assert "set-cookie" not in client.get("/mouchard", params={"lang": "de"}).headers


def test_html_pages_vary_with_cookie_and_language(client):
    assert client.get("/").headers["vary"] == "Cookie, Accept-Language"
    assert client.get("/mouchard/visits").headers["vary"] == "Cookie, Accept-Language"
    assert "Accept-Language" not in client.get("/mouchard/visits.json").headers.get("vary", "")


# -- 404 pages ---------------------------------------------------------------------------------------------------


def test_unknown_path_is_a_404_in_both_languages(client):
    french = client.get("/nosuchdatabase")
    assert french.status_code == 404
    assert "<h1>Page introuvable</h1>" in french.text and "<p>Cette adresse ne mène à aucune page.</p>" in french.text
    english = client.get("/mouchard/nosuchtable", params={"lang": "en"})
    assert english.status_code == 404
    assert "<h1>Page not found</h1>" in english.text and "<p>This address leads to no page.</p>" in english.text
    assert '<html lang="en">' in english.text
    # JSON clients keep Datasette's JSON error.
    assert client.get("/mouchard/nosuchtable.json").json()["status"] == 404


def test_unknown_reader_key_is_a_404_in_both_languages(client):
    french = client.get("/company/" + quote("Nobody <Ltd>/Inc", safe=""))
    assert french.status_code == 404
    assert "<title>Page introuvable</title>" in french.text
    assert "<p>mouchard ne connaît rien sous ce nom : Nobody &lt;Ltd&gt;/Inc.</p>" in french.text
    english = client.get("/app/com.nobody.app", headers={"Accept-Language": "en"})
    assert english.status_code == 404
    assert "<p>mouchard knows nothing by this name: com.nobody.app.</p>" in english.text


def test_charts_script_is_served_and_nothing_else_is(client):
    script = client.get("/-/mouchard/static/charts.js")
    assert script.status_code == 200
    assert script.headers["content-type"] == "application/javascript; charset=utf-8"
    assert "vegaEmbed" in script.text
    for path in ("/-/mouchard/static/other.js", "/-/mouchard/static/..%2Fplugins%2Fmouchard_pages.py",
                 "/-/mouchard/static/charts.js%00"):
        assert client.get(path, follow_redirects=True).status_code == 404, path


# -- Hostile keys -------------------------------------------------------------------------------------------------

HOSTILE_KEYS = ["a" * 501, "é" * 600, "%00", "a%00b", "%2F", "..%2F..%2Fetc%2Fpasswd", "%E9", "%", "%%", "%ZZ",
                "%F0%9F%98%80", "\u202e", "'; DROP TABLE visits; --", "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
                quote("x" * 499 + "😀", safe=""), "%2e%2e", "🙂" * 200]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_keys_answer_a_page_or_a_clean_404(hostile_client, kind, key):
    response = hostile_client.get(f"/{kind}/{key}")
    assert response.status_code in (200, 404), (kind, key, response.text[-2000:])
    assert "<script>alert" not in response.text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(KINDS), key=st.text(min_size=1, max_size=80),
       value=st.text(max_size=40))
def test_any_key_and_parameter_answer_a_page_or_a_clean_404(hostile_client, kind, key, value):
    response = hostile_client.get(f"/{kind}/{quote(key, safe='')}", params={"q": value, "crawl": value})
    assert response.status_code in (200, 404), (kind, key, response.text[-2000:])
    if response.status_code == 404:
        assert response.headers["content-type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize("text", HOSTILE.values())
def test_hostile_key_is_shown_as_text_on_the_404(client, text):
    html = client.get("/broker/" + quote(text, safe="")).text
    assert text not in html
    assert f"mouchard ne connaît rien sous ce nom : {i18n_escape(text)}." in html


def i18n_escape(text: str) -> str:
    """`text` as Jinja's autoescape writes it."""
    return str(escape(text))


# -- The switch link itself (a parser of paths and queries: property-based) ---------------------------------------

SAFE = re.compile(r"^/[A-Za-z0-9/%:@!$&'()*+,;=\-._~]*\?[^\s<>\"]*lang=(fr|en)$")


@settings(deadline=None)  # a busy machine must not fail a property with a timing
@given(path=st.text(max_size=60), query=st.text(max_size=60), lang=st.sampled_from(i18n.LANGUAGES))
def test_switch_url_is_always_a_local_path(path, query, lang):
    url = i18n.switch_url(path, query, lang)
    assert SAFE.match(url), url
    assert not url.startswith("//") and "\\" not in url
    assert urlsplit(url).netloc == "" and urlsplit(url).scheme == ""
    assert [value for name, value in parse_qsl(urlsplit(url).query) if name == "lang"] == [lang]


@settings(deadline=None)  # a busy machine must not fail a property with a timing
@given(pairs=st.lists(st.tuples(st.text(min_size=1, max_size=10).filter(lambda s: s != "lang"),
                                st.text(max_size=10)), max_size=5))
def test_switch_url_keeps_every_other_parameter(pairs):
    url = i18n.switch_url("/mouchard/visits", urlencode(pairs), "en")
    assert parse_qsl(urlsplit(url).query, keep_blank_values=True) == [*pairs, ("lang", "en")]


def test_switch_url_never_leaves_the_site():
    assert i18n.switch_url("//evil.example/x", "", "fr") == "/evil.example/x?lang=fr"
    assert i18n.switch_url("/\\evil.example", "a=1", "en") == "/evil.example?a=1&lang=en"
    assert i18n.switch_url('/site/"><script>', "", "en") == "/site/%22%3E%3Cscript%3E?lang=en"
    assert i18n.switch_url("/site/a%2Fb", "lang=fr&lang=en&x=1", "en") == "/site/a%2Fb?x=1&lang=en"


# -- Any Page renders -----------------------------------------------------------------------------------------------


def sample_page(key: str, lang: str) -> Page:
    hostile = HOSTILE["script"]
    chart = Chart("Trackers </script><script>window.__pwned=1</script>",
                  {"mark": "bar", "encoding": {"x": {"field": "n", "type": "ordinal"},
                                               "y": {"field": "sites", "type": "quantitative"}}},
                  ({"n": 0, "sites": 2}, {"n": 1, "sites": 5}, {"n": hostile, "sites": 1}))
    return Page("changes", key, lang, f"Title {key}", lede="A lede.", sections=(
        Section("trackers", "Tracker companies", "bad", "Tracking found", facts=(
            Fact("3 companies.", (Link("the requests", "/mouchard/requests?visit_id=1"),
                                  Link("evil", HOSTILE["js_url"]), Link("away", "//evil.example/x"))),
        ), table=Table(("Company", "Sites"), ((Link("Google", "/company/Google"), 2), (hostile, None)),
                       caption="Companies"), chart=chart),
        Section("gpc", "GPC", "none", "Not measured"),
    ))


@pytest.fixture
def sample_kind(monkeypatch):
    """`changes` answered by sample_page (a module in sys.modules, found by the plugin like a real one)."""
    name = "mouchard.publishing.pages.changes"
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.build = lambda conn, key, lang, query: sample_page(key, lang) if key != "missing" else None
    monkeypatch.setitem(sys.modules, name, module)
    return module


def test_a_page_renders_sections_verdicts_links_tables_and_charts(client, sample_kind):
    response = client.get("/changes/k1", params={"lang": "en"})
    assert response.status_code == 200
    html = main(response.text)
    assert "<h1>Title k1</h1>" in html and '<p class="mouchard-lede">A lede.</p>' in html
    assert ('<h2 id="trackers-heading">Tracker companies <span class="mouchard-verdict bad">Tracking found</span>'
            '</h2>') in html
    assert '<span class="mouchard-verdict none">Not measured</span>' in html
    assert '<nav class="mouchard-toc" aria-label="Contents">' in html
    assert '<a href="/mouchard/requests?visit_id=1">the requests</a>' in html
    # Links that are not paths on this site are shown as text.
    assert "javascript:" not in re.sub(r">[^<]*<", "><", html) and ' · away</span>' in html
    assert '<td><a href="/company/Google">Google</a></td><td>2</td>' in html
    assert f"<td>{i18n_escape(HOSTILE['script'])}</td><td></td>" in html
    payload = re.search(r'<script type="application/json" id="mouchard-charts">(.*?)</script>', html, re.S).group(1)
    assert "<" not in payload and ">" not in payload  # nothing in the data can close the element
    charts = json.loads(payload)
    assert [chart["id"] for chart in charts] == ["chart-trackers"]
    assert charts[0]["spec"]["data"] == {"values": [{"n": 0, "sites": 2}, {"n": 1, "sites": 5},
                                                    {"n": HOSTILE["script"], "sites": 1}]}
    assert '<div id="chart-trackers" class="mouchard-chart-view"></div>' in html
    assert '<script src="/-/mouchard/static/charts.js"></script>' in html
    assert '<script src="/-/static-plugins/datasette_dashboards/vega-embed.min.js"></script>' in html


def test_a_page_module_answering_none_is_a_404(client, sample_kind):
    response = client.get("/changes/missing")
    assert response.status_code == 404
    assert "mouchard ne connaît rien sous ce nom : missing." in response.text


def test_page_parameters_are_bounded_before_the_page_module_sees_them(client, sample_kind):
    seen = {}
    sample_kind.build = lambda conn, key, lang, query: seen.update(query) or sample_page(key, lang)
    params = {f"p{i}": "v" * 1500 for i in range(30)}
    assert client.get("/changes/k", params={"lang": "fr", **params}).status_code == 200
    # The first 20 parameters, `lang` among them, each cut at 1,000 characters.
    assert seen == {f"p{i}": "v" * 1000 for i in range(19)}


@settings(deadline=None)  # a busy machine must not fail a property with a timing
@given(query=st.one_of(st.none(), st.text(max_size=20)), cookie=st.one_of(st.none(), st.text(max_size=20)),
       accept=st.one_of(st.none(), st.text(max_size=300),
                        st.lists(st.tuples(st.sampled_from(["fr", "en", "de", "en-GB", "fr-CA", "*", ""]),
                                           st.one_of(st.none(), st.floats(-1, 2), st.text(max_size=5))),
                                 max_size=8).map(lambda parts: ", ".join(
                                     tag if q is None else f"{tag};q={q}" for tag, q in parts))))
def test_negotiate_always_answers_a_supported_language(query, cookie, accept):
    lang = i18n.negotiate(query, cookie, accept)
    assert lang in i18n.LANGUAGES
    if query and query.strip().lower() in i18n.LANGUAGES:
        assert lang == query.strip().lower()


def test_negotiate_ranks_accept_language_by_quality():
    assert i18n.negotiate(None, None, "de;q=1, en;q=0.4, fr;q=0.9") == "fr"
    assert i18n.negotiate(None, None, "en-US,en;q=0.9") == "en"
    assert i18n.negotiate(None, None, "en;q=0, de") == "fr"
    assert i18n.negotiate(None, "en", "fr") == "en"


def test_datasette_pages_keep_their_margins_and_say_home_in_the_readers_language(client):
    french, english = client.get("/mouchard/visits").text, client.get("/mouchard/visits?lang=en").text
    assert re.search(r'<p class="crumbs">\s*<a href="/">accueil</a>', french)
    assert re.search(r'<p class="crumbs">\s*<a href="/">home</a>', english)
    assert "main.content { display: block; margin: 0 1rem; }" in french
    assert '<main class="content" id="main" tabindex="-1">' in french
