"""Memory and time of a large XLSX export: a real `enterprise-desk serve` on the demo county
plus ~100,000 demands, one download of /exports/<list>.xlsx by the county supervisor while the
server's resident memory (VmRSS of its process) is sampled every 20 ms.

    .venv/bin/python bench/export_memory.py [--demands 100000] [--list demands]
        [--database-url postgres://postgres@127.0.0.1:5432/bench]

The demands come from `enterprise-desk demo --enterprises 2000 --demands M`. Checks that the file
opens in openpyxl with the list's Chinese headers and one row per demand, then prints rows,
seconds, file size and peak RSS (target: under 300 MB). Not a test: numbers go in notes."""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from _server import bench_env, load_demo, serve
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The whole history the scale demo writes (18 months before 2026-11-20): every demand.
PERIOD = {"from": "2025-05-01", "to": "2026-11-30"}


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--demands", type=int, default=100_000)
    ap.add_argument("--list", default="demands", help="demands, problem-list, … (the export)")
    ap.add_argument("--database-url", help="an empty database (default: SQLite in a temp dir)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ed-bench-"))
    database_url = args.database_url or f"sqlite://{work / 'enterprise-desk.sqlite3'}"
    env = bench_env(work, database_url)

    t0 = time.perf_counter()
    load_demo(env, enterprises=2000, demands=args.demands)
    print(f"loaded {args.demands} demands in {time.perf_counter() - t0:.1f} s")

    with serve(env) as server:
        headers = server.headers("supervisor")
        pid = server.process.pid
        baseline = _rss_mb(pid)

        peak = baseline
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, _rss_mb(pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        out = work / "export.xlsx"
        start = time.perf_counter()
        first_byte = None
        with (
            httpx.stream(
                "GET",
                f"{server.url}/exports/{args.list}.xlsx",
                params=PERIOD,
                headers=headers,
                timeout=3600,
            ) as resp,
            out.open("wb") as f,
        ):
            resp.raise_for_status()
            for chunk in resp.iter_bytes():
                if first_byte is None:
                    first_byte = time.perf_counter() - start
                f.write(chunk)
        seconds = time.perf_counter() - start
        stop.set()
        sampler.join()

        from models.ops.export_columns import DEMANDS, ListSpec
        from models.ops.exports import EXPORTS

        spec: ListSpec = EXPORTS[args.list].spec if args.list in EXPORTS else DEMANDS
        wb = load_workbook(out, read_only=True)
        rows = wb.worksheets[0].iter_rows(values_only=True)
        assert list(next(rows)) == spec.headers("zh"), "headers differ"
        count = sum(1 for _ in rows)
        db = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
        print(
            f"{db}: /exports/{args.list}.xlsx  rows {count}  {seconds:.1f} s "
            f"(first byte {first_byte or 0:.1f} s)  {out.stat().st_size / 2**20:.1f} MB  "
            f"RSS before {baseline:.0f} MB, peak {peak:.0f} MB"
            f" ({'under' if peak < 300 else 'OVER'} 300 MB)"
        )


if __name__ == "__main__":
    main()
