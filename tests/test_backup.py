"""`enterprise-desk backup DEST` as an operator runs it: SQLite copied online while a real server
writes, then served from the copy; PostgreSQL dumped with pg_dump and restored with
pg_restore into another database; the refusals."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import asyncpg
import httpx
import pytest

from models.db.config import libpq_dsn
from models.tables.org import User
from tests.conftest import DB_URL, IS_POSTGRES
from tests.factories import make_user
from tests.processes import fresh_side_database, ready, side_url, spawn_server
from tests.test_cli import BIN

LOGIN = """mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) {
  accessToken errors { code } } }"""
ADMIN_PASSWORD = "first-admin-password"


def sqlite_env(cwd: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    return {**env, "ENTERPRISE_DESK_ADMIN_PASSWORD": ADMIN_PASSWORD, **extra}


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


async def login(http: httpx.AsyncClient, username: str) -> dict:
    resp = await http.post(
        "/graphql", json={"query": LOGIN, "variables": {"u": username, "p": ADMIN_PASSWORD}}
    )
    return dict(resp.json()["data"]["login"])


async def test_sqlite_backup_while_the_server_writes_then_serve_the_copy(tmp_path: Path):
    live, restored = tmp_path / "live", tmp_path / "restored"
    live.mkdir()
    restored.mkdir()
    env = sqlite_env(live)
    assert run(["createadmin", "--username", "root"], live, env).returncode == 0
    server = spawn_server(live, env, "serve")
    try:
        await ready(server)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:

            async def keep_writing() -> int:
                n = 0  # every sign-in writes a refresh token row
                while True:
                    assert (await login(http, "root"))["errors"] == []
                    n += 1
                    await asyncio.sleep(0)

            writer = asyncio.create_task(keep_writing())
            await asyncio.sleep(0.5)
            dest = tmp_path / "desk-copy.sqlite3"
            made = await asyncio.to_thread(run, ["backup", str(dest)], live, env)
            await asyncio.sleep(0.2)
            writer.cancel()
            assert made.returncode == 0, made.stderr
            assert "backed up" in made.stdout
    finally:
        server.stop()

    with sqlite3.connect(dest) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("SELECT username FROM app_user").fetchall() == [("root",)]
        tokens = copy.execute("SELECT count(*) FROM refresh_token").fetchone()[0]
    assert tokens >= 1  # sign-ins made before the copy are in it
    assert not (tmp_path / "desk-copy.sqlite3.partial").exists()

    # Restoring is pointing DATABASE_URL at the copy: it serves, and the admin signs in.
    copy_env = sqlite_env(restored, DATABASE_URL=f"sqlite://{dest}")
    server = spawn_server(restored, copy_env, "serve-copy")
    try:
        await ready(server)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            assert (await login(http, "root"))["errors"] == []
    finally:
        server.stop()

    again = run(["backup", str(dest)], live, env)
    assert again.returncode == 1 and "exists" in again.stderr  # never overwritten


@pytest.mark.skipif(not IS_POSTGRES, reason="pg_dump backs up PostgreSQL")
async def test_postgres_backup_restores_into_another_database(db, tmp_path: Path):
    for name in ("alice", "bob"):
        await make_user(name, None, None)
    expected = sorted(await User.all().values_list("username", flat=True))
    env = {**os.environ, "DATABASE_URL": DB_URL}
    dest = tmp_path / "desk.dump"
    made = await asyncio.to_thread(run, ["backup", str(dest)], tmp_path, env)
    assert made.returncode == 0, made.stderr

    target = await fresh_side_database("restore", migrate=False)
    pg_restore = shutil.which("pg_restore")
    assert pg_restore, "pg_restore (postgresql-client) is needed to check the dump"
    restored = await asyncio.to_thread(
        subprocess.run,
        [pg_restore, "--no-owner", f"--dbname={libpq_dsn(target)}", str(dest)],
        capture_output=True,
        text=True,
    )
    assert restored.returncode == 0, restored.stderr
    conn = await asyncpg.connect(libpq_dsn(target))
    try:
        rows = await conn.fetch("SELECT username FROM app_user ORDER BY username")
        migrations = await conn.fetchval("SELECT count(*) FROM tortoise_migrations")
    finally:
        await conn.close()
    assert [r["username"] for r in rows] == expected
    assert migrations > 0  # the copy knows its schema version: `serve` will not re-migrate


@pytest.mark.skipif(not IS_POSTGRES, reason="pg_dump backs up PostgreSQL")
def test_postgres_backup_without_pg_dump_says_what_to_install(tmp_path: Path):
    env = {**os.environ, "DATABASE_URL": side_url("absent"), "PATH": str(tmp_path)}
    made = run(["backup", str(tmp_path / "x.dump")], tmp_path, env)
    assert made.returncode == 1
    assert "pg_dump is not on PATH" in made.stderr
    assert not (tmp_path / "x.dump").exists()
