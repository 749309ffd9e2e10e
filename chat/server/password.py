"""The server's password, sans I/O: whether an attempt is right (compared in
constant time), and how long the refusal of a wrong one waits, longer for each
recent failure from the same address.  Fed (attempt, address, time); reads no
clock; must not import socket, select, selectors, curses or threading.
"""
from __future__ import annotations

import hmac

FIRST_DELAY = 1.0  # seconds before the first refusal from an address...
MAX_DELAY = 30.0   # ...doubled for each failure since, up to this
FORGET = 600.0     # seconds after its last failure that an address starts afresh


class PasswordGate:
    __slots__ = ("_secret", "_failures")

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode("utf-8")
        self._failures: dict[str, tuple[int, float]] = {}  # address -> (count, last)

    def __repr__(self) -> str:  # (never in a log line or a traceback)
        return "PasswordGate(<hidden>)"

    def accepts(self, attempt: str) -> bool:
        return hmac.compare_digest(attempt.encode("utf-8"), self._secret)

    def failed(self, address: str, now: float) -> float:
        """A wrong or missing password from `address` at `now`: the seconds its
        refusal waits."""
        count, last = self._failures.get(address, (0, now))
        if now - last > FORGET:
            count = 0
        count += 1
        self._failures[address] = (count, now)
        return min(FIRST_DELAY * 2 ** (count - 1), MAX_DELAY)

    def forget_idle(self, now: float) -> None:
        """Memory bounded by recent failures."""
        for address in [a for a, (_, last) in self._failures.items() if now - last > FORGET]:
            del self._failures[address]
