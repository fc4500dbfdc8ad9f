"""`enterprise-desk backup DEST`: a consistent copy of the database while the server runs.

- SQLite: sqlite3's online backup API, one step under a read transaction (the database is in
  WAL mode, so writers carry on meanwhile), then `PRAGMA quick_check` on the copy.
- PostgreSQL: `pg_dump -Fc` (a consistent snapshot; restore with `pg_restore`). The connection
  goes to pg_dump through PG* environment variables, so the password never shows in `ps`.

Written to `DEST.partial` and renamed when complete: a failed backup leaves no file at DEST,
and an existing DEST is never overwritten."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from tortoise.backends.base.config_generator import expand_db_url

from models.db.config import normalize_db_url


class BackupError(RuntimeError):
    """Why no backup was made (shown to the operator as is)."""


def _partial(dest: Path) -> Path:
    if dest.exists():
        raise BackupError(f"{dest} exists; choose a new file name")
    if not dest.parent.is_dir():
        raise BackupError(f"no such directory: {dest.parent}")
    part = dest.with_name(dest.name + ".partial")
    part.unlink(missing_ok=True)
    return part


def backup_sqlite(db_url: str, dest: Path) -> int:
    """Copy the SQLite database; returns the copy's size in bytes."""
    path = str(expand_db_url(db_url)["credentials"]["file_path"])
    if path == ":memory:" or not Path(path).is_file():
        raise BackupError(f"no SQLite database at {path}")
    part = _partial(dest)
    source = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
    try:
        target = sqlite3.connect(part)
        try:
            source.backup(target)  # all pages in one step: one consistent snapshot
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            (verdict,) = target.execute("PRAGMA quick_check").fetchone()
        finally:
            target.close()
    except sqlite3.Error as err:
        part.unlink(missing_ok=True)
        raise BackupError(f"SQLite backup failed: {err}") from None
    finally:
        source.close()
    if verdict != "ok":
        part.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its check: {verdict}")
    part.rename(dest)
    return dest.stat().st_size


def pg_environment(db_url: str) -> dict[str, str]:
    """PG* variables for libpq tools from a DATABASE_URL (pool parameters dropped)."""
    creds = expand_db_url(db_url)["credentials"]
    names = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "database": "PGDATABASE"}
    env = {var: str(creds[key]) for key, var in names.items() if creds.get(key)}
    if creds.get("password"):
        env["PGPASSWORD"] = str(creds["password"])
    return env


def backup_postgres(db_url: str, dest: Path) -> int:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError(
            "pg_dump is not on PATH: install the PostgreSQL client of the server's major "
            "version (Debian: apt-get install postgresql-client) or run pg_dump yourself"
        )
    part = _partial(dest)
    env = {**os.environ, **pg_environment(db_url)}
    done = subprocess.run(  # noqa: S603 - a fixed program and arguments, no shell
        [pg_dump, "--format=custom", "--no-password", f"--file={part}"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        part.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed ({done.returncode}): {done.stderr.strip()}")
    part.rename(dest)
    return dest.stat().st_size


def backup(db_url: str, dest: Path) -> int:
    url = normalize_db_url(db_url)
    if url.startswith("sqlite"):
        return backup_sqlite(url, dest)
    if url.startswith("postgres"):
        return backup_postgres(url, dest)
    raise BackupError(f"backup supports SQLite and PostgreSQL, not {url.split(':', 1)[0]}")
