"""Who may connect, sans I/O: at most `max_per_address` connections from one
address, new ones from an address at most `connect_burst` at once and then
`connect_rate` a second, and the last RESERVE of a full server's slots kept for
addresses that have none yet.  Fed (address, time); reads no clock; must not
import socket, select, selectors, curses or threading.
"""
from __future__ import annotations

from chat.bucket import TokenBucket
from chat.server.limits import Limits

RESERVE = 0.05  # of --max-clients, kept for addresses with no connection yet


class Admission:
    """`admit(address, now, total)` says why not (a sentence for the BYE), or counts
    the connection in and says None; `left(address)` counts it out."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.count: dict[str, int] = {}  # address -> its connections open now
        self._buckets: dict[str, TokenBucket] = {}  # address -> its connect rate

    def admit(self, address: str, now: float, total: int) -> str | None:
        lim, mine = self.limits, self.count.get(address, 0)
        if total >= lim.max_clients or (mine and total >= lim.max_clients * (1 - RESERVE)):
            return f"the server is full ({lim.max_clients} connections); try again later"
        if lim.max_per_address and mine >= lim.max_per_address:
            return (f"too many connections from your address (the limit is "
                    f"{lim.max_per_address}); close one and try again")
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = self._buckets[address] = TokenBucket(lim.connect_burst, lim.connect_rate)
        if not bucket.take(now, 1):
            return (f"too many new connections from your address (more than "
                    f"{lim.connect_rate:g} a second); try again in a moment")
        self.count[address] = mine + 1
        return None

    def left(self, address: str) -> None:
        mine = self.count.get(address, 0) - 1
        if mine > 0:
            self.count[address] = mine
        else:
            self.count.pop(address, None)

    def forget_idle(self, now: float) -> None:
        """Forget the connect rate of addresses with no connection whose bucket is full
        again (it would say yes anyway): memory bounded by who is connected."""
        for address in [a for a, b in self._buckets.items()
                        if a not in self.count and _is_full(b, now)]:
            del self._buckets[address]


def _is_full(bucket: TokenBucket, now: float) -> bool:
    return (bucket.rate <= 0 or bucket.stamp is None
            or bucket.tokens + (now - bucket.stamp) * bucket.rate >= bucket.burst)
