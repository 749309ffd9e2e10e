"""One run of one scenario against one fresh server, measured from /proc.

Each `run_*` starts its worker processes, waits until every client is
registered, samples the server's CPU, says "go", waits for every worker's
report, samples again, and only then lets the workers hang up (so the cost of
the disconnects is not counted).  Returns a flat dict of figures.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
import time
from array import array
from dataclasses import replace

from bench.load import Plan, fanout_worker
from bench.probes import idle_worker, pingpong
from bench.proc import cpu_seconds, memory_kib, percentile, run_ns

CTX = mp.get_context("spawn")  # no fork of a possibly threaded parent (pytest)


class RunError(RuntimeError):
    """A worker failed or the server died during a run."""


def _collect(results, count: int, timeout: float) -> list[dict]:
    reports, end = [], time.monotonic() + timeout
    while len(reports) < count:
        try:
            report = results.get(timeout=max(end - time.monotonic(), 0.1))
        except queue.Empty:
            raise RunError(f"only {len(reports)} of {count} worker reports within {timeout:g} s") from None
        if "error" in report:
            raise RunError(report["error"])
        reports.append(report)
    return reports


def _wait_ready(ready, results, procs) -> None:
    try:
        ready.wait(120)
    except threading.BrokenBarrierError:
        errors = []
        while True:
            try:
                errors.append(results.get(timeout=2).get("error", "?"))
            except queue.Empty:
                break
        raise RunError("a worker failed while registering:\n" + "\n".join(errors)) from None


def _stop_workers(procs, release) -> None:
    release.set()
    for proc in procs:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()
            proc.join()


def _latency_ms(raw: list[bytes]) -> dict:
    values = array("q")
    for chunk in raw:
        values.frombytes(chunk)
    ordered = sorted(values)
    pick = lambda q: None if not ordered else percentile(ordered, q) / 1e6  # noqa: E731
    return {"p50_ms": pick(50), "p99_ms": pick(99), "max_ms": ordered[-1] / 1e6 if ordered else None,
            "samples": len(ordered)}


def integrity(reports: list[dict]) -> dict:
    total = lambda name: sum(r[name] for r in reports)  # noqa: E731
    lost = (total("expected_deliveries") - total("delivered")
            + total("expected_echoes") - total("echoed"))
    return {"delivered": total("delivered"), "echoed": total("echoed"),
            "expected": total("expected_deliveries"), "lost": lost,
            "duplicated": total("duplicated"), "reordered": total("reordered"),
            "misrouted": total("misrouted") + total("garbled"),
            "errors": [e for r in reports for e in r["errors"]][:5]}


# ------------------------------------------------------------------ fan-out
def run_fanout(server, plan: Plan, timeout: float = 600) -> dict:
    plan = replace(plan, adapter=server.adapter, host=server.host, port=server.port)
    ready, go, release = CTX.Barrier(plan.workers + 1), CTX.Event(), CTX.Event()
    results = CTX.Queue()
    procs = [CTX.Process(target=fanout_worker, args=(plan, w, ready, go, release, results), daemon=True)
             for w in range(plan.workers)]
    for proc in procs:
        proc.start()
    try:
        _wait_ready(ready, results, procs)
        cpu0, ns0, t0 = cpu_seconds(server.pid), run_ns(server.pid), time.monotonic_ns()
        go.set()
        reports = _collect(results, plan.workers, timeout)
        cpu1, ns1, mem = cpu_seconds(server.pid), run_ns(server.pid), memory_kib(server.pid)
    finally:
        _stop_workers(procs, release)
    figures = integrity(reports)
    end = max(r["last_delivery_ns"] for r in reports)
    seconds = max(end - t0, 1) / 1e9
    figures.update(_latency_ms([r["latency"] for r in reports]))
    figures.update({
        "seconds": seconds, "deliveries_per_s": figures["delivered"] / seconds,
        "cpu_s": cpu1 - cpu0, "cpu_ms_per_1k": _per_1k(cpu1 - cpu0, figures["delivered"]),
        "sched_ms_per_1k": _per_1k((ns1 - ns0) / 1e9, figures["delivered"]),
        "rss_kib": mem.get("VmRSS"), "peak_rss_kib": mem.get("VmHWM"), "rss_mib": mem.get("VmRSS", 0) / 1024,
        "disconnected": sum(r["disconnected"] for r in reports), "sent": sum(r["sent"] for r in reports),
    })
    return figures


def _per_1k(cpu_s: float, deliveries: int) -> float | None:
    return cpu_s * 1000 / (deliveries / 1000) if deliveries else None


# ------------------------------------------------------------------ ping-pong
def run_pingpong(server, rounds: int, warmup: int) -> dict:
    """The round trip twice: where the scheduler puts things, then with the server and
    both clients on one CPU.  On this VM a wake-up across CPUs costs tens of us, which
    dominates the first figure for both servers; the second is the servers' own work."""
    figures = _pingpong_once(server, rounds, warmup)
    cpu = min(os.sched_getaffinity(0))
    mine = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(server.pid, {cpu})
        os.sched_setaffinity(0, {cpu})
        pinned = _pingpong_once(server, rounds, warmup)
    finally:
        os.sched_setaffinity(0, mine)
    for key in ("lost", "duplicated", "reordered", "misrouted", "delivered", "echoed", "expected"):
        figures[key] += pinned[key]
    figures.update({f"pinned_{k}": pinned[k] for k in ("rtt_p50_ms", "rtt_p99_ms", "rtt_max_ms", "sched_ms_per_1k")})
    return figures


def _pingpong_once(server, rounds: int, warmup: int) -> dict:
    mark = {}
    start = lambda: mark.update(cpu0=cpu_seconds(server.pid), ns0=run_ns(server.pid))  # noqa: E731
    report = pingpong(server.adapter, server.host, server.port, rounds, warmup, on_start=start)
    cpu, ns = cpu_seconds(server.pid) - mark["cpu0"], run_ns(server.pid) - mark["ns0"]
    figures = integrity([report])
    rtt = _latency_ms([report["rtt"]])
    figures.update({"rtt_p50_ms": rtt["p50_ms"], "rtt_p99_ms": rtt["p99_ms"], "rtt_max_ms": rtt["max_ms"],
                    "rounds": rounds, "cpu_ms_per_1k": _per_1k(cpu, figures["delivered"]),
                    "sched_ms_per_1k": _per_1k(ns / 1e9, figures["delivered"])})
    return figures


# ------------------------------------------------------------------ idle capacity
def run_idle(server, connections: int, workers: int = 2, concurrency: int = 5) -> dict:
    ready, go = CTX.Barrier(workers + 1), CTX.Event()
    check, release, results = CTX.Event(), CTX.Event(), CTX.Queue()
    shares = [range(w, connections, workers) for w in range(workers)]
    procs = [CTX.Process(target=idle_worker, daemon=True,
                         args=(server.adapter, server.host, server.port, ids, connections, concurrency,
                               ready, go, check, release, results)) for ids in shares]
    for proc in procs:
        proc.start()
    try:
        _wait_ready(ready, results, procs)
        before, t0 = memory_kib(server.pid)["VmRSS"], time.monotonic_ns()
        go.set()
        registered = _collect(results, workers, 300)
        after = memory_kib(server.pid)
        check.set()
        held = _collect(results, workers, 120)
        alive = server.alive()
    finally:
        _stop_workers(procs, release)
    count = sum(r["registered"] for r in registered)
    dropped = sum(r["dropped"] for r in held) + sum(r["dropped_while_registering"] for r in registered)
    return {
        "connections": connections, "registered": count, "held": count - dropped if alive else 0,
        "register_s": (max(r["done_ns"] for r in registered) - t0) / 1e9,
        "rss_before_kib": before, "rss_kib": after["VmRSS"],
        "rss_per_conn_kib": (after["VmRSS"] - before) / connections,
        "errors": [e for r in registered for e in r["errors"]][:5],
        "lost": 0, "duplicated": 0, "reordered": 0, "misrouted": 0,
    }
