"""Response times of the supervisor's statistics queries on large data sets: for each size a
database loaded with `enterprise-desk demo --enterprises <max(2000, size // 50)> --demands
<size>`, one `enterprise-desk serve` on it, and each query POSTed to /graphql by the county
supervisor (`supervisor`, the demo password) once to warm up and then `--repeat` times; the
median milliseconds go in a table, one row per query, one column per database and size, plus
"growth 100k→1M" (the 1M time ÷ the 100k time) when both sizes were timed.

    .venv/bin/python bench/stats_queries.py [--sizes 10000,100000,1000000]
        [--sqlite-sizes 100000] [--repeat 3] [--reuse]
        [--postgres postgres://postgres@127.0.0.1:5432]
    .venv/bin/python bench/stats_queries.py --database-url URL [--repeat 3]

PostgreSQL sizes load into databases named bench_stats_<size> on the `--postgres` server,
dropped and created afresh each run; with `--reuse` a database that already holds demands is
timed as it is (load once, time many). SQLite sizes load into a file in a temporary directory,
removed afterwards. An empty `--sizes ""` or `--sqlite-sizes ""` skips that database.
`--database-url` times one database loaded before (PostgreSQL or `sqlite:///path`) instead.

The queries (filters cover the whole demo county; the data end at 2026-11-20):
demandStats of a month (2026-10) and of a year (2025-11-21 to 2026-11-20), every field;
departmentRanking and regionRanking of the year (rank, name, score and some figures);
demandTrend of the year by WEEK and by MONTH (submitted, on time, median handling time);
the deputy head's Monday questions of issue 7 at the scale of the data set: the department and
region rankings of the month, and the market-supervision bureau's (县市场监督管理局) weekly trend
over the quarter before it (2026-07-01 to 2026-10-31);
visitStats of a quarter (2026-Q3) and agencyStats of the year, every field. The "every field"
selections are built from the running server's schema (introspection), so they follow the
schema as it changes; a query the schema does not have yet shows "n/a". The scale demo loads
no visits and no agency requests (only the county, enterprises and demands), so visitStats and
agencyStats time their queries over empty tables and do not grow with the size.

Not a test: numbers go in notes. Sizes of a million or more take long to load and need a
few GB of disk; run them on a quiet machine."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from _server import Server, bench_env, load_demo, serve

MONTH = {"from": "2026-10-01", "to": "2026-10-31"}
QUARTER = {"from": "2026-07-01", "to": "2026-09-30"}
FOUR_MONTHS = {"from": "2026-07-01", "to": "2026-10-31"}
DRILL_DEPARTMENT = "县市场监督管理局"  # the department a trend is drilled into
YEAR = {"from": "2025-11-21", "to": "2026-11-20"}
SUPERVISOR = "supervisor"
GROWTH_FROM, GROWTH_TO = 100_000, 1_000_000
RATE = "{ numerator denominator ratio }"
RANKING = (
    f"id name rank score figures {{ submitted openNow overdueNow onTime {RATE} "
    f"satisfaction {RATE} closure {RATE} handling {{ medianWorkingDays }} }}"
)
TREND = f"from to submitted onTime {RATE} handling {{ medianWorkingDays medianHours }}"
ALL = None  # the selection: every field of the type, built from the schema

Column = tuple[str, int | None]  # database, size (None: a given database)


@dataclass(frozen=True)
class Query:
    label: str
    field: str  # the root Query field
    period: dict[str, str]
    selection: str | None  # None: every field
    extra_args: str = ""
    department: str | None = None  # the filter's departmentId: this department's, by name


QUERIES = (
    Query("demandStats month, every field", "demandStats", MONTH, ALL),
    Query("demandStats year, every field", "demandStats", YEAR, ALL),
    Query("departmentRanking year", "departmentRanking", YEAR, RANKING),
    Query("regionRanking year", "regionRanking", YEAR, RANKING),
    Query("demandTrend year WEEK", "demandTrend", YEAR, TREND, ", interval: WEEK"),
    Query("demandTrend year MONTH", "demandTrend", YEAR, TREND, ", interval: MONTH"),
    Query("departmentRanking month", "departmentRanking", MONTH, RANKING),
    Query("regionRanking month", "regionRanking", MONTH, RANKING),
    Query(
        "demandTrend Jul-Oct WEEK, a department",
        "demandTrend",
        FOUR_MONTHS,
        TREND,
        ", interval: WEEK",
        department=DRILL_DEPARTMENT,
    ),
    Query("visitStats quarter, every field", "visitStats", QUARTER, ALL),
    Query("agencyStats year, every field", "agencyStats", YEAR, ALL),
)

INTROSPECTION = """
{ __schema { queryType { name } types { name kind fields {
    name args { defaultValue type { kind } } type { ...T } } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
"""


class Schema:
    """The running server's types, enough to write out a selection of every field."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.types: dict[str, dict[str, Any]] = {t["name"]: t for t in data["types"]}
        self.query = self.types[data["queryType"]["name"]]

    def root(self, field: str) -> dict[str, Any] | None:
        return next((f for f in self.query["fields"] if f["name"] == field), None)

    def every_field(self, type_name: str, depth: int = 0) -> str:
        """All fields without required arguments; nested figures in full, nested records
        (types with an id: a user, a region) by id and name only."""
        parts: list[str] = []
        for field in self.types[type_name]["fields"]:
            if any(
                a["type"]["kind"] == "NON_NULL" and a["defaultValue"] is None for a in field["args"]
            ):
                continue
            inner = _named(field["type"])
            kind = self.types[inner]["kind"]
            if kind in ("SCALAR", "ENUM"):
                parts.append(field["name"])
            elif kind in ("INTERFACE", "UNION"):
                parts.append(f"{field['name']} {{ __typename }}")
            elif depth < 4:
                fields = {f["name"] for f in self.types[inner]["fields"]}
                if "id" in fields:
                    names = [n for n in ("id", "name", "displayName") if n in fields]
                    parts.append(f"{field['name']} {{ {' '.join(names)} }}")
                else:
                    parts.append(f"{field['name']} {self.every_field(inner, depth + 1)}")
        return "{ " + " ".join(parts) + " }"


def _named(t: dict[str, Any]) -> str:
    while t.get("ofType"):
        t = t["ofType"]
    return str(t["name"])


@dataclass
class Timing:
    ms: float | None = None  # the median
    note: str = ""  # why there is no time

    def cell(self) -> str:
        return f"{self.ms:.1f}" if self.ms is not None else self.note


def _document(schema: Schema, q: Query) -> str | None:
    root = schema.root(q.field)
    if root is None:
        return None
    selection = q.selection
    if selection is None:
        selection = schema.every_field(_named(root["type"]))
    elif not selection.startswith("{"):
        selection = "{ " + selection + " }"
    return f"query Bench($f: StatsFilter!) {{ {q.field}(filter: $f{q.extra_args}) {selection} }}"


def _department_id(http: httpx.Client, name: str) -> str:
    query = "query($s: String) { departments(filter: {search: $s}) { edges { node { id name } } } }"
    edges = http.post("/graphql", json={"query": query, "variables": {"s": name}}).json()
    return next(
        e["node"]["id"] for e in edges["data"]["departments"]["edges"] if e["node"]["name"] == name
    )


def time_queries(server: Server, repeat: int) -> dict[str, Timing]:
    """Each query once to warm up, then `repeat` times; the median per query."""
    headers = server.headers(SUPERVISOR)
    with httpx.Client(base_url=server.url, headers=headers, timeout=600) as http:
        resp = http.post("/graphql", json={"query": INTROSPECTION})
        schema = Schema(resp.json()["data"]["__schema"])
        out: dict[str, Timing] = {}
        for q in QUERIES:
            doc = _document(schema, q)
            if doc is None:
                print(f"  {q.label}: n/a (not in schema)")
                out[q.label] = Timing(note="n/a")
                continue
            period = dict(q.period)
            if q.department:
                period["departmentId"] = _department_id(http, q.department)
            body = {"query": doc, "variables": {"f": period}}
            times: list[float] = []
            error = ""
            for i in range(repeat + 1):
                t0 = time.perf_counter()
                resp = http.post("/graphql", json=body)
                elapsed = (time.perf_counter() - t0) * 1000
                answer = resp.json()
                if resp.status_code != 200 or answer.get("errors"):
                    error = str(answer.get("errors") or resp.status_code)
                    break
                if i:
                    times.append(elapsed)
            if error:
                print(f"  {q.label}: error {error[:300]}")
                out[q.label] = Timing(note="error")
            else:
                out[q.label] = Timing(statistics.median(times))
                ms = ", ".join(f"{t:.1f}" for t in times)
                print(f"  {q.label}: median {out[q.label].ms:.1f} ms ({ms})")
        return out


# -- data sets ---------------------------------------------------------------------------


def _enterprises(size: int) -> int:
    return max(2000, size // 50)


async def _pg_prepare(base: str, name: str, reuse: bool) -> int | None:
    """Demands in database `name` when reused; else None after dropping and creating it."""
    import asyncpg

    if reuse:
        try:
            conn = await asyncpg.connect(f"{base}/{name}")
        except asyncpg.InvalidCatalogNameError:
            conn = None
        if conn is not None:
            try:
                if await conn.fetchval("SELECT to_regclass('public.demand') IS NOT NULL"):
                    count = int(await conn.fetchval("SELECT count(*) FROM demand"))
                    if count:
                        return count
            finally:
                await conn.close()
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return None


@contextmanager
def _data_dir() -> Iterator[Path]:
    work = Path(tempfile.mkdtemp(prefix="ed-bench-stats-"))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _load(env: dict[str, str], size: int) -> None:
    t0 = time.perf_counter()
    load_demo(env, enterprises=_enterprises(size), demands=size)
    print(
        f"  loaded {_enterprises(size)} enterprises and {size} demands "
        f"in {time.perf_counter() - t0:.1f} s"
    )


def run_postgres(base: str, size: int, reuse: bool, repeat: int) -> dict[str, Timing]:
    name = f"bench_stats_{size}"
    print(f"PostgreSQL {name}")
    count = asyncio.run(_pg_prepare(base, name, reuse))
    with _data_dir() as work:
        env = bench_env(work, f"{base}/{name}")
        if count is None:
            _load(env, size)
        else:
            print(f"  reusing it as it is ({count} demands)")
        with serve(env) as server:
            return time_queries(server, repeat)


def run_sqlite(size: int, repeat: int) -> dict[str, Timing]:
    print(f"SQLite {size}")
    with _data_dir() as work:
        env = bench_env(work)
        _load(env, size)
        with serve(env) as server:
            return time_queries(server, repeat)


def run_url(url: str, repeat: int) -> dict[str, Timing]:
    print(f"given database {url}")
    with _data_dir() as work, serve(bench_env(work, url)) as server:
        return time_queries(server, repeat)


# -- the table ---------------------------------------------------------------------------


def _size_label(size: int) -> str:
    for unit, word in ((1_000_000, "M"), (1_000, "k")):
        if size >= unit and size % unit == 0:
            return f"{size // unit}{word}"
    return str(size)


def _growth_label(db: str, both: list[str]) -> str:
    label = f"growth {_size_label(GROWTH_FROM)}→{_size_label(GROWTH_TO)}"
    return label if len(both) == 1 else f"{db} {label}"


def print_table(results: dict[Column, dict[str, Timing]], heads: dict[Column, str]) -> None:
    columns = list(results)
    both = [
        db
        for db in dict.fromkeys(db for db, _ in columns)
        if (db, GROWTH_FROM) in results and (db, GROWTH_TO) in results
    ]
    header = ["query (median ms)", *(heads[c] for c in columns)]
    header += [_growth_label(db, both) for db in both]
    rows = [header]
    for q in QUERIES:
        row = [q.label, *(results[c][q.label].cell() for c in columns)]
        for db in both:
            small = results[db, GROWTH_FROM][q.label].ms
            large = results[db, GROWTH_TO][q.label].ms
            row.append(f"×{large / small:.1f}" if small and large is not None else "")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    print()
    for n, row in enumerate(rows):
        cells = [
            row[0].ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)),
        ]
        print("| " + " | ".join(cells) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def _sizes(text: str) -> list[int]:
    return [int(s.replace("_", "")) for s in text.split(",") if s.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--sizes",
        type=_sizes,
        default=_sizes("10000,100000,1000000"),
        help="demands per PostgreSQL data set, comma-separated",
    )
    ap.add_argument(
        "--sqlite-sizes",
        type=_sizes,
        default=_sizes("100000"),
        help="demands per SQLite data set, comma-separated",
    )
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per query (after a warm-up)")
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="time a bench_stats_<size> database that holds demands without reloading",
    )
    ap.add_argument(
        "--postgres",
        default="postgres://postgres@127.0.0.1:5432",
        help="the PostgreSQL server for bench_stats_<size>",
    )
    ap.add_argument("--database-url", help="time this loaded database only")
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    base = args.postgres.rstrip("/")

    results: dict[Column, dict[str, Timing]] = {}
    heads: dict[Column, str] = {}
    if args.database_url:
        url = args.database_url
        db = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        results[db, None] = run_url(url, args.repeat)
        heads[db, None] = f"{db} {Path(urlsplit(url).path).name}"
    else:
        for size in args.sizes:
            results["PostgreSQL", size] = run_postgres(base, size, args.reuse, args.repeat)
            heads["PostgreSQL", size] = f"PostgreSQL {_size_label(size)}"
        for size in args.sqlite_sizes:
            results["SQLite", size] = run_sqlite(size, args.repeat)
            heads["SQLite", size] = f"SQLite {_size_label(size)}"
    if results:
        print_table(results, heads)


if __name__ == "__main__":
    main()
