"""A folder of a page's static files, served from this package (no CDN: an intranet has no
route to the internet). Used by GraphiQL (server/ide.py) and the supervisor console
(server/console.py).

Each file is read once and kept with its SHA-384 (for the page's `integrity` attributes) and a
short digest (for its URL), gzipped once on first request when the client takes gzip. Assets
are cached for a year: a changed file gets a new URL. Only the files the bundle names are
served; licences, READMEs and paths out of the folder are not."""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
CACHE_CONTROL = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    data: bytes
    media_type: str
    integrity: str  # sha384-…, for the page's `integrity` attribute
    version: str  # a short digest, for the URL


class Bundle:
    """The files `names` (paths under `root`), served under `prefix`. With `versioned_path`,
    the prefix ends in a digest of every file (`{prefix}{digest}/{name}`): ES modules import
    each other by relative URLs, which then carry the version too; otherwise each URL carries
    its own file's digest as `?v=`."""

    def __init__(
        self, root: Path, prefix: str, names: Iterable[str], *, versioned_path: bool = False
    ) -> None:
        self.root = root
        self.prefix = prefix
        self.names = frozenset(names)
        self.versioned_path = versioned_path

    def asset(self, name: str) -> Asset | None:
        """One of the bundle's files by its path under root; None for anything else."""
        return self._load(name) if name in self.names else None

    @cache  # noqa: B019 - a bundle lives as long as the process
    def _load(self, name: str) -> Asset:
        data = (self.root / name).read_bytes()
        return Asset(
            data,
            MEDIA_TYPES[Path(name).suffix],
            "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode(),
            hashlib.sha256(data).hexdigest()[:16],
        )

    @cache  # noqa: B019
    def _gzipped(self, name: str) -> bytes:
        return gzip.compress(self._load(name).data, compresslevel=6, mtime=0)

    @cached_property
    def version(self) -> str:
        """A digest of every file's name and bytes."""
        digest = hashlib.sha256()
        for name in sorted(self.names):
            digest.update(f"{name}\0{self._load(name).version}\0".encode())
        return digest.hexdigest()[:16]

    def url(self, name: str) -> str:
        found = self.asset(name)
        assert found is not None, name
        if self.versioned_path:
            return f"{self.prefix}{self.version}/{name}"
        return f"{self.prefix}{name}?v={found.version}"

    def tag(self, name: str, *, media: str = "") -> str:
        """The <link> or <script> that loads one file, pinned by its digest; a script that
        ends in `.mjs` or lives in a versioned bundle is an ES module."""
        found = self.asset(name)
        assert found is not None, name
        if name.endswith(".css"):
            extra = f' media="{media}"' if media else ""
            return (
                f'<link rel="stylesheet" href="{self.url(name)}"{extra} '
                f'integrity="{found.integrity}">'
            )
        module = ' type="module"' if self.versioned_path else ""
        return f'<script{module} src="{self.url(name)}" integrity="{found.integrity}"></script>'

    async def serve(self, request: Request) -> Response:
        """GET {prefix}{path} (or {prefix}{version}/{path}): one file, gzipped when the
        client takes it."""
        if self.versioned_path and request.path_params.get("version") != self.version:
            found = None  # an old page's URL: its files are gone with it
        else:
            found = self.asset(request.path_params["path"])
        if found is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        headers = {"Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", "").lower():
            # Large scripts (graphiql.min.js 3.4 MB, ECharts 1 MB): compressed once, off the loop.
            body = await asyncio.to_thread(self._gzipped, request.path_params["path"])
            headers["Content-Encoding"] = "gzip"
        else:
            body = found.data
        return Response(body, media_type=found.media_type, headers=headers)
