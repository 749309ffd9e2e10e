"""Paced output, sans I/O: the shared token bucket (chat.bucket) in front of a queue
of lines, so a client sends no faster than a server's flood limit lets it.  The
caller passes the time in (this module reads no clock); must not import socket,
select, selectors, curses or threading.
"""
from __future__ import annotations

from collections import deque

from chat.bucket import TokenBucket


class Pacer:
    """Lines wait here in order and leave at most `burst` at once, then `rate` a
    second (the server's own bucket, with smaller numbers); `rate` 0: no pacing."""

    def __init__(self, burst: int, rate: float) -> None:
        self._bucket = TokenBucket(burst, rate)
        self._lines: deque[bytes] = deque()

    @property
    def burst(self) -> int:
        return self._bucket.burst

    @property
    def rate(self) -> float:
        return self._bucket.rate

    def __len__(self) -> int:
        return len(self._lines)

    def push(self, line: bytes) -> None:
        self._lines.append(line)

    def take(self, now: float) -> list[bytes]:
        """The lines that may go at `now`, oldest first (what goes past the queue, a
        PING answer or /quit, is not charged: see ClientCore.data_to_send)."""
        count = self._bucket.take(now, len(self._lines))
        return [self._lines.popleft() for _ in range(count)]

    def next_at(self) -> float | None:
        """When `take` will next give a line: None with nothing waiting; a time at or
        before the last `now` if one may go already."""
        return self._bucket.next_at() if self._lines else None

    def clear(self) -> int:
        """Drop every waiting line; returns how many there were."""
        count = len(self._lines)
        self._lines.clear()
        return count

    def reset(self) -> None:
        """A new connection: nothing waits and the whole burst is there again."""
        self._lines.clear()
        self._bucket.reset()
