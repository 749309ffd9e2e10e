"""Hostile traffic against a live Parlor server, while two well-behaved clients chat.

`attack(address, streams=..., seed=...)` opens hostile connections (several at
once), each sending one generated stream: random binary, NUL bytes, lines from
1 byte to 1 MiB without a newline, invalid and overlong UTF-8, lone surrogates,
CR without LF, floods of tiny lines, half a UTF-8 character then a disconnect,
escape sequences, commands with junk arguments, game moves out of place.  Each
ends in a FIN, an RST or a half-close.  Meanwhile two clients chat in the same
room; the result says whether every one of their messages arrived, in order.

Used by tests/test_fuzz_live.py (a bounded run) and as a soak from the shell:

    python3 bench/hostile.py --streams 5000            # starts its own server
    python3 bench/hostile.py --port 5220 --streams 500  # against a running one
"""
from __future__ import annotations

import argparse
import os
import random
import selectors
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from adapters import chat_fields  # bench/ is on the path: run as a script, or imported

ROOT = Path(__file__).resolve().parent.parent
MiB = 1 << 20


# ------------------------------------------------------------------ stream makers
def _binary(rng: random.Random) -> bytes:
    return rng.randbytes(rng.choice([1, 100, 5000, 70_000]))


def _nul(rng: random.Random) -> bytes:
    return b"/join good\n/nick n\0ul\nhello\0world\n" + b"\0" * rng.randint(1, 3000) + b"\n"


def _long_line(rng: random.Random) -> bytes:
    size = rng.choice([1, 1023, 1024, 1025, 4096, 65_536, MiB])
    return b"x" * size + (b"\n" if rng.random() < 0.5 else b"")


def _bad_utf8(rng: random.Random) -> bytes:
    samples = [b"\xff\xfe", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf",  # overlong '/'
               b"\xed\xa0\x80", b"\xed\xbf\xbf",                            # lone surrogates
               b"\xf4\x90\x80\x80", b"\x80", b"\xc3"]
    return b"".join(b"/join good\n" + rng.choice(samples) + b"hi\n" for _ in range(rng.randint(1, 20)))


def _cr_only(rng: random.Random) -> bytes:
    return b"/join good\r/nick crcr\rhello\r" * rng.randint(1, 50) + b"\r\n"


def _tiny_lines(rng: random.Random) -> bytes:
    return rng.choice([b"\n", b"a\n", b"/\n", b"//\n", b"\r\n"]) * rng.choice([100, 10_000, 200_000])


def _half_char(rng: random.Random) -> bytes:
    return b"/join good\n/nick half\nabc \xe2\x82"  # then the connection ends


def _escapes(rng: random.Random) -> bytes:
    evil = ["\x1b[2J", "\x1b]0;pwned\x07", "\x1b[31m", "\u202eevil", "\x9b1m", "\x08\x08", "\x7f",
            "\u200b", "\x1bP+q\x1b\\", "\x1b[6n"]
    nick = f"e{rng.randint(0, 9999)}"
    text = "".join(rng.choice(evil) + "t" for _ in range(rng.randint(1, 30)))
    return f"/join good\n/nick {nick}\n{text}\n/nick {text[:10]}\n/join {text[:20]}\n".encode()


_COMMANDS = ["list", "join", "nick", "who", "leave", "part", "help", "pong", "game", "games",
             "accept", "decline", "move", "m", "guess", "resign", "rematch", "5", "0", "10",
             "GAME", "Join", "", "/", "\u0455ay", "join\u200b"]
_ARGS = ["", " ", "good", "#good", "x" * 40, "bob", "bot", "tictactoe", "tictactoe bot",
         "hangman", "hangman xyzzy", "tictactoe good", "1", "9", "-1", "99999999999999999999",
         "\u0430lice", "\uff41", "a\u0301", "\u202e", "\x00", "a b c d e f", "\U0001f600" * 50]


def _commands(rng: random.Random) -> bytes:
    lines = [f"/{rng.choice(_COMMANDS)} {rng.choice(_ARGS)}" for _ in range(rng.randint(1, 60))]
    return ("/join good\n/nick c{0}\n".format(rng.randint(0, 99)) + "\n".join(lines) + "\n").encode()


def _games(rng: random.Random) -> bytes:
    moves = "".join(f"/move {rng.randint(0, 10)}\n/m {rng.choice('abc123')}\n/resign\n/rematch\n"
                    for _ in range(rng.randint(1, 10)))
    return f"/join good\n/nick g{rng.randint(0, 99)}\n/game tictactoe bot\n{moves}/game hangman\n".encode()


MAKERS = [_binary, _nul, _long_line, _bad_utf8, _cr_only, _tiny_lines, _half_char, _escapes,
          _commands, _games]


# ------------------------------------------------------------------ connection storms
STORM_KINDS = 6


def end_abruptly(sock: socket.socket, i: int, idle: list[socket.socket]) -> None:
    """End connection number `i` of a storm one of STORM_KINDS ways: RST at once, RST
    mid-line, RST after picking a nick, FIN, half-close, or (kept in `idle` for the
    caller to close later) connect-and-idle.  Raises OSError if the server hung up."""
    kind = i % STORM_KINDS
    if kind == 1:
        sock.sendall(b"/join storm\n/nick half-a-li")
    elif kind == 2:
        sock.sendall(f"/join storm\n/nick s{i}\nhello from s{i}\n".encode())
    elif kind == 4:
        sock.sendall(b"/join storm\n")
        sock.shutdown(socket.SHUT_WR)
    if kind == 5:
        idle.append(sock)
        return
    if kind in (0, 1, 2):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


# ------------------------------------------------------------------ hostile pumps
@dataclass
class Stats:
    streams: int = 0
    bytes_sent: int = 0
    connections: int = 0
    refused: int = 0          # connects the server turned away (full) or reset at once
    ends: dict[str, int] = field(default_factory=lambda: {"fin": 0, "rst": 0, "half": 0})


class _Hostile:
    __slots__ = ("sock", "data", "sent", "end", "chunk")

    def __init__(self, sock: socket.socket, data: bytes, end: str, chunk: int) -> None:
        self.sock, self.data, self.sent, self.end, self.chunk = sock, data, 0, end, chunk


def _finish(h: _Hostile, stats: Stats) -> None:
    stats.ends[h.end] += 1
    try:
        if h.end == "rst":
            h.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif h.end == "half":
            h.sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    h.sock.close()


def pump(address: tuple[str, int], streams: int, seed: int, parallel: int,
         stop: threading.Event, stats: Stats) -> None:
    """Run `streams` hostile streams, `parallel` at a time; read and discard replies."""
    rng = random.Random(seed)
    sel = selectors.DefaultSelector()
    started = 0
    live: set[_Hostile] = set()
    while (started < streams or live) and not stop.is_set():
        while started < streams and len(live) < parallel:
            started += 1
            h = _open(address, rng, stats)
            if h is not None:
                live.add(h)
                sel.register(h.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, h)
        for key, mask in sel.select(timeout=0.5):
            h = key.data
            if not _step(h, mask, rng, stats):
                sel.unregister(h.sock)
                live.discard(h)
                _finish(h, stats)
    for h in live:
        sel.unregister(h.sock)
        _finish(h, stats)
    sel.close()


def _open(address, rng: random.Random, stats: Stats) -> _Hostile | None:
    data = b"".join(rng.choice(MAKERS)(rng) for _ in range(rng.randint(1, 3)))
    try:
        sock = socket.create_connection(address, timeout=5)
    except OSError:
        stats.refused += 1
        return None
    sock.setblocking(False)
    stats.streams += 1
    stats.connections += 1
    end = rng.choice(["fin", "rst", "half"])
    return _Hostile(sock, data, end, rng.choice([1, 7, 512, 65_536]))


def _step(h: _Hostile, mask: int, rng: random.Random, stats: Stats) -> bool:
    """One read and one write; False when this stream is done."""
    try:
        if mask & selectors.EVENT_READ and not h.sock.recv(65_536):
            return False  # the server hung up (cut off, flood, ...)
        if mask & selectors.EVENT_WRITE and h.sent < len(h.data):
            size = max(1, min(h.chunk, len(h.data) - h.sent))
            h.sent += h.sock.send(h.data[h.sent:h.sent + size])
            stats.bytes_sent += size
    except (BlockingIOError, InterruptedError):
        return True
    except OSError:
        return False
    return h.sent < len(h.data)


# ------------------------------------------------------------------ well-behaved pair
class _Chatter:
    """A plain client that sends one numbered message at a time and keeps every line."""

    def __init__(self, address, nick: str) -> None:
        self.nick = nick
        self.sock = socket.create_connection(address, timeout=10)
        self.buffer = b""
        self.chats: list[tuple[str, str]] = []  # (nick, text) of ann's and bob's messages
        self.lines = 0
        self.sock.sendall(f"/join good\n/nick {nick}\n".encode())
        self.wait(lambda line: line.startswith(f"JOIN good {nick}"))

    def wait(self, done, deadline: float | None = None) -> None:
        deadline = deadline or time.monotonic() + 30
        while True:
            while b"\n" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\n", 1)
                line = raw.decode("utf-8")
                self.lines += 1
                said = chat_fields(line)
                if said and said[1] in ("ann", "bob"):
                    self.chats.append(said[1:])
                if done(line):
                    return
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = self.sock.recv(65_536)
            if not data:
                raise ConnectionError(f"{self.nick}: the server closed the connection")
            self.buffer += data

    def say(self, text: str) -> None:
        self.sock.sendall(text.encode() + b"\n")
        self.wait(lambda line: chat_fields(line) == ("good", self.nick, text))


def _text(nick: str, i: int) -> str:
    """The i-th line `nick` says: 1-50 letters after the number, so no space at the end
    (the server strips one)."""
    return f"{nick} {i} " + nick[0] * (i % 50 + 1)


def chat(address, messages: int) -> dict:
    """ann and bob take turns; each checks it saw both sides complete and in order."""
    ann, bob = _Chatter(address, "ann"), _Chatter(address, "bob")
    for i in range(messages):
        ann.say(_text("ann", i))
        bob.say(_text("bob", i))
    last = ("good", "bob", _text("bob", messages - 1))
    ann.wait(lambda line: chat_fields(line) == last)
    expected = [(n, _text(n, i)) for i in range(messages) for n in ("ann", "bob")]
    result = {"sent": 2 * messages, "ann_ok": ann.chats == expected, "bob_ok": bob.chats == expected,
              "lost": sum(len(set(expected) - set(c.chats)) for c in (ann, bob))}
    for c in (ann, bob):
        c.sock.close()
    return result


def attack(address: tuple[str, int], streams: int = 200, seed: int = 1, parallel: int = 8,
           messages: int = 200) -> dict:
    """Hostile pumps in a thread, the good pair in this one; returns the figures."""
    stats, stop = Stats(), threading.Event()
    thread = threading.Thread(target=pump, args=(address, streams, seed, parallel, stop, stats),
                              daemon=True)
    thread.start()
    try:
        result = chat(address, messages)
    finally:
        thread.join()  # the pumps end by themselves: every stream is finite
        stop.set()
    result.update(streams=stats.streams, bytes=stats.bytes_sent, connections=stats.connections,
                  refused=stats.refused, ends=stats.ends)
    return result


# ------------------------------------------------------------------ command line
def _server_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, help="attack a server already running here")
    ap.add_argument("--streams", type=int, default=2000)
    ap.add_argument("--parallel", type=int, default=16)
    ap.add_argument("--messages", type=int, default=500, help="per well-behaved client")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    proc, db = None, tempfile.TemporaryDirectory(prefix="parlor-bench-db-")
    if args.port is None:  # (a history file of its own: the default one is the user's)
        proc = subprocess.Popen([sys.executable, str(ROOT / "server.py"), "--port", "0", "--quiet",
                                 "--db", os.path.join(db.name, "history.db"),
                                 "--max-rate", "1000", "--burst", "1000",
                                 "--max-per-address", "0", "--connect-rate", "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        host, _, port = proc.stdout.readline().strip().removeprefix("listening on ").rpartition(":")
        address = (host, int(port))
        fds_before = _server_fds(proc.pid)
    else:
        address = ("127.0.0.1", args.port)
    start = time.monotonic()
    result = attack(address, args.streams, args.seed, args.parallel, args.messages)
    result["seconds"] = round(time.monotonic() - start, 1)
    if proc is not None:
        deadline = time.monotonic() + 30
        while _server_fds(proc.pid) > fds_before and time.monotonic() < deadline:
            time.sleep(0.05)
        result["fds_leaked"] = _server_fds(proc.pid) - fds_before
        result["server_alive"] = proc.poll() is None
        proc.terminate()
        _, err = proc.communicate(timeout=10)
        result["tracebacks"] = err.count("Traceback")
    db.cleanup()
    for name, value in result.items():
        print(f"{name:14} {value}")
    ok = result["ann_ok"] and result["bob_ok"] and not result.get("tracebacks")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
