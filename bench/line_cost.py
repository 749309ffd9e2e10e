#!/usr/bin/env python3
"""What one chat line costs the server, in-process: the loop's own turn, timed.

    python3 bench/line_cost.py                 # history in a file, then :memory:, then the floor
    python3 bench/line_cost.py --lines 50000

Two registered members of one room over real loopback sockets; each line one
sends is one turn of the real loop (`Server.turn`: select, read, handle, commit,
the copy to the other, the echo), timed with the clock around it, and the parts
of it that matter for a round trip timed on their own: the commit (the history
log's write) and each send.  Then the floor: a bare select/recv/send/send relay
in the same process, what any CPython server pays for the syscalls alone.

Far steadier than bench/fanout.py's ping-pong (no scheduler, no client process in
the round trip), so a change to the hot path shows as microseconds here first.
A measuring aid for issue 19, not part of BENCHMARKS.md's table.
"""
from __future__ import annotations

import argparse
import os
import selectors
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chat.server.limits import Limits  # noqa: E402
from chat.server.loop import Server  # noqa: E402
from chat.server.main import build_state  # noqa: E402
from chat.server.sqlite_store import open_store  # noqa: E402


def _drain(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            got = sock.recv(65536)
        except BlockingIOError:
            return data
        if not got:
            return data
        data += got


def _p50_us(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2] * 1e6 if values else float("nan")


def measure(db: str, lines: int) -> dict:
    """The p50s in microseconds of a turn over `lines` lines, then of its commit and
    of a send over as many more."""
    store = open_store(db)
    server = Server(build_state(store=store, grace=0), "127.0.0.1", 0,
                    Limits(max_rate=1e6, burst=1e6, max_work=0))
    a, b = (socket.create_connection(server.address) for _ in range(2))
    try:
        for sock, nick in ((a, "alice"), (b, "bob")):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            sock.sendall(f"/nick {nick}\n/join lounge\n".encode())
        seen = {a: b"", b: b""}
        end = time.monotonic() + 10
        while not all(b"HERE lounge" in got for got in seen.values()):
            if time.monotonic() > end:
                raise RuntimeError("the two members never got into their room")
            server.turn()
            for sock in seen:
                seen[sock] += _drain(sock)
        turns: list[float] = []
        for i in range(2 * lines):
            if i == lines:  # the second half: the parts (timing them slows the turn)
                commits, sends = _timed(server, "_commit"), _timed(server, "_send")
            sender, other = (a, b) if i % 2 == 0 else (b, a)
            sender.send(b"hello there, line %d of the measurement\n" % i)
            while True:
                start = time.perf_counter()
                if server.turn():
                    break
            if i < lines:
                turns.append(time.perf_counter() - start)
            if not _drain(other) or not _drain(sender):
                raise RuntimeError(f"line {i} was not relayed and echoed")
        return {"turn": _p50_us(turns), "commit": _p50_us(commits), "send": _p50_us(sends)}
    finally:
        a.close()
        b.close()
        server.stop()
        server.serve_forever()  # (stopping: says goodbye and closes everything)
        store.close()


def _timed(server: Server, name: str) -> list[float]:
    """Time each call of the server's method `name` from now on."""
    method, spent = getattr(server, name), []

    def timed(*args):
        start = time.perf_counter()
        method(*args)
        spent.append(time.perf_counter() - start)
    setattr(server, name, timed)
    return spent


def floor(lines: int) -> float:
    """p50 us of a turn of a relay that does nothing but select, recv and two sends."""
    listener = socket.create_server(("127.0.0.1", 0))
    a = socket.create_connection(listener.getsockname())
    a_end, _ = listener.accept()
    b = socket.create_connection(listener.getsockname())
    b_end, _ = listener.accept()
    sel = selectors.DefaultSelector()
    sel.register(a_end, selectors.EVENT_READ, b_end)
    sel.register(b_end, selectors.EVENT_READ, a_end)
    turns = []
    try:
        for sock in (a, b, a_end, b_end):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        a.setblocking(False)
        b.setblocking(False)
        for i in range(lines):
            sender, other = (a, b) if i % 2 == 0 else (b, a)
            sender.send(b"hello there, line %d of the measurement\n" % i)
            start = time.perf_counter()
            for key, _ in sel.select(1.0):
                data = key.fileobj.recv(65536)
                key.data.send(data)
                key.fileobj.send(data)
            turns.append(time.perf_counter() - start)
            _drain(other)
            _drain(sender)
    finally:
        for sock in (a, b, a_end, b_end, listener):
            sock.close()
        sel.close()
    return _p50_us(turns)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=20000, help="lines relayed per store (default 20,000)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for label, db in (("history in a file", os.path.join(tmp, "history.db")), ("--db :memory:", ":memory:")):
            r = measure(db, args.lines)
            print(f"{label}: a line's turn p50 {r['turn']:.1f} us (its commit {r['commit']:.1f}, "
                  f"each of its two sends {r['send']:.1f})", flush=True)
    print(f"floor (select, recv, two sends; no logic): a line's turn p50 {floor(args.lines):.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
