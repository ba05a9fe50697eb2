"""The shape of `EXPECTED` facts, and merging them (a page's facts = its trackers' + its ad frames' + its own).

Keys (all optional; lists of dicts unless said):
- `third_party_hosts`: sorted host names the page makes the browser contact, directly or through frames;
- `trackers`: {name, host, entity, category} per tracker script embedded;
- `cookies`: {name, domain, party (first/third), set_by (script/header), by (host), max_age}; `domain` is as
  the browser reports it (leading dot for a Domain attribute, bare host for host-only cookies);
- `storage`: {kind (localStorage/sessionStorage/indexedDB), host (the origin's host), key, by};
- `requests`: {kind (document/script/img/beacon/fetch/xhr/iframe/redirect), host, path};
- `id_syncs`: {from, to, cookie, param, via} — `from`'s identifier cookie travels to `to` in `param`;
- anything page-specific (hostile pages add `behaviour`, `expect`...).
"""

from __future__ import annotations


# Rows that describe the same thing although other fields differ (two hosts setting one cookie).
IDENTITY = {"cookies": ("name", "domain"), "storage": ("kind", "host", "key")}


def merge(*facts: dict) -> dict:
    """Union of facts: lists concatenated without duplicates, `third_party_hosts` sorted, scalars last wins."""
    out: dict = {}
    for fact in facts:
        for key, value in fact.items():
            if not isinstance(value, list):
                out[key] = value
                continue
            bucket = out.setdefault(key, [])
            fields = IDENTITY.get(key)
            seen = {tuple(row[f] for f in fields) if fields else repr(row) for row in bucket}
            for row in value:
                identity = tuple(row[f] for f in fields) if fields else repr(row)
                if identity not in seen:
                    seen.add(identity)
                    bucket.append(row)
    if "third_party_hosts" in out:
        out["third_party_hosts"] = sorted(out["third_party_hosts"])
    return out
