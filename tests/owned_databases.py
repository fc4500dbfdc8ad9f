"""The PostgreSQL databases a test run owns.

TEST_DATABASE_URL names a server, a role that may create databases (CREATEDB), and a database
to connect to while creating them; the tests never write to that database. Each pytest process
makes a database of its own, `<that database>_run<random>` (and side databases beside it,
`<its name>_<suffix>`), marks each with a comment naming this host and process, and drops what
it made when it ends. A database without this process's mark is never changed or dropped: a
name that is already taken is refused, not reused. Databases left by a run that was killed
(its mark names this host and a process that is gone) are dropped by the next run."""

from __future__ import annotations

import os
import re
import secrets
import socket
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from models.db.config import libpq_dsn
from server.pids import alive

MARK = "enterprise-desk test run"
_MARK_RE = re.compile(rf"^{MARK} host=(?P<host>\S+) pid=(?P<pid>\d+)$")


def our_mark() -> str:
    return f"{MARK} host={socket.gethostname()} pid={os.getpid()}"


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def run_url(given: str) -> str:
    """A new, unused name for this run's database beside the one `given` names."""
    return with_database(given, f"{database_name(given)}_run{secrets.token_hex(4)}")


async def admin_connect(given: str) -> asyncpg.Connection:
    """A connection for CREATE/DROP/ALTER DATABASE: to the database `given` names, or to
    `postgres` when that one does not exist (a database cannot drop or lock out itself, and
    the run's own database is not one to connect to for that)."""
    try:
        return await asyncpg.connect(libpq_dsn(given))
    except asyncpg.InvalidCatalogNameError:
        return await asyncpg.connect(libpq_dsn(with_database(given, "postgres")))


async def _mark_of(admin: asyncpg.Connection, name: str) -> str | None:
    """The comment on database `name`; '' when it has none, None when it does not exist."""
    row = await admin.fetchrow(
        "SELECT coalesce(shobj_description(oid, 'pg_database'), '') AS mark "
        "FROM pg_database WHERE datname = $1",
        name,
    )
    return None if row is None else str(row["mark"])


async def create_owned(admin: asyncpg.Connection, name: str) -> None:
    """Create database `name` and mark it as this process's; refuses a name already taken."""
    mark = await _mark_of(admin, name)
    if mark is not None:
        raise RuntimeError(
            f"database {name!r} already exists and was not made by this test run; "
            "the tests do not touch a database they did not create"
        )
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{our_mark()}'")
    # Test databases are thrown away: commits need not wait for the disk.
    await admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit TO off')


async def is_owned(admin: asyncpg.Connection, name: str) -> bool:
    return await _mark_of(admin, name) == our_mark()


async def drop_owned(admin: asyncpg.Connection, name: str) -> None:
    """Drop database `name` if this process made it; anything else is left alone."""
    if await is_owned(admin, name):
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def drop_abandoned(admin: asyncpg.Connection) -> list[str]:
    """Drop the databases of earlier runs on this host whose process is gone (a killed run
    cannot clean up after itself). Returns their names."""
    rows = await admin.fetch(
        "SELECT datname, shobj_description(oid, 'pg_database') AS mark FROM pg_database "
        "WHERE shobj_description(oid, 'pg_database') LIKE $1",
        f"{MARK} %",
    )
    host = socket.gethostname()
    dropped = []
    for row in rows:
        found = _MARK_RE.match(row["mark"] or "")
        if found and found["host"] == host and not alive(int(found["pid"])):
            await admin.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
            dropped.append(str(row["datname"]))
    return dropped
