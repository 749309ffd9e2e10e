#!/usr/bin/env python3
"""What TLS costs the server (issue 15's Measured): fan-out CPU per 1,000 deliveries
in one room of 50 over TLS against plain text, handshakes a second, and RSS per
idle connection at 5,000 connections, TLS against plain.

Run from the repository root:

    python3 bench/tls_speed.py              # the figures in BENCHMARKS.md (a few minutes)
    python3 bench/tls_speed.py --quick      # a seconds-long smoke run

Each repetition starts a fresh server.py (with the benchmark's raised limits), TLS
and plain alternating; the server's CPU is read from /proc (schedstat, ns) around
the measured part only; the table shows medians.  The certificate is made with
`openssl` (the command README's 'Encryption' gives); the clients run in this
process, so their own TLS work is not counted.  Stdlib only.
"""
from __future__ import annotations

import argparse
import os
import selectors
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.proc import median, memory_kib, raise_fd_limit, run_ns  # noqa: E402
from bench.servers import default_parlor_cmd, parlor_flags, start_parlor  # noqa: E402
from chat import tls  # noqa: E402

TIMEOUT = 60.0


def make_certificate(folder: str) -> tuple[str, str]:
    """README's command: a self-signed P-256 certificate for 127.0.0.1, a year long."""
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "365", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


class Bench:
    def __init__(self, cert: str, key: str) -> None:
        self.cert, self.key = cert, key
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.context.load_verify_locations(cert)

    def server(self, secure: bool):
        cmd = default_parlor_cmd() + ["--db", ":memory:"]
        cmd += parlor_flags(cmd)[0]
        if secure:
            cmd += ["--tls-cert", self.cert, "--tls-key", self.key]
        return start_parlor(cmd)

    def connect(self, port: int, secure: bool) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if secure:
            sock = self.context.wrap_socket(sock, server_hostname="127.0.0.1")
        return sock


def read_until(sock: socket.socket, count: int, buffer: bytearray) -> bytearray:
    """Blocking: until `buffer` holds `count` newlines; returns what is after them."""
    while buffer.count(b"\n") < count:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("the server closed a connection")
        buffer += chunk
    cut = 0
    for _ in range(count):
        cut = buffer.index(b"\n", cut) + 1
    return buffer[cut:]


# ------------------------------------------------------------------ fan-out 1 x 50
def fanout(bench: Bench, secure: bool, members: int, rounds: int) -> dict:
    """Each round, every member says one line; each waits for all `members` copies
    (49 others and its echo) before the next round.  Server ns per 1,000 deliveries."""
    with bench.server(secure) as server:
        socks, buffers = [], []
        for i in range(members):
            sock = bench.connect(server.port, secure)
            sock.sendall(f"/join bench\n/nick m{i}\n".encode())
            socks.append(sock)
            buffers.append(bytearray())
        for i, sock in enumerate(socks):  # everyone in: the last join has reached them all
            _drain_joins(sock, buffers, i, members)
        for sock in socks:
            sock.setblocking(False)
        selector = selectors.DefaultSelector()
        for i, sock in enumerate(socks):
            selector.register(sock, selectors.EVENT_READ, i)
        start = run_ns(server.pid)
        for r in range(rounds):
            for i, sock in enumerate(socks):
                _send_all(sock, b"round %d from %d\n" % (r, i))
            _collect(selector, socks, buffers, members)
        spent = run_ns(server.pid) - start
        for sock in socks:
            sock.close()
    deliveries = rounds * members * (members - 1)
    return {"ms_per_1k": spent / 1e6 / deliveries * 1000, "deliveries": deliveries}


def _drain_joins(sock, buffers, i, members) -> None:
    """Read what came for member i until the JOIN of the last member."""
    want = f"JOIN bench m{members - 1}".encode()
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        lines = bytes(buffers[i]).split(b"\n")
        if want in lines[:-1]:
            buffers[i] = bytearray(lines[-1])
            return
        buffers[i] += sock.recv(65536)
    raise RuntimeError("the members did not all join")


def _send_all(sock: ssl.SSLSocket, data: bytes) -> None:
    while data:
        try:
            data = data[sock.send(data):]
        except (BlockingIOError, *tls.WANTS):
            selectors.DefaultSelector().select(0.01)


def _collect(selector, socks, buffers, members: int) -> None:
    """Until every member has read `members` lines more."""
    waiting = set(range(len(socks)))
    end = time.monotonic() + TIMEOUT
    while waiting:
        if time.monotonic() > end:
            raise RuntimeError("the round's copies did not all come")
        for key, _ in selector.select(1.0):
            i = key.data
            sock = socks[i]
            data = tls.receive(sock, 65536) if isinstance(sock, ssl.SSLSocket) else \
                _plain_recv(sock)
            if data:
                buffers[i] += data
            if i in waiting and buffers[i].count(b"\n") >= members:
                buffers[i] = read_until(sock, members, buffers[i])
                waiting.discard(i)


def _plain_recv(sock) -> bytes | None:
    try:
        return sock.recv(65536)
    except BlockingIOError:
        return None


# ------------------------------------------------------------------ handshakes
def handshakes(bench: Bench, count: int) -> dict:
    """`count` connections one after another, each a full handshake (no resumption)
    and the HELLO line read: the server's CPU per handshake, and the wall rate."""
    with bench.server(True) as server:
        bench.connect(server.port, True).close()  # warm
        start, wall = run_ns(server.pid), time.perf_counter()
        for _ in range(count):
            sock = bench.connect(server.port, True)
            read_until(sock, 1, bytearray())
            sock.close()
        spent, wall = run_ns(server.pid) - start, time.perf_counter() - wall
    return {"server_ms": spent / 1e6 / count, "per_s_server_cpu": count / (spent / 1e9),
            "per_s_wall": count / wall}


# ------------------------------------------------------------------ idle RSS
def idle_rss(bench: Bench, secure: bool, count: int) -> dict:
    with bench.server(secure) as server:
        bench.connect(server.port, secure).close()
        before = memory_kib(server.pid)["VmRSS"]
        socks = []
        for _ in range(count):
            sock = bench.connect(server.port, secure)
            read_until(sock, 2, bytearray())  # HELLO, SESSION: it is in the loop's hands
            socks.append(sock)
        after = memory_kib(server.pid)["VmRSS"]
        for sock in socks:
            sock.close()
    return {"kib_per_conn": (after - before) / count, "held": len(socks)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    members, rounds, shakes, idle = (50, 200, 2000, 5000) if not args.quick else (5, 5, 20, 50)
    reps = 1 if args.quick else args.reps
    raise_fd_limit(2 * idle + 256)
    folder = tempfile.mkdtemp(prefix="parlor-tls-bench-")
    try:
        bench = Bench(*make_certificate(folder))
        results = run_all(bench, reps, members, rounds, shakes, idle)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for line in report(results, members, rounds, shakes, idle):
        print(line)
    return 0


def run_all(bench: Bench, reps: int, members: int, rounds: int, shakes: int,
            idle: int) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {k: [] for k in
                                      ("fan_plain", "fan_tls", "shake", "idle_plain", "idle_tls")}
    for rep in range(reps):
        order = (False, True) if rep % 2 == 0 else (True, False)  # alternate: noise hits both
        for secure in order:
            results["fan_tls" if secure else "fan_plain"].append(
                fanout(bench, secure, members, rounds))
        results["shake"].append(handshakes(bench, shakes))
        for secure in order:
            results["idle_tls" if secure else "idle_plain"].append(idle_rss(bench, secure, idle))
    return results


def report(results: dict[str, list[dict]], members: int, rounds: int, shakes: int,
           idle: int) -> list[str]:
    med = lambda name, key: median([r[key] for r in results[name]])  # noqa: E731
    plain, secure = med("fan_plain", "ms_per_1k"), med("fan_tls", "ms_per_1k")
    return [
        f"fan-out 1 x {members}, {rounds} rounds: server CPU per 1,000 deliveries "
        f"plain {plain:.3f} ms, TLS {secure:.3f} ms ({secure / plain:.2f}x)",
        f"handshakes ({shakes} in a row): server CPU {med('shake', 'server_ms'):.2f} ms each, "
        f"{med('shake', 'per_s_server_cpu'):.0f} a second of server CPU, "
        f"{med('shake', 'per_s_wall'):.0f} a second with the clients on the same 2 CPUs",
        f"idle connections ({idle:,} held): RSS per connection plain "
        f"{med('idle_plain', 'kib_per_conn'):.1f} KiB, TLS {med('idle_tls', 'kib_per_conn'):.1f} KiB",
    ]


if __name__ == "__main__":
    sys.exit(main())
