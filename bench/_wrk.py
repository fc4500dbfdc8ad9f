"""Load generation and process measurements for bench/screens.py: wrk with bench/screens.lua,
peak memory of a process tree from /proc, and a py-spy profile of one process.

Imported as `from _wrk import …` (bench/ is first on sys.path for the bench scripts)."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).with_name("screens.lua")
WRK_MISSING = "wrk is not installed: apt-get install -y wrk"


@dataclass(frozen=True)
class Load:
    """What one wrk run measured."""

    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    body_errors: int
    p50_ms: float
    p99_ms: float
    load_avg: float = 0.0  # the 1-minute load average, the mean of its samples during the run

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def load_average() -> float:
    """The 1-minute load average (/proc/loadavg)."""
    return float(Path("/proc/loadavg").read_text().split()[0])


class LoadSampler:
    """The 1-minute load average sampled every second in a thread, while the block runs."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.samples.append(load_average())
            if self._stop.wait(1.0):
                return

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(load_average())

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else 0.0


def run_wrk(url: str, requests_file: Path, *, seconds: int, connections: int, threads: int) -> Load:
    """wrk for `seconds` at `connections` open connections over `requests_file`, and the load
    average meanwhile."""
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
        "--",
        str(requests_file),
    ]
    with LoadSampler() as load:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCHJSON ")), None)
    if done.returncode != 0 or line is None:
        sys.stderr.write(done.stdout + done.stderr)
        raise RuntimeError(f"wrk failed ({done.returncode})")
    r = json.loads(line.removeprefix("BENCHJSON "))
    return Load(
        requests=r["requests"],
        seconds=r["duration_us"] / 1e6,
        non_2xx=r["status"],
        socket_errors=r["connect"] + r["read"] + r["write"] + r["timeout"],
        body_errors=r["body_errors"],
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        load_avg=load.mean,
    )


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants, parents first."""
    found = [pid]
    for p in found:
        for task in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(OSError):
                found += [int(c) for c in (task / "children").read_text().split()]
    return found


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM: the most resident memory the process has had, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def describe(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(a.decode(errors="replace") for a in argv if a)
    if "resource_tracker" in text:
        return "tracker"
    if "spawn_main" in text:
        return "worker"
    return "supervisor"


def profile(pid: int, seconds: int, out: Path) -> tuple[Counter[str], Counter[str], int]:
    """py-spy on `pid` for `seconds`, sampling only while it holds the GIL (Python at work, not
    waiting): samples per leaf frame (own time), per frame anywhere in the stack (inclusive),
    and the number of samples."""
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
    subprocess.run(
        [str(spy), "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "200", "--gil",
         "--format", "raw", "--output", str(out)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            anywhere[frame] += n
    return own, anywhere, total
