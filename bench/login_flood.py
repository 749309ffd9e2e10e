"""What a flood of logins does to the chat: a real server.py, one chatter timing
its round trips (a line said, its echo back), first alone, then while attackers
on ADDRESSES loopback addresses (127.0.0.2, ...) each send wrong /login lines as
fast as the flood limit lets them (4 a second a connection, CONNECTIONS each).

    python3 bench/login_flood.py [--seconds 20] [--addresses 50] [--connections 2]
"""
from __future__ import annotations

import argparse
import selectors
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.servers import start_parlor  # noqa: E402


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def attack(port: int, addresses: int, connections: int, stop: threading.Event) -> int:
    """Wrong logins, 4 a second a connection, until `stop`; how many were sent."""
    socks = [connect(port, f"127.0.0.{2 + a}") for a in range(addresses) for _ in range(connections)]
    selector = selectors.DefaultSelector()
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    sent, tick = 0, time.monotonic()
    while not stop.is_set():
        for i, sock in enumerate(socks):
            try:
                sock.send(f"/login victim{i % 7} wrong guess {sent}\n".encode())
                sent += 1
            except OSError:
                pass
        for key, _ in selector.select(0):
            try:
                key.fileobj.recv(65536)  # (answers read and dropped)
            except OSError:
                pass
        tick += 0.25
        time.sleep(max(tick - time.monotonic(), 0))  # (the attackers' pace: 4 a second)
    for sock in socks:
        sock.close()
    return sent


def round_trips(port: int, seconds: float) -> list[float]:
    sock = connect(port)
    sock.sendall(b"/join bench\n/nick chatter\n")
    buffer, times, n = b"", [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        n += 1
        started = time.perf_counter()
        sock.sendall(f"ping {n}\n".encode())
        while f" ping {n}\n".encode() not in buffer:
            buffer += sock.recv(65536)
        times.append(time.perf_counter() - started)
        buffer = b""
        time.sleep(0.2)  # (a chatter's pace, under the flood limit)
    sock.sendall(b"/quit\n")  # (else its nick waits for it to come back)
    sock.close()
    return times


def report(what: str, times: list[float]) -> None:
    ms = sorted(t * 1000 for t in times)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print("slowest:", [f"#{i} {t * 1000:.0f}" for i, t in sorted(enumerate(times), key=lambda x: -x[1])[:5]])
    print(f"{what}: {len(ms)} round trips, median {statistics.median(ms):.2f} ms, "
          f"p99 {p99:.2f} ms, max {ms[-1]:.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--addresses", type=int, default=50)
    parser.add_argument("--connections", type=int, default=2)
    args = parser.parse_args()
    # (a server of its own, with a new --db file, stopped however this ends)
    with start_parlor([sys.executable, "server.py", "--port", "0", "--quiet"]) as server:
        port = server.port
        report("alone", round_trips(port, args.seconds))
        stop = threading.Event()
        sent: list[int] = []
        attacker = threading.Thread(target=lambda: sent.append(
            attack(port, args.addresses, args.connections, stop)))
        attacker.start()
        times = round_trips(port, args.seconds)
        stop.set()
        attacker.join()
        report(f"under {sent[0]} wrong logins from {args.addresses} addresses", times)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
