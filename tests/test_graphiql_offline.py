"""Nothing the server's pages use comes from the internet (a 政务内网 has no route to it).

Every HTML page the server answers (GraphiQL on GET /graphql in development, the supervisor
console on /console/, and whatever other route answers a browser with HTML) is read as a browser would: each asset URL it names
(script src, link href, any src/href), then what those assets load in turn (url() and @import
in stylesheets, imports and workers in scripts). Each must be on this server, and each is
fetched from it: 200, a plausible content type, the bytes its `integrity` attribute pins, a
year of caching. The page's Content-Security-Policy names no other origin. When a Chromium is
installed, it loads the page with every name but 127.0.0.1 unresolvable and must render
GraphiQL with no failed request and no policy violation on its console."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from starlette.routing import Route

from server.app import create_app
from server.console import BUNDLE as CONSOLE
from server.ide import PREFIX, SCRIPTS, STATIC, STYLES
from server.settings import Settings
from tests.conftest import TEST_SECRET, start_server, stop_server

HTML = {"Accept": "text/html"}
CDN_HOSTS = ("unpkg", "jsdelivr", "cdnjs", "googleapis", "gstatic", "bootcdn", "staticfile")
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.DOTALL)
_CSS_IMPORT = re.compile(r"""@import\s+(['"])(.*?)\1""")
# What makes a script load something more (a literal argument; a line of a comment is not code).
_JS_LOADS = re.compile(
    r"""(?:\bimport\s*\(|\bimportScripts\s*\(|\bnew\s+(?:Shared)?Worker\s*\(|"""
    r"""\bserviceWorker\.register\s*\(|^\s*import\s[^'"]*?\bfrom\s|^\s*import\s)\s*(['"`])(.+?)\1""",
    re.MULTILINE,
)
_JS_ABSOLUTE = re.compile(
    r"""(?:\bfetch\s*\(|\.(?:src|href)\s*=|url\()\s*['"`]?((?:https?:)?//[^'"`)\s]+)"""
)
_SOURCE_MAP = re.compile(r"[#@]\s*sourceMappingURL=(\S+?)(?:\s*\*/)?\s*$", re.MULTILINE)


class _Assets(HTMLParser):
    """Every URL an HTML page names, and its inline scripts and styles."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, dict[str, str | None]]] = []  # (tag, url, attributes)
        self.inline: list[str] = []
        self._tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag = tag
        named = dict(attrs)
        for key in ("src", "href", "srcset", "action", "data", "poster"):
            value = named.get(key)
            if value:
                self.urls.append((tag, value, named))
        if "style" in named:
            self.inline.append(f"style attribute on <{tag}>")
        if tag == "script" and not named.get("src"):
            self.inline.append("inline <script>")

    def handle_data(self, data: str) -> None:
        if self._tag == "style" and data.strip():
            self.inline.append("inline <style>")

    def handle_endtag(self, tag: str) -> None:
        self._tag = ""


def _on_server(base: str, url: str) -> str:
    """The URL resolved against `base`, failing unless it is on the server `base` is on."""
    absolute = urljoin(base, url.strip())
    target, origin = urlsplit(absolute), urlsplit(base)
    assert (target.scheme, target.netloc) == (origin.scheme, origin.netloc), (
        f"{url!r} in {base} is not on this server"
    )
    return absolute


def _lines_of_code(text: str) -> str:
    return "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith(("*", "/*", "//"))
    )


async def _check_asset(http: httpx.AsyncClient, url: str, kind: str, seen: set[str]) -> None:
    """Fetch one asset and, for a stylesheet or script, what it loads in turn."""
    if url in seen:
        return
    seen.add(url)
    resp = await http.get(url, headers={"Accept-Encoding": "gzip"})
    assert resp.status_code == 200, (url, resp.status_code)
    media = resp.headers["content-type"].split(";")[0]
    expected = {"script": "text/javascript", "style": "text/css"}.get(kind)
    if expected:
        assert media == expected, (url, media)
    ages = re.findall(r"max-age=(\d+)", resp.headers.get("cache-control", ""))
    assert ages and int(ages[0]) >= 365 * 24 * 3600, (url, resp.headers.get("cache-control"))
    if media == "text/css":
        for found in [m[1] for m in _CSS_URL.findall(resp.text)] + [
            m[1] for m in _CSS_IMPORT.findall(resp.text)
        ]:
            if found.startswith("data:"):
                continue  # inline: nothing to load
            await _check_asset(http, _on_server(url, found), "any", seen)
        assert not any(host in resp.text for host in CDN_HOSTS), url
    if media == "text/javascript":
        code = _lines_of_code(resp.text)
        for _, found in _JS_LOADS.findall(code):
            await _check_asset(http, _on_server(url, found), "script", seen)
        assert _JS_ABSOLUTE.findall(code) == [], url
    for source_map in _SOURCE_MAP.findall(resp.text):
        # Only a browser's developer tools ask for a source map; they are not shipped, but
        # must not name another server either.
        _on_server(url, source_map)


async def _check_page(http: httpx.AsyncClient, url: str, seen: set[str]) -> list[str]:
    """Check an HTML page's assets; returns the asset URLs it names."""
    page = await http.get(url, headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    parser = _Assets()
    parser.feed(page.text)
    assert parser.inline == [], (url, parser.inline)
    assert not any(host in page.text for host in CDN_HOSTS), url
    named = []
    for tag, found, attrs in parser.urls:
        absolute = _on_server(str(page.url), found)
        kind = "script" if tag == "script" else "style" if attrs.get("rel") == "stylesheet" else ""
        await _check_asset(http, absolute, kind or "any", seen)
        integrity = attrs.get("integrity")
        if kind:
            assert integrity, found  # each script and stylesheet is pinned by its digest
            algorithm, _, digest = integrity.partition("-")
            body = (await http.get(absolute)).content
            assert base64.b64decode(digest) == hashlib.new(algorithm, body).digest(), found
        named.append(absolute)
    return named


def _policy(csp: str) -> dict[str, list[str]]:
    return {
        parts[0]: parts[1:]
        for parts in (d.split() for d in csp.split(";"))
        if parts  # an empty directive after a trailing ';'
    }


async def test_graphiql_names_only_assets_the_server_serves(gql):
    http = gql.http
    named = await _check_page(http, "/graphql", set())
    assert sorted(urlsplit(u).path for u in named) == sorted(PREFIX + n for n in STYLES + SCRIPTS)
    page = await http.get("/graphql", headers=HTML)
    policy = _policy(page.headers["content-security-policy"])
    sources = {s for values in policy.values() for s in values}
    # 'self', and data: for the fonts and icons GraphiQL's stylesheet carries inline; a
    # style by its hash (server/ide.py); no other origin, nothing inline by default.
    assert {s for s in sources if not s.startswith("'sha256-")} == {"'none'", "'self'", "data:"}
    assert policy["script-src"] == ["'self'"] and policy["connect-src"] == ["'self'"]
    assert "data:" not in policy["script-src"] + policy["style-src"] + policy["connect-src"]
    assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]


async def test_assets_are_exactly_the_pinned_files_and_nothing_else_is_served(gql):
    http = gql.http
    for name in STYLES + SCRIPTS:
        plain = await http.get(f"{PREFIX}{name}", headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200 and "content-encoding" not in plain.headers
        assert plain.content == (STATIC / name).read_bytes()
        zipped = await http.get(f"{PREFIX}{name}", headers={"Accept-Encoding": "gzip"})
        assert zipped.headers.get("content-encoding") == "gzip"
        assert zipped.content == plain.content  # httpx inflates it
        assert "Accept-Encoding" in zipped.headers["vary"]
    # Each vendored file is the build its README pins (package@version, SHA-384) and keeps its
    # licence beside it, in the package; licences, the README and anything outside the list
    # are not served.
    pinned = dict(
        re.findall(
            r"^\| `([^`]+)` \|.*\| `sha384-([^`]+)` \|$", (STATIC / "README.md").read_text(), re.M
        )
    )
    vendored = [name for name in STYLES + SCRIPTS if "@" in name]
    assert sorted(pinned) == sorted(vendored)
    for name in vendored:
        digest = hashlib.sha384((STATIC / name).read_bytes()).digest()
        assert base64.b64encode(digest).decode() == pinned[name], name
        assert (STATIC / name).parent.joinpath("LICENSE").is_file(), name
    for path in (
        "react@18.2.0/LICENSE",
        "README.md",
        "../ide.py",
        "..%2Fide.py",
        "%2e%2e/%2e%2e/app.py",
        "graphiql@3.8.3/graphiql.min.js.map",
        "",
    ):
        resp = await http.get(f"{PREFIX}{path}")
        assert resp.status_code == 404, path


async def test_every_html_page_the_server_answers_is_checked(gql, db):
    """Any route (path parameters filled with a placeholder) that answers a browser with HTML
    gets the same check, so a page added later cannot bring a CDN back unnoticed."""
    app = create_app(Settings(database_url=db, secret_key=TEST_SECRET), init_db=False)
    http, seen = gql.http, set[str]()
    pages = []
    for route in app.routes:
        if not isinstance(route, Route) or "GET" not in (route.methods or ()):
            continue
        path = re.sub(r"\{[^}]+\}", "x", route.path)
        resp = await http.get(path, headers=HTML)
        if resp.headers.get("content-type", "").startswith("text/html"):
            pages.append(route.path)
            await _check_page(http, path, seen)
    # GraphiQL and the supervisor console (server/console.py); a new page is checked above all
    # the same.
    assert pages == ["/graphql", "/console/"]
    missing = await http.get("/no-such-page", headers=HTML)
    assert not missing.headers["content-type"].startswith("text/html")


async def test_production_serves_neither_graphiql_nor_its_files(db):
    settings = Settings(database_url=db, secret_key=TEST_SECRET, environment="production")
    server, task, url = await start_server(settings)
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            for name in STYLES + SCRIPTS:
                assert (await http.get(f"{PREFIX}{name}")).status_code == 404
    finally:
        await stop_server(server, task)


async def test_the_console_names_only_this_server_and_production_serves_it(db):
    """The supervisor console (server/console.py) is a product page: served in production too,
    its policy 'self' only, with no exception (no data:, no hash, nothing inline)."""
    settings = Settings(database_url=db, secret_key=TEST_SECRET, environment="production")
    server, task, url = await start_server(settings)
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            named = await _check_page(http, "/console/", set())
            assert any(u.endswith("/app.js") for u in named)
            page = await http.get("/console/", headers=HTML)
            policy = _policy(page.headers["content-security-policy"])
            assert {s for values in policy.values() for s in values} == {"'none'", "'self'"}
            assert policy["default-src"] == ["'none'"] and policy["connect-src"] == ["'self'"]
            moved = await http.get("/console")
            assert (moved.status_code, moved.headers["location"]) == (308, "/console/")
            # An old page's files are gone with it; what is not in the bundle is not served.
            for path in (
                "0000000000000000/app.js",
                f"{CONSOLE.version}/echarts@5.6.0/LICENSE",
                f"{CONSOLE.version}/README.md",
                f"{CONSOLE.version}/%2e%2e/%2e%2e/console.py",
                f"{CONSOLE.version}/..%2Fconsole.css",
            ):
                assert (await http.get(f"/console/static/{path}")).status_code == 404
    finally:
        await stop_server(server, task)
    # ECharts is the build its README pins (npm registry, SHA-384), its licence beside it.
    pinned = dict(
        re.findall(
            r"^\| `([^`]+)` \|.*\| `sha384-([^`]+)` \|$",
            (CONSOLE.root / "README.md").read_text(),
            re.M,
        )
    )
    vendored = sorted(n for n in CONSOLE.names if "@" in n)
    assert sorted(pinned) == vendored
    for name in vendored:
        digest = hashlib.sha384((CONSOLE.root / name).read_bytes()).digest()
        assert base64.b64encode(digest).decode() == pinned[name], name
        assert (CONSOLE.root / name).parent.joinpath("LICENSE").is_file(), name


# --- a real browser, offline ---------------------------------------------------------------

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)


@pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="no Chromium installed (Debian: apt-get install chromium)",
)
async def test_a_browser_with_no_internet_renders_graphiql(gql, tmp_path: Path):
    assert CHROMIUM is not None, "CI installs Chromium (.ci/run): the page is tested in a browser"
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        "--headless",
        "--no-sandbox",  # tests run as root
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={tmp_path}",
        # No name resolves but the server's address: any request to the internet fails and is
        # logged on the console.
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--virtual-time-budget=20000",  # run the page's scripts and fetches to rest
        "--enable-logging=stderr",
        "--log-level=0",
        "--dump-dom",
        str(gql.http.base_url).rstrip("/") + "/graphql",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 180)
    dom = out.decode()
    console = [line for line in err.decode().splitlines() if ":CONSOLE" in line]
    assert process.returncode == 0, err.decode()[-2000:]
    # GraphiQL ran (its editors exist only once React rendered it), with the explorer plugin.
    assert 'class="graphiql-query-editor"' in dom, dom[:2000]
    assert 'aria-label="Show GraphiQL Explorer"' in dom
    assert "Loading…" not in dom
    # Nothing failed to load, nothing broke the policy, nothing threw.
    assert console == []
