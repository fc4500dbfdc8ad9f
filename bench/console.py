"""How fast the supervisor console (/console/) shows its first screen, by the browser's own
clock: Debian's Chromium (Playwright, executable_path, no download) opens the console signed
in as the county supervisor (`supervisor`, the demo password) and reads the page's
`console-ready` mark (performance.mark, set once every section of the dashboard is filled and
its charts painted): milliseconds from the start of the navigation.

    .venv/bin/python bench/console.py                       # the demo county, SQLite
    .venv/bin/python bench/console.py --demands 1000000 [--reuse]
        [--postgres postgres://postgres@127.0.0.1:5432]     # the scale demo, bench_stats_<N>
    .venv/bin/python bench/console.py --database-url URL    # a database loaded before
        [--repeat 5]

Each view is opened `--repeat` times in a fresh browser context (an empty cache: ECharts and
the modules are fetched too), the session put in sessionStorage beforehand as a sign-in leaves
it, and then `--repeat` times more in one context (the files cached, as on a leader's second
visit); the medians are printed, with the median of the slowest of the page's /graphql
requests (resource timing: request sent to response read), which is the server's share. The views: the default (this month, by the browser's clock),
and for the data's own periods (they end at 2026-11-20) a month (2026-10) and a year
(2025-11-21 to 2026-11-20). The `--demands` data set loads as in bench/stats_queries.py (same
databases, so one load serves both).

Not a test: numbers go in notes (docs/benchmarks/console.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import httpx
from _server import Server, bench_env, load_demo, serve
from playwright.sync_api import sync_playwright
from stats_queries import _data_dir, _enterprises, _pg_prepare

from models.demo.county import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
SESSION_KEY = "enterprise-desk.console.session"
VIEWS = {
    "default view (this month)": "",
    "a month (2026-10)": "from=2026-10-01&to=2026-10-31",
    "a year (2025-11-21 to 2026-11-20)": "from=2025-11-21&to=2026-11-20",
}
READY = "performance.getEntriesByName('console-ready')[0].startTime"


def _session(server: Server) -> str:
    resp = httpx.post(
        f"{server.url}/graphql",
        json={
            "query": "mutation($u: String!, $p: String!) { login(input: {username: $u, "
            "password: $p}) { accessToken refreshToken } }",
            "variables": {"u": "supervisor", "p": DEMO_PASSWORD},
        },
        timeout=30,
    )
    return json.dumps(resp.json()["data"]["login"])


# The page's requests to /graphql by the browser's resource timing: [start, end] ms.
REQUESTS = (
    "performance.getEntriesByType('resource').filter(e => e.name.endsWith('/graphql'))"
    ".map(e => [Math.round(e.startTime), Math.round(e.responseEnd)])"
)
slowest: dict[str, list[float]] = {}


def _open(context: Any, url: str, label: str = "") -> float:
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(url)
    page.wait_for_selector("#app[data-state=ready]", timeout=120_000)
    spans = page.evaluate(REQUESTS)
    slowest.setdefault(label, []).append(max(end - start for start, end in spans))
    return float(page.evaluate(READY))


def time_views(server: Server, repeat: int) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        options = {"locale": "zh-CN", "viewport": {"width": 1366, "height": 768}}
        for label, query in VIEWS.items():
            url = f"{server.url}/console/" + (f"?{query}" if query else "")
            cold, warm = [], []
            for _ in range(repeat):
                context = browser.new_context(**options)
                context.add_init_script(
                    f"sessionStorage.setItem({SESSION_KEY!r}, {json.dumps(_session(server))})"
                )
                cold.append(_open(context, url, label))
                context.close()
            context = browser.new_context(**options)
            context.add_init_script(
                f"sessionStorage.setItem({SESSION_KEY!r}, {json.dumps(_session(server))})"
            )
            _open(context, url)  # fills the cache
            warm = [_open(context, url, label) for _ in range(repeat)]
            context.close()
            print(
                f"| {label} | {statistics.median(cold):.0f} ms | {statistics.median(warm):.0f} ms |"
                f" {statistics.median(slowest[label]):.0f} ms |"
                f"  (cold {', '.join(f'{v:.0f}' for v in cold)}; warm {', '.join(f'{v:.0f}' for v in warm)})",
                flush=True,
            )
        browser.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--demands", type=int, help="the scale demo with this many demands")
    ap.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    ap.add_argument("--reuse", action="store_true", help="a loaded bench_stats_<N> as it is")
    ap.add_argument("--database-url", help="time this loaded database")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with _data_dir() as work:
        if args.database_url:
            env = bench_env(work, args.database_url)
            print(f"given database {args.database_url}")
        elif args.demands:
            name = f"bench_stats_{args.demands}"
            env = bench_env(work, f"{args.postgres}/{name}")
            count = asyncio.run(_pg_prepare(args.postgres, name, args.reuse))
            if count is None:
                t0 = time.perf_counter()
                load_demo(env, enterprises=_enterprises(args.demands), demands=args.demands)
                print(f"loaded {args.demands} demands in {time.perf_counter() - t0:.0f} s")
            else:
                print(f"PostgreSQL {name}, reused ({count} demands)")
        else:
            env = bench_env(work)
            load_demo(env)
            print("the demo county, SQLite")
        with serve(env) as server:
            print(
                "\n| view | first visit (empty cache) | files cached | slowest /graphql request |"
                "\n|---|---|---|---|"
            )
            time_views(server, args.repeat)


if __name__ == "__main__":
    main()
