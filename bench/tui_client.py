"""The curses client under load: the real client.py in a pseudo-terminal.

A "blaster" connection in the same room sends a burst of messages; we time
until the client has drawn the last one (a marker no other line contains), and
meanwhile type a key every so often and time until the client echoes it on its
input line.  Then the client's CPU (utime+stime from /proc) is read while it
sits idle in a quiet room and in a busy one.  Stdlib only: os.openpty, no
terminal emulator, so the marker and the typed key are letters ('ENDOFBURST',
'Q') that no burst line and no status text contain.
"""
from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from bench.proc import cpu_seconds, percentile

ROOT = Path(__file__).resolve().parent.parent
ROOM, NICK, BLASTER = "tuibench", "viewer", "blaster"
ROWS, COLS = 40, 120
MARKER = b"ENDOFBURST"
KEY, KEY_GAP, MAX_KEYS = b"Q", 0.002, 40  # a key 2 ms after the last one showed
CTRL_U = b"\x15"
TIMEOUT = 60.0
_ESCAPES = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78]|O.)|[\x00-\x08\x0e-\x1f]")


class Session:
    """The client in a pty, plus a blaster socket; one select loop drives both."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.blaster = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.blaster.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.blaster.sendall(f"/join {ROOM}\n/nick {BLASTER}\n".encode())
        self.blaster.setblocking(False)
        self.inbox = b""  # what the blaster received, not yet matched
        self.outbox = bytearray()
        self.screen = bytearray()  # everything the client wrote to the terminal
        self.master, self.proc = self._spawn()

    def _spawn(self):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("LINES", "COLUMNS")}
        env.update(TERM="xterm", LANG="C.UTF-8", LC_ALL="C.UTF-8")
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "client.py"), "--port", str(self.port), "--room", ROOM, "--nick", NICK],
            stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=env, start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        os.set_blocking(master, False)
        return master, proc

    # -------------------------------------------------------------- the loop
    def turn(self, timeout: float) -> None:
        writes = [self.blaster] if self.outbox else []
        ready_r, ready_w, _ = select.select([self.master, self.blaster], writes, [], max(timeout, 0))
        if self.master in ready_r:
            try:
                self.screen += os.read(self.master, 1 << 16)
            except OSError:  # EIO: the client has gone
                raise RuntimeError(f"the client exited: {self.tail_text()!r}") from None
        if self.blaster in ready_r:
            data = self.blaster.recv(1 << 18)
            if not data:
                raise RuntimeError("the server closed the blaster connection")
            self.inbox = (self.inbox + data)[-4096:]
        if ready_w:
            self.flush()

    def flush(self) -> None:
        try:
            sent = self.blaster.send(self.outbox)
        except BlockingIOError:
            sent = 0
        del self.outbox[:sent]

    def run_until(self, done, timeout: float = TIMEOUT, each=None) -> float:
        end = time.monotonic() + timeout
        while not done():
            now = time.monotonic()
            if now > end:
                raise RuntimeError(f"timed out; the screen ends with {self.tail_text()!r}")
            if each:
                each(now)
            self.turn(min(end - now, 0.01 if each else 0.2))
        return time.monotonic()

    def tail_text(self, size: int = 65536) -> bytes:
        return _ESCAPES.sub(b"", bytes(self.screen[-size:]))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.close(self.master)
        self.blaster.close()


def _lines(prefix: str, count: int) -> bytes:
    return b"".join(b"%s %d lorem ipsum dolor sit amet consectetur adipiscing\n" % (prefix.encode(), i)
                    for i in range(count))


def measure_burst(s: Session, burst: int) -> dict:
    """Time until the client shows the burst's last line; keys typed meanwhile, each
    once the previous one was echoed, time the input line's responsiveness."""
    mark = len(s.screen)
    cpu0 = cpu_seconds(s.proc.pid)
    s.outbox += _lines("burst", burst) + MARKER + b"\n"
    start = time.monotonic()
    keys: list[float] = []  # seconds from a key press to its echo
    typed = {"at": None, "seen_from": 0, "next": start, "server": None}
    echo = re.compile(b"MSG %s [0-9]+ %s [^ ]+ %s" % (ROOM.encode(), BLASTER.encode(), re.escape(MARKER)))

    def type_keys(now: float) -> None:
        if typed["server"] is None and echo.search(s.inbox):
            typed["server"] = now  # the server has sent the whole burst back to the blaster
        if typed["at"] is not None and KEY in s.screen[typed["seen_from"]:]:
            keys.append(now - typed["at"])
            typed["at"], typed["next"] = None, now + KEY_GAP
        if typed["at"] is None and len(keys) < MAX_KEYS and now >= typed["next"]:
            typed["seen_from"], typed["at"] = len(s.screen), now
            os.write(s.master, KEY)

    shown = lambda: MARKER in _ESCAPES.sub(b"", bytes(s.screen[max(mark, len(s.screen) - 65536):]))  # noqa: E731
    end = s.run_until(shown, each=type_keys)
    cpu = cpu_seconds(s.proc.pid) - cpu0
    s.run_until(lambda: echo.search(s.inbox))
    server_done = typed["server"] or time.monotonic()
    if typed["at"] is not None:  # the last key: wait for its echo too
        s.run_until(lambda: KEY in s.screen[typed["seen_from"]:])
        keys.append(time.monotonic() - typed["at"])
    os.write(s.master, CTRL_U)
    keys.sort()
    return {"burst": burst, "absorb_s": end - start, "server_s": server_done - start, "burst_cpu_s": cpu,
            "keys": len(keys), "key_p50_ms": _ms(percentile(keys, 50)), "key_max_ms": _ms(keys[-1] if keys else None)}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def measure_cpu(s: Session, seconds: float, rate: float) -> float:
    """Client CPU in % of one core over `seconds`, with the blaster sending `rate` messages/s."""
    start, sent = time.monotonic(), 0
    cpu0 = cpu_seconds(s.proc.pid)

    def send_due(now: float) -> None:
        nonlocal sent
        due = int((now - start) * rate)
        if due > sent:
            s.outbox += _lines("busy", due - sent)
            sent = due
            s.flush()

    s.run_until(lambda: time.monotonic() - start >= seconds, timeout=seconds + 5, each=send_due if rate else None)
    return (cpu_seconds(s.proc.pid) - cpu0) / (time.monotonic() - start) * 100


def measure_client(port: int, burst: int, idle_s: float, busy_s: float, busy_rate: float) -> dict:
    s = Session(port)
    try:
        joined = b"JOIN %s %s" % (ROOM.encode(), NICK.encode())
        shown = b"In %s:" % ROOM.encode()  # the member list the client prints once it is in
        s.run_until(lambda: joined in s.inbox and shown in s.tail_text())
        result = measure_burst(s, burst)
        result["quiet_cpu_pct"] = measure_cpu(s, idle_s, 0)
        result["busy_cpu_pct"] = measure_cpu(s, busy_s, busy_rate)
        result["busy_rate"] = busy_rate
        return result
    finally:
        s.close()
