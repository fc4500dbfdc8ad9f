"""The command line as a new user runs it: a real `enterprise-desk serve` process on SQLite."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent / "enterprise-desk"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def workdir(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    env["ENTERPRISE_DESK_ADMIN_PASSWORD"] = "first-admin-password"
    return tmp_path, env


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def serve(cwd: Path, env: dict[str, str], *args: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [str(BIN), "serve", "--port", str(port), *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, wait_ready(proc, f"http://127.0.0.1:{port}")


def wait_ready(proc: subprocess.Popen, url: str) -> str:
    """Wait for a started `serve` to answer /readyz; its URL, or fail with its output."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("serve did not become ready")


def gql(url: str, query: str, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    resp = httpx.post(f"{url}/graphql", json={"query": query}, headers=headers, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_fresh_install_serves_graphiql_and_the_first_admin_can_work(workdir):
    cwd, env = workdir
    made = run(["createadmin", "--username", "root"], cwd, env)
    assert made.returncode == 0, made.stderr
    proc, url = serve(cwd, env)
    try:
        page = httpx.get(f"{url}/graphql", headers={"Accept": "text/html"}, timeout=5)
        assert "graphiql" in page.text.lower()
        login = gql(
            url,
            'mutation { login(input: {username: "root", '
            'password: "first-admin-password"}) { accessToken errors { code } } }',
        )
        token = login["data"]["login"]["accessToken"]
        assert token
        made = gql(
            url,
            'mutation { createRegion(input: {name: "清河县", level: COUNTY, '
            'code: "330599"}) { region { name } errors { code } } }',
            token,
        )
        assert made["data"]["createRegion"] == {"region": {"name": "清河县"}, "errors": []}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert (cwd / "var" / "enterprise-desk.sqlite3").exists()


def test_the_access_log_can_be_left_to_the_reverse_proxy(workdir):
    cwd, env = workdir
    outputs = {}
    for flags in ((), ("--no-access-log",)):
        proc, url = serve(cwd, env, *flags)
        try:
            assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
            # One process serving: its figures are there too (its own PROMETHEUS_MULTIPROC_DIR).
            scraped = httpx.get(f"{url}/metrics", timeout=5).text.splitlines()
            assert 'http_requests_total{route="/healthz",status="200"} 1.0' in scraped
        finally:
            proc.terminate()
            outputs[flags] = proc.communicate(timeout=20)[0]
    lines = [json.loads(x) for x in outputs[()].splitlines() if x.startswith("{")]
    assert any(x["route"] == "/healthz" and x["status"] == 200 for x in lines), outputs[()]
    quiet = outputs[("--no-access-log",)]
    assert "GET /healthz" not in quiet and "/readyz" not in quiet
    assert "enterprise-desk" in quiet  # the start-up line is still there


def test_production_refuses_to_start_without_a_secret(workdir):
    cwd, env = workdir
    result = run(["migrate"], cwd, {**env, "ENVIRONMENT": "production"})
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr


def test_commands_started_at_once_on_a_fresh_database_all_migrate_it(workdir):
    """A script (or an operator in two terminals) starting `serve` and `demo` on a new SQLite
    file at the same moment: every process waits for the one creating the tables, none fails
    on "table … already exists"."""
    cwd, env = workdir
    procs = [
        subprocess.Popen(
            [str(BIN), "migrate"], cwd=cwd, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )
        for _ in range(4)
    ]  # fmt: skip
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    db = sqlite3.connect(cwd / "var" / "enterprise-desk.sqlite3")
    try:
        assert db.execute("SELECT COUNT(*) FROM demand").fetchone() == (0,)
    finally:
        db.close()


def test_demo_county_then_cadre_and_enterprise_see_their_own(workdir):
    cwd, env = workdir
    for _ in range(2):  # twice: the second run must duplicate nothing
        loaded = run(["demo"], cwd, env)
        assert loaded.returncode == 0, loaded.stderr
    assert "0 created" in loaded.stdout or "created 0" in loaded.stdout, loaded.stdout
    proc, url = serve(cwd, env)
    try:
        login = 'mutation { login(input: {username: "%s", password: "demo12345"}) { accessToken } }'
        listing = "{ enterprises(first: 100) { totalCount edges { node { id region { name } } } } }"
        cadre = gql(url, login % "cadre")["data"]["login"]["accessToken"]
        mine = gql(url, listing, cadre)["data"]["enterprises"]
        assert mine["totalCount"] > 0
        assert {e["node"]["region"]["name"] for e in mine["edges"]} <= {"城关镇"}
        admin = gql(url, login % "admin")["data"]["login"]["accessToken"]
        everything = gql(url, listing, admin)["data"]["enterprises"]["totalCount"]
        assert everything == 300 > mine["totalCount"]

        ent = gql(url, login % "enterprise")["data"]["login"]["accessToken"]
        own = gql(url, listing, ent)["data"]["enterprises"]
        assert own["totalCount"] == 1
        other_id = next(
            e["node"]["id"]
            for e in gql(url, listing, admin)["data"]["enterprises"]["edges"]
            if e["node"]["id"] != own["edges"][0]["node"]["id"]
        )
        q = '{ enterprise(id: "%s") { name } }'
        assert gql(url, q % other_id, ent)["data"]["enterprise"] is None
        assert gql(url, q % own["edges"][0]["node"]["id"], ent)["data"]["enterprise"]["name"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _until_closed(sock: socket.socket) -> bytes:
    """What the server sends on this socket until it closes it."""
    sock.settimeout(30)  # a bound for a server that never closes it: the test then fails
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def test_production_serve_cuts_slow_clients_in_every_worker(workdir):
    """As an attacker meets a fresh install: unfinished heads are answered 408 when their time
    is up, and beyond each worker's bound per address 429, while others are served."""
    cwd, env = workdir
    env = {
        **env,
        "ENVIRONMENT": "production",
        "SECRET_KEY": "a-production-secret-of-more-than-32-characters",
        "REQUEST_HEAD_TIMEOUT": "3",  # room for a loaded machine between connect and send
        "PENDING_CONNECTIONS_PER_ADDRESS": "2",
    }
    proc, url = serve(cwd, env, "--workers", "2")
    host, port = url.removeprefix("http://").split(":")
    slow = [socket.create_connection((host, int(port))) for _ in range(10)]
    try:
        for sock in slow:
            sock.sendall(b"POST /uploads HTTP/1.1\r\nHost: desk\r\n")  # and never the rest
        answers = [_until_closed(sock) for sock in slow]
        served = httpx.get(f"{url}/healthz", timeout=5).status_code
    finally:
        for sock in slow:
            sock.close()
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    statuses = [int(raw.split()[1]) if raw else 0 for raw in answers]  # 0: closed, no answer
    # Each of the two workers keeps at most two waiting; the others are refused.
    assert 2 <= statuses.count(408) <= 4, output
    assert statuses.count(429) == len(statuses) - statuses.count(408), output
    assert served == 200
