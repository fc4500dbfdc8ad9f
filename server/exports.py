"""`GET /exports/{name}.{csv,xlsx}`: the supervisor's lists as files (models.ops.export_columns says
what each holds, models.ops.exports.EXPORTS which there are).

Query parameters, as the stats filter: `from`, `to` (YYYY-MM-DD, Asia/Shanghai, both included,
required, within models.rules.date_range: DATE_OUT_OF_RANGE), `regionId`, `departmentId`, `categoryId` (global ids, as the GraphQL API gives them)
and `source` (a DemandSource value). The bearer token as for /graphql; supervisors, dispatchers
and admins, within their regions (models.ops.stats_scope). Refusals are JSON
`{"errors": [{"code", "field", "message"}]}`: 401 without a valid token, 403 for another role
or a region out of scope, 400 for a malformed filter, 404 for an unknown list or format.
Each export, and each one refused to a signed-in user, is in the audit log (action EXPORT:
the list, the format, the filter as given, and an XLSX's row count).

Headers and names are Chinese, English on Accept-Language: en. Rows come from the database in
batches (models.ops.exports), so memory stays bounded whatever the size:
- CSV is UTF-8 with a BOM (Excel on Windows then reads the Chinese right), streamed batch by
  batch as it is read.
- XLSX is built with openpyxl's write-only workbook (rows appended per batch, off the event
  loop) into a temporary file under the data directory, which is unlinked as soon as it is
  open and then streamed out in chunks: a zip cannot be sent before it is finished.

Text an enterprise typed can start with `=`: in XLSX it is written as a string, never a
formula; in CSV such a cell gets a leading apostrophe (spreadsheet formula injection)."""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from models.errors import DomainError
from models.messages import message, resolve_locale
from models.ops.audit import Trail
from models.ops.export_columns import Cell, ascii_file_name, file_name
from models.ops.exports import EXPORTS, Export
from models.ops.stats_scope import StatsFilter, StatsScope, stats_scope
from models.rules.actor import Actor
from models.rules.audit import AuditAction
from models.rules.date_range import in_range, range_params
from models.rules.demand_states import DemandSource
from schema.relay import from_global_id
from server.auth import actor_from_token, bearer_token, client_address
from server.files import content_disposition
from server.settings import Settings

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

log = logging.getLogger("enterprise_desk")

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")
CHUNK_BYTES = 64 * 1024
_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "REGION_OUT_OF_SCOPE": 403}
# Characters XML 1.0 cannot hold (openpyxl refuses them): dropped from XLSX text.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_IDS = {"regionId": "Region", "departmentId": "Department", "categoryId": "DemandCategory"}


def _error(
    code: str, locale: str, field: str | None = None, status: int | None = None, **params: Any
) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if code == "UNAUTHENTICATED" else None
    body: dict[str, Any] = {"code": code, "message": message(code, locale, field, **params)}
    if field:
        body["field"] = field
    return JSONResponse(
        {"errors": [body]}, status_code=status or _STATUS.get(code, 400), headers=headers
    )


def parse_filter(params: dict[str, str]) -> StatsFilter:
    """The query parameters as a StatsFilter; DomainError names the parameter at fault."""
    days: dict[str, date] = {}
    for name in ("from", "to"):
        raw = (params.get(name) or "").strip()
        if not raw:
            raise DomainError("REQUIRED", name)
        try:
            days[name] = date.fromisoformat(raw)
        except ValueError:
            raise DomainError("INVALID_DATE", name, value=raw[:40]) from None
        if not in_range(days[name]):
            raise DomainError("DATE_OUT_OF_RANGE", name, **range_params())
    ids: dict[str, int | None] = {}
    for name, type_name in _IDS.items():
        raw = (params.get(name) or "").strip()
        if not raw:
            ids[name] = None
            continue
        try:
            ids[name] = from_global_id(raw, type_name)[1]
        except DomainError:
            raise DomainError("NOT_FOUND", name) from None
    source = None
    if raw_source := (params.get("source") or "").strip():
        try:
            source = DemandSource(raw_source)
        except ValueError:
            raise DomainError("INVALID_CHOICE", "source", value=raw_source[:40]) from None
    return StatsFilter(
        start=days["from"],
        end=days["to"],
        region_id=ids["regionId"],
        department_id=ids["departmentId"],
        category_id=ids["categoryId"],
        source=source,
    )


# --- CSV -------------------------------------------------------------------------------------


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


async def _csv_body(
    export: Export, scope: StatsScope, locale: str, done: Callable[[int], None]
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_csv_text(h) for h in export.spec.headers(locale)])
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    count = 0
    async for batch in export.rows(scope):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([_csv_text(v) for v in export.spec.cells(r, locale)] for r in batch)
        count += len(batch)
        yield buffer.getvalue().encode("utf-8")
    done(count)


# --- XLSX ------------------------------------------------------------------------------------


def _xlsx_value(ws: WriteOnlyWorksheet, value: Cell) -> Any:
    if not isinstance(value, str):
        return value
    value = _ILLEGAL_XML.sub("", value)
    if value.startswith("="):
        from openpyxl.cell import WriteOnlyCell  # loaded already: _build_xlsx imported openpyxl

        cell = WriteOnlyCell(ws, value)
        cell.data_type = "s"  # text, not a formula
        return cell
    return value


def _append(ws: WriteOnlyWorksheet, rows: list[list[Cell]]) -> None:
    for row in rows:
        ws.append([_xlsx_value(ws, v) for v in row])


async def _build_xlsx(export: Export, scope: StatsScope, locale: str, out: IO[bytes]) -> int:
    """Writes the workbook into `out`; returns the number of rows."""
    # openpyxl is imported when the first workbook is written, not when the server starts: it
    # is 12 MB of every worker's memory, and most workers never write one.
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    spec = export.spec
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=spec.title(locale)[:31])
    for i, column in enumerate(spec.columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = column.width
    ws.append(spec.headers(locale))
    count = 0
    async for batch in export.rows(scope):
        cells = [spec.cells(r, locale) for r in batch]
        await anyio.to_thread.run_sync(_append, ws, cells)
        count += len(batch)
    await anyio.to_thread.run_sync(wb.save, out)
    return count


async def _file_chunks(f: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := await anyio.to_thread.run_sync(f.read, CHUNK_BYTES):
            yield chunk
    finally:
        f.close()


# --- the endpoint ------------------------------------------------------------------------------


class ExportEndpoint:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def tmp_dir(self) -> Path:
        path = self.settings.data_dir / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def handle(self, request: Request) -> Response:
        locale = resolve_locale(request.headers.get("accept-language"))
        actor = await actor_from_token(bearer_token(request), self.settings.secret_key)
        if actor is None:
            return _error("UNAUTHENTICATED", locale)
        name, _, ext = request.path_params["file"].rpartition(".")
        export = EXPORTS.get(name)
        if export is None or ext not in FORMATS:
            return _error("NOT_FOUND", locale, status=404)
        trail = Trail(
            actor,
            client_address(request),
            AuditAction.EXPORT,
            "Export",
            {"format": ext, **_given_filter(request.query_params)},
        )
        try:
            scope = await stats_scope(actor, parse_filter(dict(request.query_params)))
        except DomainError as err:
            await trail.refused(err)
            p = err.problems[0]
            return _error(p.code, locale, p.field, **p.params)
        flt = scope.filter
        headers = {
            "Content-Disposition": content_disposition(
                file_name(export.spec, flt.start, flt.end, ext, locale),
                ascii_file_name(export.spec, flt.start, flt.end, ext),
            ),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        }

        def done(rows: int) -> None:
            _log_export(actor, name, ext, flt, rows)

        if ext == "csv":
            # Recorded before the first byte leaves (the count is known only at the end, and
            # a download cut short has still shown its rows).
            await trail.record(name)
            return StreamingResponse(
                _csv_body(export, scope, locale, done), media_type=CSV_TYPE, headers=headers
            )
        return await self._xlsx(export, scope, locale, headers, done, trail)

    async def _xlsx(
        self,
        export: Export,
        scope: StatsScope,
        locale: str,
        headers: dict[str, str],
        done: Callable[[int], None],
        trail: Trail,
    ) -> Response:
        f = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed by _file_chunks
            dir=self.tmp_dir, prefix="export-", suffix=".xlsx", delete=False
        )
        try:
            # Unlinked at once: the open handle keeps the bytes until it is closed, and no
            # file is left behind if the client goes away or the process dies.
            os.unlink(f.name)
            rows = await _build_xlsx(export, scope, locale, f)
            size = f.tell()
            f.seek(0)
        except BaseException:
            f.close()
            raise
        done(rows)
        await trail.record(export.spec.slug, {"rows": rows})
        headers["Content-Length"] = str(size)
        return StreamingResponse(_file_chunks(f), media_type=XLSX_TYPE, headers=headers)


def _given_filter(params: Mapping[str, str]) -> dict[str, str]:
    """The filter as the caller gave it, for the audit log."""
    names = ("from", "to", *_IDS, "source")
    return {n: params[n][:40] for n in names if params.get(n)}


def _log_export(actor: Actor, name: str, ext: str, flt: StatsFilter, rows: int) -> None:
    # The audit log has who and which; the count of a streamed CSV is known only here.
    log.info(
        "export %s.%s by user %d: %d rows (%s..%s, region %s, department %s, category %s, "
        "source %s)",
        name,
        ext,
        actor.user_id,
        rows,
        flt.start,
        flt.end,
        flt.region_id,
        flt.department_id,
        flt.category_id,
        flt.source,
    )
