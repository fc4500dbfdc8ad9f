"""The test command: `python -m tests [pytest args]`.

Runs the whole suite twice, in separate pytest processes (tortoise caches SQL across
re-inits): once on SQLite, once on PostgreSQL at TEST_DATABASE_URL (default: the server at
127.0.0.1:5432 as `postgres`, connecting to its `test` database). They run side by side, each
into a log of its own printed when all are done: one after the other they took 18 minutes on
the 2-core CI machine, most of it waiting (servers starting, timeouts running out), not
computing. Without arguments the PostgreSQL suite is split by file in two halves. Every pytest
process on PostgreSQL makes its own databases and drops them when it ends
(tests.owned_databases): the database TEST_DATABASE_URL names is only connected to, and the
role needs CREATEDB. With CI=true, a PostgreSQL run that skips any test fails."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/test"


def _start(env: dict[str, str], args: list[str], report: Path, log: Path) -> subprocess.Popen:
    # The slowest tests of each run are listed at its end: what to look at when CI grows slow.
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--durations=15"]
    cmd += [f"--junitxml={report}", *args]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)


def _counts(code: int, report: Path) -> dict[str, int]:
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "exit": code}
    if report.exists():
        root = ET.parse(report).getroot()
        suite = root if root.tag == "testsuite" else root.find("testsuite")
        if suite is not None:
            for key in ("tests", "failures", "errors", "skipped"):
                counts[key] = int(suite.get(key, 0))
    return counts


def _halves() -> tuple[list[str], list[str]]:
    """The test files in two halves of about equal length, alternating by name."""
    files = sorted(str(p) for p in Path(__file__).parent.glob("test_*.py"))
    return files[0::2], files[1::2]


def main() -> int:
    args = sys.argv[1:]
    tmp = Path(tempfile.mkdtemp(prefix="enterprise-desk-junit-"))
    base_env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
    pg_url = os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    pg_env = {**base_env, "TEST_DATABASE_URL": pg_url}
    runs = {"SQLite": (base_env, args), "PostgreSQL": (pg_env, args)}
    if not args:
        first, second = _halves()
        runs["PostgreSQL"] = (pg_env, first)
        runs["PostgreSQL, second half"] = (pg_env, second)
    running = {
        label: _start(env, run_args, tmp / f"{label}.xml", tmp / f"{label}.log")
        for label, (env, run_args) in runs.items()
    }
    parts = {}
    for label, proc in running.items():
        code = proc.wait()
        print(f"\n===== {label} =====", flush=True)
        sys.stdout.buffer.write((tmp / f"{label}.log").read_bytes())
        sys.stdout.flush()
        parts[label] = _counts(code, tmp / f"{label}.xml")
    results = {"SQLite": parts["SQLite"], "PostgreSQL": parts["PostgreSQL"]}
    if "PostgreSQL, second half" in parts:
        other = parts["PostgreSQL, second half"]
        results["PostgreSQL"] = {
            key: value + other[key] if key != "exit" else max(value, other[key])
            for key, value in results["PostgreSQL"].items()
        }
    failed = 0
    passed = 0
    for label, c in results.items():
        bad = c["failures"] + c["errors"]
        ok = c["tests"] - bad - c["skipped"]
        print(f"{label}: {ok} passed, {bad} failed, {c['skipped']} skipped (exit {c['exit']})")
        failed += bad
        passed += ok
        if c["exit"] not in (0,) and bad == 0:
            failed += 1  # pytest itself failed (collection error, no tests, unreachable DB)
    if os.environ.get("CI") == "true" and results["PostgreSQL"]["skipped"]:
        print("CI: PostgreSQL tests were skipped; that is a failure here")
        failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
