#!/usr/bin/env python3
"""Several Parlor nodes through Redis against one node on its own (issue 18).

    python3 bench/cluster.py             # 1x50 and 20x10, 3 repetitions each, then the failures
    python3 bench/cluster.py --quick     # a seconds-long smoke run

The fan-out scenarios are bench/fanout.py's (the same load generator and checks): once
against `server.py` alone (SQLite, no Redis), once against `server.py --redis URL
--nodes 2`, whose two nodes share one port (SO_REUSEPORT: the kernel spreads the
members over them), with a redis-server started here (append-only file, fsync every
second: Redis's usual setting).  CPU is summed over the nodes and Redis, and also
given for each.  Then two failures, with members on both nodes: a node killed
(kill -9) mid-run, and Redis killed and started again mid-run.  Linux only;
needs redis-server on PATH (apt-get install redis-server).
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import proc, runs  # noqa: E402
from bench.load import Plan  # noqa: E402
from bench.proc import median  # noqa: E402
from bench.servers import RAISE, default_parlor_cmd, start_parlor  # noqa: E402
from bench.failures import node_killed, redis_restarted  # noqa: E402

READY = b"Ready to accept connections"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Redis:
    """A redis-server of our own, in a temporary directory."""

    def __init__(self, fsync: str = "everysec") -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed: apt-get install redis-server")
        self.dir = tempfile.mkdtemp(prefix="parlor-bench-redis-")
        self.port, self.fsync, self.binary = free_port(), fsync, binary
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--save", "", "--appendonly", "yes", "--appendfsync", self.fsync, "--logfile", ""],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit("redis-server did not start")
            if READY in line:
                return
        raise SystemExit("redis-server not ready in 10 s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Summed:
    """Makes bench.runs measure a group of processes where it measures one: the CPU and
    RSS figures of the node that was started, its child nodes and Redis, summed; and
    keeps each one's CPU for the per-node figures."""

    def __init__(self, pids: list[int]) -> None:
        self.pids, self.samples = pids, []
        self._cpu, self._ns, self._mem = proc.cpu_seconds, proc.run_ns, proc.memory_kib

    def __enter__(self) -> "Summed":
        runs.cpu_seconds, runs.run_ns, runs.memory_kib = self.cpu, self.ns, self.mem
        return self

    def __exit__(self, *exc) -> None:
        runs.cpu_seconds, runs.run_ns, runs.memory_kib = self._cpu, self._ns, self._mem

    def cpu(self, pid: int) -> float:
        each = [self._cpu(p) for p in self.pids]
        self.samples.append(each)
        return sum(each)

    def ns(self, pid: int) -> int:
        return sum(self._ns(p) for p in self.pids)

    def mem(self, pid: int) -> dict:
        total: dict[str, int] = {}
        for p in self.pids:
            for key, value in self._mem(p).items():
                total[key] = total.get(key, 0) + value
        return total

    def each_ms_per_1k(self, delivered: int) -> list[float]:
        first, last = self.samples[0], self.samples[-1]
        return [(b - a) * 1e6 / delivered for a, b in zip(first, last)] if delivered else []


def flags() -> list[str]:
    return [arg for flag, value in RAISE.items() if flag not in ("--max-per-ip",
            "--max-burst", "--max-connections") for arg in (flag, value)]


def fanout(plan: Plan, nodes: int, workers: int) -> dict:
    if nodes == 1:
        with start_parlor([*default_parlor_cmd(), *flags()]) as server:
            result = runs.run_fanout(server, Plan(**{**plan.__dict__, "workers": workers}))
        result["each"] = []
        return result
    redis = Redis()
    try:
        with start_parlor([*default_parlor_cmd(), *flags(), "--redis", redis.url,
                           "--nodes", str(nodes)]) as server:
            pids = [server.pid, *children(server.pid), redis.proc.pid]
            with Summed(pids) as summed:
                result = runs.run_fanout(server, Plan(**{**plan.__dict__, "workers": workers}))
            result["each"] = summed.each_ms_per_1k(result["delivered"])
        return result
    finally:
        redis.close()


def show(label: str, results: list[dict]) -> str:
    m = lambda key: median([r[key] for r in results])  # noqa: E731
    bad = "/".join(str(sum(r[k] for r in results)) for k in
                   ("lost", "duplicated", "reordered", "misrouted"))
    each = ""
    if results[0]["each"]:
        cols = list(zip(*[r["each"] for r in results]))
        names = [f"node {i + 1}" for i in range(len(cols) - 1)] + ["redis"]
        each = " (" + ", ".join(f"{n} {median(list(c)):.3f}" for n, c in zip(names, cols)) + ")"
    return (f"| {label} | {m('deliveries_per_s'):,.0f} | {m('p50_ms'):.1f} / {m('p99_ms'):.1f} | "
            f"{m('cpu_ms_per_1k'):.3f}{each} | {bad} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-failures", action="store_true", help="the fan-out scenarios only")
    args = parser.parse_args()
    proc.raise_fd_limit(4096)
    reps = args.reps or (1 if args.quick else 3)
    plans = {"1 room x 50": Plan("", "", 0, rooms=1, per_room=50, msgs=200),
             "20 rooms x 10": Plan("", "", 0, rooms=20, per_room=10, msgs=200)}
    if args.quick:
        plans = {"1 room x 10": Plan("", "", 0, rooms=1, per_room=10, msgs=20, stall=5),
                 "4 rooms x 5": Plan("", "", 0, rooms=4, per_room=5, msgs=20, stall=5)}
    print("| scenario (max rate) | deliveries/s | latency p50 / p99 ms | CPU ms / 1k deliveries, "
          "all processes (each) | lost/dup/reordered/misrouted |")
    print("|---|---|---|---|---|")
    for name, plan in plans.items():
        for nodes in (1, 2):
            results = []
            for _ in range(reps):
                results.append(fanout(plan, nodes, args.workers))
            where = "one node, no Redis" if nodes == 1 else f"{nodes} nodes + Redis"
            print(show(f"{name}, {where}", results), flush=True)
    if not args.no_failures:
        for label, run in (("a node killed mid-run", node_killed),
                           ("Redis restarted mid-run", redis_restarted)):
            redis = Redis()
            try:
                print(f"{label}: {run(redis, quick=args.quick)}", flush=True)
            finally:
                redis.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
