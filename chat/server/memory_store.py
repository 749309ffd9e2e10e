"""A store that keeps everything in this process's memory: the Store interface in
plain Python, for a server that must keep nothing (and for pure tests of what
uses a store).  Pure: no sqlite3, no I/O.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict

from chat.server.store import MAX_DAYS, MAX_MESSAGES, MAX_READ, Entry, can_see, check_entry, clamp

DAY = 86400.0


class MemoryStore:
    """Entries per room in id order, and the key/value tables, all in memory."""

    problem: str | None = None

    def __init__(self, max_messages: int | None = MAX_MESSAGES,
                 max_days: float | None = MAX_DAYS) -> None:
        self.max_messages, self.max_days = max_messages, max_days
        self._rooms: dict[str, list[Entry]] = defaultdict(list)
        self._ids: dict[str, list[int]] = defaultdict(list)
        self._tables: dict[str, dict[str, str]] = defaultdict(dict)
        self._last = 0

    def add(self, room: str, kind: str, nick: str, time: float, text: str,
            to: str = "", ends: str = "") -> Entry:
        check_entry(kind, to, ends)
        self._last += 1
        entry = Entry(self._last, room, kind, nick, time, text, to, ends)
        self._rooms[room].append(entry)
        self._ids[room].append(entry.id)
        return entry

    def put(self, table: str, key: str, value: str | None) -> None:
        if value is None:
            self._tables[table].pop(key, None)
        else:
            self._tables[table][key] = value

    def items(self, table: str) -> dict[str, str]:
        return dict(self._tables.get(table, {}))

    def fresh(self, table: str, keys: list[str]) -> dict[str, str | None] | None:
        return None  # (only this server writes it)

    def flush(self) -> bool:
        return True

    def recent(self, room: str, limit: int, viewer: str = "") -> list[Entry]:
        return self._newest(self._rooms.get(room, []), clamp(limit), viewer)

    def before(self, room: str, before_id: int, limit: int, viewer: str = "") -> list[Entry]:
        entries = self._rooms.get(room, [])
        end = bisect_left(self._ids.get(room, []), before_id)
        return self._newest(entries[:end], clamp(limit), viewer)

    def since(self, room: str, after_id: int, limit: int,
              viewer: str = "") -> tuple[list[Entry], int]:
        entries = self._rooms.get(room, [])
        start = bisect_right(self._ids.get(room, []), after_id)
        seen = [e for e in entries[start:] if can_see(e, viewer)]
        limit = clamp(limit)
        return seen[-limit:], max(0, len(seen) - limit)

    def last_id(self) -> int:
        return self._last

    def prune(self, now: float, batch: int = 500) -> int:
        """Entries older than max_days first (from each room's oldest, up to its first
        young one), then each room's oldest beyond max_messages."""
        gone = 0
        for counting in (False, True):
            for room, entries in self._rooms.items():
                cut = min(self._excess(entries, now, counting), batch - gone)
                if cut > 0:
                    del entries[:cut], self._ids[room][:cut]
                    gone += cut
        return gone

    def _excess(self, entries: list[Entry], now: float, counting: bool) -> int:
        if counting:
            return 0 if self.max_messages is None else len(entries) - self.max_messages
        if self.max_days is None:
            return 0
        cutoff, old = now - self.max_days * DAY, 0
        while old < len(entries) and old < MAX_READ and entries[old].time < cutoff:
            old += 1
        return old

    def close(self) -> None:
        pass

    @staticmethod
    def _newest(entries: list[Entry], limit: int, viewer: str) -> list[Entry]:
        shown: list[Entry] = []
        for entry in reversed(entries):
            if can_see(entry, viewer):
                shown.append(entry)
                if len(shown) == limit:
                    break
        return shown[::-1]
