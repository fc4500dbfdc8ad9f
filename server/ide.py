"""GraphiQL in development, served whole from this package, so that it works on an intranet
with no route to the internet (a 政务内网).

The page is ours: strawberry's template loads its code from a CDN. What it loads are the
exact builds strawberry's template pins (the same SHA-384 digests), vendored under
server/static/graphiql/ beside their licences (README.md there lists them), plus the page's
own stylesheet and start script, so its Content-Security-Policy names only 'self' (and
`data:` for the fonts and icons GraphiQL's stylesheet carries inline). Each asset's URL
carries a digest of its bytes, so it is cached for a year and a changed file is a new URL;
each is also pinned by an `integrity` attribute. Production serves neither page nor assets."""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

STATIC = Path(__file__).parent / "static" / "graphiql"
PREFIX = "/static/graphiql/"
# In the order the page loads them: React before GraphiQL, GraphiQL before its plugin, the
# start script last.
STYLES = (
    "graphiql@3.8.3/graphiql.min.css",
    "graphiql-plugin-explorer@1.0.2/style.css",
    "page.css",
)
SCRIPTS = (
    "react@18.2.0/react.production.min.js",
    "react-dom@18.2.0/react-dom.production.min.js",
    "graphiql@3.8.3/graphiql.min.js",
    "graphiql-plugin-explorer@1.0.2/index.umd.js",
    "start.js",
)
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
CACHE_CONTROL = "public, max-age=31536000, immutable"
# The one <style> GraphiQL writes itself: react-remove-scroll-bar's scroll lock while a dialog
# is open, its gap zero since the page never scrolls (page.css). Allowed by its hash, so that
# style-src needs no 'unsafe-inline' (a headless Chromium reports no violation with it).
SCROLL_LOCK_STYLE = "'sha256-Y/huXlwoYkVyQlxwSVcCi1RCDGDCSVBzDt0hYP9qlTc='"
IDE_CSP = (
    f"default-src 'none'; script-src 'self'; style-src 'self' {SCROLL_LOCK_STYLE}; "
    "font-src 'self' data:; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)


@dataclass(frozen=True)
class Asset:
    data: bytes
    media_type: str
    integrity: str  # sha384-…, for the page's `integrity` attribute
    version: str  # a short digest, for the URL


_NAMES = frozenset(STYLES + SCRIPTS)


def asset(name: str) -> Asset | None:
    """One of the page's files by its path under STATIC; None for anything else (licences,
    the README and paths out of the folder are not served)."""
    return _load(name) if name in _NAMES else None


@cache
def _load(name: str) -> Asset:
    data = (STATIC / name).read_bytes()
    return Asset(
        data,
        MEDIA_TYPES[Path(name).suffix],
        "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode(),
        hashlib.sha256(data).hexdigest()[:16],
    )


@cache
def _gzipped(name: str) -> bytes:
    return gzip.compress(_load(name).data, compresslevel=6, mtime=0)


def asset_url(name: str) -> str:
    found = asset(name)
    assert found is not None, name
    return f"{PREFIX}{name}?v={found.version}"


def _tag(name: str) -> str:
    found = asset(name)
    assert found is not None, name
    if name.endswith(".css"):
        return f'<link rel="stylesheet" href="{asset_url(name)}" integrity="{found.integrity}">'
    return f'<script src="{asset_url(name)}" integrity="{found.integrity}"></script>'


@cache
def graphiql_page() -> str:
    styles = "\n    ".join(_tag(name) for name in STYLES)
    scripts = "\n    ".join(_tag(name) for name in SCRIPTS)
    return f"""<!doctype html>
<html lang="zh-CN">
  <head>
    <meta charset="utf-8">
    <title>enterprise-desk GraphiQL</title>
    {styles}
  </head>
  <body>
    <div id="graphiql" class="graphiql-container">Loading…</div>
    {scripts}
  </body>
</html>
"""


async def serve_asset(request: Request) -> Response:
    """GET /static/graphiql/{path}: one of the page's files, gzipped when the client takes it."""
    found = asset(request.path_params["path"])
    if found is None:
        return Response("Not Found", status_code=404, media_type="text/plain")
    headers = {"Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        # graphiql.min.js is 3.4 MB, about 0.9 MB gzipped; compressed once, off the loop.
        body = await asyncio.to_thread(_gzipped, request.path_params["path"])
        headers["Content-Encoding"] = "gzip"
    else:
        body = found.data
    return Response(body, media_type=found.media_type, headers=headers)
