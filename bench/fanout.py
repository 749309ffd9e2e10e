#!/usr/bin/env python3
"""Parlor vs ngircd: fan-out, paced latency, ping-pong, idle capacity, and the curses client.

Run from the repository root:

    python3 bench/fanout.py              # everything, 3 repetitions (about 3 minutes on 2 cores)
    python3 bench/fanout.py --quick      # a seconds-long smoke run
    python3 bench/fanout.py --only paced --reps 5
    python3 bench/fanout.py --server-cmd "python3 server.py --port 0 --quiet" --json out.json

Every repetition starts a fresh server; the servers alternate (Parlor, ngircd, then
ngircd, Parlor, ...); the table shows medians.  ngircd is used when it is on PATH
(`apt-get install ngircd`); this script installs nothing.  Stdlib only.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import runs  # noqa: E402
from bench.load import Plan  # noqa: E402
from bench.proc import median, raise_fd_limit  # noqa: E402
from bench.servers import (ServerError, default_parlor_cmd, find_ngircd, parlor_flags,  # noqa: E402
                           start_ngircd, start_parlor)

SCENARIOS = ("fan1x50", "fan20x10", "paced", "paced_qa", "pingpong", "idle", "client")
PLANNED = ("fan1x50", "fan20x10", "paced", "paced_qa")  # the scenarios that are a Plan


@dataclass
class Sizes:
    fan1x50: Plan = field(default_factory=lambda: Plan("", "", 0, rooms=1, per_room=50, msgs=200))
    fan20x10: Plan = field(default_factory=lambda: Plan("", "", 0, rooms=20, per_room=10, msgs=200))
    paced: Plan = field(default_factory=lambda: Plan("", "", 0, rooms=1, per_room=50, msgs=200, rate=20.0))
    # The same, its clients ACKing every read at once: ngircd at its own latency (issue 19)
    paced_qa: Plan = field(default_factory=lambda: Plan("", "", 0, rooms=1, per_room=50, msgs=200, rate=20.0,
                                                        quickack=True))
    pingpong: tuple[int, int] = (5000, 500)  # timed rounds, warm-up rounds
    idle: int = 10_000
    client_burst: int = 5000
    client_idle_s: float = 5.0
    client_busy_s: float = 10.0
    client_busy_rate: float = 50.0  # messages/s into the busy room


def quick_sizes() -> Sizes:
    return Sizes(fan1x50=Plan("", "", 0, rooms=1, per_room=10, msgs=20, stall=3),
                 fan20x10=Plan("", "", 0, rooms=4, per_room=5, msgs=20, stall=3),
                 paced=Plan("", "", 0, rooms=1, per_room=10, msgs=10, rate=20.0, stall=3),
                 paced_qa=Plan("", "", 0, rooms=1, per_room=10, msgs=10, rate=20.0, stall=3, quickack=True),
                 pingpong=(200, 20), idle=300, client_burst=500, client_idle_s=1.0,
                 client_busy_s=2.0)


# ------------------------------------------------------------------ one run
def run_scenario(name: str, server, sizes: Sizes, workers: int) -> dict:
    if name in PLANNED:
        plan = getattr(sizes, name)
        plan.workers = workers
        return runs.run_fanout(server, plan)
    if name == "pingpong":
        return runs.run_pingpong(server, *sizes.pingpong)
    if name == "idle":
        return runs.run_idle(server, sizes.idle, workers)
    raise ValueError(f"no scenario {name!r}; there are {', '.join(SCENARIOS)}")


def summary(name: str, r: dict) -> str:
    bad = f"lost {r['lost']} dup {r['duplicated']} reord {r['reordered']} misrouted {r['misrouted']}"
    if name == "pingpong":
        return (f"rtt p50 {_f(r['rtt_p50_ms'], 3)} p99 {_f(r['rtt_p99_ms'], 3)} ms; on one CPU p50 "
                f"{_f(r['pinned_rtt_p50_ms'], 3)} p99 {_f(r['pinned_rtt_p99_ms'], 3)} ms; {bad}")
    if name == "idle":
        return (f"{r['held']}/{r['connections']} held, {_f(r['rss_per_conn_kib'], 2)} KiB/conn, "
                f"registered in {_f(r['register_s'], 2)} s")
    return (f"{_f(r['cpu_ms_per_1k'], 3)} CPU ms/1k ({_f(r['sched_ms_per_1k'], 3)} schedstat), "
            f"{r['deliveries_per_s'] / 1000:.0f}k deliveries/s, "
            f"p50/p99/max {_f(r['p50_ms'], 2)}/{_f(r['p99_ms'], 2)}/{_f(r['max_ms'], 1)} ms; {bad}")


def _f(value, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def repeat(name: str, starters: dict, sizes: Sizes, reps: int, workers: int, log) -> dict[str, list]:
    """`reps` runs per server, alternating which server goes first, a fresh server each run."""
    results: dict[str, list] = {kind: [] for kind in starters}
    order = list(starters)
    for rep in range(reps):
        for kind in (order if rep % 2 == 0 else order[::-1]):
            try:
                with starters[kind]() as server:
                    result = run_scenario(name, server, sizes, workers)
                    alive = server.alive()
            except (ServerError, runs.RunError, RuntimeError, OSError) as exc:
                log(f"  {name} rep {rep + 1} {kind}: FAILED: {str(exc).strip()[-400:]}")
                result = None
            if result is not None:
                result["server_alive"] = alive
                results[kind].append(result)
                log(f"  {name} rep {rep + 1} {kind:6}: {summary(name, result)}")
    return results


# ------------------------------------------------------------------ the table
# (scenario, figure, key, digits, better, target text, check(parlor, ngircd) -> bool | None)
ROWS = [
    ("fan1x50", "server CPU ms / 1k deliveries", "cpu_ms_per_1k", 3, "lower",
     "<= 0.55 and <= ngircd", lambda p, n: p <= 0.55 and (n is None or p <= n)),
    ("fan1x50", "same, from schedstat (ns resolution)", "sched_ms_per_1k", 3, "lower", "", None),
    ("fan1x50", "deliveries / s (generator-bound)", "deliveries_per_s", 0, "higher", "", None),
    ("fan1x50", "latency p50 / p99 ms (queueing: 32 in flight per sender)", ("p50_ms", "p99_ms"), 1, "lower", "",
     None),
    ("fan1x50", "server RSS after the run MiB", "rss_mib", 1, "lower", "", None),
    ("fan20x10", "server CPU ms / 1k deliveries", "cpu_ms_per_1k", 3, "lower",
     "<= 2.0 and <= ngircd", lambda p, n: p <= 2.0 and (n is None or p <= n)),
    ("fan20x10", "same, from schedstat (ns resolution)", "sched_ms_per_1k", 3, "lower", "", None),
    ("fan20x10", "deliveries / s (generator-bound)", "deliveries_per_s", 0, "higher", "", None),
    ("fan20x10", "server RSS after the run MiB", "rss_mib", 1, "lower", "", None),
    ("paced", "latency p50 ms", "p50_ms", 2, "lower", "", None),
    ("paced", "latency p99 ms", "p99_ms", 2, "lower", "<= 2.5", lambda p, n: p <= 2.5),
    ("paced", "latency max ms", "max_ms", 1, "lower", "< 40 (no Nagle tail)", lambda p, n: p < 40),
    ("paced", "server CPU ms / 1k deliveries", "cpu_ms_per_1k", 3, "lower", "", None),
    ("paced", "same, from schedstat (ns resolution)", "sched_ms_per_1k", 3, "lower", "", None),
    ("paced_qa", "latency p50 ms", "p50_ms", 2, "lower", "", None),
    ("paced_qa", "latency p99 ms", "p99_ms", 2, "lower", "<= 2.5", lambda p, n: p <= 2.5),
    ("paced_qa", "latency max ms", "max_ms", 1, "lower", "", None),
    ("paced_qa", "server CPU ms / 1k deliveries", "cpu_ms_per_1k", 3, "lower", "<= ngircd",
     lambda p, n: n is None or p <= n),
    ("paced_qa", "same, from schedstat (ns resolution)", "sched_ms_per_1k", 3, "lower", "<= ngircd",
     lambda p, n: n is None or p <= n),
    ("pingpong", "round trip p50 ms, placed by the scheduler", "rtt_p50_ms", 3, "lower", "<= ngircd",
     lambda p, n: n is None or p <= n),
    ("pingpong", "round trip p99 ms, placed by the scheduler", "rtt_p99_ms", 3, "lower", "<= 1.5 x ngircd",
     lambda p, n: n is None or p <= 1.5 * n),
    ("pingpong", "round trip p50 ms, server and clients on one CPU", "pinned_rtt_p50_ms", 3, "lower",
     "<= ngircd", lambda p, n: n is None or p <= n),
    ("pingpong", "round trip p99 ms, server and clients on one CPU", "pinned_rtt_p99_ms", 3, "lower", "", None),
    ("pingpong", "server CPU ms / 1k deliveries (schedstat, one CPU)", "pinned_sched_ms_per_1k", 3, "lower", "",
     None),
    ("idle", "RSS per connection KiB", "rss_per_conn_kib", 2, "lower", "<= 2", lambda p, n: p <= 2),
    ("idle", "time to register s", "register_s", 2, "lower", "< 5", lambda p, n: p < 5),
    ("idle", "connections held (min)", "held", 0, "higher", "all", lambda p, n: True),
]
LABELS = {"fan1x50": "1 room x 50, max rate", "fan20x10": "20 rooms x 10, max rate",
          "paced": "1 x 50 at 20 msg/s each", "paced_qa": "1 x 50 at 20 msg/s each, quick ACKs",
          "pingpong": "ping-pong", "idle": "idle connections",
          "client": "curses client"}


def med(results: list[dict], key) -> float | None:
    if isinstance(key, tuple):
        return None
    return median([r.get(key) for r in results])


def table(scenarios: list[str], all_results: dict, sizes: Sizes, judge: bool = True) -> list[str]:
    lines = ["| scenario | figure | Parlor | ngircd | Parlor / ngircd | target | met |",
             "|---|---|---|---|---|---|---|"]
    for name in scenarios:
        if name == "client":
            lines += client_rows(all_results.get("client"))
            continue
        res = all_results.get(name)
        if not res:
            continue
        label = _label(name, sizes)
        for scen, figure, key, digits, better, target, check in ROWS:
            if scen == name:
                lines.append(_row(label, figure, key, digits, res, target, check if judge else None))
        lines.append(_integrity_row(label, res))
    return lines


def _label(name: str, sizes: Sizes) -> str:
    if name in PLANNED:
        plan = getattr(sizes, name)
        rate = f"{plan.rate:g} msg/s each" if plan.rate else "max rate"
        acks = ", clients ACK at once" if plan.quickack else ""
        return (f"{plan.rooms} room{'s' if plan.rooms > 1 else ''} x {plan.per_room}, {plan.msgs} msgs, "
                f"{rate}{acks}")
    if name == "idle":
        return f"{sizes.idle:,} idle registered connections"
    if name == "pingpong":
        return f"ping-pong, {sizes.pingpong[0]} round trips"
    return LABELS[name]


def _row(label, figure, key, digits, res, target, check) -> str:
    parlor, ngircd = res.get("parlor", []), res.get("ngircd", [])
    if isinstance(key, tuple):
        cells = ["/".join(_f(med(rs, k), digits) for k in key) if rs else "-" for rs in (parlor, ngircd)]
        return f"| {label} | {figure} | {cells[0]} | {cells[1]} |  | {target} |  |"
    if key == "held":
        p = min((r[key] for r in parlor), default=None)
        n = min((r[key] for r in ngircd), default=None)
    else:
        p, n = med(parlor, key), med(ngircd, key)
    ratio = f"{p / n:.2f}" if p is not None and n else "-"
    met = "" if check is None or p is None else ("yes" if check(p, n) else "**no**")
    if key == "held" and p is not None and check is not None:
        total = parlor[0]["connections"]
        met = "yes" if p == total and all(r["server_alive"] for r in parlor) else "**no**"
    return f"| {label} | {figure} | {_f(p, digits)} | {_f(n, digits)} | {ratio} | {target} | {met} |"


def _integrity_row(label: str, res: dict) -> str:
    cells = []
    for kind in ("parlor", "ngircd"):
        rs = res.get(kind, [])
        if not rs:
            cells.append("-")
            continue
        total = lambda k: sum(r[k] for r in rs)  # noqa: E731
        cells.append(f"{total('lost')}/{total('duplicated')}/{total('reordered')}/{total('misrouted')}")
    met = "yes" if cells[0] == "0/0/0/0" else "**no**"
    return f"| {label} | lost/dup/reordered/misrouted (all runs) | {cells[0]} | {cells[1]} |  | 0/0/0/0 | {met} |"


def client_rows(result: dict | None) -> list[str]:
    if not result:
        return []
    label = f"curses client, {result['burst']:,}-message burst"
    return [
        f"| {label} | time until its last line is drawn s (server done relaying at) | "
        f"{_f(result['absorb_s'], 3)} ({_f(result['server_s'], 3)}) | - |  |  |  |",
        f"| {label} | client CPU s for the burst | {_f(result['burst_cpu_s'], 2)} | - |  |  |  |",
        f"| {label} | keystroke echo during the burst p50 / max ms ({result['keys']} keys) | "
        f"{_f(result['key_p50_ms'], 1)} / {_f(result['key_max_ms'], 1)} | - |  |  |  |",
        f"| curses client, idle | CPU % of a core, quiet room | {_f(result['quiet_cpu_pct'], 2)} | - |  |  |  |",
        f"| curses client, idle | CPU % of a core, busy room ({result['busy_rate']:g} msg/s) | "
        f"{_f(result['busy_cpu_pct'], 2)} | - |  |  |  |",
    ]


# ------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/fanout.py", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a seconds-long smoke run (1 repetition, tiny sizes)")
    parser.add_argument("--reps", type=int, help="repetitions per server and scenario (default 3; --quick: 1)")
    parser.add_argument("--only", action="append", choices=SCENARIOS, metavar="SCENARIO",
                        help=f"run only this scenario (repeatable): {', '.join(SCENARIOS)}")
    parser.add_argument("--server-cmd", help="the Parlor server command (must print 'listening on HOST:PORT' "
                                             "first); default: python3 server.py --port 0 --quiet")
    parser.add_argument("--servers", default="parlor,ngircd", help="which servers (default parlor,ngircd)")
    parser.add_argument("--workers", type=int, default=2, help="load generator processes (default 2)")
    parser.add_argument("--json", metavar="FILE", help="also write every run's figures to FILE")
    return parser


def make_starters(args, log) -> dict:
    wanted = [s.strip() for s in args.servers.split(",") if s.strip()]
    starters = {}
    if "parlor" in wanted:
        base = shlex.split(args.server_cmd) if args.server_cmd else default_parlor_cmd()
        added, kept = parlor_flags(base)
        for flag, value in zip(added[::2], added[1::2]):
            log(f"parlor: raised {flag} to {value} (its default would throttle or refuse the benchmark load)")
        if kept:
            log(f"parlor: left at their defaults: {' '.join(kept)}")
        cmd = base + added
        log(f"parlor: {shlex.join(cmd)}")
        starters["parlor"] = lambda: start_parlor(cmd)
    if "ngircd" in wanted:
        binary = find_ngircd()
        if binary is None:
            log("ngircd not found: apt-get install ngircd  (running Parlor alone)")
        else:
            log(f"ngircd: {binary} -n -f CONF (127.0.0.1, free port, MaxPenaltyTime = 0, no connection limits)")
            starters["ngircd"] = lambda: start_ngircd(binary)
    return starters


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sizes = quick_sizes() if args.quick else Sizes()
    reps = args.reps or (1 if args.quick else 3)
    scenarios = [s for s in SCENARIOS if not args.only or s in args.only]
    log = lambda text: print(text, flush=True)  # noqa: E731
    log(f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}; "
        f"Parlor at {_revision()}")
    limit = raise_fd_limit(2 * sizes.idle + 1000)
    log(f"fd limit (RLIMIT_NOFILE soft): {limit}")
    starters = make_starters(args, log)
    if not starters:
        log("no server to run")
        return 1
    started, all_results = time.monotonic(), {}
    for name in scenarios:
        log(f"{name}:")
        if name == "client":
            all_results[name] = run_client(starters, sizes, log)
        else:
            all_results[name] = repeat(name, starters, sizes, reps, args.workers, log)
    log(f"\nmedians of {reps} repetition{'s' if reps > 1 else ''}, fresh server each, "
        f"{time.monotonic() - started:.0f} s in all:\n")
    if args.quick:
        log("(--quick: sizes far too small for the targets, which are judged on the full run only)\n")
    log("\n".join(table(scenarios, all_results, sizes, judge=not args.quick)))
    if args.json:
        Path(args.json).write_text(json.dumps(all_results, indent=1, default=str))
    return 0


def _revision() -> str:
    """The checkout's commit, and whether the server's code has uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "chat", "server.py"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "an unknown revision"
    return f"{commit or 'an unknown commit'}{' with uncommitted changes in chat/' if dirty else ''}"


def run_client(starters: dict, sizes: Sizes, log) -> dict | None:
    if "parlor" not in starters:
        return None
    from bench.tui_client import measure_client
    try:
        with starters["parlor"]() as server:
            result = measure_client(server.port, sizes.client_burst, sizes.client_idle_s,
                                    sizes.client_busy_s, sizes.client_busy_rate)
    except (ServerError, RuntimeError, OSError) as exc:
        log(f"  client: FAILED: {exc}")
        return None
    log(f"  client: burst of {result['burst']} drawn in {_f(result['absorb_s'], 3)} s "
        f"(server done at {_f(result['server_s'], 3)} s), keystroke echo "
        f"p50 {_f(result['key_p50_ms'], 1)} ms max {_f(result['key_max_ms'], 1)} ms; idle CPU "
        f"{_f(result['quiet_cpu_pct'], 2)} % quiet, {_f(result['busy_cpu_pct'], 2)} % busy")
    return result


if __name__ == "__main__":
    sys.exit(main())
