"""Names split into fields: a planted name's first and last parts, as SDKs and ad platforms send them.

Analytics SDKs send a person's name in two fields — `$first_name`/`$last_name` (Mixpanel), `firstName`/`lastName`
(Segment, RudderStack), `$FirstName`/`$LastName` (mParticle) — and ad platforms want each part normalised and
SHA-256-hashed on its own: Meta's Conversions API `fn`/`ln` (lower-case, trimmed; "no punctuation" in Meta's
customer-information-parameters page, `data.lower().strip()` in its Business SDK; `f5first`/`f5last` are the first
five letters), Google enhanced conversions (trimmed, lower-case). So each part is a needle of its own, in these
forms (labels end the decoding chain: `sha256>first-name-lower` is Meta's `fn`):

    {role}-name          as written ("Hélène")        plain search ignores case, so this covers "HÉLÈNE" in ASCII
    {role}-name-lower    lower-cased ("hélène")       Meta's SDK, Google
    {role}-name-upper    upper-cased, only for non-ASCII letters (byte-level case differs there)
    {role}-name-ascii    accents stripped, lower ("helene")
    {role}-name-meta     lower, punctuation and spaces removed ("dupontmouchard"), and its ASCII form
    {role}-name-f5       Meta's f5first / f5last: first five letters, lower (hashed only: too short to search)

A part is a whole word (`touches_part`: not inside "Jeanne", "jean.dupont@..." or "jean-pierre"). A lone first
name is not a leak ("Jean" is in many requests): a part counts only when both parts of the same name are in the
same request (`pair_matches`) or, for redaction, in the same text (`pair_spans`); a part that
sits inside another planted value's match (the e-mail `jean.dupont@...`) is that value's leak, not a name's.
Inside the detector a part is a kind of its own (`name:first`, `name:last`); `pair_matches` turns paired parts
back into their name's kind, so callers only ever see `name` or `contact`.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

NAME_KINDS = ("name", "contact")
# Kinds whose values are split. Contacts are not: "Claude Petit" splits into a first name and a common word, and
# an address book is uploaded as display names; adding "contact" here is all it takes.
SPLIT_KINDS = ("name",)
ROLES = ("first", "last")
MIN_PLAIN_LENGTH = 3  # parts shorter than this are searched hashed only; the word-edge rule guards the rest
META_F5 = 5  # Meta's f5first / f5last
_PUNCTUATION = re.compile(r"[\W_]+", re.UNICODE)  # Meta: "lowercase only with no punctuation"


def touches_part(char: str) -> bool:
    """True when `char`, next to a part, makes it part of something else: a letter or digit (Jeanne, Jean2), or
    what joins the words of an address or an identifier (jean.dupont@, jean-pierre, jean_d, jean+news)."""
    return char.isalnum() or char in "-_.@+"


def part_kind(kind: str, role: str) -> str:
    """The detector's internal kind for one part of a name: `name:first`."""
    return f"{kind}:{role}"


def part_role(kind: str) -> str | None:
    """'first' or 'last' for a part kind, None for any other kind (`cookie:17` included)."""
    base, sep, role = kind.rpartition(":")
    return role if sep and role in ROLES and base in SPLIT_KINDS else None


def whole_kind(kind: str) -> str:
    """The name's kind for a part kind (`name:first` -> `name`); any other kind unchanged."""
    return kind.rpartition(":")[0] if part_role(kind) else kind


def split_name(value: str) -> tuple[str, str] | None:
    """(first, last) of a written name: the first word, and the rest ("Jean Dupont-Mouchard" -> ("Jean",
    "Dupont-Mouchard")); None for a single word. Compound first names need the profile's explicit parts."""
    words = value.split()
    if len(words) < 2:
        return None
    return words[0], " ".join(words[1:])


def strip_accents(text: str) -> str:
    """'Hélène' -> 'Helene': letters without their combining marks (NFKD, marks dropped)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def part_forms(role: str, value: str) -> list[tuple[str, str]]:
    """(label, form) of one part of a name (see the module docstring); the first is the part as written."""
    text = " ".join(value.split())
    lower = text.lower()
    ascii_lower = strip_accents(lower)
    name = f"{role}-name"
    forms = [(name, text), (f"{name}-lower", lower)]
    if not text.isascii():
        forms.append((f"{name}-upper", text.upper()))
    forms.append((f"{name}-ascii", ascii_lower))
    forms.append((f"{name}-meta", _PUNCTUATION.sub("", lower)))
    forms.append((f"{name}-meta", _PUNCTUATION.sub("", ascii_lower)))
    forms.append((f"{name}-f5", lower[:META_F5]))
    forms.append((f"{name}-f5", ascii_lower[:META_F5]))
    unique: dict[str, str] = {}
    for label, form in forms:
        if form:
            unique.setdefault(form, label)
    return [(label, form) for form, label in unique.items()]


def part_needles(needles: Mapping[str, Sequence[str]],
                 explicit: Mapping[str, Sequence[tuple[str, str] | None]] | None = None) -> dict[str, list[str]]:
    """The parts of every name (`SPLIT_KINDS`) in `needles`, as extra needle kinds: {"name:first": [...], "name:last": [...]}.

    Index i of a part list is the part of value i of its name kind ("" where a name has no parts), so a part
    match's `needle` is its name's index. `explicit` ({kind: [(first, last) or None, ...]}) overrides the split.
    """
    out: dict[str, list[str]] = {}
    for kind in SPLIT_KINDS:
        values = needles.get(kind)
        if not values:
            continue
        given = list((explicit or {}).get(kind) or ())
        firsts, lasts = [], []
        for i, value in enumerate(values):
            parts = given[i] if i < len(given) and given[i] else split_name(value or "")
            firsts.append(parts[0] if parts else "")
            lasts.append(parts[1] if parts else "")
        if any(firsts):
            out[part_kind(kind, "first")] = firsts
            out[part_kind(kind, "last")] = lasts
    return out


def min_form_length(kind: str, label: str, default: int) -> int:
    """Shortest plain form searched for one form of `kind`: parts of names are short words, guarded by the word
    edges; Meta's five-letter prefixes ("helen" of "Hélène") are another name when plain, so hashed only."""
    if part_role(kind) and not label.endswith("-f5"):
        return MIN_PLAIN_LENGTH
    return default


def pair_matches(matches: Iterable[Any]) -> list[Any]:
    """Matches with name parts resolved: a part is kept, as its name's kind, only when the other part of the same
    name (same kind, same needle index) is among `matches`; lone parts are dropped. Other matches unchanged."""
    matches = list(matches)
    roles: dict[tuple[str, int], set[str]] = {}
    for m in matches:
        role = part_role(m.kind)
        if role:
            roles.setdefault((whole_kind(m.kind), m.needle), set()).add(role)
    if not roles:
        return matches
    out = []
    for m in matches:
        role = part_role(m.kind)
        if role is None:
            out.append(m)
        elif len(roles[(whole_kind(m.kind), m.needle)]) == len(ROLES):
            out.append(dataclasses.replace(m, kind=whole_kind(m.kind)))
    return out


def pair_spans(hits: Iterable[tuple[int, int, Any]]) -> list[tuple[int, int, str]]:
    """(start, end, kind) of the detector's raw hits (start, end, needle), name parts resolved as in
    `pair_matches` within this text (a lone part is not redacted: it is not the person's name)."""
    hits = list(hits)
    roles: dict[tuple[str, int], set[str]] = {}
    for _, _, n in hits:
        role = part_role(n.kind)
        if role:
            roles.setdefault((whole_kind(n.kind), n.index), set()).add(role)
    out = []
    for start, end, n in hits:
        role = part_role(n.kind)
        if role is None:
            out.append((start, end, n.kind))
        elif len(roles[(whole_kind(n.kind), n.index)]) == len(ROLES):
            out.append((start, end, whole_kind(n.kind)))
    return out
