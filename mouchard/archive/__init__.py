"""Each visit's traffic as WARC (ISO 28500), and replay of it: evidence that outlives the site.

- `records`: the plain data a visit's archive is made of (`Exchange`, `VisitArchive`) and what an archive serves back
  (`ArchivedResponse`); the budgets.
- `warc`: `write_visit_warc` (warcio): warcinfo, request and response records with their bodies (bounded, the
  truncation recorded as `WARC-Truncated`), the visit's metadata record, the screenshot as a resource record.
- `index`: `ArchiveIndex`, the archived responses of a bundle's WARC files by method and URL, read as hostile input.
- `clock`: the page script that starts a replayed visit's clock at the capture time.
- `replay_server`: `ReplayServer`, an HTTP(S) proxy on 127.0.0.1 that answers every request from an `ArchiveIndex`
  and never from the network.
- `certificates`, `http1`: the replay proxy's CA and leaf certificates, and its bounded HTTP/1.1 request reader.

A WARC's redacted copy for publication is mouchard.publishing.warc (the database's scrub, applied to headers,
URLs and bodies).

No Scrapy, Playwright or mitmproxy here: the crawler (crawler/collectors/archive.py, clock.py) and the audits
(audits/replay.py) use this package.
"""
