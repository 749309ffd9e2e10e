"""A connection to Redis for the store: a socket with a deadline on every call, so a
slow or dead Redis costs the loop at most TIMEOUT, never a hang.  A shell (it does
I/O); the bytes are chat.server.resp's.

Each call is one round trip, however many commands it carries (a pipeline).  Any
failure closes the socket and raises RedisDownError; the next call connects again.
"""
from __future__ import annotations

import socket
import time
from typing import Any
from urllib.parse import urlsplit

from chat.server import resp

TIMEOUT = 0.5     # seconds a call may take before Redis counts as down
DEFAULT_PORT = 6379


class RedisDownError(Exception):
    """Redis cannot be reached or did not answer in time; str() is a sentence."""


def parse_url(url: str) -> tuple[str, int, int]:
    """(host, port, db) from redis://HOST[:PORT][/DB]; ValueError with a sentence."""
    parts = urlsplit(url)
    problem = None
    try:
        port = parts.port or DEFAULT_PORT
        db = int(parts.path.strip("/") or 0)
    except ValueError:
        problem = "its port and database must be numbers"
    if parts.scheme != "redis" or not parts.hostname:
        problem = "it should look like redis://HOST:PORT/DB"
    if problem:
        raise ValueError(f"bad Redis address {url!r}: {problem}")
    return parts.hostname, port, db


class RedisClient:
    """Blocking calls with a deadline.  `call(*args)` -> the reply; `pipeline(cmds)` ->
    the replies, in one round trip.  Error replies come back as resp.ReplyError values."""

    def __init__(self, url: str, timeout: float = TIMEOUT) -> None:
        self.url = url
        self.host, self.port, self.db = parse_url(url)
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._replies = resp.Replies()

    def call(self, *args: str | bytes | int | float) -> Any:
        return self.pipeline([args])[0]

    def pipeline(self, commands: list[tuple]) -> list[Any]:
        """One round trip.  A connection that was open before (Redis may have restarted
        since) is given one more try on a new one: callers send only what may be
        repeated (the store's writes are all idempotent)."""
        deadline = time.monotonic() + self.timeout
        reused = self._sock is not None
        try:
            return self._try(commands, deadline)
        except RedisDownError:
            if not reused or time.monotonic() >= deadline:
                raise
        return self._try(commands, deadline)

    def _try(self, commands: list[tuple], deadline: float) -> list[Any]:
        try:
            return self._round_trip(commands, deadline)
        except (OSError, RedisDownError) as exc:
            self.close()
            if isinstance(exc, RedisDownError):
                raise
            why = getattr(exc, "strerror", None) or str(exc) or "timed out"
            raise RedisDownError(f"Redis at {self.host}:{self.port} is unreachable ({why})") \
                from None

    def _round_trip(self, commands: list[tuple], deadline: float) -> list[Any]:
        sock = self._sock or self._connect(deadline)
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        sock.sendall(b"".join(resp.command(*c) for c in commands))
        return [self._reply(sock, deadline) for _ in commands]

    def _connect(self, deadline: float) -> socket.socket:
        sock = socket.create_connection((self.host, self.port),
                                        timeout=max(deadline - time.monotonic(), 0.001))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock, self._replies = sock, resp.Replies()
        if self.db:
            sock.sendall(resp.command(b"SELECT", self.db))
            answer = self._reply(sock, deadline)
            if isinstance(answer, resp.ReplyError):
                raise RedisDownError(f"Redis refused database {self.db}: {answer}")
        return sock

    def _reply(self, sock: socket.socket, deadline: float) -> Any:
        while (reply := self._replies.next()) is resp.INCOMPLETE:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            data = sock.recv(65536)
            if not data:
                raise RedisDownError(f"Redis at {self.host}:{self.port} closed the connection")
            self._replies.feed(data)
        if isinstance(reply, resp.BadReply):
            raise RedisDownError(reply.reason)
        return reply

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
