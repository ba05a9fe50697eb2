"""A company's export read within bounds: the bytes of a CSV, JSON, JSON Lines or ZIP file as (path, value) pairs.

The file is the company's, so hostile: it is read in memory under budgets (`Limits`: file size, ZIP members, their
sizes and compression ratio, values, nesting, JSON nodes), ZIP members are never extracted and their names never
become paths, names from the data become bounded one-line labels. Text is UTF-16 (with its byte-order mark), UTF-8
or Latin-1. Anything that cannot be read is a one-line UserError; a reading cut short says why (`Flattened.reasons`).
Used by mouchard.me.followup, which stores what is read and matches it against what was observed.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mouchard.budget import Budget
from mouchard.errors import UserError


@dataclass(frozen=True)
class Limits:
    """Budgets of an answer import. The defaults fit real exports (a few MB of CSV or JSON) with room to spare."""

    file_bytes: int = 64 * 1024 * 1024  # the file given
    json_bytes: int = 32 * 1024 * 1024  # one JSON document (parsed in memory: about ten times its size)
    member_bytes: int = 32 * 1024 * 1024  # one ZIP member, uncompressed
    total_bytes: int = 128 * 1024 * 1024  # all ZIP members, uncompressed
    members: int = 1_000  # ZIP entries looked at
    directory_bytes: int = 4 * 1024 * 1024  # a ZIP's central directory: zipfile holds every entry of it in memory
    ratio: int = 200  # uncompressed / compressed size of a ZIP member: bombs are in the thousands
    items: int = 200_000  # values kept
    depth: int = 64  # JSON nesting
    steps: int = 2_000_000  # JSON nodes walked (empty containers yield no value but cost a step)
    value_chars: int = 2_000  # a value as stored
    field_chars: int = 1024 * 1024  # a CSV field or line read (csv.field_size_limit)
    match_chars: int = 64 * 1024  # how much of a value is searched for observed values
    label_chars: int = 100  # a column name, JSON key or member name in a path
    path_chars: int = 500  # a path as stored


LIMITS = Limits()
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
CSV_DELIMITERS = ",;\t|"
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


def label(text: object, limit: int) -> str:
    """A name from the data (column, key, member, file) as one bounded line of text: never a path."""
    value = CONTROL.sub(" ", str(text))
    return value if len(value) <= limit else value[: limit - 1] + "…"


# -- flatteners: an export as (path, value) pairs ----------------------------------------------------------------


@dataclass
class Flattened:
    """Values read from an export: (path, value) pairs, bounded, and why the reading was cut short, if it was."""

    items: list[tuple[str, str]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    limits: Limits = LIMITS
    # Matched while the value is whole (before it is cut to `value_chars`): index of the observed row, per item.
    match: Callable[[str], int | None] | None = None
    matched: list[int | None] = field(default_factory=list)

    @property
    def full(self) -> bool:
        return len(self.items) >= self.limits.items

    def cut(self, reason: str) -> None:
        if reason not in self.reasons and len(self.reasons) < 20:
            self.reasons.append(reason)

    def add(self, path: str, value: str) -> bool:
        """Keep one value (cut to `value_chars`); False once `items` values are kept."""
        if self.full:
            self.cut(f"more than {self.limits.items} values: the first {self.limits.items} kept")
            return False
        value = value.replace("\x00", "\ufffd").strip()
        if value:
            self.items.append((path[: self.limits.path_chars], value[: self.limits.value_chars]))
            if self.match is not None:
                self.matched.append(self.match(value))
        return True


def decode_text(data: bytes) -> str:
    """An export's bytes as text: UTF-16 when it starts with its byte-order mark, else UTF-8 (BOM or not), else
    Latin-1 (which decodes anything)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _delimiter(sample: str) -> str:
    """The CSV delimiter of `sample` (the file's first lines): csv.Sniffer among CSV_DELIMITERS, else the candidate
    that splits the first lines most evenly, else a comma."""
    try:
        found = csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS).delimiter
        if found in CSV_DELIMITERS:
            return found
    except csv.Error:
        pass
    lines = [line for line in sample.splitlines()[:10] if line.strip()]
    best, best_score = ",", 0
    for candidate in CSV_DELIMITERS:
        counts = [line.count(candidate) for line in lines]
        if counts and min(counts) > 0:
            score = min(counts) * 100 + counts.count(counts[0])
            if score > best_score:
                best, best_score = candidate, score
    return best


def _looks_like_labels(row: list[str], limits: Limits) -> bool:
    """A first row of column names: every cell filled, distinct, short, and not an identifier or a number (four
    digits or more in a name is rare; in a value, common)."""
    cells = [cell.strip() for cell in row]
    return (bool(cells) and all(cells) and len(set(cells)) == len(cells)
            and all(len(c) <= limits.label_chars and sum(ch.isdigit() for ch in c) < 4 for c in cells))


class _LineTooLong(Exception):
    pass


def _lines(text: str, limit: int) -> Iterator[str]:
    """The lines of `text` for csv.reader, refusing one longer than `limit` before the reader holds it."""
    for line in io.StringIO(text, newline=""):
        if len(line) > limit:
            raise _LineTooLong
        yield line


def flatten_csv(text: str, *, limits: Limits = LIMITS, prefix: str = "", out: Flattened | None = None) -> Flattened:
    """The non-empty cells of a CSV text as ("row N, column", value) pairs: the delimiter sniffed, the first row
    taken as column names when it looks like names. Bounded: a field or line longer than `field_chars` stops the
    reading there (the rows before are kept) and says so in `reasons`. Never raises but UserError."""
    out = out if out is not None else Flattened(limits=limits)
    delimiter = _delimiter(text[:4096])
    previous = csv.field_size_limit()
    csv.field_size_limit(limits.field_chars)  # process-wide: restored below
    try:
        reader = csv.reader(_lines(text, limits.field_chars), delimiter=delimiter, strict=False)
        header: list[str] | None = None
        pending: list[str] | None = None  # a first row that looks like column names, until a second row comes
        number = 0

        def add(row: list[str], names: list[str] | None) -> bool:
            for index, cell in enumerate(row):
                name = names[index] if names and index < len(names) else f"column {index + 1}"
                if not out.add(f"{prefix}row {number}, {name}", cell):
                    return False
            return True

        try:
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue  # blank lines are no rows
                if header is None and pending is None and number == 0 and _looks_like_labels(row, limits):
                    pending = row
                    continue
                if pending is not None:
                    header, pending = [label(cell.strip(), limits.label_chars) for cell in pending], None
                number += 1
                if not add(row, header):
                    return out
            if pending is not None:  # one row only: values, not names
                number = 1
                add(pending, None)
        except _LineTooLong:
            out.cut(f"{prefix}line {reader.line_num + 1}: a line longer than {limits.field_chars} characters; "
                    "the rest was not read")
        except csv.Error:
            out.cut(f"{prefix}line {reader.line_num}: a field longer than {limits.field_chars} characters; "
                    "the rest was not read")
    finally:
        csv.field_size_limit(previous)
    return out


def _key_path(path: str, key: str, limits: Limits) -> str:
    key = label(key, limits.label_chars)
    return f"{path}.{key}" if _PLAIN_KEY.match(key) else f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def flatten_value(data: object, *, limits: Limits = LIMITS, prefix: str = "", out: Flattened | None = None,
                  budget: Budget | None = None) -> Flattened:
    """The scalars of a parsed JSON document as ("$.a.b[0]", value) pairs, walked without recursion: nesting
    deeper than `depth` is left out, and the walk stops after `steps` nodes or `items` values (both said in
    `reasons`). null is no value; true/false and numbers are kept as written."""
    out = out if out is not None else Flattened(limits=limits)
    budget = budget or Budget(steps=limits.steps)
    allowed = budget.remaining("steps")
    walked = 0
    deep = f"{prefix}nested deeper than {limits.depth} levels: the deeper values were not read"
    # One frame per open container (an iterator over its children), never a list of them: a JSON array of
    # millions of numbers costs one frame, and the walk holds at most `depth` frames.
    frames: list[tuple[Iterator, str, bool, int]] = []

    def enter(path: str, node: object, depth: int) -> bool:
        """Open a container or keep a scalar; False once no more values are kept."""
        if isinstance(node, (dict, list)):
            if depth >= limits.depth:
                out.cut(deep)
            elif isinstance(node, dict):
                frames.append((iter(node.items()), path, True, depth))
            else:
                frames.append((enumerate(node), path, False, depth))
        elif node is not None:
            return out.add(prefix + path, ("true" if node else "false") if isinstance(node, bool) else str(node))
        return True

    enter("$", data, 0)
    while frames:
        children, path, is_dict, depth = frames[-1]
        pair = next(children, None)
        if pair is None:
            frames.pop()
            continue
        walked += 1
        if walked > allowed:
            out.cut(f"{prefix}more than {limits.steps} JSON nodes: the rest was not read")
            budget.spend(steps=allowed + 1)  # marks it spent, so later documents of a ZIP stop too
            return out
        key, child = pair
        if not enter(_key_path(path, key, limits) if is_dict else f"{path}[{key}]", child, depth + 1):
            break
    budget.spend(steps=walked)
    return out


def _json_loads(text: str) -> object:
    # Numbers are kept as written (no float rounding, no huge-integer conversion limit).
    return json.loads(text, parse_int=str, parse_float=str, parse_constant=str)


def flatten_json(text: str, *, limits: Limits = LIMITS, prefix: str = "", out: Flattened | None = None,
                 name: str = "file", budget: Budget | None = None) -> Flattened:
    """`flatten_value` of a JSON text, or of a JSON Lines text (one document a line); UserError when it is neither.
    Never raises but UserError."""
    if len(text) > limits.json_bytes:
        raise UserError(f"{name}: JSON of {len(text)} characters, more than {limits.json_bytes} can be read")
    budget = budget or Budget(steps=limits.steps)
    try:
        return flatten_value(_json_loads(text), limits=limits, prefix=prefix, out=out, budget=budget)
    except RecursionError:
        raise UserError(f"{name}: JSON nested too deep to read") from None
    except ValueError as exc:
        first = exc
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        raise UserError(f"{name}: not valid JSON ({label(first, 120)})") from None
    out = out if out is not None else Flattened(limits=limits)
    for number, line in enumerate(lines, 1):
        try:
            document = _json_loads(line)
        except (ValueError, RecursionError):
            if number == 1:  # not JSON Lines either: the JSON error says where the document is broken
                raise UserError(f"{name}: not valid JSON ({label(first, 120)})") from None
            raise UserError(f"{name}: not valid JSON Lines (line {number} is not JSON)") from None
        flatten_value(document, limits=limits, prefix=f"{prefix}line {number} ", out=out, budget=budget)
        if out.full or budget.exhausted:
            break
    return out


# -- an export file: CSV, JSON or ZIP ----------------------------------------------------------------------------


@dataclass
class Export:
    """An export read: its format, the values read, and for a ZIP the members read and those skipped."""

    format: str  # csv, json, zip
    flat: Flattened
    members: int = 0  # ZIP members read
    skipped: list[str] = field(default_factory=list)  # ZIP members not read, and why


def _text_format(text: str, name: str) -> str:
    """json or csv: by the name's suffix when it has one of theirs, else by the first character."""
    lower = name.lower()
    if lower.endswith(JSON_SUFFIXES):
        return "json"
    if lower.endswith((".csv", ".tsv")):
        return "csv"
    return "json" if text.lstrip()[:1] in ("{", "[") else "csv"


def _looks_binary(data: bytes) -> bool:
    head = data[:4096]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return False  # UTF-16 text has NUL bytes
    return b"\x00" in head or head.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8"))


def _read_text(data: bytes, name: str, limits: Limits, *, prefix: str = "", out: Flattened,
               budget: Budget) -> str:
    if _looks_binary(data):
        raise UserError(f"{name}: not a CSV, JSON or ZIP file")
    text = decode_text(data)
    kind = _text_format(text, name)
    if kind == "json":
        flatten_json(text, limits=limits, prefix=prefix, out=out, name=name, budget=budget)
    else:
        flatten_csv(text, limits=limits, prefix=prefix, out=out)
    return kind


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, budget: Budget) -> bytes:
    """One member's bytes, read in chunks and stopped as soon as it passes its size, the archive's total or the
    compression ratio: the sizes a member declares are not trusted."""
    allowed = min(limits.member_bytes, budget.remaining("bytes"))
    too_large = f"larger than {limits.member_bytes} bytes uncompressed" if allowed == limits.member_bytes else \
        f"over the {limits.total_bytes} bytes uncompressed allowed for the whole ZIP"
    compressed = max(info.compress_size, 1)
    if info.file_size > allowed:
        raise UserError(too_large)
    if info.file_size > compressed * limits.ratio:
        raise UserError(f"compressed more than {limits.ratio} times (a ZIP bomb?)")
    chunks, size = [], 0
    with archive.open(info) as handle:
        while True:
            chunk = handle.read(1 << 16)
            if not chunk:
                break
            size += len(chunk)
            if size > allowed:
                raise UserError(too_large)
            if size > compressed * limits.ratio:
                raise UserError(f"compressed more than {limits.ratio} times (a ZIP bomb?)")
            chunks.append(chunk)
    budget.spend(bytes=size)
    return b"".join(chunks)


def _directory_size(data: bytes) -> int | None:
    """Size of a ZIP's central directory as its end record says (ZIP64 included), read before zipfile parses it;
    None when there is no end record (zipfile then says the file is not a ZIP)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or len(data) < end + 22:
        return None
    size = int.from_bytes(data[end + 12:end + 16], "little")
    locator = end - 20
    if size == 0xFFFFFFFF and locator >= 0 and data[locator:locator + 4] == b"PK\x06\x07":
        record = int.from_bytes(data[locator + 8:locator + 16], "little")
        if data[record:record + 4] == b"PK\x06\x06" and len(data) >= record + 48:
            size = int.from_bytes(data[record + 40:record + 48], "little")
    return size


def _read_zip(data: bytes, name: str, limits: Limits, match: Callable[[str], int | None] | None) -> Export:
    export = Export("zip", Flattened(limits=limits, match=match))
    budget = Budget(steps=limits.steps, bytes=limits.total_bytes, blobs=limits.members)
    directory = _directory_size(data)
    if directory is not None and directory > limits.directory_bytes:
        raise UserError(f"{name}: ZIP directory of {directory} bytes, more than {limits.directory_bytes} "
                        "(too many entries)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError):
        raise UserError(f"{name}: not a readable ZIP file") from None
    for info in infos:
        if not budget.spend(blobs=1):
            export.flat.cut(f"more than {limits.members} entries in the ZIP: the rest was not read")
            break
        member = label(info.filename, limits.label_chars)
        lower = info.filename.lower()
        if info.is_dir() or lower.startswith("__macosx/"):
            continue
        if not lower.endswith(TEXT_SUFFIXES + JSON_SUFFIXES):
            export.skipped.append(f"{member}: not CSV or JSON")
            continue
        try:
            content = _read_member(archive, info, limits, budget)
            _read_text(content, member, limits, prefix=f"{member}: ", out=export.flat, budget=budget)
            export.members += 1
        except UserError as exc:
            reason = str(exc) if str(exc).startswith(member) else f"{member}: {exc}"
            export.skipped.append(reason)
            export.flat.cut(reason)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, ValueError, OSError, EOFError, zlib.error):
            # RuntimeError: encrypted member; NotImplementedError: unknown compression; the rest: corrupt data
            export.skipped.append(f"{member}: unreadable (corrupt, encrypted or unknown compression)")
            export.flat.cut(f"{member}: unreadable")
        if export.flat.full:
            export.flat.cut(f"{limits.items} values read: the rest of the ZIP was not read")
            break
    if not export.members and not export.flat.items:
        detail = "; ".join(export.skipped[:3]) or "no CSV or JSON file in it"
        raise UserError(f"{name}: nothing readable in the ZIP ({label(detail, 300)})")
    return export


def read_export(data: bytes, name: str = "file", *, limits: Limits = LIMITS,
                match: Callable[[str], int | None] | None = None) -> Export:
    """A company's export (bytes of a CSV, JSON or ZIP file) as bounded (path, value) pairs, each value passed
    whole to `match` when given (mouchard.me.followup.Matcher.find); a file that cannot be read at all is a
    one-line UserError."""
    if len(data) > limits.file_bytes:
        raise UserError(f"{name}: larger than {limits.file_bytes} bytes")
    if not data.strip():
        raise UserError(f"{name}: the file is empty")
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _read_zip(data, name, limits, match)
    flat = Flattened(limits=limits, match=match)
    kind = _read_text(data, name, limits, out=flat, budget=Budget(steps=limits.steps))
    return Export(kind, flat)


def read_file(file: Path, limits: Limits = LIMITS, name: str = "file") -> bytes:
    """The bytes of the export file the person gave, at most `file_bytes` of them read; a one-line UserError
    (with `name`, never the full path) when it is missing, not a file, unreadable or larger."""
    try:
        if not file.exists():
            raise UserError(f"{name}: no such file")
        if not file.is_file():
            raise UserError(f"{name}: not a file")
        with file.open("rb") as handle:
            data = handle.read(limits.file_bytes + 1)
    except OSError as exc:
        raise UserError(f"{name}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    if len(data) > limits.file_bytes:
        raise UserError(f"{name}: larger than {limits.file_bytes} bytes")
    return data
