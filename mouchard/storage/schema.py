"""The one definition of mouchard's SQLite schema: every table and column, with a one-line description.

Everything else derives from this module: the store creates and migrates tables from it, Datasette's metadata
is generated from it, and a contract test checks that nothing is undocumented. Journalists query these names:
rename nothing without a migration and a "Schema:" line in CHANGELOG.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mouchard.registries import STATES

SCHEMA_VERSION = 2
STATE_REGISTRIES = ", ".join(STATES)  # ca, vt, tx, or: the registry table's, never a copy of it


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # "integer" | "text" | "real" | "blob"
    description: str
    references: str | None = None  # "table.column" for a foreign key
    index: bool = False
    unit: str | None = None  # shown by Datasette (e.g. "days", "ms", "bytes")


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    unique: tuple[tuple[str, ...], ...] = ()  # unique indexes (idempotent writes, resume)
    fts: tuple[str, ...] = ()  # columns indexed for full-text search
    derived: bool = False  # rebuilt by `mouchard classify` / `mouchard audit`, never the only copy of a fact
    extra_indexes: tuple[tuple[str, ...], ...] = field(default=())
    pk: str = "id"

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name}.{name}")


def C(name: str, type: str, description: str, references: str | None = None, index: bool = False,
      unit: str | None = None) -> Column:
    return Column(name, type, description, references, index or bool(references), unit)


ID = C("id", "integer", "Row id.")


def crawl_ref(what: str = "run") -> Column:
    return C("crawl_id", "integer", f"The {what} that recorded this row (crawls.id).", "crawls.id")


def visit_ref() -> Column:
    return C("visit_id", "integer", "The page visit this was seen in (visits.id); empty for app traffic.", "visits.id")


def flow_ref() -> Column:
    return C("flow_id", "integer", "The app flow this was seen in (flows.id); empty for web visits.", "flows.id")


def tracker_cols(what: str) -> tuple[Column, ...]:
    return (
        C("tracker_entity", "text", f"Company behind the {what}, from the tracker lists (derived).", index=True),
        C("tracker_category", "text", "Tracker category: advertising, analytics, social, session-replay, ... (derived).",
          index=True),
        C("tracker_list", "text", "Which list (and rule) classified it, e.g. 'mouchard', 'ghostery', 'easyprivacy' (derived)."),
    )


TABLES: tuple[Table, ...] = (
    Table("crawls", "One run of a collector: a web crawl, a broker fetch or crawl, an app capture, an audit.", (
        ID,
        C("kind", "text", "What ran: web, brokers-fetch, brokers-crawl, app, import, audit, merge.", index=True),
        C("started_at", "text", "When the run started (UTC, ISO 8601)."),
        C("finished_at", "text", "When the run ended (UTC, ISO 8601); empty while running or if killed."),
        C("status", "text", "running, finished, interrupted or failed."),
        C("command", "text", "The command line that started the run (JSON list)."),
        C("config", "text", "The run's settings: targets, phases, concurrency, timeouts, seed (JSON)."),
        C("network", "text", "Proxy, host map and TLS options the run used: its vantage point (JSON)."),
        C("tool_version", "text", "mouchard version."),
        C("dependencies", "text", "Versions of Python, Scrapy, Playwright, mitmproxy, Datasette... (JSON)."),
        C("browser", "text", "Browser executable used, if any."),
        C("browser_version", "text", "Browser version as the binary reports it."),
        C("browser_args", "text", "Extra browser flags (JSON list)."),
        C("warnings", "text", "Warnings about how the run was made, e.g. the browser ran without its sandbox "
                              "(--no-sandbox) or as the fallback user nobody (JSON list)."),
        C("tracker_lists", "text", "Tracker lists in force: name, version, sha256, licence (JSON)."),
        C("host", "text", "Name of the machine that ran it."),
        C("shard", "text", "Worker shard name for distributed crawls; empty on one machine."),
        C("summary", "text", "Counts at the end of the run (JSON)."),
    )),
    Table("visits", "One page load in a fresh browser profile, in one consent phase.", (
        ID, crawl_ref(),
        C("key", "text", "Stable identity of the visit within its crawl (URL, phase, sample): the resume ledger."),
        C("url", "text", "URL requested."),
        C("final_url", "text", "URL of the page after redirects."),
        C("site", "text", "Registrable domain (eTLD+1) of the requested URL.", index=True),
        C("final_site", "text", "Registrable domain of the final URL."),
        C("tags", "text", "Tags from the site list, e.g. news, party, campaign (JSON list)."),
        C("phase", "text", "Consent phase: initial (no interaction), reject, accept, gpc, revoke (accept, then withdraw) or second-site (reject on another site first).", index=True),
        C("parent_visit_id", "integer", "The landing visit whose link this internal page came from.", "visits.id"),
        C("depth", "integer", "0 for the landing page, 1 for a sampled internal page."),
        C("status", "text", "ok, partial (loaded, but a collector failed: see failures), timeout, http-error, "
          "dns-error, tls-error, crashed or aborted.", index=True),
        C("reason", "text", "Why the visit did not end ok, in one line."),
        C("http_status", "integer", "HTTP status of the main document."),
        C("title", "text", "Page title (crawled text: hostile, rendered inert)."),
        C("started_at", "text", "When navigation started (UTC)."),
        C("finished_at", "text", "When recording ended (UTC)."),
        C("load_ms", "integer", "Time to the load event.", unit="ms"),
        C("duration_ms", "integer", "Whole visit, navigation to last record.", unit="ms"),
        C("dwell_ms", "integer", "Time the visit stayed on the page after load, scrolling and moving the mouse "
          "(--dwell), before waiting for the network to go quiet; 0 when the page did not load.", unit="ms"),
        C("leave_ms", "integer", "Time spent leaving the page at the end of the visit, as a person's tab does (to "
          "about:blank: its visibilitychange, pagehide and unload beacons are this visit's requests), until the "
          "network was quiet; empty when the page was not left (it did not load or stopped answering).", unit="ms"),
        C("attempt", "integer", "1 for the first try; more when a crashed browser was retried or with "
          "--retry-failed (an earlier try keeps its row, its key suffixed ' #attempt N')."),
        C("worker", "text", "Worker that made the visit (distributed crawls)."),
        C("sample", "text", "Landing pages with --pages-per-site: internal links found and those chosen to visit "
          "(JSON {links, chosen})."),
    ), unique=(("crawl_id", "key"),), fts=("title", "url")),
    Table("requests", "Every request of a visit (page, iframes, workers, WebSockets, beacons); redirects are rows.", (
        ID, visit_ref(),
        C("browser_request_id", "text", "The browser's id for the request (redirect hops share it)."),
        C("url", "text", "Request URL."),
        C("host", "text", "Host name of the URL.", index=True),
        C("site", "text", "Registrable domain of the host.", index=True),
        C("method", "text", "HTTP method."),
        C("resource_type", "text", "document, script, image, xhr, fetch, ping (beacon), websocket, ..."),
        C("frame_url", "text", "URL of the frame that made the request."),
        C("main_frame", "integer", "1 if made by the top-level page."),
        C("worker_url", "text", "Service/shared/dedicated worker that made it, if any."),
        C("initiator_url", "text", "Script that initiated the request: the top frame with a URL of the browser's "
          "call stack, async parents included (an element inserted by innerHTML or appendChild: the inserting "
          "script); for a parser request, the document whose parser found the element.", index=True),
        C("initiator_type", "text", "parser, script, preload, redirect, other."),
        C("initiator_line", "integer", "Line of initiator_url (1-based): the calling script's frame, or the "
          "parser's position in the document."),
        C("initiator_column", "integer", "Column of initiator_line (1-based)."),
        C("initiator_function", "text", "Function of the top script frame; empty for top-level code and the parser."),
        C("initiator_stack", "text", "The initiator's stack, innermost first, async parents after their child: JSON "
          "[{url, function, line, column, async}] where async names the parent (Image, setTimeout, Promise.then...) "
          "the frame ran in; at most 16 frames over 5 stacks."),
        C("third_party", "integer", "1 if the host's registrable domain differs from the visited site's."),
        C("status", "integer", "HTTP status of the response; empty if none."),
        C("error", "text", "Network error if the request failed (e.g. net::ERR_BLOCKED_BY_CLIENT)."),
        C("redirect_from_id", "integer", "The request row that redirected to this one.", "requests.id"),
        C("redirect_chain", "text", "URLs from the first request of the chain to this one (JSON list)."),
        C("request_headers", "text", "Request headers as sent (JSON)."),
        C("response_headers", "text", "Response headers as received (JSON)."),
        C("post_body_sha256", "text", "SHA-256 of the request body (bodies.sha256).", index=True),
        C("post_body_size", "integer", "Request body size.", unit="bytes"),
        C("mime_type", "text", "Response media type."),
        C("response_size", "integer", "Encoded response size.", unit="bytes"),
        C("remote_ip", "text", "Server address the browser connected to."),
        C("time_ms", "integer", "When the request started, from navigation start.", unit="ms"),
        *tracker_cols("request's host"),
    ),  # covering index of the Datasette rankings and per-phase questions (benchmarks/datasette.py)
        extra_indexes=(("visit_id", "tracker_entity", "third_party", "tracker_category", "time_ms"),)),
    Table("bodies", "Request and response bodies, stored once by hash and bounded in size.", (
        C("sha256", "text", "SHA-256 of the full body."),
        C("size", "integer", "Full body size.", unit="bytes"),
        C("media_type", "text", "Media type when known."),
        C("content", "blob", "The body, cut at the store's limit."),
        C("truncated", "integer", "1 if content was cut."),
    ), pk="sha256"),
    Table("cookies", "Every cookie a visit or flow saw set, with who set it and whether it looks like an identifier.", (
        ID, visit_ref(), flow_ref(),
        C("name", "text", "Cookie name (crawled text).", index=True),
        C("value", "text", "Cookie value as set (empty in redacted copies)."),
        C("domain", "text", "Cookie domain as stored (.example.com for a Domain attribute, else the host)."),
        C("path", "text", "Cookie path as stored."),
        C("site", "text", "Registrable domain of the cookie domain.", index=True),
        C("expires_at", "text", "Expiry (UTC) the browser kept, capped at 400 days (RFC 6265bis); empty for session cookies. The site's own is requested_expires_at."),
        C("lifetime_days", "real", "Kept expiry minus the time it was set (at most 400).", unit="days"),
        C("session", "integer", "1 for a session cookie."),
        C("http_only", "integer", "1 if HttpOnly."),
        C("secure", "integer", "1 if Secure."),
        C("same_site", "text", "SameSite as stored: Strict, Lax, None, or empty when unspecified (Chromium then applies Lax by default)."),
        C("partitioned", "integer", "1 if partitioned (CHIPS)."),
        C("priority", "text", "Priority the browser stored (Low, Medium, High); empty when no browser reported it."),
        C("requested_domain", "text", "Domain attribute as written in the Set-Cookie header or document.cookie string; empty when absent or not seen."),
        C("requested_path", "text", "Path attribute as written; empty when absent."),
        C("requested_expires_at", "text", "Expiry (UTC) the site asked for, from Max-Age or Expires as written, before any cap; empty for a session cookie or when the request was not seen (then see requested_secure)."),
        C("requested_lifetime_days", "real", "Requested expiry minus the time it was set: the lifetime identifier rules judge.", unit="days"),
        C("requested_same_site", "text", "SameSite as written: Strict, Lax, None, another value as written (treated as unspecified), or empty when absent."),
        C("requested_secure", "integer", "1 if the string asked for Secure; empty when the string was not seen (a cookie found only in the jar)."),
        C("requested_http_only", "integer", "1 if the string asked for HttpOnly."),
        C("requested_partitioned", "integer", "1 if the string asked for Partitioned (CHIPS)."),
        C("requested_priority", "text", "Priority attribute as written (Low, Medium, High or as written); empty when absent."),
        C("third_party", "integer", "1 if set for a domain other than the visited site."),
        C("set_by", "text", "header (Set-Cookie), script (document.cookie / CookieStore), or empty when only seen sent in a request (app traffic)."),
        C("setter_url", "text", "Response URL or script URL that set it.", index=True),
        C("request_id", "integer", "The response that set it (requests.id).", "requests.id"),
        C("set_at_ms", "integer", "When it was set, from navigation start.", unit="ms"),
        C("before_consent", "integer", "1 if set before any consent action in this visit."),
        C("identifier", "integer", "1 if it looks like a user identifier (long-lived, 6-100 chars, differs between fresh profiles)."),
        C("identifier_reason", "text", "Why it is (or is not) judged an identifier."),
        *tracker_cols("cookie's domain"),
    ),  # a company's app cookies (visit_id IS NULL) by index; its web cookies are in company_cookies
        extra_indexes=(("tracker_entity", "visit_id"),)),
    Table("storage_items", "localStorage, sessionStorage and IndexedDB entries per origin at the end of a visit.", (
        ID, visit_ref(),
        C("origin", "text", "Origin that owns the storage."),
        C("site", "text", "Registrable domain of the origin.", index=True),
        C("third_party", "integer", "1 if the origin is not the visited site's."),
        C("kind", "text", "local, session or indexeddb."),
        C("name", "text", "Key (local/session) or database name (IndexedDB) (crawled text)."),
        C("value", "text", "Value, cut at 1,000 characters; empty for IndexedDB."),
        C("value_size", "integer", "Value length.", unit="characters"),
        *tracker_cols("origin"),
    )),
    Table("js_calls", "Fingerprinting-relevant JavaScript API use, with the calling script.", (
        ID, visit_ref(),
        C("script_url", "text", "Script that made the call.", index=True),
        C("script_site", "text", "Registrable domain of the script."),
        C("third_party", "integer", "1 if the script is from another site than the visited one."),
        C("frame_url", "text", "Frame the script ran in."),
        C("api", "text", "Interface and member, e.g. HTMLCanvasElement.toDataURL, Navigator.hardwareConcurrency.", index=True),
        C("operation", "text", "call, get or set."),
        C("arguments", "text", "Up to 10 distinct argument lists (JSON): strings cut to 100 characters, lists to 10 elements, dictionaries to a few named fields, other objects as their type; WebGL enums by name; receiver facts appended (canvas size, font, listener target)."),
        C("calls", "integer", "How many times this script made this call in the visit."),
        C("time_ms", "integer", "First call, from navigation start.", unit="ms"),
        C("call_line", "integer", "Line (1-based) of the most frequent call site in script_url: the first caller frame with a script URL."),
        C("call_column", "integer", "Column (1-based) of that call site."),
        C("call_function", "text", "Function that made the call at that site, as V8 names it; empty at a script's top level."),
        C("call_sites", "text", "Up to 10 distinct call sites, most frequent first: line, column, function, calls and the caller stack (up to 5 V8 frame lines) (JSON)."),
        C("returned", "text", "What the calls returned, when kept: SHA-256 of large results (toDataURL, getImageData pixels) or the cookie names a document.cookie read saw, never values (JSON list)."),
        *tracker_cols("script"),
    )),
    Table("scripts", "Per script and visit: what its API use amounts to (derived from js_calls).", (
        ID, visit_ref(),
        C("script_url", "text", "Script URL.", index=True),
        C("script_site", "text", "Registrable domain of the script."),
        C("third_party", "integer", "1 if from another site than the visited one."),
        C("canvas_fingerprinting", "integer", "1 if it meets the published canvas fingerprinting thresholds."),
        C("canvas_font_fingerprinting", "integer", "1 if it sets ≥ 50 fonts and calls measureText ≥ 50 times."),
        C("webgl_fingerprinting", "integer", "1 if it reads WebGL renderer/vendor or debug parameters."),
        C("audio_fingerprinting", "integer", "1 if it renders audio offline and reads the result."),
        C("session_replay", "integer", "1 if it records DOM mutations and ships them to a collector."),
        C("apis", "integer", "Distinct fingerprinting APIs it used."),
        C("navigator_properties", "integer", "Distinct navigator properties it read (userAgent, platform, plugins...)."),
        C("screen_properties", "integer", "Distinct screen and window geometry properties it read."),
        C("session_replay_service", "text", "Replay service it belongs to (e.g. Hotjar), or 'rrweb' when recognised by its payload."),
        C("session_replay_hosts", "text", "Hosts it shipped the recording to (JSON list)."),
        *tracker_cols("script"),
    ), derived=True),
    Table("pixel_events", "Events that advertising pixels and analytics tags reported: Meta pixel, Google Analytics, Google Ads.", (
        ID, visit_ref(), flow_ref(),
        C("request_id", "integer", "The request that carried the event (requests.id).", "requests.id"),
        C("vendor", "text", "meta, google-analytics, google-ads or google-tag-manager.", index=True),
        C("tag_id", "text", "The site's account with the vendor: Meta pixel id, G-/UA-/AW-/GTM- id.", index=True),
        C("event", "text", "Event name as sent: PageView, Purchase, page_view, pageview, conversion, remarketing, tag.", index=True),
        C("page_url", "text", "Page the event says it happened on (dl, url)."),
        C("parameters", "text", "Event parameters as sent: cd[...], ep.*, value, currency, label (JSON)."),
        C("user_data", "text", "User data sent with the event, usually hashed: ud[em], ud[ph], em... (JSON)."),
        C("location", "text", "Where the event was: url (query) or body."),
        C("time_ms", "integer", "When the request started, from navigation start.", unit="ms"),
    )),
    Table("consent", "Consent state per visit and phase: CMP, framework, raw string, decoded fields, action taken.", (
        ID, visit_ref(),
        C("phase", "text", "Consent phase of the visit: initial, reject, accept, gpc, revoke (accept, then withdraw) or second-site (reject on another site first).", index=True),
        C("cmp", "text", "Consent management platform detected (e.g. onetrust, didomi, tarteaucitron)."),
        C("cmp_id", "integer", "IAB CMP id from the TC string or __tcfapi."),
        C("framework", "text", "tcf, gpp, usp, gpc, ac (Google Additional Consent) or cmp (a CMP's own cookie)."),
        C("source", "text", "Where it was read: api (__tcfapi/__gpp/__uspapi), cookie, wire (request parameter), well-known, navigator (GPC), action (the one action row per visit)."),
        C("name", "text", "Cookie or parameter name it came from."),
        C("raw", "text", "The string as found (e.g. a TC string)."),
        C("decoded", "text", "Decoded fields (JSON)."),
        C("event_status", "text", "TCF eventStatus: tcloaded, cmpuishown, useractioncomplete."),
        C("action", "text", "Action taken in this phase (action row), or in force when the signal was read (none before the click)."),
        C("action_method", "text", "Who acted: autoconsent, a mouchard rule name, or generic."),
        C("verified", "integer", "1 if the CMP state, consent cookie or TC string changed as the action asked."),
        C("verification", "text", "What was checked to verify the action."),
        C("reject_first_layer", "integer", "1 if a reject option was visible on the banner's first layer."),
        C("screenshot_file_id", "integer", "Screenshot of the banner before the action (evidence_files.id).", "evidence_files.id"),
        C("screenshot_after_file_id", "integer", "Screenshot of the page after the action (action row; evidence_files.id).", "evidence_files.id"),
        C("layout", "text", "The banner's layout facts regulators cite (action row, JSON): reject on the first layer, "
          "pre-ticked boxes, and the accept and reject controls' size, font, colours and contrast, with their ratios."),
        C("steps", "text", "A sequence's steps in order (revoke, second-site phases; action row): [{step, action, "
          "time_ms, verified, verification, screenshot_before, screenshot_after, url, ...}] (JSON)."),
        C("time_ms", "integer", "When it was read, from navigation start.", unit="ms"),
    )),
    Table("rtb", "Header-bidding and OpenRTB events: auctions, bidders, ad units, prices, personal data sent.", (
        ID, visit_ref(), flow_ref(),
        C("request_id", "integer", "The network request carrying it, if any (requests.id).", "requests.id"),
        C("event", "text", "auctionInit, bidRequested, bidResponse, noBid, bidTimeout, bidWon, auctionEnd, openrtb-request, openrtb-response, gpt-slot, apstag, setuid, cookie-sync-request, cookie-sync-response."),
        C("library", "text", "prebid, gpt, apstag or openrtb."),
        C("auction_id", "text", "Auction id."),
        C("bidder", "text", "Bidder or adapter code.", index=True),
        C("exchange", "text", "Host of the exchange endpoint."),
        C("ad_unit", "text", "Ad unit code or slot."),
        C("sizes", "text", "Ad sizes (JSON)."),
        C("cpm", "real", "Bid price (CPM)."),
        C("currency", "text", "Price currency."),
        C("timeout_ms", "integer", "Auction timeout.", unit="ms"),
        C("won", "integer", "1 if this bid won."),
        C("personal_fields", "text", "Personal fields present: device.ifa, device.geo, user.buyeruid, user.eids... (JSON list)."),
        C("fields", "text", "Other event fields (JSON)."),
        *tracker_cols("bidder or exchange"),
    )),
    Table("id_syncs", "One identifier of one party seen going to another (URL, redirect, body): cookie or ID syncing.", (
        ID, visit_ref(), flow_ref(),
        C("request_id", "integer", "Request carrying the identifier (requests.id).", "requests.id"),
        C("cookie_id", "integer", "Cookie whose value was shared (cookies.id).", "cookies.id"),
        C("from_site", "text", "Site that owns the identifier.", index=True),
        C("from_entity", "text", "Company that owns it.", index=True),
        C("to_site", "text", "Site that received it.", index=True),
        C("to_entity", "text", "Company that received it.", index=True),
        C("identifier_name", "text", "Cookie or parameter name of the identifier."),
        C("identifier_sha256", "text", "SHA-256 of the identifier value (never the raw value here)."),
        C("location", "text", "Where it was found: query, path, redirect, body, header."),
        C("parameter", "text", "Parameter or header name carrying it."),
        C("encoding", "text", "Decoding chain that revealed it, e.g. urlencode>base64."),
    )),
    Table("flows", "App traffic through the proxy: one HTTP exchange, WebSocket, failed TLS handshake or QUIC "
          "attempt; or one destination from a device's own report.", (
        ID, crawl_ref("capture"),
        C("app", "text", "App that sent it (option, user agent, X-Requested-With or package name).", index=True),
        C("app_source", "text", "How the app was attributed: option, user-agent, x-requested-with, header, "
          "ios-privacy-report (the phone's own report names it), pcapdroid (a PCAPdroid capture or export names "
          "the app that owned the connection), har (the browser of a browser's HAR export)."),
        C("client", "text", "Client address (device)."),
        C("started_at", "text", "When the request started (UTC)."),
        C("kind", "text", "http, websocket, tls-failure, tcp; quic (a QUIC / HTTP/3 attempt on UDP/443 the proxy "
          "blocked so the app falls back to TCP, or could not read: see error); report (a destination from the "
          "phone's own report, e.g. the iOS App Privacy Report: host and time, no payload)."),
        C("method", "text", "HTTP method."),
        C("url", "text", "Request URL (identifiers replaced by tokens in published copies)."),
        C("host", "text", "Destination host.", index=True),
        C("site", "text", "Registrable domain of the host.", index=True),
        C("http_version", "text", "HTTP/1.1, HTTP/2.0, HTTP/3 (QUIC, recorded in reverse, local and WireGuard modes)..."),
        C("status", "integer", "Response status."),
        C("error", "text", "What failed: certificate pinning, TLS error, connection error, QUIC blocked or "
          "passed through unread."),
        C("request_headers", "text", "Request headers (JSON, redacted)."),
        C("response_headers", "text", "Response headers (JSON)."),
        C("request_size", "integer", "Request body size.", unit="bytes"),
        C("response_size", "integer", "Response body size.", unit="bytes"),
        C("request_body_sha256", "text", "Request body hash (bodies.sha256 when kept)."),
        C("response_body_sha256", "text", "Response body hash."),
        C("content_type", "text", "Request media type."),
        C("websocket_messages", "integer", "WebSocket messages exchanged."),
        C("analysis", "text", "complete; truncated (a body cut at the snapshot limit or the analysis budget ran "
          "out: leaks may be missing); redaction-failed (URL, headers and other texts replaced by "
          "'[redaction failed]', or only the columns the last check still found a planted value in); no-payload (only the destination is known: a blocked QUIC attempt, a "
          "report's entry, a captured TLS connection without its key; no leak can be found). See failures.",
          index=True),
        C("hits", "integer", "Connections a device's report counted for this app and host (iOS App Privacy "
          "Report); empty for captured traffic, where each row is one exchange."),
        C("report", "text", "What a device's report said beyond the host (JSON): last_seen (UTC), domain_owner, "
          "initiated (AppInitiated, or NonAppInitiated: a web page shown in the app), context (that page's "
          "domain), the report's domain codes and its line number; from PCAPdroid's connections export: "
          "last_seen, protocol, destination address:port, status, bytes and packets each way, uid, app_name, line."),
        *tracker_cols("destination"),
    )),
    Table("app_accesses", "Data and sensor access by an app, as the phone itself recorded it (iOS App Privacy "
          "Report `access` records: location, contacts, photos, camera, microphone...).", (
        ID, crawl_ref("import"),
        C("app", "text", "App or process that accessed the data (bundle id, or a path for a system process).",
          index=True),
        C("app_source", "text", "Where this came from: ios-privacy-report."),
        C("accessor_type", "text", "What app names: bundleID or path (the report's identifierType)."),
        C("category", "text", "Data or sensor accessed: location, contacts, photos, camera, microphone, "
          "calendars, mediaLibrary... (as the report names it).", index=True),
        C("access_id", "text", "The report's identifier of this access (its begin and end records share it)."),
        C("started_at", "text", "When the access began (UTC); empty when the report has only its end."),
        C("ended_at", "text", "When it ended (UTC); empty while still open when the report was saved."),
        C("line", "integer", "Line of the report where the access begins (or its lone end record)."),
    )),
    Table("leaks", "A device identifier, location or personal value found in traffic, with how it was encoded.", (
        ID, crawl_ref(), flow_ref(), visit_ref(),
        C("request_id", "integer", "Web request carrying it (requests.id).", "requests.id"),
        C("identifier", "text", "Kind of value: advertising_id, android_id, imei, email, phone, location, typed_text...", index=True),
        C("chain", "text", "Decoding chain that revealed it, e.g. gzip>json:$.device.ifa>sha1."),
        C("location", "text", "Where: url, path, query, header, cookie, body, websocket."),
        C("field", "text", "Parameter, header, cookie name or JSON path."),
        C("destination_host", "text", "Host it was sent to.", index=True),
        C("destination_site", "text", "Registrable domain it was sent to.", index=True),
        C("third_party", "integer", "1 if the destination is a third party (app traffic: every destination but the app's own site, known from its package name)."),
        C("precision_m", "real", "For locations: distance from the true position.", unit="metres"),
        C("lat", "real", "For locations: the profile's rounded latitude (for maps; never finer than 2 decimals)."),
        C("lon", "real", "For locations: the profile's rounded longitude (never finer than 2 decimals)."),
        *tracker_cols("destination"),
    )),
    Table("registry_snapshots", "One data-broker registry file or portal scrape as fetched.", (
        ID, crawl_ref("fetch"),
        C("registry", "text", f"{STATE_REGISTRIES}, or list (a journalist's list)."),
        C("year", "integer", "Registration year the file covers."),
        C("source_url", "text", "Where it was fetched from (URL or path)."),
        C("fetched_at", "text", "When (UTC)."),
        C("sha256", "text", "SHA-256 of the file as fetched."),
        C("rows", "integer", "Broker registrations read."),
        C("file_id", "integer", "Stored copy (evidence_files.id).", "evidence_files.id"),
    )),
    Table("brokers", "One data-broker registration in one registry snapshot, with the registry's own fields.", (
        ID,
        C("snapshot_id", "integer", "Registry snapshot (registry_snapshots.id).", "registry_snapshots.id"),
        C("registry", "text", f"{STATE_REGISTRIES}, or list.", index=True),
        C("year", "integer", "Registration year."),
        C("key", "text", "Normalised name used to follow a broker across snapshots.", index=True),
        C("name", "text", "Legal name (crawled text).", index=True),
        C("dba", "text", "Doing-business-as names."),
        C("website", "text", "First website listed."),
        C("websites", "text", "Every website listed (JSON list)."),
        C("site", "text", "Registrable domain of the first website.", index=True),
        C("email", "text", "Contact email (empty in published copies when personal)."),
        C("email_personal", "integer", "1 if the contact email looks like an individual's."),
        C("phone", "text", "Contact phone."),
        C("address", "text", "Street address."),
        C("city", "text", "City."),
        C("state", "text", "State or region."),
        C("postal_code", "text", "Postal code."),
        C("country", "text", "Country."),
        C("minors", "text", "Declares collecting minors' data: yes, no or unknown."),
        C("precise_geolocation", "text", "Declares collecting precise geolocation: yes, no or unknown."),
        C("reproductive_health", "text", "Declares collecting reproductive health data: yes, no or unknown."),
        C("fcra", "text", "Regulated by the FCRA: yes, no or unknown."),
        C("glba", "text", "Regulated by the GLBA: yes, no or unknown."),
        C("declarations", "text", "Every other yes/no declaration of the registry (JSON)."),
        C("rights_url", "text", "Page where consumers exercise their rights, as registered."),
        C("notes", "text", "Free text from the registry or list."),
        C("tracker_entity", "text", "Tracker entity whose domains include the broker's site (derived)."),
        C("raw_json", "text", "The registry row exactly as read (JSON)."),
    ), fts=("name", "dba", "website", "notes")),
    Table("broker_metrics", "Consumer requests a broker reported, in long form: request type x measure.", (
        ID,
        C("broker_id", "integer", "Broker registration (brokers.id).", "brokers.id"),
        C("request_type", "text", "delete, know, opt-out, correct, limit..."),
        C("measure", "text", "received, complied, denied, mean_days, median_days..."),
        C("value", "real", "The number reported."),
    )),
    Table("broker_pages", "Pages checked per broker: policy, opt-out, deletion; hidden-from-search signals; GPC.", (
        ID, crawl_ref(),
        C("broker_id", "integer", "Broker (brokers.id).", "brokers.id"),
        C("kind", "text", "home, policy, opt-out, deletion, access, rights, gpc."),
        C("url", "text", "URL checked."),
        C("final_url", "text", "URL after redirects."),
        C("redirects", "text", "Redirect chain (JSON list)."),
        C("status", "text", "ok, http-error, timeout, dns-error, tls-error, bot-wall, not-found."),
        C("http_status", "integer", "HTTP status."),
        C("reason", "text", "Why the check did not end ok."),
        C("clicks_from_home", "integer", "Links followed from the home page to reach it."),
        C("found_via", "text", "A rights page found after the registered rights URL failed (dead, a typo host, a "
          "moved page sent home): the registered URL, each URL tried (variant spelling, home page, the home page's "
          "link to its privacy choices) with its status, and the page found (JSON); null when reached directly."),
        C("hosted_by", "text", "Third-party service hosting the page (e.g. OneTrust), if any."),
        C("meta_noindex_raw", "integer", "1 if a robots meta tag in the served HTML says noindex."),
        C("meta_noindex_rendered", "integer", "1 if a robots meta tag in the rendered DOM says noindex."),
        C("x_robots_tag", "text", "Every X-Robots-Tag header value (JSON list)."),
        C("robots_txt", "text", "robots.txt verdict per agent: Googlebot, Bingbot, * (JSON)."),
        C("hidden", "integer", "1 if any signal keeps search engines off the page."),
        C("hidden_reasons", "text", "Which signals hide it (JSON list)."),
        C("gpc", "text", "/.well-known/gpc.json: its gpc value, or missing/invalid."),
        C("gpc_json", "text", "/.well-known/gpc.json body as served."),
        C("gpc_last_update", "text", "/.well-known/gpc.json: its lastUpdate value."),
        C("title", "text", "Page title (crawled text)."),
        C("text", "text", "Page text snapshot (for search and diffs)."),
        C("text_sha256", "text", "SHA-256 of the text snapshot: a change means the page changed."),
        C("fetched_at", "text", "When (UTC)."),
    ), fts=("title", "text")),
    Table("findings", "What a rule concluded, with its legal reference and links to the rows that prove it.", (
        ID, crawl_ref("run or audit"),
        C("rule_id", "text", "Rule that produced it.", index=True),
        C("rule_version", "text", "Version of the rule."),
        C("severity", "text", "high, medium, low or info.", index=True),
        C("title", "text", "One-line statement of the finding."),
        C("detail", "text", "Plain-language explanation with the facts."),
        C("jurisdiction", "text", "eu, fr, uk, us-ca."),
        C("legal_reference", "text", "Provisions it relates to (e.g. ePrivacy art. 5(3); GDPR art. 6)."),
        C("subject", "text", "Site, app or broker concerned.", index=True),
        C("visit_id", "integer", "Main visit concerned.", "visits.id"),
        C("flow_id", "integer", "Main flow concerned.", "flows.id"),
        C("broker_id", "integer", "Broker concerned.", "brokers.id"),
        C("evidence", "text", "Rows and files that prove it: [{table, id}] (JSON)."),
        C("fingerprint", "text", "Stable hash of rule, subject and facts: the same finding across runs."),
        C("created_at", "text", "When (UTC)."),
    ), derived=True),
    Table("evidence_files", "Files kept as evidence (screenshots, HAR, snapshots, registry files) with their hash.", (
        ID, crawl_ref(), visit_ref(),
        C("path", "text", "Path relative to the database's evidence folder."),
        C("sha256", "text", "SHA-256 of the file.", index=True),
        C("size", "integer", "File size.", unit="bytes"),
        C("media_type", "text", "Media type, e.g. image/png."),
        C("documents", "text", "What it documents: screenshot, har, banner, banner-after (the page once the "
          "banner reacted to the click), snapshot, registry, capture, warc (the visit's traffic, bodies included, "
          "as a WARC file: docs/archive.md)."),
        C("created_at", "text", "When (UTC)."),
    )),
    Table("failures", "What could not be recorded or analysed in full: a collector that failed on a visit, a flow "
          "whose redaction failed, an analysis cut at its budget, a value out of range. Never holds raw data.", (
        ID, crawl_ref(), visit_ref(), flow_ref(),
        C("component", "text", "What failed: a collector, an addon stage, a decoder or the store.", index=True),
        C("kind", "text", "collector-error, redaction-failed, analysis-truncated, value-out-of-range, "
          "decode-error, missing-dependency, unsafe-path (a path from data refused: evidence not copied) or run-error "
          "(the run itself ended on an error).", index=True),
        C("detail", "text", "One line saying what happened (exception type and message, budget that ran out); "
          "redacted, never the record's raw text."),
        C("created_at", "text", "When (UTC)."),
    )),
    Table("tracker_lists", "Tracker lists used for classification: source, version, hash and licence.", (
        ID,
        C("name", "text", "List name: mouchard, ghostery, duckduckgo, disconnect, easylist, easyprivacy."),
        C("source_url", "text", "Where it was downloaded from."),
        C("version", "text", "Version or date of the list."),
        C("sha256", "text", "SHA-256 of the downloaded file."),
        C("licence", "text", "Licence of the list (some forbid commercial use: fetched, never shipped)."),
        C("entries", "integer", "Domains or rules read from it."),
        C("fetched_at", "text", "When it was downloaded (UTC)."),
    )),
    # The readers' pages compare a site with the rest of its crawl from here, never by grouping the requests
    # table (mouchard.classification.rollups builds it: `classify`, the end of a crawl, an audit).
    Table("site_summary", "One row per web crawl and site: the counts the site, compare and changes pages show, "
          "so that no page groups the whole requests table (derived; rebuilt by mouchard classify, at the end of a "
          "crawl and after an audit).", (
        ID, crawl_ref("web crawl"),
        C("site", "text", "Registrable domain of the visited site (visits.site).", index=True),
        C("tags", "text", "Tags of its visits, from the site list (JSON list)."),
        C("visits", "integer", "Visits that loaded (status ok or partial)."),
        C("failed_visits", "integer", "Visits that did not load (timeout, errors...): not counted anywhere else."),
        C("phases", "text", "Consent phases with a visit that loaded (JSON list: initial, reject, accept, gpc)."),
        C("requests", "integer", "Requests of its visits that loaded."),
        C("third_party_requests", "integer", "Requests to another site than the visited one."),
        C("tracker_requests", "integer", "Third-party requests to a tracker company (requests.tracker_entity)."),
        C("tracker_entities", "integer", "Distinct tracker companies that received a third-party request, in "
          "any phase."),
        C("advertising_entities", "integer", "Of those, companies with an advertising request."),
        C("tracker_entities_initial", "integer", "Tracker companies in the initial phase (no interaction); "
          "empty when that phase has no visit that loaded."),
        C("tracker_entities_reject", "integer", "Tracker companies in the reject phase (whole visit); empty when "
          "not visited."),
        C("tracker_entities_after_reject", "integer", "Tracker companies with a request after the reject click "
          "(requests.time_ms at or after the action's consent.time_ms); empty when no reject action was made."),
        C("tracker_entities_accept", "integer", "Tracker companies in the accept phase; empty when not visited."),
        C("tracker_entities_gpc", "integer", "Tracker companies in the gpc phase (Global Privacy Control sent); "
          "empty when not visited."),
        C("tracking_cookies", "integer", "Identifier cookies set by a tracker company or a third party "
          "(cookies.identifier = 1), in any phase."),
        C("tracking_cookies_before_consent", "integer", "Of those, set before any consent action."),
        C("advertising_cookies", "integer", "Cookies of an advertising tracker (tracker_category advertising)."),
        C("max_cookie_lifetime_days", "real", "Longest lifetime of a tracking cookie, as the site asked for it "
          "(requested_lifetime_days, else the kept lifetime_days).", unit="days"),
        C("fingerprinting_scripts", "integer", "Scripts meeting a fingerprinting threshold (canvas, canvas font, "
          "WebGL or audio; scripts table)."),
        C("session_replay_scripts", "integer", "Scripts recording the session (scripts.session_replay = 1)."),
        C("keylogging_leaks", "integer", "Typed text found in a request before any submission (leaks "
          "typed_email, typed_password, typed_phone, typed_name, typed_text)."),
        C("pixel_events", "integer", "Events reported by advertising pixels and analytics tags (pixel_events)."),
        C("meta_pixel_events", "integer", "Of those, Meta pixel events."),
        C("google_events", "integer", "Of those, Google Analytics, Google Ads and Tag Manager events."),
        C("auctions", "integer", "Header-bidding auctions (distinct rtb.auction_id)."),
        C("bidders", "integer", "Distinct bidders in them (rtb.bidder)."),
        C("id_syncs", "integer", "Identifiers seen going from one party to another (id_syncs)."),
        C("findings", "integer", "Findings of the audit rules about this site's visits in this crawl."),
        C("high_findings", "integer", "Of those, of high severity."),
        C("reject_verified", "integer", "1 if a reject click was made and verified, 0 if made but not verified; "
          "empty when no reject action was made."),
        C("accept_verified", "integer", "1 if an accept click was made and verified, 0 if not verified; empty when "
          "no accept action was made."),
        C("gpc_statement", "text", "What /.well-known/gpc.json said: true, false, or empty when not found or "
          "not checked."),
        C("consent", "text", "Per phase: CMP, framework, action, verified, and the TC string in force with its "
          "vendors (GVL id and name when known) and purposes (JSON)."),
        C("built_at", "text", "When this row was computed (UTC)."),
    ), unique=(("crawl_id", "site"),), derived=True),
    # A company page reads a tracker company's web presence here, never by grouping its requests and cookies
    # (mouchard.classification.company_rollup builds both: `classify`, the end of a crawl, an audit).
    Table("company_sites", "One row per web crawl, tracker company, visited site and consent phase: the counts the "
          "company page shows, so that it never groups the requests or cookies tables (derived; rebuilt by mouchard "
          "classify, at the end of a crawl and after an audit).", (
        ID, crawl_ref("web crawl"),
        C("tracker_entity", "text", "The company (requests.tracker_entity or cookies.tracker_entity).", index=True),
        C("site", "text", "Registrable domain of the visited site (visits.site)."),
        C("phase", "text", "Consent phase of the visits (visits.phase)."),
        C("visits", "integer", "Visits with at least one request to the company."),
        C("requests", "integer", "Requests to the company in those visits."),
        C("cookies", "integer", "Cookies of the company set in visits of this site and phase."),
        C("identifier_cookies", "integer", "Of those, cookies that look like identifiers (cookies.identifier = 1)."),
        C("cookies_before_consent", "integer", "Of those, cookies set before any consent action."),
        C("cookies_after_reject", "integer", "Of those, cookies set after the reject click (reject phase, "
          "cookies.before_consent = 0)."),
        C("built_at", "text", "When this row was computed (UTC)."),
    ), unique=(("crawl_id", "tracker_entity", "site", "phase"),), derived=True),
    Table("company_cookies", "One row per web crawl, tracker company and cookie name: what the company page says of "
          "its cookies (derived; rebuilt with company_sites). App cookies are read from cookies by index.", (
        ID, crawl_ref("web crawl"),
        C("tracker_entity", "text", "The company (cookies.tracker_entity).", index=True),
        C("name", "text", "Cookie name (crawled text)."),
        C("cookies", "integer", "Cookies of this name set in the crawl's visits."),
        C("identifier_cookies", "integer", "Of those, cookies that look like identifiers."),
        C("max_lifetime_days", "real", "Longest lifetime, as asked for (requested_lifetime_days, else the kept "
          "lifetime_days).", unit="days"),
        C("cookies_before_consent", "integer", "Of those, cookies set before any consent action."),
        C("built_at", "text", "When this row was computed (UTC)."),
    ), unique=(("crawl_id", "tracker_entity", "name"),), derived=True),
    # The IAB Europe Global Vendor List as a registry (mouchard.vendors): what each ad-tech vendor declares.
    Table("vendor_lists", "One version of the IAB Europe Global Vendor List (GVL) as fetched, with its provenance "
          "and what changed since the previous version recorded.", (
        ID,
        C("version", "integer", "vendorListVersion of the file.", index=True),
        C("gvl_specification_version", "integer", "gvlSpecificationVersion (3 for TCF 2.2)."),
        C("tcf_policy_version", "integer", "tcfPolicyVersion."),
        C("last_updated", "text", "lastUpdated as published (UTC)."),
        C("source_url", "text", "Where it was fetched from (URL or path)."),
        C("sha256", "text", "SHA-256 of the file as fetched.", index=True),
        C("licence", "text", "Terms the list is published under (fetched at run time, never shipped)."),
        C("vendors", "integer", "Vendors in the list, deleted ones included."),
        C("disclosures_fetched", "integer", "Device Storage Disclosures fetched and read."),
        C("disclosures_failed", "integer", "Disclosures that could not be fetched or read (see vendors.disclosure_status)."),
        C("previous_version", "integer", "The version it was compared with (the newest older one recorded)."),
        C("appeared", "text", "Vendor ids new since previous_version (JSON list)."),
        C("left", "text", "Vendor ids gone or newly deleted since previous_version (JSON list)."),
        C("changed", "text", "Vendors whose declarations changed: {id: [fields]} (JSON)."),
        C("fetched_at", "text", "When (UTC)."),
    ), unique=(("version", "sha256"),)),
    Table("vendors", "One vendor of one GVL version: the purposes it claims by consent or legitimate interest, its "
          "cookie retention, privacy links and Device Storage Disclosure.", (
        ID,
        C("vendor_list_id", "integer", "The GVL version (vendor_lists.id).", "vendor_lists.id"),
        C("vendor_id", "integer", "The vendor's GVL id (the id in TC strings).", index=True),
        C("name", "text", "Vendor name as published.", index=True),
        C("purposes", "text", "Purposes claimed on consent (JSON list of ids)."),
        C("leg_int_purposes", "text", "Purposes claimed on legitimate interest (JSON list of ids)."),
        C("flexible_purposes", "text", "Purposes the publisher may switch between the two bases (JSON list)."),
        C("special_purposes", "text", "Special purposes (JSON list of ids)."),
        C("features", "text", "Features (JSON list of ids)."),
        C("special_features", "text", "Special features, opt-in only (JSON list; 1 is precise geolocation)."),
        C("uses_cookies", "integer", "1 if it declares storing cookies."),
        C("cookie_max_age_seconds", "integer", "Longest cookie lifetime it declares.", unit="seconds"),
        C("cookie_refresh", "integer", "1 if it declares refreshing cookie lifetimes."),
        C("uses_non_cookie_access", "integer", "1 if it declares other device storage (localStorage...)."),
        C("privacy_url", "text", "Privacy policy (first language published)."),
        C("legitimate_interest_url", "text", "Legitimate-interest claim page (first language published)."),
        C("device_storage_disclosure_url", "text", "Its Device Storage Disclosure JSON."),
        C("disclosure_status", "text", "ok, none (no URL), failed: reason, or not-fetched."),
        C("domains", "text", "Domains its disclosure names (JSON list)."),
        C("deleted_date", "text", "When the GVL marked it deleted; empty if it is not."),
        C("tracker_entity", "text", "Company it was matched to in the tracker lists (derived).", index=True),
    ), unique=(("vendor_list_id", "vendor_id"),)),
    Table("vendor_disclosures", "One cookie or storage item a vendor's Device Storage Disclosure declares.", (
        ID,
        C("vendor_list_id", "integer", "The GVL version (vendor_lists.id).", "vendor_lists.id"),
        C("vendor_id", "integer", "The vendor's GVL id.", index=True),
        C("identifier", "text", "Cookie or key name as declared (* is a wildcard)."),
        C("type", "text", "cookie, web (localStorage, IndexedDB...) or app."),
        C("max_age_seconds", "integer", "Lifetime declared; empty for a session item.", unit="seconds"),
        C("cookie_refresh", "integer", "1 if its lifetime is refreshed."),
        C("domain", "text", "Domain declared (* for any site, *.example.com for subdomains)."),
        C("purposes", "text", "Purposes declared for it (JSON list)."),
    )),
    # Declared versus observed (mouchard.vendors.conduct): rebuilt with the other rollups.
    Table("vendor_conduct", "One row per web crawl, visited site, consent phase and GVL vendor seen: what the "
          "vendor declares next to what it did and what the consent in force allowed (derived).", (
        ID, crawl_ref("web crawl"),
        C("site", "text", "Visited site.", index=True),
        C("phase", "text", "Consent phase (initial, reject, accept, gpc, revoke, second-site)."),
        C("vendor_id", "integer", "GVL id.", index=True),
        C("vendor_name", "text", "Vendor name in the GVL."),
        C("vendor_list_version", "integer", "GVL version compared with."),
        C("matched_by", "text", "How the vendor was recognised: disclosure-domain (a domain its disclosure names), "
          "known-host (mouchard's own vendor hosts), bidder (Prebid bidder code or gvlid), eid (source of a user id in "
          "a bid request), entity (tracker company), tc-string (named in the TC string in force) (JSON list)."),
        C("hosts", "text", "Hosts of the vendor contacted (JSON list)."),
        C("requests", "integer", "Requests to the vendor."),
        C("cookies", "integer", "Cookies of the vendor set."),
        C("consent", "integer", "1 if the TC string in force gave the vendor consent, 0 if not, empty without one."),
        C("legitimate_interest", "integer", "1 if the TC string in force signalled the vendor's legitimate interest."),
        C("tc_string_purposes", "text", "Purposes consented in the TC string in force (JSON list)."),
        C("undisclosed_cookies", "text", "Cookies set on its domains that its disclosure does not declare (JSON list of names)."),
        C("undisclosed_storage", "text", "localStorage, sessionStorage or IndexedDB items of its origins that its "
          "disclosure does not declare (JSON list of keys)."),
        C("longer_cookies", "text", "Cookies kept longer than declared: [{name, days, declared_days}] (JSON)."),
        C("undisclosed_domains", "text", "Hosts contacted that its disclosure does not list (JSON list)."),
        C("purposes_without_basis", "text", "Purposes it claims that the TC string in force allowed neither by consent "
          "nor by legitimate interest, when data reached it (JSON list)."),
        C("forbidden_legitimate_interest", "text", "Purposes signalled on legitimate interest where TCF policy "
          "requires consent (1, 3-6) (JSON list)."),
        C("precise_geo_without_opt_in", "integer", "Bid requests to it with precise coordinates while special feature 1 was not opted in."),
        C("not_in_cmp_list", "integer", "1 if it was called although the CMP did not disclose it (TC string disclosed vendors)."),
        C("deleted", "integer", "1 if the GVL marks it deleted."),
        C("verdict", "text", "as-declared, beyond-declared, not-comparable (no disclosure), or without-basis."),
        C("evidence", "text", "Rows that prove it: [{table, id}] (JSON, bounded)."),
        C("built_at", "text", "When this row was computed (UTC)."),
    ), unique=(("crawl_id", "site", "phase", "vendor_id"),), derived=True),
)


# A person's own database (`mouchard me`): created only in a database marked private (mouchard.storage.private),
# never in a crawl's, and never published: `publish` refuses any database whose me_person table has a row.
PRIVATE_TABLES: tuple[Table, ...] = (
    Table("me_person", "The person whose own captures this private database holds (one row): what the letters are "
          "signed with. Its presence makes the database private: publish and merge refuse it.", (
        ID,
        C("created_at", "text", "When the database was made private (UTC)."),
        C("name", "text", "The person's name, as the letters are signed."),
        C("email", "text", "The person's e-mail address: where the companies should answer."),
        C("postal_address", "text", "The person's postal address (several lines)."),
        C("country", "text", "Country of residence (ISO 3166 alpha-2): which authority a complaint goes to."),
        C("region", "text", "State or region (e.g. CA for California: CCPA letters apply)."),
        C("language", "text", "Language of the letters and the page: fr or en."),
        C("profile", "text", "The person's own values searched in the traffic: identifiers, position, contacts "
          "(JSON, the device profile's format)."),
        C("profile_file", "text", "Name of the file the values were read from."),
    )),
    Table("me_companies", "One organisation that received data about the person, resolved from the tracker lists, "
          "the IAB vendor list and the broker registries (derived by `mouchard me report`).", (
        ID,
        C("key", "text", "Stable key of the organisation (lower-case slug of its name): what requests refer to.",
          index=True),
        C("name", "text", "Organisation name."),
        C("domains", "text", "Registrable domains seen for it (JSON list)."),
        C("sources", "text", "How it was identified: trackers:<list>, gvl:<vendor id>, broker:<registry>, "
          "domain (JSON list)."),
        C("gvl_vendor_id", "integer", "Its id in the IAB Europe vendor list, when it is a vendor."),
        C("leg_int_purposes", "text", "TCF purposes it claims on legitimate interest in the vendor list: what an "
          "Art. 21 objection names (JSON list of ids)."),
        C("broker_registries", "text", "US data-broker registries it is registered in (JSON list)."),
        C("regimes", "text", "Laws whose letters apply: gdpr, ccpa (JSON list)."),
        C("items", "integer", "Distinct things it received (me_received rows)."),
        C("first_seen", "text", "First time it received something (UTC)."),
        C("last_seen", "text", "Last time it received something (UTC)."),
        C("recipients", "text", "Organisations it was seen passing the person's data to: bidders of its auctions, "
          "targets of its id syncs (JSON list)."),
        C("contact_email", "text", "Privacy contact e-mail (from contact_source)."),
        C("contact_url", "text", "Privacy page or form."),
        C("contact_address", "text", "Postal address for letters."),
        C("contact_source", "text", "Where the contact came from: datenanfragen, gvl, broker:<registry>, none."),
        C("contact_source_id", "integer", "The contact database fetched (me_contact_sources.id).",
          "me_contact_sources.id"),
        C("contact_source_url", "text", "Where the contact was read: the contact database, the vendor list or the "
          "broker registry file (URL or path)."),
        C("contact_fetched_at", "text", "When that source was fetched (UTC)."),
        C("built_at", "text", "When this row was computed (UTC)."),
    ), unique=(("key",),), derived=True),
    Table("me_received", "One thing an organisation received about the person: a cookie id and its value, an "
          "advertising id, a hashed e-mail, a position, a bid request's personal field, an id synced onward "
          "(derived).", (
        ID,
        C("company_id", "integer", "The organisation (me_companies.id).", "me_companies.id"),
        C("kind", "text", "cookie, advertising_id, android_id, imei, email, email_hash, phone, phone_hash, "
          "location, bid_field, id_sync, page_view, connection, or another identifier kind of leaks.", index=True),
        C("name", "text", "Cookie name, parameter, header or JSON path it travelled in."),
        C("value", "text", "The exact value received, as quoted in the letters (the person's own data: this "
          "database never leaves the machine)."),
        C("host", "text", "Host that received or set it."),
        C("source", "text", "Site visited or app that sent it."),
        C("source_kind", "text", "site or app."),
        C("first_seen", "text", "First time (UTC)."),
        C("last_seen", "text", "Last time (UTC)."),
        C("times", "integer", "How many times it was seen."),
        C("consent", "text", "Consent state when it was sent: none-asked, no-choice (banner shown, no answer), "
          "refused, accepted, gpc, withdrawn, or empty for app traffic."),
        C("precision_m", "real", "For positions: distance from the true position.", unit="metres"),
        C("recipients", "text", "Organisations it went on to (JSON list)."),
        C("evidence", "text", "Rows that prove it: [{table, id}] (JSON, bounded)."),
    ), derived=True),
    Table("me_contact_sources", "One company contact database fetched at run time (datenanfragen.de's, CC0), with "
          "its provenance.", (
        ID,
        C("source", "text", "datenanfragen, or another named source."),
        C("url", "text", "Where it was fetched from."),
        C("fetched_at", "text", "When (UTC)."),
        C("sha256", "text", "SHA-256 of the file as fetched."),
        C("licence", "text", "Licence it is published under."),
        C("records", "integer", "Company records read."),
        C("rejected", "integer", "Records left out (invalid or over budget)."),
    )),
    Table("me_contacts", "One company record of a contact database: where to send privacy requests.", (
        ID,
        C("source_id", "integer", "Contact database (me_contact_sources.id).", "me_contact_sources.id"),
        C("slug", "text", "The record's id in its database.", index=True),
        C("name", "text", "Company name."),
        C("domains", "text", "Registrable domains of its websites (JSON list).", index=True),
        C("runs", "text", "Other names it answers for: services, brands, former names (JSON list)."),
        C("email", "text", "Privacy contact e-mail."),
        C("url", "text", "Website or privacy form."),
        C("address", "text", "Postal address."),
        C("country", "text", "Relevant countries (JSON list)."),
        C("medium", "text", "Suggested way to send: email, letter, fax, webform."),
    )),
    Table("me_letters", "One letter made for the person: access, objection, erasure, CCPA, reminder or complaint.", (
        ID,
        C("company_key", "text", "The organisation (me_companies.key).", index=True),
        C("kind", "text", "access (GDPR Art. 15), objection (Art. 21), erasure (Art. 17), ccpa-know, ccpa-delete, "
          "reminder, complaint."),
        C("language", "text", "fr or en."),
        C("recipient", "text", "Where it is addressed: e-mail, form or postal address."),
        C("subject", "text", "Subject line."),
        C("text", "text", "The letter as plain text."),
        C("files", "text", "Files written: text, HTML, PDF, e-mail (JSON {format: file name})."),
        C("created_at", "text", "When it was made (UTC)."),
    )),
    Table("me_requests", "One request the person sent, and where it stands: deadline, reminders, answer.", (
        ID,
        C("company_key", "text", "The organisation (me_companies.key).", index=True),
        C("kind", "text", "Letter kind sent (access, objection, erasure, ccpa-know, ccpa-delete)."),
        C("letter_id", "integer", "The letter sent (me_letters.id).", "me_letters.id"),
        C("regime", "text", "gdpr or ccpa: which deadlines apply."),
        C("channel", "text", "email, post, webform."),
        C("sent_on", "text", "Date sent (YYYY-MM-DD)."),
        C("received_on", "text", "Date the company received it (YYYY-MM-DD): the deadline runs from it."),
        C("due_on", "text", "Deadline (YYYY-MM-DD): one month for the GDPR (Art. 12(3)), 45 days for the CCPA."),
        C("extended_to", "text", "Deadline after the company extended it (YYYY-MM-DD), if it did."),
        C("answered_on", "text", "Date an answer arrived (YYYY-MM-DD)."),
        C("reminder_sent_on", "text", "Date a reminder was sent (YYYY-MM-DD)."),
        C("complaint_on", "text", "Date a complaint was filed (YYYY-MM-DD)."),
        C("status", "text", "waiting, answered, overdue, extended, complained or closed."),
        C("notes", "text", "The person's notes."),
    )),
    Table("me_answers", "A company's answer export imported (CSV, JSON or a ZIP of them): what it says it holds.", (
        ID,
        C("request_id", "integer", "The request answered (me_requests.id).", "me_requests.id"),
        C("company_key", "text", "The organisation.", index=True),
        C("imported_at", "text", "When it was imported (UTC)."),
        C("file_name", "text", "Name of the file imported."),
        C("sha256", "text", "SHA-256 of the file."),
        C("format", "text", "csv, json or zip (of CSV and JSON files)."),
        C("items", "integer", "Values read."),
        C("status", "text", "ok, partial (a budget cut it: see reason) or failed."),
        C("reason", "text", "Why it is not ok, in one line."),
    )),
    Table("me_answer_items", "One value a company's answer says it holds, next to what mouchard saw it receive.", (
        ID,
        C("answer_id", "integer", "The answer (me_answers.id).", "me_answers.id"),
        C("path", "text", "Where in the export: column or JSON path, and row."),
        C("value", "text", "The value as exported (bounded)."),
        C("matched_kind", "text", "Kind of the observed item it matches (me_received.kind), if any."),
        C("matched_name", "text", "Name of the observed item it matches (cookie name, field)."),
    )),
)

BY_NAME: dict[str, Table] = {t.name: t for t in (*TABLES, *PRIVATE_TABLES)}


def table(name: str) -> Table:
    return BY_NAME[name]
