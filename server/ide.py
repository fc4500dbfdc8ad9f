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

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from server.static_bundle import Bundle

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


BUNDLE = Bundle(STATIC, PREFIX, STYLES + SCRIPTS)
asset = BUNDLE.asset
asset_url = BUNDLE.url


@cache
def graphiql_page() -> str:
    styles = "\n    ".join(BUNDLE.tag(name) for name in STYLES)
    scripts = "\n    ".join(BUNDLE.tag(name) for name in SCRIPTS)
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
    return await BUNDLE.serve(request)
