"""Two probes that are not fan-out: the ping-pong round trip and idle capacity.

Ping-pong: two clients in one room, one process; A says something, B answers
as soon as it sees it, A times the round trip.  Idle capacity: worker processes
open and register many connections (a bounded number at a time, so neither
server's listen backlog overflows), then hold them while the parent reads RSS.
Both reuse `Tally`, so every chat line is checked as in the fan-out runs.
"""
from __future__ import annotations

import selectors
import socket
import time
import traceback
from array import array

from bench.adapters import ADAPTERS
from bench.load import PAD, Client, Tally, register_clients

ROUND_TIMEOUT = 5.0
IDLE_ROOM_SIZE = 10  # idle clients are registered in rooms of 10 on both servers


# ------------------------------------------------------------------ ping-pong
class Peer:
    """A blocking client for the ping-pong: one socket, one Client record."""

    def __init__(self, host: str, port: int, cid: int, adapter, tally: Tally) -> None:
        self.c = Client(cid, 0, adapter)
        self.c.sock = socket.create_connection((host, port), timeout=ROUND_TIMEOUT)
        self.c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.tally, self.adapter = tally, adapter
        if self.c.greeted:
            self.c.out += adapter.register(0, cid)
        self.flush()

    def flush(self) -> None:
        if self.c.out:
            self.c.sock.sendall(self.c.out)
            self.c.out.clear()

    def say(self, seq: int) -> int:
        now = time.monotonic_ns()
        self.c.sock.sendall(self.adapter.say(self.c.room_name, b"%d %d %d %s" % (self.c.id, seq, now, PAD)))
        return now

    def wait_for(self, done) -> None:
        """Read until done(client) holds; answers pings and registration on the way."""
        while not done(self.c):
            data = self.c.sock.recv(65536)
            if not data:
                raise RuntimeError(f"the server closed the connection; it said {self.tally.errors}")
            self.tally.feed(self.c, data, time.monotonic_ns())
            self.flush()

    def close(self) -> None:
        self.c.sock.close()


def _has(sender: int, seq: int):
    return lambda c: sender in c.seen and c.seen[sender][seq]


def pingpong(adapter_name: str, host: str, port: int, rounds: int, warmup: int, on_start=None) -> dict:
    """Round trips A -> server -> B -> server -> A; `on_start` is called once both are
    registered (the parent samples the server's CPU there)."""
    adapter = ADAPTERS[adapter_name]
    total = warmup + rounds
    tally = Tally(adapter, 2, 2, total)
    a = Peer(host, port, 0, adapter, tally)
    b = Peer(host, port, 1, adapter, tally)
    try:
        a.wait_for(lambda c: c.registered)
        b.wait_for(lambda c: c.registered)
        tally.acked.clear()
        if on_start:
            on_start()
        rtt = array("q")
        for seq in range(total):
            sent = a.say(seq)
            b.wait_for(_has(0, seq))
            b.say(seq)
            a.wait_for(_has(1, seq))
            if seq >= warmup:
                rtt.append(time.monotonic_ns() - sent)
        if adapter.echoes:  # each side's last echo may still be on its way
            a.wait_for(_has(0, total - 1))
            b.wait_for(_has(1, total - 1))
    finally:
        a.close()
        b.close()
    return {
        "delivered": tally.delivered, "echoed": tally.echoed, "expected_deliveries": 2 * total,
        "expected_echoes": 2 * total if adapter.echoes else 0, "duplicated": tally.dup,
        "reordered": tally.reordered, "misrouted": tally.misrouted, "garbled": tally.garbled,
        "rtt": rtt.tobytes(), "errors": tally.errors,
    }


# ------------------------------------------------------------------ idle capacity
def idle_worker(adapter_name: str, host: str, port: int, ids: range, total: int, concurrency: int,
                ready, go, check, release, results) -> None:
    """Register the clients `ids` (of `total`), report, hold them until `check`, report
    how many the server dropped, then hang up on `release`."""
    adapter = ADAPTERS[adapter_name]
    sel = selectors.DefaultSelector()
    clients: list[Client] = []
    try:
        tally = Tally(adapter, IDLE_ROOM_SIZE, total, 1)
        ready.wait(60)
        go.wait()
        start = time.monotonic_ns()
        clients += [Client(cid, cid // IDLE_ROOM_SIZE, adapter) for cid in ids]
        dropped = register_clients(host, port, None, clients, sel, tally, adapter, concurrency, 300)
        results.put({"registered": tally.registered, "dropped_while_registering": dropped,
                     "start_ns": start, "done_ns": time.monotonic_ns(), "errors": tally.errors})
        check.wait()
        results.put({"dropped": _count_dropped(clients)})
        release.wait()
    except Exception:
        ready.abort()
        results.put({"error": traceback.format_exc()})
    finally:
        for c in clients:
            if c.sock is not None:
                c.sock.close()
        sel.close()


def _count_dropped(clients: list[Client]) -> int:
    """Clients the server has hung up on: read whatever is waiting; end of file = dropped."""
    dropped = 0
    for c in clients:
        if c.closed:
            dropped += 1
            continue
        while True:
            try:
                data = c.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                data = b""
            if not data:
                dropped += 1
                break
    return dropped
