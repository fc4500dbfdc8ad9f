"""The supervisor console (驾驶舱) at /console/: a page of plain ES modules under
server/static/console/ (no build step), a client of /graphql and /exports like the apps; it
imports nothing from the Python packages and the server knows nothing of its figures.

Served by the same mechanism as GraphiQL (server.static_bundle): every file from this package,
pinned by its digest, cached for a year under a URL that carries the bundle's digest, so the
modules' relative imports are versioned too. Unlike GraphiQL it is served in production. Its
Content-Security-Policy names only 'self': the page holds no inline script or style, and the
charts (Apache ECharts, vendored, README.md there) draw on a canvas."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from server.static_bundle import MEDIA_TYPES, Bundle

STATIC = Path(__file__).parent / "static" / "console"
PREFIX = "/console/static/"
ENTRY = "app.js"
STYLES = ("console.css",)
PRINT_STYLE = "print.css"
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def _files() -> list[str]:
    return sorted(
        p.relative_to(STATIC).as_posix()
        for p in STATIC.rglob("*")
        if p.is_file() and p.suffix in MEDIA_TYPES
    )


BUNDLE = Bundle(STATIC, PREFIX, _files(), versioned_path=True)


def _preload(name: str) -> str:
    found = BUNDLE.asset(name)
    assert found is not None, name
    return f'<link rel="modulepreload" href="{BUNDLE.url(name)}" integrity="{found.integrity}">'


@cache
def console_page() -> str:
    styles = "\n    ".join(BUNDLE.tag(name) for name in STYLES)
    # Every module at once, rather than each when its importer has been read (ECharts too:
    # the charts wait for it, the figures do not).
    preloads = "\n    ".join(
        _preload(name) for name in sorted(BUNDLE.names) if name.endswith(".js") and name != ENTRY
    )
    return f"""<!doctype html>
<html lang="zh-CN">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>营商环境驾驶舱</title>
    <link rel="icon" href="{BUNDLE.url('favicon.svg')}">
    {styles}
    {BUNDLE.tag(PRINT_STYLE, media="print")}
    {BUNDLE.tag(ENTRY)}
    {preloads}
  </head>
  <body>
    <main id="app"><p class="loading">加载中… Loading…</p></main>
  </body>
</html>
"""


async def page(request: Request) -> Response:
    """GET /console/: the page (the same for everyone; what it shows depends on the token)."""
    return HTMLResponse(console_page(), headers={"Content-Security-Policy": CONSOLE_CSP})


async def to_page(request: Request) -> Response:
    return RedirectResponse("/console/", status_code=308)


ROUTES = [
    Route("/console", to_page, methods=["GET"]),
    Route("/console/", page, methods=["GET"]),
    Route("/console/static/{version}/{path:path}", BUNDLE.serve, methods=["GET"]),
]
