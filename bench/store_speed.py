#!/usr/bin/env python3
"""The history store's costs: add+flush per message (a file vs :memory:, 1, 10 and 100
messages a flush, and the spread of single-message flushes), reads on a room of a million
rows, opening and pruning that file, and the file's size per message.

    python3 bench/store_speed.py            # about a minute; a 1,000,000-row room
    python3 bench/store_speed.py --rows 100000 --messages 2000
    python3 bench/store_speed.py --quick    # seconds: the smoke run the tests use

Stdlib only.  Times are medians of repeated calls, in microseconds.
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

from chat.server.sqlite_store import open_store  # noqa: E402

T0 = 1_800_000_000.0
TEXT = "a line of chat of a usual length, about fifty chars"  # 51 characters
BIG = "#big"


def per_message_us(path: str, messages: int, batch: int) -> float:
    """Microseconds of add()+flush() per message, `batch` messages a flush."""
    store = open_store(path, max_messages=None, max_days=None)
    started = time.perf_counter()
    for i in range(messages):
        store.add("#room", "say", "alice", T0 + i, TEXT)
        if i % batch == batch - 1:
            assert store.flush(), store.problem
    assert store.flush(), store.problem
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed / messages * 1e6


def flush_latency_us(path: str, messages: int) -> tuple[list[float], float]:
    """p50, p99 and the longest add()+flush() of one message, with prune() (which
    checkpoints the WAL) every 100 messages as the server's idle timer would; and the
    median of those prune() calls."""
    store = open_store(path, max_messages=None, max_days=None)
    times, prunes = [], []
    for i in range(messages):
        started = time.perf_counter()
        store.add("#room", "say", "alice", T0 + i, TEXT)
        assert store.flush(), store.problem
        times.append((time.perf_counter() - started) * 1e6)
        if i % 100 == 99:
            prunes.append(median_us(lambda _: store.prune(T0), 1))
    store.close()
    times.sort()
    return [times[len(times) // 2], times[len(times) * 99 // 100], times[-1]], \
        statistics.median(prunes or [0.0])


def median_us(call, repeat: int) -> float:
    times = []
    for i in range(repeat):
        started = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def fill(path: str, rows: int, room: str = BIG, t0: float = T0) -> None:
    """`rows` messages in `room` and 1% as many in each of ten other rooms, one a
    second from `t0`."""
    store = open_store(path, max_messages=None, max_days=None)
    for i in range(rows):
        store.add(room, "say", f"nick{i % 50}", t0 + i, TEXT)
        if i % 100 == 0:
            for other in range(10):
                store.add(f"room{other}", "say", "bob", t0 + i, TEXT)
        if i % 10_000 == 9_999:
            assert store.flush(), store.problem
    store.close()


def reads(path: str, rows: int, repeat: int) -> dict[str, float]:
    started = time.perf_counter()
    store = open_store(path, max_messages=None, max_days=None)
    figures = {"open the file": (time.perf_counter() - started) * 1e6}
    last = store.last_id()
    step = max(1, last // repeat)
    figures["recent(50): a join"] = median_us(lambda i: store.recent(BIG, 50), repeat)
    figures["before(id, 100): a /history page"] = median_us(
        lambda i: store.before(BIG, last - i * step, 100), repeat)
    figures["since(last - 200, 50): a catch-up"] = median_us(
        lambda i: store.since(BIG, last - 200, 50), repeat)
    figures["since(0, 50): everything missed"] = median_us(
        lambda i: store.since(BIG, 0, 50), max(3, repeat // 20))
    store.close()
    size = os.path.getsize(path)
    figures["file bytes per message"] = size / (rows * 1.1)
    pruning = open_store(path, max_messages=rows // 2, max_days=None)
    figures["prune(batch=500)"] = median_us(lambda i: pruning.prune(T0), max(3, repeat // 10))
    pruning.close()
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="messages in the big room")
    parser.add_argument("--messages", type=int, default=5_000, help="messages per write figure")
    parser.add_argument("--repeat", type=int, default=200, help="calls per read figure")
    parser.add_argument("--quick", action="store_true", help="a tiny run (smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.messages, args.repeat = 2_000, 200, 10
    with tempfile.TemporaryDirectory(prefix="parlor-bench-") as folder:
        print("add+flush per message (us):")
        for batch in (1, 10, 100):
            file_us = per_message_us(os.path.join(folder, f"w{batch}.db"), args.messages, batch)
            memory_us = per_message_us(":memory:", args.messages, batch)
            print(f"  {batch:>3} a flush: file {file_us:8.1f}   :memory: {memory_us:8.1f}   "
                  f"ratio {file_us / memory_us:5.2f}")
        (p50, p99, longest), prune_us = flush_latency_us(os.path.join(folder, "latency.db"),
                                                         args.messages)
        print(f"  one message a flush, file: p50 {p50:.1f}  p99 {p99:.1f}  max {longest:.1f}  "
              f"(prune+checkpoint every 100: {prune_us:.1f})")
        path = os.path.join(folder, "big.db")
        started = time.perf_counter()
        fill(path, args.rows)
        print(f"a room of {args.rows:,} rows (filled in {time.perf_counter() - started:.1f} s):")
        for name, value in reads(path, args.rows, args.repeat).items():
            unit = "" if "bytes" in name else " us"
            print(f"  {name:<36} {value:10.1f}{unit}")


if __name__ == "__main__":
    main()
