"""Bench: what a hostile GraphQL document costs the server (issue 22), and what a flood of them
does to a signed-in user's `{ me }`.

    .venv/bin/python bench/hostile_documents.py [--repeats 10] [--senders 12] [--seconds 20]

Starts a production-mode `enterprise-desk serve --workers 1` on SQLite in a temporary folder
(no data but one system administrator, made with `enterprise-desk createadmin`, for `{ me }`).
Then:

1. each document of a generated family (repeated fields, same-named fields with other
   arguments, fragment fan-outs and chains, many directives, variables, operations, arguments,
   long literals, a 5,000-digit Int, long strings, padding, deep nesting, …), each as large as
   the token limit of the code measured lets it be (or `--tokens`), is sent `--repeats` times,
   one at a time and anonymously, every copy made unique (leading whitespace) so no cache
   answers it; the server process's user + system CPU time (/proc/PID/stat) over them is
   divided by their number. Printed per kind: the CPU ms per request, the answer's status and
   first `extensions.code`, and the worst;
2. `--senders` clients (in a process of their own) send the family round and round for
   `--seconds` while one signed-in client asks `{ me { id } }` again and again: its p50, p99
   and slowest answer, next to the same client alone beforehand, and the load average.

To measure another tree (the code before a change), run it with PYTHONPATH set to that tree's
root: the server is started with the same PYTHONPATH."""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import httpx
from _server import BIN, bench_env, serve
from cpu_per_request import cpu_seconds
from graphql.language import Lexer, Source, TokenKind

from server.settings import Settings

TOKENS = Settings("", "").max_query_tokens  # the token limit of the code measured (default)
GR = "application/graphql-response+json"
ADMIN = "bench_admin"


def tokens(doc: str) -> int:
    """Tokens as the parser's limit counts them (comments included)."""
    lexer, count = Lexer(Source(doc)), 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def largest(make: Callable[[int], str], limit: int) -> str:
    """make(n) for the largest n whose document stays within `limit` tokens."""
    low, high = 1, 2
    while tokens(make(high)) <= limit:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if tokens(make(middle)) <= limit else (low, middle)
    return make(low)


ENTERPRISE = (
    "fragment E on Enterprise { id name creditCode creditCodeOverride legalRepresentative address"
    " latitude longitude coordinateSystem industryCode scale aboveScaleIndustry"
    " qualifiedConstruction aboveLimitTrade aboveScaleService realEstateDevelopment version"
    " lastVisitAt visits { totalCount } agencyRequests { totalCount }"
    " region { id name code level parent { id name code level parent { id name code level"
    " parent { id name code level parent { id name code level } } } } }"
    " contacts { id name mobile position hasAppAccount }"
    " assignedLeaders { id startDate endDate note leader { id username displayName rank } } }"
)


def family(limit: int) -> list[tuple[str, str, str | None]]:
    """(kind, document, operationName) of the hostile family, each as large as `limit` tokens
    let it be."""

    def fit(make: Callable[[int], str]) -> str:
        return largest(make, limit - 5)

    def repeat(n: int) -> str:
        return "{ " + "enterprises { totalCount } " * n + "}"

    def overlap(n: int) -> str:
        return "{ " + " ".join(f"regions(first: {i}) {{ totalCount }}" for i in range(n)) + " }"

    def leaf(n: int) -> str:
        return "{ me { " + "id " * n + "} }"

    def typename(n: int) -> str:
        return "{ " + "__typename " * n + "}"

    def unused_fragment(n: int) -> str:
        return "{ __typename } fragment F on Query { " + "enterprises { totalCount } " * n + "}"

    def merged(n: int) -> str:
        return "{ regions { edges { node { " + "parent { id id id } " * n + "} } } }"

    def chain(n: int) -> str:
        links = " ".join(f"fragment F{i} on User {{ id ...F{i + 1} }}" for i in range(n))
        return "{ me { ...F0 } } " + links + f" fragment F{n} on User {{ id }}"

    def spreads(n: int) -> str:
        fragments = " ".join(f"fragment F{i} on User {{ id }}" for i in range(n))
        return "{ me { " + " ".join(f"...F{i}" for i in range(n)) + " } } " + fragments

    def aliased(n: int) -> str:
        fields = (
            f"a{i}: enterprises(first: 1) {{ edges {{ node {{ ...E }} }} }}" for i in range(n)
        )
        return "{ " + " ".join(fields) + " } " + ENTERPRISE

    def directives(n: int) -> str:
        return "{ me { id " + "@include(if: true) " * n + "} }"

    def unknown_directives(n: int) -> str:
        return "{ me { id " + "@x " * n + "} }"

    def variables(n: int) -> str:
        return "query(" + " ".join(f"$v{i}: Int" for i in range(n)) + ") { me { id } }"

    def variables_used(n: int) -> str:
        declared = " ".join(f"$v{i}: Boolean" for i in range(n))
        used = " ".join(f"@skip(if: $v{i})" for i in range(n))
        return f"query({declared}) {{ me {{ ...F }} }} fragment F on User {{ id {used} }}"

    def operations(n: int) -> str:
        return " ".join(f"query Q{i} {{ me {{ id }} }}" for i in range(n))

    def arguments(n: int) -> str:
        return "{ me(" + " ".join(f"a{i}: 1" for i in range(n)) + ") { id } }"

    def list_literal(n: int) -> str:
        return "{ demands(filter: {states: [" + "DISPATCHED " * n + "]}) { totalCount } }"

    def object_literal(n: int) -> str:
        fields = " ".join(f"x{i}: 1" for i in range(n))
        return "{ demands(filter: {" + fields + "}) { totalCount } }"

    def object_literals(n: int) -> str:
        filter_ = "{" + " ".join(f"x{i}: 1" for i in range(30)) + "}"
        fields = (f"d{j}: demands(filter: {filter_}) {{ totalCount }}" for j in range(n))
        return "{ " + " ".join(fields) + " }"

    def aliases(n: int) -> str:
        return "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(n)) + " }"

    fan_out = " ".join(f"fragment F{i} on User {{ ...F{i + 1} ...F{i + 1} }}" for i in range(30))
    nested = "{ regions { edges { node { " + "parent { " * 300 + "id" + " }" * 300 + " } } } }"
    return [
        ("repeated field", fit(repeat), None),
        ("same field, other arguments", fit(overlap), None),
        ("repeated leaf", fit(leaf), None),
        ("repeated __typename", fit(typename), None),
        ("repeats in an unused fragment", fit(unused_fragment), None),
        ("repeats merged from parents", fit(merged), None),
        (
            "fragment fan-out 2^30",
            "{ me { ...F0 } } " + fan_out + " fragment F30 on User { id }",
            None,
        ),
        ("fragment chain", fit(chain), None),
        ("many fragments spread", fit(spreads), None),
        ("fragment under 30 aliases", aliased(30), None),
        ("many directives", fit(directives), None),
        ("unknown directives", fit(unknown_directives), None),
        ("many variables", fit(variables), None),
        ("variables used in a fragment", fit(variables_used), None),
        ("many operations", fit(operations), "Q0"),
        ("many arguments", fit(arguments), None),
        ("long list literal", fit(list_literal), None),
        ("object literal, unknown fields", fit(object_literal), None),
        ("30-field objects, repeated", fit(object_literals), None),
        ("alias bomb", fit(aliases), None),
        ("5,000-digit Int", "{ regions(first: " + "9" * 5000 + ") { totalCount } }", None),
        (
            "900 KB string literal",
            '{ regions(filter: {search: "' + "x" * 900_000 + '"}) { totalCount } }',
            None,
        ),
        ("990 KB of padding", "{ me { id } }" + " " * 990_000, None),
        ("deep nesting", nested, None),
    ]


def unique(doc: str, n: int) -> str:
    """The document made a text no cache has seen (leading whitespace only)."""
    return "\n" * (n // 64) + " " * (n % 64) + doc


def answer_code(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return "(not JSON)"
    errors = body.get("errors") or []
    return str(errors[0].get("extensions", {}).get("code")) if errors else "(data)"


def post(client: httpx.Client, doc: str, op_name: str | None, **headers: str) -> httpx.Response:
    return client.post(
        "/graphql",
        json={"query": doc, "operationName": op_name},
        headers={"Accept": GR, **headers},
    )


def create_admin(env: dict[str, str], password: str) -> None:
    """A system administrator (not a demo account: production refuses to start with those)."""
    for cmd in (["migrate"], ["createadmin", "--username", ADMIN, "--name", "压测管理员"]):
        done = subprocess.run(
            [str(BIN), *cmd],
            env={**env, "ENTERPRISE_DESK_ADMIN_PASSWORD": password},
            cwd=env["DATA_DIR"],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            raise subprocess.CalledProcessError(done.returncode, cmd)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def me_latencies(
    client: httpx.Client, headers: dict[str, str], until: Callable[[], bool]
) -> list[float]:
    """Milliseconds of each `{ me { id } }` asked one after another until `until()`."""
    times = []
    while not until():
        start = time.perf_counter()
        resp = post(client, "{ me { id } }", None, **headers)
        times.append((time.perf_counter() - start) * 1000)
        if resp.status_code != 200 or not resp.json()["data"]["me"]:
            raise RuntimeError(f"{{ me }} failed: {resp.text[:200]}")
    return times


def send_family(
    url: str,
    documents: list[tuple[str, str, str | None]],
    senders: int,
    stop: EventType,
    results: multiprocessing.Queue[tuple[int, int]],
) -> None:
    """`senders` clients sending the family round and round, every copy unique, until `stop`;
    puts (answered, failed) into `results`."""
    answered = failed = 0

    async def sender(index: int) -> None:
        nonlocal answered, failed
        async with httpx.AsyncClient(base_url=url, timeout=600) as http:
            n = 0
            while not stop.is_set():
                _, doc, op_name = documents[(index + n) % len(documents)]
                body = {
                    "query": unique(doc, 100_000 + index * 10_000 + n),
                    "operationName": op_name,
                }
                try:
                    await http.post("/graphql", json=body, headers={"Accept": GR})
                    answered += 1
                except httpx.HTTPError:  # a connection the server dropped
                    failed += 1
                n += 1

    async def run() -> None:
        await asyncio.gather(*(sender(i) for i in range(senders)))

    asyncio.run(run())
    results.put((answered, failed))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10, help="copies of each document")
    parser.add_argument("--senders", type=int, default=12, help="concurrent hostile clients")
    parser.add_argument("--seconds", type=float, default=20, help="of the concurrent phase")
    parser.add_argument(
        "--tokens", type=int, default=TOKENS, help="size the documents to this many tokens"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    env = bench_env(work)  # SQLite in the folder
    env.update(
        ENVIRONMENT="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        PUSH_DISPATCHER="off",
        PERIODIC_JOBS="off",
    )
    if os.environ.get("PYTHONPATH"):
        print(f"code from PYTHONPATH={os.environ['PYTHONPATH']}")
    password = secrets.token_urlsafe(16)
    create_admin(env, password)
    documents = family(args.tokens)

    with serve(env, args=["--workers", "1", "--no-jobs", "--no-access-log"]) as server:
        pid = server.process.pid
        me_headers = server.headers(ADMIN, password)
        client = httpx.Client(base_url=server.url, timeout=600)
        print(f"load average at start: {Path('/proc/loadavg').read_text().split()[:3]}")
        print(f"\n{'document':<34} {'tokens':>6} {'KB':>6} {'CPU ms/request':>15}  answer")
        worst = ("", 0.0)
        sent = 0
        for kind, doc, op_name in documents:
            answers = set()
            before = cpu_seconds(pid)
            for _ in range(args.repeats):
                resp = post(client, unique(doc, sent), op_name)
                sent += 1
                answers.add(f"{resp.status_code} {answer_code(resp)}")
            per = (cpu_seconds(pid) - before) * 1000 / args.repeats
            worst = max(worst, (kind, per), key=lambda w: w[1])
            size = len(doc.encode()) / 1024
            count = tokens(doc) if len(doc) < 100_000 else "-"
            print(f"{kind:<34} {count:>6} {size:>6.1f} {per:>15.1f}  {', '.join(sorted(answers))}")
        print(f"worst: {worst[0]}, {worst[1]:.1f} ms of server CPU per request")

        # `{ me }` alone, then while the family is sent round and round.
        deadline = time.monotonic() + 3
        alone = me_latencies(client, me_headers, lambda: time.monotonic() > deadline)
        # The senders run in a process of their own: threads of this one would keep the
        # `{ me }` client from the GIL and its waits would count as the server's.
        stop = multiprocessing.Event()
        results: multiprocessing.Queue[tuple[int, int]] = multiprocessing.Queue()
        flood = multiprocessing.Process(
            target=send_family, args=(server.url, documents, args.senders, stop, results)
        )
        cpu_before = cpu_seconds(pid)
        flood.start()
        time.sleep(1)  # every sender has a request in flight
        deadline = time.monotonic() + args.seconds
        flooded = me_latencies(client, me_headers, lambda: time.monotonic() > deadline)
        stop.set()
        hostile, failed = results.get()
        flood.join()
        cpu_used = cpu_seconds(pid) - cpu_before
        load = Path("/proc/loadavg").read_text().split()[:3]

    def line(label: str, times: list[float]) -> str:
        return (
            f"{label:<34} {len(times):>5} asked  p50 {percentile(times, 0.5):>8.1f} ms"
            f"  p99 {percentile(times, 0.99):>8.1f} ms  slowest {max(times):>8.1f} ms"
        )

    print(f"\n{{ me }} of a signed-in user, {args.senders} hostile senders, {args.seconds:.0f} s:")
    print(line("alone", alone))
    print(line("with the hostile senders", flooded))
    print(
        f"hostile requests answered: {hostile} ({failed} failed), server CPU"
        f" {cpu_used:.1f} s ({cpu_used * 1000 / max(hostile + len(flooded), 1):.1f} ms per request)"
    )
    print(f"load average at the end: {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
