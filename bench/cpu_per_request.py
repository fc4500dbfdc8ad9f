"""Bench: the server's CPU time per request of each mobile screen (issue 8), a figure that the
rest of the machine's load disturbs far less than requests per second do.

    .venv/bin/python bench/cpu_per_request.py [--screens S1,S2,S3,S5,S6] [--requests 400]

Against the data set of bench/screens.py (loaded into bench_screens when missing), one
`enterprise-desk serve --workers 1 --no-jobs --no-access-log` without the push dispatcher; for each screen it sends
`--requests` requests from `--concurrency` threads (every request another signed-in user, as in
bench/screens.py) after a warm-up, and divides the server process's user+system CPU time
(/proc/PID/stat) over them by their number; likewise the CPU time of all PostgreSQL processes
(run it on an otherwise idle database server: other clients' statements would count).
`--profile` runs py-spy on the server during each screen instead and prints where it spends.

To compare two trees, run it with PYTHONPATH set to the other tree's root
(`git worktree add /tmp/old REV; PYTHONPATH=/tmp/old .venv/bin/python bench/cpu_per_request.py`):
the server is started with the same PYTHONPATH."""

from __future__ import annotations

import os
import re
import secrets
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from _screens import SCREENS, requests_of
from _server import bench_env, serve
from _wrk import profile
from screens import Tokens, data_set_parser, ensure_data, people_of, print_profile

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def postgres_cpu_seconds() -> float:
    """User plus system CPU time of every PostgreSQL process on this machine (the server's
    pooled backends live through a run; other clients' work would count too)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        if "(postgres)" in text:
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


_ERRORS = re.compile(r'"errors"\s*:\s*\[\s*\{')


def drive(url: str, reqs: list[tuple[str, str]], tokens: Tokens, n: int, threads: int) -> int:
    """Sends n requests (cycling through reqs) from `threads` threads; returns the failures."""
    client = httpx.Client(base_url=url, timeout=60)

    def one(i: int) -> bool:
        username, body = reqs[i % len(reqs)]
        resp = client.post(
            "/graphql",
            content=body.replace("__CMID__", secrets.token_hex(16)).encode(),
            headers={
                "Authorization": f"Bearer {tokens.access[username]}",
                "Content-Type": "application/json",
            },
        )
        # A GraphQL error, or a mutation payload's refusal (an empty `errors` list is fine).
        return resp.status_code == 200 and not _ERRORS.search(resp.text)

    with ThreadPoolExecutor(threads) as pool:
        return sum(not ok for ok in pool.map(one, range(n)))


def main() -> int:
    parser = data_set_parser(__doc__)
    parser.add_argument("--screens", default="S1,S2,S3,S5,S6")
    parser.add_argument("--requests", type=int, default=400, help="measured requests per screen")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the server during each screen instead"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-cpu-"))
    env = bench_env(work, args.database_url)
    env["SECRET_KEY"] = secrets.token_urlsafe(48)
    env["PUSH_DISPATCHER"] = "off"
    if os.environ.get("PYTHONPATH"):
        print(f"code from PYTHONPATH={os.environ['PYTHONPATH']}")
    ensure_data(args, env)

    people = people_of(args.database_url, args.per_role)
    wanted = [s for s in SCREENS if s.key in args.screens.split(",")]
    with serve(env, args=["--workers", "1", "--no-jobs", "--no-access-log"]) as server:
        tokens = Tokens()
        tokens.sign_in(
            server.url,
            sorted({*people.cadres, *people.handlers, *people.contacts, *people.submitters}),
        )
        print(f"{'screen':<44} {'server CPU ms':>14} {'PostgreSQL CPU ms':>18} {'failed':>7}")
        for s in wanted:
            reqs = requests_of(s.key, people)
            drive(server.url, reqs, tokens, args.warmup, args.concurrency)
            if args.profile:
                with ThreadPoolExecutor(1) as spy:
                    seconds = 10
                    samples = spy.submit(profile, server.process.pid, seconds, work / "spy.txt")
                    while not samples.done():
                        drive(server.url, reqs, tokens, args.requests // 4, args.concurrency)
                    print_profile(s.key, *samples.result())
                continue
            before, db_before = cpu_seconds(server.process.pid), postgres_cpu_seconds()
            failed = drive(server.url, reqs, tokens, args.requests, args.concurrency)
            used = cpu_seconds(server.process.pid) - before
            db_used = postgres_cpu_seconds() - db_before
            per = 1000 / args.requests
            print(f"{s.key} {s.title:<41} {used * per:>14.2f} {db_used * per:>18.2f} {failed:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
