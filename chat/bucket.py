"""A token bucket, sans I/O: the one flood limit of both programs (the server's guard
enforces it, the client's pacer stays under it), and the server's work budget (its
tokens are seconds of server time, charged after the fact and so owed a while).  It
reads no clock: every call is given `now`.  Must not import socket, select,
selectors, curses or threading.
"""
from __future__ import annotations

_SLACK = 1e-9  # float refill arithmetic may land a hair under a whole token


class TokenBucket:
    """`burst` tokens at once, refilled at `rate` a second up to `burst`; one token
    per line.  `rate` 0 means no limit: every line may go."""

    __slots__ = ("burst", "rate", "tokens", "stamp")

    def __init__(self, burst: int, rate: float) -> None:
        self.burst, self.rate = burst, rate
        self.tokens: float = burst  # an int until the first refill: no float object per bucket
        self.stamp: float | None = None  # the `now` of the last refill; None: never

    def take(self, now: float, wanted: int, debt: int = 0) -> int:
        """Refill to `now`, charge `debt` tokens for lines that went anyway (into debt:
        the count may go below zero), then take up to `wanted` whole tokens; returns
        how many were taken."""
        # On the server's hot path (a line from every read): no min()/max() calls.
        rate = self.rate
        if rate <= 0:
            return wanted
        tokens, stamp = self.tokens, self.stamp
        if stamp is not None and now > stamp:
            tokens += (now - stamp) * rate
            if tokens > self.burst:
                tokens = self.burst
        self.stamp = now
        tokens -= debt
        if tokens + _SLACK >= wanted:
            self.tokens = tokens - wanted
            return wanted
        granted = int(tokens + _SLACK) if tokens > 0 else 0
        self.tokens = tokens - granted
        return granted

    def level(self, now: float) -> float:
        """Refill to `now`; the tokens there are (a float: below zero, what is owed)."""
        self.take(now, 0)
        return self.tokens

    def owed_until(self) -> float:
        """When a bucket in debt is out of it (at or before the last `now` if it is not)."""
        if self.stamp is None or self.rate <= 0 or self.tokens >= 0:
            return float("-inf") if self.stamp is None else self.stamp
        return self.stamp - self.tokens / self.rate

    def give_back(self, count: int) -> None:
        """Return `count` tokens taken for lines that did not go after all (up to the burst)."""
        tokens = self.tokens + count
        self.tokens = tokens if tokens < self.burst else self.burst

    def next_at(self) -> float:
        """When a whole token is there: at or before the last `now` if one is already
        (minus infinity before the first `take`, or with no limit)."""
        if self.stamp is None or self.rate <= 0:
            return float("-inf") if self.stamp is None else self.stamp
        if self.tokens >= 1.0 - _SLACK:
            return self.stamp
        return self.stamp + (1.0 - self.tokens) / self.rate

    def reset(self) -> None:
        """The whole burst is there again, as when new."""
        self.tokens, self.stamp = self.burst, None
