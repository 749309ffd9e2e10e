"""Paced output, sans I/O: a token bucket in front of a queue of lines, so a client
sends no faster than a server's flood limit lets it.  The caller passes the time
in (this module reads no clock); must not import socket, select, selectors,
curses or threading.
"""
from __future__ import annotations

from collections import deque

_SLACK = 1e-9  # float refill arithmetic may land a hair under a whole token


class Pacer:
    """Lines wait here in order and leave at most `burst` at once, then `rate` a
    second (the server's own bucket, with smaller numbers); `rate` 0: no pacing."""

    def __init__(self, burst: int, rate: float) -> None:
        self.burst, self.rate = burst, rate
        self._lines: deque[bytes] = deque()
        self._tokens = float(burst)
        self._stamp: float | None = None  # the `now` of the last refill

    def __len__(self) -> int:
        return len(self._lines)

    def push(self, line: bytes) -> None:
        self._lines.append(line)

    def take(self, now: float, spent: int = 0) -> list[bytes]:
        """The lines that may go at `now`, oldest first.  `spent` lines went out past
        the queue (a PING answer, /quit): the server counts them, so they use tokens
        too, even into debt."""
        if self.rate <= 0:
            lines, self._lines = list(self._lines), deque()
            return lines
        self._refill(now)
        self._tokens -= spent
        lines = []
        while self._lines and self._tokens >= 1.0 - _SLACK:
            lines.append(self._lines.popleft())
            self._tokens -= 1.0
        return lines

    def next_at(self) -> float | None:
        """When `take` will next give a line: None with nothing waiting; a time at or
        before the last `now` if one may go already."""
        if not self._lines:
            return None
        if self._stamp is None or self.rate <= 0 or self._tokens >= 1.0 - _SLACK:
            return self._stamp if self._stamp is not None else float("-inf")
        return self._stamp + (1.0 - self._tokens) / self.rate

    def clear(self) -> int:
        """Drop every waiting line; returns how many there were."""
        count = len(self._lines)
        self._lines.clear()
        return count

    def reset(self) -> None:
        """A new connection: nothing waits and the whole burst is there again."""
        self._lines.clear()
        self._tokens, self._stamp = float(self.burst), None

    def _refill(self, now: float) -> None:
        if self._stamp is not None:
            self._tokens = min(float(self.burst),
                               self._tokens + max(now - self._stamp, 0.0) * self.rate)
        self._stamp = now
