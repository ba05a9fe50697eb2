"""E-mail addresses in text: which are a person's and which are an organisation's role box.

One rule, used when brokers are imported (`brokers.email_personal`) and when a database is published
(`mouchard.publishing.scrub`): an address is PERSONAL unless its local part is a role. A local part is a role when, split at
`.`, `_`, `-`, `+` and digits, every piece can be spelled entirely with words of `ROLE_WORDS`, `FILLER_WORDS`
and the labels of the address's own domain, and at least one word is a role word (or the local part is the
domain's own name: `acme@acme.com`). So `privacy@`, `dataprivacyteam@`, `usprivacy@`, `pubmaticprivacy@pubmatic.com`
are roles; `john.wright@` and `maria.rosales@` are not (no substring match: "wright" is not "right", "rosales" is
not "sales"). Anything the words cannot spell is personal: fail closed. A webmail domain (gmail.com...) is
always personal.
"""

from __future__ import annotations

import re
import urllib.parse

from mouchard.identify.identifiers import TOKENS

ROLE_WORDS = frozenset("""
    privacy legal dpo dp dpa gdpr rgpd ccpa cpra dsr dsar compliance support info infos information contact contacts
    optout opt out unsubscribe remove removal removals delete deletion deletions help helpdesk hello admin
    administrator webmaster postmaster hostmaster abuse security noreply donotreply reply sales billing accounting
    accounts account finance office team operations ops service services customer customers consumer consumers care
    request requests right rights inquiry inquiries enquiry enquiries question questions department dept notice
    notices protection officer dnc hr pr ir media press marketing partner partners partnerships vendor vendors
    supplier suppliers friends bizdev business mail mailbox inbox desk registry registration registrations report
    reports trust safety ethics risk governance counsel policy policies feedback jobs careers news newsletter
    broker databroker brokers documents optin member members tech hotline data analytics profile
""".split())
# Words that may sit beside a role word but never make a role by themselves.
FILLER_WORDS = frozenset("""
    the and of for your my our us usa uk eu emea apac americas america na ca california global state based digital
    online review choice center centre group corporate public general main web site app mobile do not to
    all one request line any
""".split())
WEBMAIL = frozenset({"gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "aol.com",
                     "icloud.com", "me.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "orange.fr",
                     "free.fr", "laposte.net", "wanadoo.fr", "yandex.com", "mail.com", "comcast.net", "msn.com",
                     "ymail.com", "web.de", "hey.com", "fastmail.com", "tutanota.com", "sfr.fr", "yahoo.fr"})
MAX_LOCAL = 64  # RFC 5321: longer local parts are not addresses a registry or a site would publish

# An address as text, also with its "@" URL-encoded once or twice (query strings, form bodies).
EMAIL = re.compile(r"(?<![\w.%+-])([\w.%+-]{1,200})(@|%40|%2540)([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*"
                   r"\.[A-Za-z]{2,24})(?![\w-])", re.IGNORECASE)
_PIECES = re.compile(r"[a-z]+")
_MAX_WORD = max(len(w) for w in ROLE_WORDS | FILLER_WORDS)


def _spell(piece: str, words: frozenset[str]) -> tuple[bool, bool] | None:
    """Whether `piece` splits into `words` entirely: None if not, else (uses a role word, is one domain label).

    Dynamic programming over the piece (at most MAX_LOCAL letters, words at most _MAX_WORD... letters long)."""
    size = len(piece)
    best: list[bool | None] = [None] * (size + 1)  # best[i]: prefix of length i spelled; True if a role word used
    best[0] = False
    limit = max(_MAX_WORD, max((len(w) for w in words), default=0))
    for end in range(1, size + 1):
        for start in range(max(0, end - limit), end):
            if best[start] is None:
                continue
            word = piece[start:end]
            if word in ROLE_WORDS:
                best[end] = True
                break
            if word in FILLER_WORDS or word in words:
                best[end] = best[end] or best[start]
    if best[size] is None:
        return None
    return bool(best[size]), piece in words


def is_role_address(address: str) -> bool:
    """True when `address` is an organisation's role box (see the module docstring)."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at or not local or not domain or len(local) > MAX_LOCAL or domain in WEBMAIL:
        return False
    labels = frozenset(label for label in domain.split(".")[:-1] if len(label) >= 3) | frozenset(
        part for label in domain.split(".")[:-1] for part in label.split("-") if len(part) >= 3)
    role = company = False
    pieces = _PIECES.findall(local)
    if not pieces or re.search(r"[^a-z0-9._+-]", local):
        return False
    for piece in pieces:
        spelled = _spell(piece, labels)
        if spelled is None:
            return False
        role = role or spelled[0]
        company = company or spelled[1]
    return role or (company and len(pieces) == 1)


def personal_email(address: str) -> bool:
    """True when `address` (one address) is a person's: everything that is not a role box."""
    return not is_role_address(address)


def addresses(text: str) -> list[tuple[int, int, str]]:
    """(start, end, decoded address) of every e-mail address in `text`, plain or with a URL-encoded "@"."""
    found = []
    for m in EMAIL.finditer(text):
        local = urllib.parse.unquote(urllib.parse.unquote(m[1]))
        found.append((m.start(), m.end(), f"{local}@{m[3]}"))
    return found


def personal_addresses(text: str) -> list[tuple[int, int]]:
    """Spans of the personal addresses in `text`."""
    return [(start, end) for start, end, address in addresses(text) if personal_email(address)]


def replace_personal(text: str, token: str = TOKENS["email"]) -> str:
    """`text` with every personal address replaced by `token` (role boxes kept)."""
    spans = personal_addresses(text)
    if not spans:
        return text
    pieces, pos = [], 0
    for start, end in spans:
        pieces += [text[pos:start], token]
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces)
