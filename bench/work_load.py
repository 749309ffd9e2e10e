#!/usr/bin/env python3
"""Heavy commands within the limits: does a normal user in another room stay fast?

Starts its own server.py pinned to one CPU (`taskset`), fills it with a crowd of
connections, lets N of them do the worst the limits allow, and meanwhile times a
normal user chatting in a room of its own (each line until its echo comes back).

    python3 bench/work_load.py                          # who, list, bot; 250 and 998 attackers
    python3 bench/work_load.py --only who --attackers 998 --seconds 30

Scenarios (each attacker sends at --rate lines a second, under the flood limit,
with at most --window commands unanswered, so it is never cut off as flooding):
  who   the crowd in one room of 998; an attacker sends /who (about 1,000 lines back)
  list  the crowd one per room (about 1,000 rooms); an attacker sends /list
  bot   the crowd in one room; an attacker plays `/game tictactoe bot` then `/resign`
        (about 25 lines to every member of the room per pair)
Prints the user's p50/p99/max latency and its lines never answered, the server's
CPU % and RSS, and what the attackers got: answers, warnings (held), goodbyes
(dropped).  Linux only; standard library only.
"""
from __future__ import annotations

import argparse
import heapq
import os
import selectors
import sys
import time
import traceback
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.adapters import ADAPTERS  # noqa: E402
from bench.load import Client, Tally, flush, pump, register_clients  # noqa: E402
from bench.proc import cpu_seconds, memory_kib, percentile, raise_fd_limit  # noqa: E402
from bench.runs import CTX  # noqa: E402
from bench.servers import RAISE, default_parlor_cmd, start_parlor  # noqa: E402

SCENARIOS = ("who", "list", "bot")
CROWD = 998          # with the user: 999 connections, under the default --max-clients 1000
USER_ROOM = 999_999  # the user's room, r999999: nobody else is in it
USER_ID = 999_999
# The server runs a little ahead of other work on its CPU (this machine is shared), so
# the figures are its own; 0 with --server-nice 0.
SERVER_NICE = -10
# Admission limits off (the crowd comes from one address); the flood limit is NOT raised.
ADMISSION = [arg for flag in ("--max-per-address", "--connect-rate", "--max-clients")
             for arg in (flag, RAISE[flag])]
READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
RECV_SIZE = 1 << 18
SLOW_NS = 5_000_000  # the user's lines slower than this are listed with --verbose


# ------------------------------------------------------------------ the crowd
class Member(Client):
    """One crowd connection; an attacker sends `command` and counts its answers."""
    __slots__ = ("answer", "needle", "command", "due", "blocked", "outstanding", "answered",
                 "warned", "said_bye", "errors")

    def __init__(self, cid: int, room: int, adapter) -> None:
        super().__init__(cid, room, adapter)
        self.answer: bytes | None = None  # how the line ending its answer starts; None: a bystander
        self.needle = b""  # ...and what that line must contain
        self.command = b""
        self.due = 0.0
        self.blocked = False
        self.outstanding = self.answered = self.warned = self.said_bye = 0
        self.errors: list[bytes] = []


def attack_of(scenario: str, cid: int) -> tuple[bytes, bytes, bytes]:
    """The command an attacker repeats, how the line ending its answer starts, and
    what that line contains (a bot game's end is seen by the whole room)."""
    if scenario == "who":
        return b"/who\n", b"MEMBERS ", b""
    if scenario == "list":
        return b"/list\n", b"ROOMS ", b""
    if scenario == "bot":
        return b"/game tictactoe bot\n/resign\n", b"GAMEOVER ", b" u%d resigned: " % cid
    raise ValueError(f"no scenario {scenario!r}; there are {', '.join(SCENARIOS)}")


def count_lines(whole: bytes, start: bytes, needle: bytes = b"") -> int:
    """Lines of `whole` (complete lines) that start with `start` and contain `needle`."""
    if not needle:
        return whole.count(b"\n" + start) + whole.startswith(start)
    count, at = 0, -1
    while (at := whole.find(start, at + 1)) >= 0:
        if at == 0 or whole[at - 1] == 10:  # at a line start
            if needle in whole[at:whole.index(b"\n", at)]:
                count += 1
    return count


def _elsewhere(urgent: bool = False) -> None:
    """Run off the server's CPU (it is pinned to the lowest one).  The crowd's reading
    can fill the other CPU, so the user (which sends 4 lines a second) is woken first,
    real-time if allowed: its figures time the server rather than the scheduler."""
    cpus = os.sched_getaffinity(0)
    if len(cpus) > 1:
        os.sched_setaffinity(0, cpus - {min(cpus)})
    if not urgent:
        return
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except (OSError, AttributeError):
        pass  # not allowed here: an ordinary process, still ahead of the niced crowd


def crowd_worker(scenario: str, host: str, port: int, size: int, attackers: int, rate: float,
                 window: int, drain: float, ready, go, stop, results) -> None:
    """Register `size` connections (one room, or one room each for `list`), then on `go`
    let the first `attackers` of them attack until `stop`; then wait up to `drain` s
    for their last answers and report."""
    adapter = ADAPTERS["parlor"]
    sel = selectors.DefaultSelector()
    members: list[Member] = []
    try:
        _elsewhere()
        members = [Member(i, i if scenario == "list" else 0, adapter) for i in range(size)]
        tally = Tally(adapter, 1, size, 1)
        dropped = register_clients(host, port, None, members, sel, tally, adapter, 20, 300)
        if dropped:
            raise RuntimeError(f"the server hung up on {dropped} while they registered: "
                               f"{tally.errors}")
        ready.wait(300)
        while not go.is_set():
            pump(sel, ANSWERS, 0.05)
        start = time.monotonic()
        schedule = []
        for m in members[:attackers]:
            m.command, m.answer, m.needle = attack_of(scenario, m.id)
            m.due = start + m.id / max(attackers, 1) / rate * _lines(m.command)
            schedule.append((m.due, m.id))
        heapq.heapify(schedule)
        while not stop.is_set():
            _send_due(sel, members, attackers, schedule, rate, window)
            wait = min(schedule[0][0] - time.monotonic(), 0.02) if schedule else 0.02
            pump(sel, ANSWERS, max(wait, 0))
        end = time.monotonic() + drain
        while time.monotonic() < end and any(m.outstanding and not m.closed for m in members):
            pump(sel, ANSWERS, 0.05)
        results.put({"crowd": _crowd_report(members[:attackers], members)})
    except Exception:
        ready.abort()
        results.put({"error": traceback.format_exc()})
    finally:
        for m in members:
            if m.sock is not None:
                m.sock.close()
        sel.close()


def _lines(command: bytes) -> int:
    return command.count(b"\n")


def _send_due(sel, members: list[Member], attackers: int, schedule: list, rate: float,
              window: int) -> None:
    now = time.monotonic()
    while schedule and schedule[0][0] <= now:
        _, cid = heapq.heappop(schedule)
        m = members[cid]
        if m.closed:
            continue
        if m.outstanding >= window:
            m.blocked = True  # the next answer puts it back on the schedule
            continue
        m.out += m.command
        m.sent += 1
        m.outstanding += 1
        flush(sel, m)
        m.due = max(m.due + _lines(m.command) / rate, now)
        heapq.heappush(schedule, (m.due, cid))
    for m in members[:attackers]:
        if m.blocked and m.outstanding < window:
            m.blocked = False
            m.due = max(m.due, now)
            heapq.heappush(schedule, (m.due, m.id))


class Answers:
    """What the crowd reads, fed by bench.load's pump like its Tally: an attacker counts
    the answers, warnings and goodbyes it gets; everyone answers PING."""

    @staticmethod
    def feed(m: Member, data: bytes, now: int) -> None:
        if m.answer is None and b"PING " not in data:
            return  # a bystander: read and forget
        data = m.tail + data
        cut = data.rfind(b"\n") + 1
        m.tail, whole = data[cut:], data[:cut]
        if m.answer is not None:
            got = count_lines(whole, m.answer, m.needle)
            m.answered += got
            m.outstanding = max(m.outstanding - got, 0)
            m.warned += count_lines(whole, b"ERROR ")
            m.said_bye += count_lines(whole, b"BYE ")
            if len(m.errors) < 3 and (m.warned or m.said_bye):
                m.errors += [line for line in whole.split(b"\n")
                             if line.startswith((b"ERROR", b"BYE"))][:1]
        for line in whole.split(b"\n") if b"PING " in whole else ():
            m.out += ADAPTERS["parlor"].pong(line) or b""


ANSWERS = Answers()


def _crowd_report(attackers: list[Member], everyone: list[Member]) -> dict:
    samples = sorted({e.decode("utf-8", "replace")[:160] for m in attackers for e in m.errors})
    return {
        "commands": sum(m.sent for m in attackers),
        "answered": sum(m.answered for m in attackers),
        "unanswered": sum(m.outstanding for m in attackers),
        "warned": sum(1 for m in attackers if m.warned),
        "warnings": sum(m.warned for m in attackers),
        "attackers_dropped": sum(1 for m in attackers if m.closed or m.said_bye),
        "bystanders_dropped": sum(1 for m in everyone[len(attackers):] if m.closed),
        "said": samples[:3],
    }


# ------------------------------------------------------------------ the normal user
def user_worker(host: str, port: int, rate: float, drain: float, ready, go, stop, results) -> None:
    """One user alone in a room: a numbered line every 1/rate s; the latency of each is
    the time until its own MSG comes back.  Lines with no echo within `drain` s of the
    end are never answered."""
    adapter = ADAPTERS["parlor"]
    sel = selectors.DefaultSelector()
    me = Client(USER_ID, USER_ROOM, adapter)
    try:
        _elsewhere(urgent=True)
        tally = Tally(adapter, 1, 1, 1)
        if register_clients(host, port, None, [me], sel, tally, adapter, 1, 300):
            raise RuntimeError(f"the server hung up on the user: {tally.errors}")
        sel.unregister(me.sock)
        me.sock.setblocking(True)
        me_at = (b"r%d" % USER_ROOM, b"u%d" % USER_ID)
        ready.wait(300)
        go.wait()
        sent_at: list[int] = []
        latency = array("q")
        start, tail = time.monotonic(), b""
        start_ns, slow = time.monotonic_ns(), []
        deadline = None
        while True:
            now = time.monotonic()
            if deadline is None and stop.is_set():
                deadline = now + drain
            if deadline is not None and (len(latency) == len(sent_at) or now >= deadline):
                break
            due = start + len(sent_at) / rate
            if deadline is None and now >= due:
                sent_at.append(time.monotonic_ns())
                me.sock.sendall(b"line %d\n" % (len(sent_at) - 1))
                continue
            wait = (due - now) if deadline is None else (deadline - now)
            me.sock.settimeout(max(min(wait, 0.05), 0.0005))
            try:
                data = me.sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                raise RuntimeError("the server closed the user's connection")
            got = time.monotonic_ns()
            lines = (tail + data).split(b"\n")
            tail = lines.pop()
            for line in lines:
                said = adapter.parse_chat(line)
                if said is not None and said[:2] == me_at:
                    seq = int(said[2].rsplit(b" ", 1)[1])
                    latency.append(got - sent_at[seq])
                    if latency[-1] > SLOW_NS and len(slow) < 40:
                        slow.append((round((sent_at[seq] - start_ns) / 1e9, 2),
                                     round(latency[-1] / 1e6, 1)))
                elif line.startswith(b"PING "):
                    me.sock.sendall(adapter.pong(line))
        results.put({"user": {"sent": len(sent_at), "answered": len(latency),
                              "latency": latency.tobytes(), "slow": slow}})
    except Exception:
        ready.abort()
        results.put({"error": traceback.format_exc()})
    finally:
        if me.sock is not None:
            me.sock.close()
        sel.close()


# ------------------------------------------------------------------ one run
def run(scenario: str, attackers: int, seconds: float, server_args: list[str] = (),
        size: int = CROWD, rate: float = 4.0, window: int = 8, user_rate: float = 4.0,
        drain: float = 10.0, cpu: int | None = None, nice: int = SERVER_NICE) -> dict:
    """One scenario against a fresh server; returns the figures (see `summary`)."""
    raise_fd_limit(size + 256)
    cpus = sorted(os.sched_getaffinity(0))
    cpu = cpus[0] if cpu is None else cpu
    cmd = ["taskset", "-c", str(cpu)] + _nice(nice) + default_parlor_cmd() + ADMISSION + \
        list(server_args)
    with start_parlor(cmd) as server:
        ready, go, stop = CTX.Barrier(3), CTX.Event(), CTX.Event()
        results = CTX.Queue()
        procs = [CTX.Process(target=crowd_worker, daemon=True, args=(
                     scenario, server.host, server.port, size, attackers, rate, window, drain,
                     ready, go, stop, results)),
                 CTX.Process(target=user_worker, daemon=True, args=(
                     server.host, server.port, user_rate, drain, ready, go, stop, results))]
        for proc in procs:
            proc.start()
        try:
            ready.wait(600)
            cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
            go.set()
            time.sleep(seconds)  # the run itself: a benchmark's clock, not a synchronisation
            cpu1, t1, mem = cpu_seconds(server.pid), time.monotonic(), memory_kib(server.pid)
            stop.set()
            reports = {}
            for _ in procs:
                report = results.get(timeout=drain + 120)
                if "error" in report:
                    raise RuntimeError(report["error"])
                reports.update(report)
            alive = server.alive()
        finally:
            stop.set()
            for proc in procs:
                proc.join(timeout=30)
                if proc.is_alive():
                    proc.kill()
    user = reports["user"]
    values = array("q")
    values.frombytes(user.pop("latency"))
    ordered = sorted(values)
    pick = lambda q: None if not ordered else percentile(ordered, q) / 1e6  # noqa: E731
    return {"scenario": scenario, "attackers": attackers, "seconds": seconds,
            "user_p50_ms": pick(50), "user_p99_ms": pick(99),
            "user_max_ms": ordered[-1] / 1e6 if ordered else None,
            "user_sent": user["sent"], "user_unanswered": user["sent"] - user["answered"],
            "user_slow": user["slow"],
            "cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0), "rss_mib": mem["VmRSS"] / 1024,
            "peak_rss_mib": mem["VmHWM"] / 1024, "server_alive": alive, **reports["crowd"]}


def _nice(level: int) -> list[str]:
    """`nice -n LEVEL` if this process may set it (a negative one needs root), else nothing."""
    if level >= 0 or os.geteuid() == 0:
        return ["nice", "-n", str(level)] if level else []
    return []


def summary(r: dict) -> str:
    f = lambda v, d=1: "-" if v is None else f"{v:.{d}f}"  # noqa: E731
    return (f"{r['scenario']:4} {r['attackers']:4} attackers: user p50 {f(r['user_p50_ms'], 2)} "
            f"p99 {f(r['user_p99_ms'], 2)} max {f(r['user_max_ms'], 1)} ms, "
            f"{r['user_unanswered']}/{r['user_sent']} never answered; server CPU "
            f"{f(r['cpu_pct'], 0)}%, RSS {f(r['rss_mib'])} MiB (peak {f(r['peak_rss_mib'])}); "
            f"attackers: {r['commands']} commands, {r['answered']} answered, "
            f"{r['unanswered']} not; {r['warned']} warned (held), "
            f"{r['attackers_dropped']} dropped; bystanders dropped {r['bystanders_dropped']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/work_load.py", description=__doc__.split("\n")[0])
    ap.add_argument("--only", action="append", choices=SCENARIOS, help="a scenario (repeatable)")
    ap.add_argument("--attackers", default="250,998",
                    help="comma-separated counts (default 250,998)")
    ap.add_argument("--seconds", type=float, default=30.0, help="length of each run (default 30)")
    ap.add_argument("--rate", type=float, default=4.0, help="attacker lines a second (default 4)")
    ap.add_argument("--window", type=int, default=8,
                    help="attacker commands unanswered at most (default 8)")
    ap.add_argument("--user-rate", type=float, default=4.0, help="the user's lines a second (4)")
    ap.add_argument("--server-nice", type=int, default=SERVER_NICE,
                    help=f"the server's nice level (default {SERVER_NICE}; negative needs root)")
    ap.add_argument("--verbose", action="store_true",
                    help="also list the user's lines slower than 5 ms: (s into the run, ms)")
    ap.add_argument("--server-arg", action="append", default=[], metavar="ARG",
                    help="an extra server.py argument (repeatable; --server-arg=--max-work=0)")
    args = ap.parse_args(argv)
    failed = False
    for scenario in args.only or SCENARIOS:
        for count in (int(n) for n in args.attackers.split(",")):
            r = run(scenario, count, args.seconds, args.server_arg, rate=args.rate,
                    window=args.window, user_rate=args.user_rate, nice=args.server_nice)
            print(summary(r), flush=True)
            if args.verbose and r["user_slow"]:
                print("      slow:", " ".join(f"{t}s:{ms}" for t, ms in r["user_slow"]), flush=True)
            if r["said"]:
                print("      attackers were told:", " | ".join(r["said"]), flush=True)
            failed |= not r["server_alive"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
