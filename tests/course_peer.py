"""A course-protocol client for the tests, sending as the course's clients send: one
command a send, no newline (or with one, as some do), and taking each recv(1024)
as one answer.  Every read has a deadline; nothing sleeps."""
from __future__ import annotations

import socket
import struct
import time

TIMEOUT = 5.0


class CoursePeer:
    def __init__(self, address: tuple[str, int], newline: bool = False) -> None:
        self.sock = socket.create_connection(address, timeout=TIMEOUT)
        self.newline = newline
        self.reads: list[str] = []  # every read so far, as it came

    def send(self, text: str) -> None:
        self.sock.sendall((text + "\n" if self.newline else text).encode("utf-8"))

    def read(self, timeout: float = TIMEOUT) -> str:
        """The next recv(1024), whole; fails at the end of the stream or the deadline."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1024)
        except socket.timeout:
            raise AssertionError(f"nothing came in {timeout} s; reads so far: {self.reads!r}") \
                from None
        assert data, f"the server closed the connection; reads so far: {self.reads!r}"
        text = data.decode("utf-8")
        self.reads.append(text)
        return text

    def ask(self, text: str) -> str:
        """Send a command and take the next read as its answer, as course clients do."""
        self.send(text)
        return self.read()

    def reads_until(self, wanted: str, timeout: float = TIMEOUT) -> list[str]:
        """Reads up to and including one equal to `wanted`."""
        deadline = time.monotonic() + timeout
        got = []
        while not got or got[-1] != wanted:
            got.append(self.read(max(deadline - time.monotonic(), 0.001)))
        return got

    def expect_closed(self, timeout: float = TIMEOUT) -> list[str]:
        """Reads up to the end of the stream."""
        self.sock.settimeout(timeout)
        got = []
        while data := self.sock.recv(1024):
            got.append(data.decode("utf-8"))
        return got

    def enter(self, room: str, nick: str) -> list[str]:
        """/join ROOM, /nick NICK, both answered 0; what came after the 0, up to the
        room's count (or the new room's notice)."""
        assert self.ask(f"/join {room}") == "0"
        assert self.ask(f"/nick {nick}") == "0"
        first = self.read()
        return [first] if first == "You have joined a new room." else [first, self.read()]

    def close(self, reset: bool = False) -> None:
        if reset:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()
