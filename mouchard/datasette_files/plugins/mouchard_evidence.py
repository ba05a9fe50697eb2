"""Evidence in the Datasette pages: screenshots inline, and links from evidence JSON and ids to the rows they name.

`/-/evidence/<database>/<id>` serves one file registered in `evidence_files`, read from the database's evidence
folder `<db>.evidence/`, only if it is a raster image whose bytes still match the SHA-256 recorded for it. The
path is data: it is read only through `mouchard.paths` (canonical relative path, no symlink on the way, a regular
file inside the folder), so `..`, absolute paths, symlinks and FIFOs or devices are refused. Nothing crawled is ever marked safe here:
every value goes through markupsafe's escaping, and only integers we parsed go into URLs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

from datasette import hookimpl
from datasette.utils.asgi import Forbidden, NotFound, Response
from markupsafe import Markup

from mouchard.paths import IMAGE_SIGNATURES, TooLarge, UnsafePath, read_inside
from mouchard.publishing.pages.common import EVIDENCE_PREFIX, evidence_path
from mouchard.settings import evidence_dir

# Media types served: IMAGE_SIGNATURES, with the bytes every such file starts with (a PNG that is really HTML is
# not served).
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_EVIDENCE_LINKS = 200  # a longer evidence list stays JSON text

# In query results (no table), integer columns with these names link to the row they name.
ROW_LINK_COLUMNS = {
    "crawl_id": "crawls", "visit_id": "visits", "request_id": "requests", "cookie_id": "cookies",
    "flow_id": "flows", "leak_id": "leaks", "broker_id": "brokers", "broker_page_id": "broker_pages",
    "finding_id": "findings", "id_sync_id": "id_syncs", "evidence_file_id": "evidence_files",
}
SCREENSHOT_COLUMNS = {"screenshot_file_id", "evidence_file_id", "file_id"}
THUMBNAIL_STYLE = "max-width: 320px; max-height: 200px; border: 1px solid #999; display: block"


class EvidenceRefused(Exception):
    """The file may not be served; the message says why (shown to the user, never a path)."""

    def __init__(self, message: str, status: int = 404):
        super().__init__(message)
        self.status = status


def evidence_folder(database_path: str) -> Path:
    """The database's evidence folder, derived as everywhere else (mouchard.settings.evidence_dir)."""
    return evidence_dir(database_path)


def read_evidence(database_path: str, relative_path: str, media_type: str | None, sha256: str | None) -> bytes:
    """The bytes of a registered evidence image, after every check; raises EvidenceRefused otherwise."""
    if media_type not in IMAGE_SIGNATURES:
        raise EvidenceRefused("only images are shown inline")
    try:
        data = read_inside(evidence_folder(database_path), relative_path, MAX_FILE_BYTES)
    except FileNotFoundError:
        raise EvidenceRefused("evidence file not found") from None
    except TooLarge:
        raise EvidenceRefused("evidence file too large to show", 413) from None
    except UnsafePath:
        raise EvidenceRefused("evidence path outside the evidence folder") from None
    except OSError:
        raise EvidenceRefused("evidence file not found") from None
    if not data.startswith(IMAGE_SIGNATURES[media_type]):
        raise EvidenceRefused("file is not the image it is registered as", 409)
    if not sha256 or hashlib.sha256(data).hexdigest() != sha256.lower():
        raise EvidenceRefused("file changed since it was recorded (SHA-256 differs)", 409)
    return data


async def serve_evidence(datasette, request) -> Response:
    database = request.url_vars["database"]
    file_id = int(request.url_vars["id"])
    db = datasette.databases.get(database)
    if db is None or db.is_memory or not db.path:
        raise NotFound("no such database")
    if not await datasette.permission_allowed(request.actor, "view-table", (database, "evidence_files"), default=True):
        raise Forbidden("you may not view evidence_files")
    result = await db.execute("SELECT path, media_type, sha256 FROM evidence_files WHERE id = ?", [file_id])
    row = result.first()
    if row is None:
        raise NotFound("no such evidence file")
    try:
        data = await asyncio.to_thread(read_evidence, db.path, row["path"], row["media_type"], row["sha256"])
    except EvidenceRefused as exc:
        return Response.text(str(exc), status=exc.status, headers={"X-Content-Type-Options": "nosniff"})
    extension = row["media_type"].split("/")[1]
    return Response(data, content_type=row["media_type"], headers={
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'",
        "Content-Disposition": f'inline; filename="evidence-{file_id}.{extension}"',
        "Cache-Control": "private, max-age=3600",
    })


@hookimpl
def register_routes():
    return [(rf"^{EVIDENCE_PREFIX}/(?P<database>[^/]+)/(?P<id>[0-9]{{1,18}})$", serve_evidence)]


def _integer(value) -> int | None:
    if isinstance(value, dict):  # an expanded foreign key: {"value": 3, "label": "..."}
        value = value.get("value")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return None


def evidence_url(datasette, database: str, file_id: int) -> str:
    return datasette.urls.path(evidence_path(file_id, database))


def _thumbnail(datasette, database: str, file_id: int, caption: str) -> Markup:
    url = evidence_url(datasette, database, file_id)
    return Markup('<a href="{url}"><img src="{url}" alt="{alt}" loading="lazy" style="{style}"></a>{caption}').format(
        url=url, alt=f"evidence file {file_id}", style=THUMBNAIL_STYLE, caption=caption)


def _row_link(datasette, database: str, table: str, row_id: int, text: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(datasette.urls.row(database, table, str(row_id)), text)


async def _image_ids(datasette, database: str, ids: list[int]) -> set[int]:
    """Which of these evidence_files ids are images we can show."""
    if not ids:
        return set()
    types = list(IMAGE_SIGNATURES)
    result = await datasette.get_database(database).execute(
        f"SELECT id FROM evidence_files WHERE id IN ({', '.join('?' * len(ids))}) "
        f"AND media_type IN ({', '.join('?' * len(types))})", [*ids, *types])
    return {row[0] for row in result.rows}


def _evidence_items(value) -> list[tuple[str, int]] | None:
    """[(table, id)] from a finding's evidence JSON, or None if it is not that shape (then it renders as text)."""
    if not isinstance(value, str) or not value.lstrip().startswith("["):
        return None
    try:
        items = json.loads(value)
    except ValueError:
        return None
    if not isinstance(items, list) or not 0 < len(items) <= MAX_EVIDENCE_LINKS \
            or not all(isinstance(item, dict) for item in items):
        return None
    parsed = []
    for item in items:
        row_id = _integer(item.get("id"))
        table = item.get("table")
        if not isinstance(table, str) or row_id is None:
            return None
        parsed.append((table, row_id))
    return parsed


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    async def inner():
        db = datasette.databases.get(database)
        if db is None or db.is_memory:
            return None
        if column == "evidence":
            items = _evidence_items(value)
            if not items:
                return None
            tables = set(await db.table_names())
            if any(name not in tables for name, _ in items):
                return None  # names a table this database lacks: show the JSON as it is
            images = await _image_ids(datasette, database, [i for t, i in items if t == "evidence_files"])
            parts = []
            for name, row_id in items:
                link = _row_link(datasette, database, name, row_id, f"{name} {row_id}")
                parts.append(_thumbnail(datasette, database, row_id, link) if row_id in images and name == "evidence_files"
                             else link)
            return Markup('<ul class="mouchard-evidence" style="margin: 0; padding-left: 1.2em">{}</ul>').format(
                Markup("").join(Markup("<li>{}</li>").format(part) for part in parts))
        if table == "evidence_files" and column == "path" and isinstance(value, str):
            try:
                file_id, media_type = row["id"], row["media_type"]
            except (IndexError, KeyError):
                return None
            if media_type in IMAGE_SIGNATURES and _integer(file_id) is not None:
                return _thumbnail(datasette, database, int(file_id), Markup("{}").format(value))
            return None
        if column in SCREENSHOT_COLUMNS and (table in (None, "consent", "registry_snapshots")):
            file_id = _integer(value)
            if file_id is not None and await _image_ids(datasette, database, [file_id]):
                return _thumbnail(datasette, database, file_id,
                                  _row_link(datasette, database, "evidence_files", file_id, f"evidence_files {file_id}"))
        if table is None and column in ROW_LINK_COLUMNS:
            row_id = _integer(value)
            if row_id is not None and not isinstance(value, dict):
                return _row_link(datasette, database, ROW_LINK_COLUMNS[column], row_id, str(row_id))
        return None

    return inner
