"""The reliability report of the README: what is thrown at a real server.py, and what
happened.  Each part starts its own server process (port 0) with default limits
unless said otherwise, and prints one row of a markdown table.

    python3 bench/reliability.py            # about a minute
    python3 bench/reliability.py --big      # ten times the streams and connections
"""
from __future__ import annotations

import argparse
import atexit
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hostile  # noqa: E402
from adapters import Parlor  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


# Every load here comes from this machine's one address: no per-address limits.
ONE_ADDRESS = ("--max-per-address", "0", "--connect-rate", "0")


class ServerProc:
    def __init__(self, *flags: str) -> None:
        # A history file of its own: the default one is the user's (and would bring back
        # an earlier run's sessions, whose nicks are held for /resume).
        self.db = tempfile.TemporaryDirectory(prefix="parlor-bench-db-")
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "server.py"), "--port", "0",
                                      "--quiet", "--db", os.path.join(self.db.name, "history.db"),
                                      *ONE_ADDRESS, *flags],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        atexit.register(self._kill)  # even when a part fails half-way
        line = self.proc.stdout.readline().strip()
        host, _, port = line.removeprefix("listening on ").rpartition(":")
        self.address = (host, int(port))

    def _kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.db.cleanup()

    def fds(self) -> int:
        """The server's open sockets (its store's files are left out: SQLite opens the
        write-ahead log again, once, when the first checkpoint runs)."""
        folder, count = f"/proc/{self.proc.pid}/fd", 0
        for fd in os.listdir(folder):
            try:
                count += os.readlink(f"{folder}/{fd}").startswith("socket:")
            except OSError:  # (closed meanwhile)
                pass
        return count

    def kib(self, field: str = "VmRSS") -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))

    def settle_fds(self, target: int, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self.fds() > target and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.fds() - target

    def stop(self) -> dict:
        alive = self.proc.poll() is None
        self.proc.terminate()
        _, err = self.proc.communicate(timeout=10)
        self.db.cleanup()
        return {"alive": alive, "exit": self.proc.returncode, "tracebacks": err.count("Traceback")}


def _line(sock: socket.socket, buffer: bytearray, prefix: bytes, timeout: float = 10) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        while b"\n" in buffer:
            i = buffer.index(b"\n")
            line = bytes(buffer[:i])
            del buffer[:i + 1]
            if line.startswith(prefix):
                return line
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        buffer += data


def fuzz(streams: int) -> dict:
    server = ServerProc("--max-rate", "2000", "--burst", "500")
    fds = server.fds()
    result = hostile.attack(server.address, streams=streams, seed=11, parallel=16, messages=500)
    result["fds_leaked"] = server.settle_fds(fds)
    result.update(server.stop())
    return result


def storm(connections: int) -> dict:
    """Connects ended every way: RST at once or mid-line, after a nick, FIN, idle."""
    server = ServerProc("--max-rate", "0")
    watcher = socket.create_connection(server.address)
    buf = bytearray()
    watcher.sendall(b"/join storm\n/nick watcher\n")
    _line(watcher, buf, b"JOIN storm watcher")
    fds = server.fds()
    idle, refused = [], 0
    for i in range(connections):
        if len(idle) >= 500:  # connect-and-idle ones, a few hundred at a time
            for sock in idle:
                sock.close()
            idle = []
        sock = socket.create_connection(server.address)
        try:
            hostile.end_abruptly(sock, i, idle)
        except OSError:  # the server already hung up on it
            refused += 1
            sock.close()
    for sock in idle:
        sock.close()
    leaked = server.settle_fds(fds)
    watcher.sendall(b"/who\n")
    count = int(_line(watcher, buf, b"MEMBERS storm").split()[2])
    watcher.close()
    return {"connections": connections, "hung_up_early": refused, "fds_leaked": leaked, "stale_nicks": count - 1,
            **server.stop()}


def slow_consumer(megabytes: int) -> dict:
    """One member never reads while another sends `megabytes` through the room (no
    flood limit and no work budget for the talker: what is measured is the server's
    memory while the reader falls behind, not how fast one sender may go)."""
    server = ServerProc("--max-rate", "0", "--max-work", "0")
    talker = socket.create_connection(server.address)
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(server.address)
    tbuf = bytearray()
    slow.sendall(b"/join red\n/nick slow\n")
    talker.sendall(b"/join red\n/nick talker\n")
    _line(talker, tbuf, b"JOIN red talker")
    before = server.kib()
    payload = "p" * 860  # (with its "BATCH-I " prefix, within the 900 bytes a message may have)
    sent, batch, cut_at = 0, 0, None
    while sent < megabytes << 20:
        lines = "".join(f"{batch}-{i} {payload}\n" for i in range(32)).encode()
        talker.sendall(lines)
        sent += len(lines)
        last = f"{batch}-31 ".encode()
        while True:
            line = _line(talker, tbuf, b"")
            if line.startswith(b"PART red slow") and cut_at is None:
                cut_at = sent
            said = Parlor.parse_chat(line)
            if said and said[:2] == (b"red", b"talker") and said[2].startswith(last):
                break
        batch += 1
    peak, after = server.kib("VmHWM"), server.kib()
    talker.close()
    slow.close()
    return {"sent_mib": megabytes, "cut_off_after_kib": (cut_at or 0) >> 10,
            "rss_before_kib": before, "rss_peak_growth_kib": peak - before,
            "rss_after_growth_kib": after - before, **server.stop()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--big", action="store_true")
    args = ap.parse_args()
    scale = 10 if args.big else 1
    parts = [("fuzz", fuzz, 500), ("storm", storm, 2000), ("slow consumer", slow_consumer, 20)]
    for name, run, size in parts:
        row = run(size * scale)
        print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
