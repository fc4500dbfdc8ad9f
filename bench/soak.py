"""Soak: the mobile screens mixed for ten minutes, memory sampled every 10 s (issue 9 item 6).

    .venv/bin/python bench/soak.py --minutes 10 --csv /tmp/soak.csv
        [--interval 10] [--connections 64] [--database-url postgres://…/bench_screens]

Not part of CI: it takes the minutes it is given (plus about 3.5 minutes to load the data set
the first time).

1. The data set and database of bench/screens.py (`bench_screens`; loaded by its `ensure_data`
   when missing, refused when the database holds something else).
2. Starts `enterprise-desk serve --workers 2 --no-dispatcher` and one `enterprise-desk worker`
   (the push outbox, and the scheduler, which the serve workers run too), signs in 64 real
   users of each role and checks every user's first response to each screen.
3. One requests file interleaves the six screens of bench/screens.py in turn (S1 cadre home,
   S2 handler list, S3 demand detail, S4 submitDemand, S5 unread count, S6 own demands: a sixth
   of the requests each; S4 writes, so every run adds demands and notifications to the data
   set), driven by wrk with bench/screens.lua at 64 connections in back-to-back slices of
   `--interval` seconds.
4. After each slice it samples the resident memory (VmRSS, /proc/PID/status) of every process
   of the server tree (the uvicorn master and its workers) and of the worker, with the slice's
   requests/s, p99, non-2xx responses and socket errors/timeouts, responses carrying GraphQL
   errors, and the load average; one line per sample.
5. At the end: the table of samples, for each process the least-squares slope of its RSS over
   the second half of the run in MB/minute and its first/last/max sampled RSS (and VmHWM), the
   database's demand/notification/push counts before and after, tracebacks in the server and
   worker logs, and the samples in `--csv`. The exit code is 1 when any request failed
   (non-2xx, socket error or timeout, GraphQL errors) or a log holds a traceback.

Access tokens last 15 minutes (models/rules/tokens.py ACCESS_TTL; there is no setting to
lengthen them), so the run does not pretend otherwise: between slices, once the tokens are 10
minutes old, every user's tokens are renewed through `refreshToken` (bench/screens.py's
`Tokens.renew`, refresh rotation included) and the requests file is rewritten; no slice ever
sends a token older than 10 minutes plus one slice. The load pauses for the few seconds the
renewal takes; that sample's line says so.
"""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from _screens import SCREENS, requests_of
from _server import BIN, bench_env, serve
from _wrk import WRK_MISSING, Load, describe, have_wrk, peak_rss_mb, process_tree, run_wrk
from screens import (
    Tokens,
    check,
    data_set_parser,
    dsn_of,
    ensure_data,
    people_of,
    write_requests,
)

# --------------------------------------------------------------------------- the processes


@contextmanager
def job_worker(env: dict[str, str], ready_within: float = 60) -> Iterator[subprocess.Popen[bytes]]:
    """`enterprise-desk worker --no-migrate` with `env`, its output in DATA_DIR/worker.log,
    once it says it runs; stopped (SIGTERM) when the block ends."""
    log = Path(env["DATA_DIR"]) / "worker.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(BIN), "worker", "--no-migrate"],
            env=env,
            cwd=env["DATA_DIR"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + ready_within
        while b"enterprise-desk worker (" not in log.read_bytes():
            if process.poll() is not None:
                raise RuntimeError(f"the worker exited with {process.returncode}; see {log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start within {ready_within:.0f} s")
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def rss_mb(pid: int) -> float | None:
    """VmRSS: the process's resident memory now, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class Names:
    """A stable label per process: `serve` (the uvicorn master), `serve-w1`, `serve-w2`… (its
    workers, in the order first seen; a restarted worker gets the next number), `worker`."""

    by_pid: dict[int, str] = field(default_factory=dict)
    served: int = 0

    def of(self, pid: int, root: int, root_name: str) -> str:
        if pid not in self.by_pid:
            kind = describe(pid)
            if pid == root:
                name = root_name
            elif kind == "worker":
                self.served += 1
                name = f"{root_name}-w{self.served}"
            else:
                name = f"{root_name}-{kind}"
                if name in self.by_pid.values():
                    name += f"-{pid}"
            self.by_pid[pid] = name
        return self.by_pid[pid]


def memory(roots: list[tuple[int, str]], names: Names) -> dict[str, float]:
    """RSS in MB of every process of each tree (root pid, its name); processes under 1 MB (a
    zombie, one exiting) are left out."""
    found: dict[str, float] = {}
    for root, root_name in roots:
        for pid in process_tree(root):
            mb = rss_mb(pid)
            if mb is not None and mb > 1:
                found[names.of(pid, root, root_name)] = mb
    return found


# --------------------------------------------------------------------------- the data set


async def _rows(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        found = {"demands": await conn.fetchval("SELECT count(*) FROM demand")}
        for r in await conn.fetch("SELECT kind, count(*) AS n FROM notification GROUP BY 1"):
            found[f"inbox {r['kind']}"] = r["n"]
        for r in await conn.fetch("SELECT status, count(*) AS n FROM push_message GROUP BY 1"):
            found[f"push {r['status']}"] = r["n"]
        return found
    finally:
        await conn.close()


def mixed(reqs: dict[str, list[tuple[str, str]]]) -> list[tuple[str, str]]:
    """The screens' requests in turn (S1, S2, … S6, S1, …), each screen's list repeated until
    the longest is used up, so each screen is the same share of the load."""
    longest = max(len(r) for r in reqs.values())
    return [reqs[k][i % len(reqs[k])] for i in range(longest) for k in reqs]


# --------------------------------------------------------------------------- the samples


@dataclass
class Sample:
    t: float  # seconds since the load started, at the end of the slice
    load: Load
    rss: dict[str, float]
    loadavg: float
    renewed: bool = False

    @property
    def failed(self) -> int:
        return self.load.non_2xx + self.load.socket_errors


def slope_mb_per_min(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    if len(points) < 2:
        return None
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    if den == 0:
        return None
    return sum((t - mt) * (v - mv) for t, v in points) / den * 60


def labels_of(samples: list[Sample]) -> list[str]:
    seen: dict[str, None] = {}
    for s in samples:
        seen.update(dict.fromkeys(s.rss))
    return list(seen)


def write_csv(path: Path, samples: list[Sample]) -> None:
    labels = labels_of(samples)
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(
            ["t_s", "loadavg_1m", "requests", "requests_per_s", "p50_ms", "p99_ms", "non_2xx",
             "socket_errors", "graphql_errors", "tokens_renewed"]
            + [f"rss_mb_{x}" for x in labels]
        )  # fmt: skip
        for s in samples:
            out.writerow(
                [f"{s.t:.1f}", f"{s.loadavg:.2f}", s.load.requests, f"{s.load.rate:.1f}",
                 f"{s.load.p50_ms:.1f}", f"{s.load.p99_ms:.1f}", s.load.non_2xx,
                 s.load.socket_errors, s.load.body_errors, int(s.renewed)]
                + [f"{s.rss[x]:.1f}" if x in s.rss else "" for x in labels]
            )  # fmt: skip


def print_table(samples: list[Sample], interval: int) -> None:
    labels = labels_of(samples)
    width = max(9, *(len(x) + 1 for x in labels))
    head = (
        f"{'t s':>6}" + "".join(f"{x:>{width}}" for x in labels)
        + f"{'req/s':>8}{'p99 ms':>8}{'non-2xx':>9}{'GQL err':>9}{'load':>6}"
    )  # fmt: skip
    print(f"RSS in MB per process (VmRSS at the end of each {interval} s slice)")
    print(head)
    print("-" * len(head))
    for s in samples:
        rss = "".join(
            f"{s.rss[x]:>{width}.1f}" if x in s.rss else f"{'-':>{width}}" for x in labels
        )
        print(
            f"{s.t:>6.0f}{rss}{s.load.rate:>8.1f}{s.load.p99_ms:>8.0f}{s.failed:>9}"
            f"{s.load.body_errors:>9}{s.loadavg:>6.1f}" + ("  tokens renewed before" * s.renewed)
        )


def print_trend(samples: list[Sample], peaks: dict[str, float]) -> None:
    end = samples[-1].t
    half = [s for s in samples if s.t >= end / 2]
    print(
        f"\nRSS trend: least-squares slope over the second half ({half[0].t:.0f}-{end:.0f} s, "
        f"{len(half)} samples), and first/last/max sampled RSS and VmHWM"
    )
    for label in labels_of(samples):
        points = [(s.t, s.rss[label]) for s in samples if label in s.rss]
        slope = slope_mb_per_min([(s.t, s.rss[label]) for s in half if label in s.rss])
        values = [v for _, v in points]
        figure = f"{slope:+.3f} MB/min" if slope is not None else "-"
        peak = f", VmHWM {peaks[label]:.1f}" if label in peaks else ""
        print(
            f"  {label:<16} slope {figure:>15}   first {values[0]:.1f}, last {values[-1]:.1f}, "
            f"max {max(values):.1f} MB{peak}"
        )


def tracebacks(log: Path) -> int:
    try:
        return log.read_text(errors="replace").count("Traceback (most recent call last)")
    except OSError:
        return 0


# --------------------------------------------------------------------------- the run


def main() -> int:
    parser = data_set_parser(__doc__)
    parser.add_argument("--minutes", type=float, default=10, help="length of the load")
    parser.add_argument("--interval", type=int, default=10, help="seconds between samples")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--csv", type=Path, help="write the samples to this CSV file")
    args = parser.parse_args()
    if not have_wrk():
        print(WRK_MISSING, file=sys.stderr)
        return 2
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        print("the soak runs on PostgreSQL: --database-url postgres://…", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    env = bench_env(work, args.database_url)
    dsn = dsn_of(args.database_url)
    counts, loaded = ensure_data(args, env)
    print(
        f"data set: {counts.get('demands', 0):,} demands, {counts.get('users', 0):,} users "
        f"({loaded}); logs in {work}",
        flush=True,
    )
    people = people_of(args.database_url, args.per_role)
    everyone = sorted({*people.cadres, *people.handlers, *people.contacts, *people.submitters})
    reqs = {s.key: requests_of(s.key, people) for s in SCREENS}
    before = asyncio.run(_rows(dsn))
    tokens = Tokens()
    samples: list[Sample] = []
    names = Names()
    peaks: dict[str, float] = {}
    file = work / "mixed.tsv"

    with (
        serve(env, args=["--workers", "2", "--no-dispatcher", "--no-access-log"]) as srv,
        job_worker(env) as worker,
    ):
        url = f"{srv.url}/graphql"
        roots = [(srv.process.pid, "serve"), (worker.pid, "worker")]
        tokens.sign_in(srv.url, everyone)
        for s in SCREENS:
            c = check(s, srv.url, reqs[s.key], tokens)
            if c.error:
                print(f"{s.key}: a first response failed, no soak: {c.error}", file=sys.stderr)
                return 1
            print(f"{s.key} checked: {c.with_data}/{c.users} users' first response with data")
        requests = mixed(reqs)
        write_requests(file, requests, tokens)
        print(
            f"\nsoak: {args.minutes:g} min of S1-S6 mixed ({len(requests)} requests in turn), "
            f"wrk -t{args.threads} -c{args.connections}, a sample every {args.interval} s; "
            f"serve --workers 2 --no-dispatcher (pid {srv.process.pid}) and worker "
            f"(pid {worker.pid}); load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        first = memory(roots, names)
        print(
            "before the load, RSS (VmHWM so far): "
            + ", ".join(
                f"{names.by_pid[pid]} {first[label]:.1f} ({peak_rss_mb(pid) or 0:.1f}) MB"
                for pid, label in names.by_pid.items()
                if label in first
            )
        )
        started = time.monotonic()
        total = failed = body_errors = 0
        while time.monotonic() - started < args.minutes * 60:
            issued = tokens.issued
            tokens.renew(srv.url)
            renewed = tokens.issued != issued
            if renewed:
                write_requests(file, requests, tokens)
            load = run_wrk(
                url,
                file,
                seconds=args.interval,
                connections=args.connections,
                threads=args.threads,
            )
            sample = Sample(
                time.monotonic() - started, load, memory(roots, names), os.getloadavg()[0], renewed
            )
            samples.append(sample)
            total += load.requests
            failed += sample.failed
            body_errors += load.body_errors
            print(
                f"t={sample.t:5.0f} s  "
                + ", ".join(f"{k} {v:.1f}" for k, v in sample.rss.items())
                + f" MB | {load.rate:.1f} req/s, p99 {load.p99_ms:.0f} ms, non-2xx "
                f"{sample.failed}, GraphQL errors {load.body_errors} | so far {total:,} "
                f"requests, {failed} non-2xx, {body_errors} GraphQL errors | load "
                f"{sample.loadavg:.2f}" + (" | tokens renewed before this slice" * renewed),
                flush=True,
            )
            if args.csv:
                write_csv(args.csv, samples)
        for pid, label in names.by_pid.items():
            if (peak := peak_rss_mb(pid)) is not None:
                peaks[label] = peak

    after = asyncio.run(_rows(dsn))
    logs = {
        "server.log": tracebacks(work / "server.log"),
        "worker.log": tracebacks(work / "worker.log"),
    }
    print()
    print_table(samples, args.interval)
    print_trend(samples, peaks)
    took = samples[-1].t
    print(
        f"\n{total:,} requests in {took:.0f} s ({total / took:.1f}/s), {failed} non-2xx or "
        f"socket errors, {body_errors} responses with GraphQL errors; load average 1 min "
        f"{min(s.loadavg for s in samples):.1f}-{max(s.loadavg for s in samples):.1f}"
    )
    print(
        "database before -> after: "
        + ", ".join(f"{k} {before.get(k, 0):,} -> {after.get(k, 0):,}" for k in {**before, **after})
    )
    print("tracebacks in the logs: " + ", ".join(f"{k} {v}" for k, v in logs.items()))
    if args.csv:
        print(f"samples written to {args.csv}")
    return 1 if failed or body_errors or any(logs.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
