"""What the push benches share: their loopback gateway fake, served by the bench script itself
in a subprocess (`<script> --serve-fake PORT`) on a free port, ready once GET /stats answers,
and their users (who cannot sign in).

    with fake_gateway(__file__) as url:   # stopped when the block ends
        ...
    ids = await make_users(2500)          # in an initialised tortoise

Imported as `from _push import …`: the scripts run as `.venv/bin/python bench/<script>.py`,
which puts bench/ first on sys.path."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from _server import free_port

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def fake_gateway(script: str) -> Iterator[str]:
    port = free_port()
    fake = subprocess.Popen(
        [sys.executable, script, "--serve-fake", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(f"{url}/stats", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        fake.terminate()
        fake.wait(timeout=20)


async def make_users(count: int) -> list[int]:
    """`count` users bench00000, bench00001, ... with an unusable password; their ids."""
    from models.tables.org import User

    await User.bulk_create(
        [
            User(username=f"bench{i:05d}", display_name=f"bench{i:05d}", password_hash="!")  # noqa: S106 - unusable hash
            for i in range(count)
        ],
        batch_size=1000,
    )
    return list(
        await User.filter(username__startswith="bench").order_by("id").values_list("id", flat=True)
    )
