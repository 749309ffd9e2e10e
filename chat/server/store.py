"""The message store's interface: what the server's state asks of a history store.

Value types (Entry), the Store protocol every implementation follows (SQLite now, Redis
later), the error an opening failure raises, and the pieces every implementation shares
(the write buffer, who may see a private entry).  Pure: no sqlite3, no I/O of any kind.
"""
from __future__ import annotations

from collections import deque
from typing import NamedTuple, Protocol

KINDS = ("say", "action", "notice", "private")
PRIVATE = "private"

MAX_PENDING = 20_000  # rows kept buffered while flushes fail; the oldest go beyond it
MAX_READ = 500        # no read returns more than this many entries
MAX_MESSAGES = 10_000  # default retention: entries kept per room
MAX_DAYS = 90          # default retention: days an entry is kept


class StoreOpenError(Exception):
    """The store cannot be opened; str(error) is one sentence naming the file and what to do."""


class Entry(NamedTuple):  # a NamedTuple: made on the fan-out path, 3x cheaper than a dataclass
    id: int            # unique, increasing across the whole store; orders entries in a room
    room: str
    kind: str          # one of KINDS
    nick: str          # who wrote it ("" for a server notice)
    time: float        # server time, UTC epoch seconds
    text: str          # already sanitised by the server
    to: str = ""       # for kind "private": the recipient's nick (as it was then)
    # For kind "private", who may see it: the keys of its two ends, space-separated.  A
    # key names a session, not a nick (a nick changes hands; see chat.server.state).
    ends: str = ""


class Tables(Protocol):
    """The key/value part of a store: what topics and the like need."""

    def put(self, table: str, key: str, value: str | None) -> None: ...
    def items(self, table: str) -> dict[str, str]: ...
    def fresh(self, table: str, keys: list[str]) -> dict[str, str | None] | None: ...


class Store(Protocol):
    """A room history plus a small key/value space, written in batches by flush().

    add() and put() only buffer (they are on the fan-out path); reads see everything
    added, flushed or not.  Private entries are returned only to their two ends: a
    read's `viewer` is the key of the one asking ("" for nobody in particular).
    """

    problem: str | None  # why the last flush failed, as a sentence; None while all is well

    def add(self, room: str, kind: str, nick: str, time: float, text: str,
            to: str = "", ends: str = "") -> Entry:
        """Assign the next id at once and buffer the row (cheap: no I/O here)."""

    def put(self, table: str, key: str, value: str | None) -> None:
        """Buffer a key/value write in `table` (value is JSON text; None deletes)."""

    def items(self, table: str) -> dict[str, str]:
        """Everything in `table`, buffered writes included."""

    def fresh(self, table: str, keys: list[str]) -> dict[str, str | None] | None:
        """What `table` holds now under `keys` (None: nothing), buffered puts included,
        when other servers write it too (several servers: a cache of it goes stale);
        None when only this server writes it, or it cannot be read now."""

    def flush(self) -> bool:
        """Write everything buffered in one transaction; never raises.  False: it
        failed, the rows stay buffered (at most MAX_PENDING) and `problem` says why."""

    def recent(self, room: str, limit: int, viewer: str = "") -> list[Entry]:
        """The newest `limit` entries of the room, oldest first."""

    def before(self, room: str, before_id: int, limit: int, viewer: str = "") -> list[Entry]:
        """The `limit` entries just before `before_id`, oldest first."""

    def since(self, room: str, after_id: int, limit: int,
              viewer: str = "") -> tuple[list[Entry], int]:
        """The newest `limit` entries with id > after_id, oldest first, and how many
        older ones after after_id were left out (0 when all fit)."""

    def last_id(self) -> int:
        """The highest id given out (0 for an empty store)."""

    def prune(self, now: float, batch: int = 500) -> int:
        """Delete at most `batch` entries beyond retention, oldest first; how many went."""

    def close(self) -> None:
        """Flush what can be flushed and release the store."""


# ------------------------------------------------------------------ shared by implementations
def can_see(entry: Entry, viewer: str) -> bool:
    """Whether `viewer` (an end's key; "" for nobody in particular) may see the entry."""
    if entry.kind != PRIVATE:
        return True
    return viewer != "" and viewer in entry.ends.split(" ")


def clamp(limit: int) -> int:
    """A read's limit brought into 1..MAX_READ."""
    return max(1, min(int(limit), MAX_READ))


def check_entry(kind: str, to: str, ends: str = "") -> None:
    """Raise ValueError for an entry the server should never make (our bug, not a peer's)."""
    if kind not in KINDS:
        raise ValueError(f"unknown entry kind {kind!r}; the kinds are {', '.join(KINDS)}")
    if (kind == PRIVATE) != bool(to):
        raise ValueError(f"a {kind!r} entry with to={to!r}: only private entries have a recipient")
    if (kind == PRIVATE) != bool(ends) or "" in ends.split(" ") and ends:
        raise ValueError(f"a {kind!r} entry with ends={ends!r}: only private entries have "
                         "ends, each a key")


class Pending:
    """What was added or put but is not written yet, in order, bounded.

    Entries beyond `limit` push the oldest out (they are lost, and counted in `dropped`);
    puts are kept by (table, key), the last value winning, so they stay as few as the keys.
    """

    def __init__(self, limit: int = MAX_PENDING) -> None:
        self.entries: deque[Entry] = deque()
        self.puts: dict[tuple[str, str], str | None] = {}
        self.dropped = 0
        self._limit = limit

    def __bool__(self) -> bool:
        return bool(self.entries or self.puts)

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        if len(self.entries) > self._limit:
            self.entries.popleft()
            self.dropped += 1

    def clear(self) -> None:
        self.entries.clear()
        self.puts.clear()

    def newest(self, room: str, viewer: str, after_id: int, before_id: float,
               limit: int) -> tuple[list[Entry], int]:
        """The newest `limit` buffered entries of the room with after_id < id < before_id
        that the viewer may see, oldest first, and how many more there were."""
        got: list[Entry] = []
        more = 0
        for entry in reversed(self.entries):  # newest first; ids only grow
            if entry.id <= after_id:
                break
            if entry.id >= before_id or entry.room != room or not can_see(entry, viewer):
                continue
            if len(got) < limit:
                got.append(entry)
            else:
                more += 1
        got.reverse()
        return got, more

    def merged(self, table: str, written: dict[str, str]) -> dict[str, str]:
        """A table as written (`written`) with the buffered puts applied."""
        for (name, key), value in self.puts.items():
            if name != table:
                continue
            if value is None:
                written.pop(key, None)
            else:
                written[key] = value
        return written
