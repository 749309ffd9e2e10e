"""The message store's interface: what the server's state asks of a history store.

Value types (Entry), the Store protocol every implementation follows (SQLite now, Redis
later) and the error an opening failure raises.  Pure: no sqlite3, no I/O of any kind.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

KINDS = ("say", "action", "notice", "private")
PRIVATE = "private"

MAX_PENDING = 20_000  # rows kept buffered while flushes fail; the oldest go beyond it
MAX_READ = 500        # no read returns more than this many entries
MAX_MESSAGES = 10_000  # default retention: entries kept per room
MAX_DAYS = 90          # default retention: days an entry is kept


class StoreOpenError(Exception):
    """The store cannot be opened; str(error) is one sentence naming the file and what to do."""


@dataclass(frozen=True, slots=True)
class Entry:
    id: int            # unique, increasing across the whole store; orders entries in a room
    room: str
    kind: str          # one of KINDS
    nick: str          # who wrote it ("" for a server notice)
    time: float        # server time, UTC epoch seconds
    text: str          # already sanitised by the server
    to: str = ""       # for kind "private": the recipient nick; visible only to nick and to


class Store(Protocol):
    """A room history plus a small key/value space, written in batches by flush().

    add() and put() only buffer (they are on the fan-out path); reads see everything
    added, flushed or not.  Private entries are returned only to their two nicks.
    """

    problem: str | None  # why the last flush failed, as a sentence; None while all is well

    def add(self, room: str, kind: str, nick: str, time: float, text: str,
            to: str = "") -> Entry:
        """Assign the next id at once and buffer the row (cheap: no I/O here)."""

    def put(self, table: str, key: str, value: str | None) -> None:
        """Buffer a key/value write in `table` (value is JSON text; None deletes)."""

    def items(self, table: str) -> dict[str, str]:
        """Everything in `table`, buffered writes included."""

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
