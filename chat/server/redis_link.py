"""A non-blocking connection to Redis inside the server's selectors loop: a shell.

Commands are queued with a callback each and written when the socket can take them;
replies (chat.server.resp, fed whatever recv gives) go to the callbacks in order.
When the connection fails (refused, reset, closed, or what is not RESP), every waiting
callback is dropped, `on_down(reason)` is called, and it connects again after a
backoff that doubles from BACKOFF_MIN to BACKOFF_MAX; `on_up()` once it is back.
Nothing here ever blocks: connect, send and recv are all non-blocking.
"""
from __future__ import annotations

import errno
import logging
import selectors
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from chat.server import resp

log = logging.getLogger("parlor.server")

READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
BACKOFF_MIN = 0.05
BACKOFF_MAX = 2.0


class RedisLink:
    def __init__(self, host: str, port: int, db: int, selector: selectors.BaseSelector,
                 on_up: Callable[[], None], on_down: Callable[[str], None]) -> None:
        self.host, self.port, self.db = host, port, db
        self.selector, self.on_up, self.on_down = selector, on_up, on_down
        self.sock: socket.socket | None = None
        self.up = False
        self.retry_at: float | None = None  # when to connect again (None: connected or trying)
        self._backoff = BACKOFF_MIN
        self._out = bytearray()
        self._waiting: deque[Callable[[Any], None]] = deque()
        self._replies = resp.Replies()
        self._events = 0

    # ------------------------------------------------------------------ the caller's side
    def send(self, callback: Callable[[Any], None], *args) -> None:
        """Queue a command; `callback(reply)` when its reply comes (never if the link
        fails first).  While down, nothing is queued: the caller waits for on_up."""
        if self.sock is None:
            return
        self._out += resp.command(*args)
        self._waiting.append(callback)
        self._watch()

    def connect(self) -> None:
        """Start connecting (non-blocking); on_up when done, on_down if it fails."""
        self.retry_at = None
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self._replies, self._out = sock, resp.Replies(), bytearray()
        self._waiting.clear()
        code = sock.connect_ex((self.host, self.port))
        if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
            self._fail(f"cannot connect to Redis at {self.host}:{self.port}: "
                       f"{errno.errorcode.get(code, code)}")
            return
        if self.db:
            self._out += resp.command(b"SELECT", self.db)
            self._waiting.append(self._selected)
        self._events = 0
        self._watch(connecting=True)

    def due(self, now: float) -> None:
        """Called by the loop every turn or so: connect again if its backoff is over."""
        if self.retry_at is not None and now >= self.retry_at:
            self.connect()

    def close(self) -> None:
        if self.sock is not None:
            if self._events:
                self.selector.unregister(self.sock)
            self.sock.close()
        self.sock, self.up, self._events = None, False, 0
        self._waiting.clear()

    # ------------------------------------------------------------------ the loop's side
    def _on_event(self, sock: socket.socket, mask: int) -> None:
        if not self.up and mask & WRITE:
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                self._fail(f"cannot connect to Redis at {self.host}:{self.port}: "
                           f"{errno.errorcode.get(code, code)}")
                return
            self.up, self._backoff = True, BACKOFF_MIN
            log.info("connected to Redis at %s:%d", self.host, self.port)
            self.on_up()
        if self.sock is None:
            return
        if mask & READ and not self._read():
            return
        if mask & WRITE and self._out:
            self._write()
        self._watch()

    def _read(self) -> bool:
        try:
            data = self.sock.recv(262144)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError as exc:
            self._fail(f"lost Redis at {self.host}:{self.port}: {exc.strerror or exc}")
            return False
        if not data:
            self._fail(f"Redis at {self.host}:{self.port} closed the connection")
            return False
        self._replies.feed(data)
        while (reply := self._replies.next()) is not resp.INCOMPLETE:
            if isinstance(reply, resp.BadReply) or not self._waiting:
                self._fail(reply.reason if isinstance(reply, resp.BadReply)
                           else "Redis sent a reply nobody asked for")
                return False
            self._waiting.popleft()(reply)
            if self.sock is None:  # a callback closed it
                return False
        return True

    def _write(self) -> None:
        try:
            sent = self.sock.send(self._out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._fail(f"lost Redis at {self.host}:{self.port}: {exc.strerror or exc}")
            return
        del self._out[:sent]

    def _watch(self, connecting: bool = False) -> None:
        if self.sock is None:
            return
        events = READ | (WRITE if self._out or connecting or not self.up else 0)
        if events != self._events:
            if self._events:
                self.selector.modify(self.sock, events, self._on_event)
            else:
                self.selector.register(self.sock, events, self._on_event)
            self._events = events

    def _selected(self, reply: Any) -> None:
        if isinstance(reply, resp.ReplyError):
            self._fail(f"Redis refused database {self.db}: {reply}")

    def _fail(self, reason: str) -> None:
        was_up = self.up
        self.close()
        self.retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, BACKOFF_MAX)
        if was_up:
            log.warning("%s; connecting again", reason)
        self.on_down(reason)
