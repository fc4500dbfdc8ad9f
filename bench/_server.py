"""What the bench scripts share: a real `enterprise-desk serve` in a subprocess on a free
loopback port, with its own DATA_DIR and DATABASE_URL, loaded with `enterprise-desk demo`.

    env = bench_env(Path(tempfile.mkdtemp()), database_url)   # None: SQLite in DATA_DIR
    load_demo(env, enterprises=2000, demands=100_000)          # no counts: the plain demo
    with serve(env) as server:                                 # waits for /readyz
        headers = server.headers("supervisor")                 # signs a demo user in
        httpx.post(f"{server.url}/graphql", json=..., headers=headers)
    # leaving the block stops the server

Imported as `from _server import …`: the scripts run as `.venv/bin/python bench/<script>.py`,
which puts bench/ first on sys.path."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from models.demo.county import DEMO_PASSWORD

BIN = Path(sys.executable).parent / "enterprise-desk"
LOGIN = (
    "mutation($u: String!, $p: String!) "
    "{ login(input: {username: $u, password: $p}) { accessToken } }"
)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_env(work: Path, database_url: str | None = None) -> dict[str, str]:
    """This process's environment with DATA_DIR `work`, quiet logs and, when given, DATABASE_URL
    (without it the server uses SQLite in DATA_DIR)."""
    env = {**os.environ, "DATA_DIR": str(work), "LOG_LEVEL": "WARNING"}
    # Every bench client comes from 127.0.0.1, as every client does behind a reverse proxy:
    # the per-address bound on unfinished requests is off there too (docs/deploy.md).
    env.setdefault("PENDING_CONNECTIONS_PER_ADDRESS", "0")
    if database_url:
        env["DATABASE_URL"] = database_url
    else:
        env.pop("DATABASE_URL", None)
    return env


def load_demo(
    env: dict[str, str],
    *,
    enterprises: int | None = None,
    demands: int | None = None,
    users: int | None = None,
) -> None:
    """`enterprise-desk demo [--enterprises N] [--demands M] [--users U]` into env's database;
    its output is kept back and shown only when it fails."""
    cmd = [str(BIN), "demo"]
    if enterprises is not None:
        cmd += ["--enterprises", str(enterprises)]
    if demands is not None:
        cmd += ["--demands", str(demands)]
    if users is not None:
        cmd += ["--users", str(users)]
    done = subprocess.run(cmd, env=env, cwd=env["DATA_DIR"], capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise subprocess.CalledProcessError(done.returncode, cmd)


@dataclass
class Server:
    """A running `enterprise-desk serve`."""

    url: str
    process: subprocess.Popen[bytes]

    def headers(self, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
        """Signs `username` in; the bearer header for its requests."""
        resp = httpx.post(
            f"{self.url}/graphql",
            json={"query": LOGIN, "variables": {"u": username, "p": password}},
            timeout=30,
        )
        body = resp.json()
        if resp.status_code != 200 or body.get("errors") or not body.get("data"):
            raise RuntimeError(f"{username} cannot sign in: {body}")
        return {"Authorization": f"Bearer {body['data']['login']['accessToken']}"}

    def stop(self, timeout: float = 30) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def serve(
    env: dict[str, str], *, ready_within: float = 120, args: Sequence[str] = ()
) -> Iterator[Server]:
    """Starts `enterprise-desk serve [args]` (migrating first) with `env` on a free port, its
    output going to DATA_DIR/server.log, waits until /readyz answers 200, and stops it when the
    block ends."""
    port = free_port()
    log = Path(env["DATA_DIR"]) / "server.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(BIN), "serve", "--port", str(port), *args],
            env=env,
            cwd=env["DATA_DIR"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + ready_within
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {process.returncode} before ready; see {log}"
                )
            try:
                if httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server was not ready within {ready_within:.0f} s")
            time.sleep(0.1)
        yield server
    finally:
        server.stop()
