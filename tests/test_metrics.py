"""GET /metrics and the access log of a real `enterprise-desk serve --workers 2` on a PostgreSQL
database of its own (several workers are PostgreSQL's shape: on SQLite their start-ups contend
for the one file): counters summed over both workers whichever answers the scrape, the latency
histogram per operation, refusals by code, the request id from header to log line, and no secret
in the log. Then, on either database, the shipped dashboard and alerts against the metrics."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import IS_POSTGRES
from tests.processes import fresh_side_database
from tests.test_cli import run
from tests.test_cli import serve as start_serve

ADMIN_PASSWORD = "first-admin-password"  # tests.test_cli.workdir's
INBOX = "query InboxCount { unreadNotificationCount }"
LOGIN = """mutation Login($u: String!, $p: String!) { login(input: {username: $u, password: $p})
  { accessToken refreshToken errors { code } } }"""


@dataclass
class Served:
    url: str
    proc: subprocess.Popen
    log: Path

    def lines(self) -> list[dict]:
        return [json.loads(x) for x in self.log.read_text().splitlines() if x.startswith('{"time"')]

    def lines_of(self, request_id: str) -> list[dict]:
        """The log lines of a request, once its line has come through the pipe (the bound
        only keeps a broken server from hanging the test)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = [x for x in self.lines() if x["request_id"] == request_id]
            if found:
                return found
            time.sleep(0.05)
        return []


@pytest.fixture(scope="module")
async def served(_database: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    """(`_database`: the run's databases, side ones included, are dropped when it ends.)"""
    if not IS_POSTGRES:
        pytest.skip("several server processes share PostgreSQL")
    cwd = tmp_path_factory.mktemp("metrics")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # serve makes its own
    env["DATABASE_URL"] = await fresh_side_database("metrics")
    env["ENTERPRISE_DESK_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    made = run(["createadmin", "--username", "root"], cwd, env)
    assert made.returncode == 0, made.stderr
    log = cwd / "serve.log"
    proc, url = start_serve(cwd, env, "--workers", "2", "--no-jobs")
    # The server's output, read as it comes: each worker's JSON lines.
    reader = ThreadPoolExecutor(1)

    def copy() -> None:
        assert proc.stdout is not None
        with log.open("a") as out:
            for line in proc.stdout:
                out.write(line)
                out.flush()

    reader.submit(copy)
    try:
        yield Served(url, proc, log)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.shutdown()


def scrape(url: str) -> tuple[dict[tuple[str, tuple[tuple[str, str], ...]], float], str]:
    """Every sample of one scrape (on a connection of its own), and its request id."""
    resp = httpx.get(f"{url}/metrics", headers={"Connection": "close"}, timeout=10)
    assert resp.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, resp.headers["x-request-id"]


def sign_in(url: str, request_id: str) -> tuple[str, str, str]:
    resp = httpx.post(
        f"{url}/graphql",
        json={"query": LOGIN, "variables": {"u": "root", "p": ADMIN_PASSWORD}},
        headers={"X-Request-ID": request_id},
        timeout=10,
    )
    login = resp.json()["data"]["login"]
    assert login["errors"] == [] and login["accessToken"]
    return login["accessToken"], login["refreshToken"], resp.headers["x-request-id"]


def inbox(url: str, token: str) -> str:
    """One InboxCount on a new connection (so the two workers share them); its request id."""
    resp = httpx.post(
        f"{url}/graphql",
        json={"query": INBOX},
        headers={"Authorization": f"Bearer {token}", "Connection": "close"},
        timeout=10,
    )
    assert resp.status_code == 200 and resp.json() == {"data": {"unreadNotificationCount": 0}}
    return resp.headers["x-request-id"]


COUNT = ("graphql_requests_total", (("operation", "InboxCount"), ("screen", "inbox_count"),
                                    ("status", "200")))  # fmt: skip
LATENCY_COUNT = (
    "graphql_request_duration_seconds_count",
    (("operation", "InboxCount"), ("screen", "inbox_count")),
)


def test_every_scrape_reads_the_requests_of_both_workers(served: Served) -> None:
    token, _, _ = sign_in(served.url, "sign-in-0")
    sent: list[str] = []
    pids: set[int] = set()
    # Requests on new connections until both workers have served some (the kernel hands each
    # connection to either); the bound only keeps a broken server from looping forever.
    while len(pids) < 2 and len(sent) < 400:
        with ThreadPoolExecutor(8) as pool:
            sent += pool.map(lambda _: inbox(served.url, token), range(16))
        ids = set(sent)
        pids = {x["pid"] for x in served.lines() if x["request_id"] in ids}
    assert len(pids) == 2, "one worker served every request"
    scraped_by: set[int] = set()
    for _ in range(40):
        samples, request_id = scrape(served.url)
        assert samples[COUNT] == len(sent)
        assert samples[LATENCY_COUNT] == len(sent)  # the histogram has the operation's label
        scraped_by |= {x["pid"] for x in served.lines_of(request_id)}
        if len(scraped_by) == 2:
            break
    assert len(scraped_by) == 2, "one worker answered every scrape"
    # Statements per request: each InboxCount sent at least one.
    statements = (
        "graphql_request_statements_count",
        (("operation", "InboxCount"), ("screen", "inbox_count")),
    )
    assert samples[statements] == len(sent)


def test_a_refused_request_counts_under_its_code(served: Served) -> None:
    before, _ = scrape(served.url)
    key = ("graphql_refusals_total", (("code", "INVALID_JSON"),))
    resp = httpx.post(
        f"{served.url}/graphql",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert resp.status_code == 400
    after, _ = scrape(served.url)
    assert after[key] == before.get(key, 0) + 1
    other = ("graphql_requests_total", (("operation", "other"), ("screen", "other"),
                                        ("status", "400")))  # fmt: skip
    assert after[other] == before.get(other, 0) + 1


def test_the_request_id_round_trips_into_the_log_line(served: Served) -> None:
    resp = httpx.get(f"{served.url}/healthz", headers={"X-Request-ID": "desk-42.a"}, timeout=10)
    assert resp.headers["x-request-id"] == "desk-42.a"
    [line] = served.lines_of("desk-42.a")
    assert line["route"] == "/healthz" and line["status"] == 200 and line["method"] == "GET"
    for insane in ("has space", "x" * 129, "semi;colon"):
        resp = httpx.get(f"{served.url}/healthz", headers={"X-Request-ID": insane}, timeout=10)
        made = resp.headers["x-request-id"]
        assert made != insane and len(made) == 32
        assert [x["route"] for x in served.lines_of(made)] == ["/healthz"]


def test_a_sign_in_logs_no_password_or_token(served: Served) -> None:
    access, refresh, request_id = sign_in(served.url, "sign-in-1")
    assert request_id == "sign-in-1"
    inbox_id = inbox(served.url, access)
    [line] = served.lines_of("sign-in-1")
    assert line["operation"] == "Login" and line["screen"] == "sign_in" and line["status"] == 200
    [asked] = served.lines_of(inbox_id)
    assert isinstance(asked["user_id"], int) and asked["operation"] == "InboxCount"
    log = served.log.read_text()  # with both lines in it
    for secret in (ADMIN_PASSWORD, access, refresh, access.split(".")[2]):
        assert secret not in log


ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "docs" / "operations" / "grafana-dashboard.json"
MONITORING = ROOT / "docs" / "operations" / "monitoring.md"
# PromQL with label matchers, `by (…)`, ranges and strings taken out: the identifiers left that
# call nothing are series names.
NOT_NAMES = re.compile(r'\{[^}]*\}|\bby \([^)]*\)|\[[^\]]*\]|"[^"]*"')
SERIES = re.compile(r"\b([a-z_][a-z0-9_]*)\b(?!\s*\()")


def _exposed() -> set[str]:
    """The sample names GET /metrics can show: server.metrics' families and the outbox's."""
    import server.metrics as metrics

    names = {"up"}  # Prometheus' own, per target
    for family in REGISTRY.collect():
        if family.type == "histogram":
            names |= {f"{family.name}_bucket", f"{family.name}_sum", f"{family.name}_count"}
        elif family.type == "counter":
            names.add(f"{family.name}_total")
        else:
            names.add(family.name)
    for family in metrics.OutboxCollector([]).collect():
        names.add(family.name)
    return names


def test_the_dashboard_and_the_alerts_ask_for_metrics_the_server_has() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    rules = re.findall(r"^\s+expr: (.+)$", MONITORING.read_text(encoding="utf-8"), re.M)
    assert len(exprs) >= 14 and len(rules) >= 9
    asked = {name for expr in exprs + rules for name in SERIES.findall(NOT_NAMES.sub(" ", expr))}
    assert asked, "no series found in the expressions"
    assert asked <= _exposed(), asked - _exposed()
