"""Real `enterprise-desk` processes for the scale-out tests (started as an operator would, with
environment settings), and side databases next to TEST_DATABASE_URL on the same PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import DB_URL, GIVEN_URL, TEST_SECRET
from tests.owned_databases import (
    admin_connect,
    create_owned,
    database_name,
    drop_owned,
    is_owned,
    with_database,
)
from tests.test_cli import BIN, _free_port


@dataclass
class Process:
    proc: subprocess.Popen
    log: Path
    url: str = ""  # a server's base URL

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUSH_", "DATABASE_"))}
    env.update(
        DATABASE_URL=DB_URL,
        SECRET_KEY=TEST_SECRET,
        DATA_DIR=str(data_dir),
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def spawn(args: list[str], cwd: Path, env: Mapping[str, str], name: str) -> Process:
    cwd.mkdir(parents=True, exist_ok=True)
    log = cwd / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN), *args], cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT
        )
    return Process(proc, log)


async def eventually(check: Callable[[], Awaitable[bool]], why: str, seconds: float = 120) -> None:
    """Until `check()` holds. The bound only keeps a broken run from hanging, it measures no
    speed: the slow alternatives (re-checks, cache lifetimes) are set to an hour, so only the
    mechanism under test can make `check` hold within it."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                if await check():
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(why) from None


def spawn_server(cwd: Path, env: Mapping[str, str], name: str, *extra: str) -> Process:
    port = _free_port()
    p = spawn(["serve", "--no-migrate", "--port", str(port), *extra], cwd, env, name)
    p.url = f"http://127.0.0.1:{port}"
    return p


async def ready(p: Process, *, line: str | None = None, seconds: float = 45) -> None:
    """Until a server answers /readyz (or a worker printed `line`); fails with its output."""
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=1) as http:
        while time.monotonic() < deadline:
            if p.proc.poll() is not None:
                raise AssertionError(f"{p.log.name} exited:\n{p.output()}")
            if line is not None:
                if line in p.output():
                    return
            else:
                try:
                    if (await http.get(f"{p.url}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{p.log.name} not ready in {seconds} s:\n{p.output()}")


# Side databases made in this test process: dropped when the session ends (tests.conftest).
SIDE_DATABASES: set[str] = set()


async def drop_side_databases() -> None:
    if not SIDE_DATABASES:
        return
    admin = await admin_connect(GIVEN_URL)
    try:
        for url in sorted(SIDE_DATABASES):
            await drop_owned(admin, database_name(url))
    finally:
        await admin.close()
    SIDE_DATABASES.clear()


def side_url(suffix: str) -> str:
    """This run's database name + `_suffix`, on the same server."""
    return with_database(DB_URL, f"{database_name(DB_URL)}_{suffix}")


async def fresh_side_database(suffix: str, *, migrate: bool = True) -> str:
    """An empty database `<run db>_<suffix>` that this run makes (or made earlier, and then
    empties), migrated by `enterprise-desk migrate` unless told not to (in this process,
    migrating would re-point tortoise's connections); returns its URL."""
    url = side_url(suffix)
    name = database_name(url)
    admin = await admin_connect(GIVEN_URL)
    try:
        if url in SIDE_DATABASES and await is_owned(admin, name):
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        SIDE_DATABASES.add(url)
        await create_owned(admin, name)
    finally:
        await admin.close()
    if migrate:
        env = {**os.environ, "DATABASE_URL": url}
        done = await asyncio.to_thread(
            subprocess.run, [str(BIN), "migrate"], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
    return url
