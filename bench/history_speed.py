#!/usr/bin/env python3
"""History's cost in the real server.py (issue 13): a join that shows 50 history lines,
a /history page, a catch-up after a drop in a busy room, the same join and page in a
room of 1,000,000 stored messages, and fan-out CPU with the file store vs :memory:.

    python3 bench/history_speed.py                # everything: about 2 minutes here
    python3 bench/history_speed.py --only rooms --rows 100000
    python3 bench/history_speed.py --only catchup --reps 3
    python3 bench/history_speed.py --quick        # seconds, tiny sizes, targets not judged

For the requests the server is pinned to one CPU (so its --spin is off, as on any
single CPU) and its time is read from /proc/PID/task/*/schedstat (ns) with the server
asleep before the request is sent and after it is answered.  Stdlib only.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import fanout  # noqa: E402
from bench.chatroom import Driver, RoomError  # noqa: E402
from bench.proc import median, percentile, run_ns  # noqa: E402
from bench.servers import ServerError, default_parlor_cmd, parlor_flags, start_parlor  # noqa: E402
from bench.store_speed import fill  # noqa: E402
from chat import protocol as p  # noqa: E402

ROOM = "big"
REPLAY = 50  # the server's default --history
TARGET_MS = 5.0
SAME = 1.25  # "unchanged": the big room's median at most this times the small room's
FANOUT_RATIO = 1.10
SCENARIOS = ("rooms", "catchup", "fanout")
END = "the end of this round"


# ------------------------------------------------------------------ the server
def flags() -> list[str]:
    """The benchmark's flags: its load is not throttled (as bench/fanout.py)."""
    cmd = default_parlor_cmd()
    return cmd + parlor_flags(cmd)[0]


def start_pinned(cmd: list[str], cpu: int):
    """Start the server on CPU `cpu` alone, from its first instruction (a child takes
    its parent's CPUs), so its spin is off from the start."""
    mine = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        return start_parlor(cmd)
    finally:
        os.sched_setaffinity(0, mine)


def server_cpu() -> int:
    return max(os.sched_getaffinity(0))


# ------------------------------------------------------------------ joins and pages
def joins(driver: Driver, count: int, replay: int) -> dict[str, list[float]]:
    """`count` times: a member sends /nick and /join ROOM in one write, as the client
    does (timed until its MEMBERS block), then leaves (not timed; its nick goes with
    it).  Each join must bring `replay` history lines."""
    joiner = driver.connect("joiner", named=False)
    walls, cpus = [], []
    for _ in range(count):
        wall, cpu, mark = driver.timed(joiner, [p.Nick("joiner"), p.Join(ROOM)],
                                       lambda mark: joiner.since(mark, p.MemberList),
                                       "a join's MEMBERS")
        page = joiner.since(mark, p.HistoryPage)
        if page is None or page.why != p.ON_JOIN or len(page.entries) != replay:
            got = "no history block" if page is None else f"{len(page.entries)} {page.why} lines"
            raise RoomError(f"a join brought {got}, not {replay} history lines")
        walls.append(wall)
        cpus.append(cpu)
        mark = len(joiner.got)
        joiner.send(p.Leave())
        driver.run(lambda: joiner.since(mark, p.Here, lambda m: m.room == p.NOBODY), "/leave")
    driver.drop(joiner)
    return {"wall": walls, "cpu": cpus}


def pages(driver: Driver, count: int, size: int = 50) -> dict[str, list[float]]:
    """`count` `/history SIZE ID` requests, the IDs spread over the whole room (so a
    big room's pages come from all over its file)."""
    reader = driver.connect("reader", ROOM)
    top = reader.since(0, p.HistoryPage).entries[-1].id
    step = max(1, (top - 2 * size) // count)
    walls, cpus = [], []
    answered = lambda mark: reader.since(mark, p.HistoryPage, lambda m: m.why == p.PAGE)  # noqa: E731
    for i in range(count):
        before = top - i * step
        wall, cpu, mark = driver.timed(reader, [p.History(f"{size} {before}")], answered, "a page")
        page = answered(mark)
        if len(page.entries) != size or page.entries[-1].id >= before:
            raise RoomError(f"/history {size} {before} brought {len(page.entries)} entries")
        walls.append(wall)
        cpus.append(cpu)
    driver.drop(reader)
    return {"wall": walls, "cpu": cpus}


def measure_room(rows: int, folder: str, requests: int, sitters: int, log) -> dict:
    """Fill a file with `rows` messages in ROOM (and 1% as many in each of ten others),
    start a server on it, time joins and pages there."""
    path = os.path.join(folder, f"rows{rows}.db")
    started = time.monotonic()
    fill(path, rows, room=ROOM, t0=time.time() - rows)
    filled = time.monotonic() - started
    size = sum(os.path.getsize(path + end) for end in ("", "-wal") if os.path.exists(path + end))
    cmd = flags() + ["--db", path, "--history-max", "0", "--history-days", "0"]
    started = time.monotonic()
    with start_pinned(cmd, server_cpu()) as server:
        opened = time.monotonic() - started
        driver = Driver(server)
        try:
            for i in range(sitters):  # the room has people in it: MEMBERS and JOIN go to them
                driver.connect(f"sitter{i}", ROOM)
            result = {"join": joins(driver, requests, REPLAY), "page": pages(driver, requests)}
        finally:
            driver.close()
    log(f"  {rows:,} rows: filled in {filled:.1f} s, {size / (rows * 1.1):.1f} bytes a "
        f"message, server started in {opened:.2f} s; join {_brief(result['join'])}; "
        f"page {_brief(result['page'])}")
    result.update(rows=rows, bytes_per_message=size / (rows * 1.1), start_s=opened)
    return result


def _brief(figures: dict[str, list[float]]) -> str:
    return (f"server {statistics.median(figures['cpu']):.3f} ms, wall "
            f"{statistics.median(figures['wall']):.3f} ms (medians of {len(figures['cpu'])})")


# ------------------------------------------------------------------ the catch-up
def catch_ups(folder: str, reps: int, talkers: int, rate: float, away: float,
              min_missed: int, sitters: int, log) -> list[dict]:
    """A busy room (`talkers` at `rate` lines/s each, `sitters` listening); `reps` times
    a member drops, stays away `away` s (and until `min_missed` lines were said), comes
    back and sends /join, /nick and /missed LASTID in one write."""
    with start_pinned(flags() + ["--db", os.path.join(folder, "busy.db")], server_cpu()) as server:
        driver = Driver(server)
        try:
            speakers = [driver.connect(f"talker{i}", ROOM) for i in range(talkers)]
            for i in range(sitters):
                driver.connect(f"sitter{i}", ROOM)
            roamer = driver.connect("roamer", ROOM)
            results = []
            for rep in range(reps):
                for i, talker in enumerate(speakers):
                    driver.talk(talker, rate, phase=i / talkers)
                result, roamer = catch_up(driver, roamer, speakers[0], away, min_missed)
                results.append(result)
                log(f"  catch-up {rep + 1}: {result['missed']} missed, /missed "
                    f"{result['cpu']:.3f} ms server ({result['wall']:.3f} ms wall); alone "
                    f"{result['alone_cpu']:.3f} ms; the talkers cost {result['busy_us_per_ms']:.1f}"
                    f" us a ms; dup {result['duplicated']} skipped {result['skipped']}")
        finally:
            driver.close()
    return results


def catch_up(driver: Driver, roamer, watcher, away: float, min_missed: int):
    """One drop and return; (figures, the member that came back)."""
    driver.run(lambda: roamer.ids, "a first line for the roamer")
    last = roamer.ids[-1]
    gone, ns0 = time.monotonic(), run_ns(driver.server.pid)
    driver.drop(roamer)
    driver.until(gone + away, lambda: sum(i > last for i in watcher.ids[-min_missed:]) >= min_missed)
    busy = (run_ns(driver.server.pid) - ns0) / 1e3 / ((time.monotonic() - gone) * 1e3)
    back = driver.connect("roamer", named=False)
    caught = lambda mark: back.since(mark, p.HistoryPage, lambda m: m.why == p.CAUGHT_UP)  # noqa: E731
    wall, cpu, mark = driver.timed(back, [p.Join(ROOM), p.Nick("roamer"), p.Missed(str(last))],
                                   caught, "the catch-up")
    page = caught(mark)
    # The same /missed again, alone, in the busy room: its own server time.
    _, alone, _ = driver.timed(back, [p.Missed(str(last))], caught, "a second /missed")
    driver.quiet()
    mark = len(watcher.got)  # a last line, after which both have seen everything said
    watcher.send(p.Say(END))
    ended = lambda msg: msg.text == END  # noqa: E731
    driver.run(lambda: watcher.since(mark, p.Chat, ended) and back.since(0, p.Chat, ended),
               "the round's last line")
    result = exactness(page, last, watcher.ids, back.ids)
    result.update(wall=wall, cpu=cpu, alone_cpu=alone, busy_us_per_ms=busy)
    return result, back


def exactness(page: p.HistoryPage, last: int, seen: list[int], live: list[int]) -> dict:
    """Whether the catch-up page held exactly the chat lines said after `last` that the
    returning member did not get live: `seen` is every chat id a member who stayed got."""
    caught = [e.id for e in page.entries if e.kind == p.SAY]
    said, live_set, caught_set = {i for i in seen if i > last}, set(live), set(caught)
    return {
        "missed": len(said - live_set),
        "caught": len(caught),
        "duplicated": len(caught) - len(caught_set) + len(caught_set & live_set),
        "skipped": len(said - live_set - caught_set) - page.older,
        "left_out": page.older,
        # entries that are no missed line: ids not said here after `last`, and notices
        "strays": len(caught_set - said) + len(page.entries) - len(caught),
        "in_order": caught == sorted(caught) and (not live or not caught or caught[-1] < live[0]),
    }


# ------------------------------------------------------------------ fan-out
def fanout_runs(reps: int, workers: int, quick: bool, log) -> dict:
    """bench/fanout.py's 1x50 and 20x10 runs, the default file store against
    --db :memory:, alternating (fanout.repeat swaps the order every repetition)."""
    sizes = fanout.quick_sizes() if quick else fanout.Sizes()
    cmd = flags()  # start_parlor gives it a file of its own
    starters = {"file": lambda: start_parlor(cmd),
                "memory": lambda: start_parlor(cmd + ["--db", ":memory:"])}
    return {name: fanout.repeat(name, starters, sizes, reps, workers, log)
            for name in ("fan1x50", "fan20x10")}


# ------------------------------------------------------------------ the table
def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    return (f"{statistics.median(ordered):.3f} (p90 {percentile(ordered, 90):.3f}, "
            f"mean {statistics.fmean(ordered):.3f})")


def _met(ok: bool, judge: bool) -> str:
    return ("yes" if ok else "**no**") if judge else ""


def room_rows(small: dict, big: dict | None, judge: bool) -> list[str]:
    rows = []
    for key, label in (("join", f"join showing {REPLAY} history lines"),
                       ("page", "`/history 50 ID` page")):
        for room in (small, big):
            if room is None:
                continue
            where = f"room of {room['rows']:,}"
            cpu = statistics.median(room[key]["cpu"])
            rows.append(f"| {label}, {where} | server ms | {_ms(room[key]['cpu'])} | "
                        f"< {TARGET_MS:g} | {_met(cpu < TARGET_MS, judge)} |")
            rows.append(f"| {label}, {where} | wall ms until answered | "
                        f"{_ms(room[key]['wall'])} |  |  |")
        if big is not None:
            ratio = statistics.median(big[key]["cpu"]) / statistics.median(small[key]["cpu"])
            rows.append(f"| {label} | server ms, {big['rows']:,} / {small['rows']:,} | "
                        f"{ratio:.2f} | <= {SAME:g} | {_met(ratio <= SAME, judge)} |")
    for room in (small, big):
        if room is not None:
            rows.append(f"| room of {room['rows']:,} (+1% in each of 10 others) | file bytes a "
                        f"message; server start s | {room['bytes_per_message']:.0f}; "
                        f"{room['start_s']:.2f} |  |  |")
    return rows


def catchup_rows(results: list[dict], judge: bool) -> list[str]:
    cpu = [r["cpu"] for r in results]
    bad = sum(r["duplicated"] + r["skipped"] + r["strays"] for r in results)
    order = all(r["in_order"] for r in results)
    return [
        f"| catch-up, /join + /nick + /missed in one write | server ms | {_ms(cpu)} | "
        f"< {TARGET_MS:g} | {_met(median(cpu) < TARGET_MS, judge)} |",
        f"| catch-up | wall ms until answered | {_ms([r['wall'] for r in results])} |  |  |",
        f"| catch-up, the /missed sent again alone | server ms | "
        f"{_ms([r['alone_cpu'] for r in results])} | < {TARGET_MS:g} | "
        f"{_met(median([r['alone_cpu'] for r in results]) < TARGET_MS, judge)} |",
        f"| catch-up | lines missed (each drop) | {', '.join(str(r['missed']) for r in results)}"
        f" |  |  |",
        f"| catch-up | the talkers' own server load, us a ms | "
        f"{median([r['busy_us_per_ms'] for r in results]):.1f} |  |  |",
        f"| catch-up | duplicated / skipped / other entries (all drops); in order | "
        f"{sum(r['duplicated'] for r in results)} / {sum(r['skipped'] for r in results)} / "
        f"{sum(r['strays'] for r in results)}; {'yes' if order else 'no'} | 0 / 0 / 0; yes | "
        f"{_met(bad == 0 and order, True)} |",
    ]


def fanout_rows(results: dict, judge: bool) -> list[str]:
    rows = []
    for name, label in (("fan1x50", "1 room x 50"), ("fan20x10", "20 rooms x 10")):
        runs = results.get(name, {})
        per = {kind: [r["sched_ms_per_1k"] for r in runs.get(kind, [])] for kind in ("file", "memory")}
        if not per["file"] or not per["memory"]:
            continue
        for kind in ("file", "memory"):
            values = per[kind]
            rows.append(f"| fan-out {label}, --db {'FILE' if kind == 'file' else ':memory:'} | "
                        f"server CPU ms / 1k deliveries (schedstat) | {median(values):.3f} "
                        f"(spread {min(values):.3f}-{max(values):.3f}, {len(values)} runs) |  |  |")
        ratio = median(per["file"]) / median(per["memory"])
        pairs = median([f / m for f, m in zip(per["file"], per["memory"])])
        rows.append(f"| fan-out {label} | file / memory (median of the runs' ratios) | "
                    f"{ratio:.2f} ({pairs:.2f}) | <= {FANOUT_RATIO:.2f} | "
                    f"{_met(ratio <= FANOUT_RATIO, judge)} |")
        lost = sum(r["lost"] + r["duplicated"] + r["reordered"] + r["misrouted"]
                   for kind in ("file", "memory") for r in runs.get(kind, []))
        rows.append(f"| fan-out {label} | lost + dup + reordered + misrouted (all runs) | "
                    f"{lost} | 0 | {_met(lost == 0, True)} |")
    return rows


# ------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/history_speed.py",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=SCENARIOS, metavar="PART",
                        help=f"run only this part (repeatable): {', '.join(SCENARIOS)}")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (the smoke run)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="messages in the big room")
    parser.add_argument("--small", type=int, default=1_000, help="messages in the small room")
    parser.add_argument("--requests", type=int, default=500, help="joins and pages per room")
    parser.add_argument("--reps", type=int, default=5, help="drops, and fan-out runs per store")
    parser.add_argument("--away", type=float, default=10.0, help="seconds a dropped member is away")
    parser.add_argument("--talkers", type=int, default=4, help="members talking in the busy room")
    parser.add_argument("--rate", type=float, default=4.0, help="lines a second each talker says")
    parser.add_argument("--workers", type=int, default=2, help="fan-out load generator processes")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.quick:
        args.rows, args.small, args.requests, args.reps, args.away = 3_000, 300, 10, 1, 0.5
    parts = [s for s in SCENARIOS if not args.only or s in args.only]
    log = lambda text: print(text, flush=True)  # noqa: E731
    log(f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}; {os.cpu_count()} CPUs; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; Parlor at {fanout._revision()}; "
        f"requests on CPU {server_cpu()}")
    rows, started = [], time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="parlor-histbench-") as folder:
            if "rooms" in parts:
                log("joins and pages:")
                small = measure_room(args.small, folder, args.requests, 3, log)
                big = measure_room(args.rows, folder, args.requests, 3, log)
                rows += room_rows(small, big, not args.quick)
            if "catchup" in parts:
                log("catch-ups:")
                results = catch_ups(folder, args.reps, args.talkers, args.rate, args.away,
                                    int(args.talkers * args.rate * args.away * 0.8), 6, log)
                rows += catchup_rows(results, not args.quick)
    except (RoomError, ServerError, OSError) as exc:
        log(f"FAILED: {exc}")
        return 1
    if "fanout" in parts:
        log("fan-out, file store vs :memory::")
        rows += fanout_rows(fanout_runs(max(args.reps, 3 if not args.quick else 1), args.workers,
                                        args.quick, log), not args.quick)
    log(f"\n{time.monotonic() - started:.0f} s in all; load average now "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    if args.quick:
        log("(--quick: sizes far too small for the targets, which are judged on the full run only)\n")
    log("| figure | measure | value: median (p90, mean) | target | met |\n|---|---|---|---|---|")
    log("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
