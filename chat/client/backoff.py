"""When to connect again after a connection is lost or a connect fails, sans I/O:
waits that double from FIRST_DELAY up to MAX_DELAY, each cut by a random part
(so clients that lost the same server do not all come back at once), and the
countdown a view shows.  Driven by the times its caller passes in and the random
source it is given.  Pure: must not import socket, select, curses or threading.
"""
from __future__ import annotations

import math
from collections.abc import Callable

FIRST_DELAY = 1.0  # seconds before the first retry
MAX_DELAY = 10.0  # seconds: no wait is longer, however long the outage
JITTER = 0.25  # at most this part of each wait is taken off at random


def delay(failures: int, draw: float) -> float:
    """The wait after `failures` failed tries in a row (0: the first retry), for a
    `draw` in [0, 1): the doubling wait, capped, less up to JITTER of it.  Never
    shorter than the wait before it was at its longest (JITTER < 1/2), so the waits
    still grow."""
    longest = min(MAX_DELAY, FIRST_DELAY * 2 ** min(failures, 16))
    return longest * (1 - JITTER * draw)


class Backoff:
    """The retry schedule of one client: how many tries failed in a row, and when
    the next one is due (None: none is)."""

    def __init__(self, draw: Callable[[], float]) -> None:
        self._draw = draw
        self.failures = 0
        self.due_at: float | None = None

    def schedule(self, now: float) -> float:
        """Plan the next try after one more failure; returns its wait."""
        wait = delay(self.failures, self._draw())
        self.failures += 1
        self.due_at = now + wait
        return wait

    def cancel(self) -> None:
        """No try is planned (one is starting now, or the client stopped trying)."""
        self.due_at = None

    def reset(self) -> None:
        """The server accepted us (or the user asked): the next wait is the first again."""
        self.failures = 0

    def is_due(self, now: float) -> bool:
        return self.due_at is not None and now >= self.due_at

    def seconds_left(self, now: float) -> int | None:
        """Whole seconds until the planned try, rounded up (at least 1), or None."""
        if self.due_at is None:
            return None
        return max(math.ceil(self.due_at - now), 1)

    def next_change(self, now: float) -> float | None:
        """When `seconds_left` next changes or the try is due: a view's wake-up time."""
        if self.due_at is None:
            return None
        left = self.due_at - now
        return self.due_at - max(math.ceil(left) - 1, 0) if left > 0 else now
