"""Rooms' history, sans I/O: what the state writes to its store, and what it sends
back from it (the last messages on join, /history pages, a reconnect's /missed).
Knows the Store interface only, never which store it is; must not import socket,
selectors, select, curses, threading or sqlite3.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from chat import protocol as p
from chat.server.store import Entry, Store

log = logging.getLogger("parlor.server")

REPLAY = 50        # messages sent on join (server.py --history)
PAGE = 50          # a /history without a count
MAX_PAGE = 200     # the most one /history or /missed answer carries
LOG_EVERY = 60.0   # seconds between two log lines about the same store failure
KEPT_AGAIN = "history is kept again"


def stored(room: str, entry: Entry) -> p.Past:
    """An entry as its ENTRY line, under the room's name as it is shown now."""
    return p.Past(room, entry.id, entry.kind, entry.nick or p.NOBODY, entry.to or p.NOBODY,
                  entry.time, entry.text)


class History:
    """The state's link to its store.  `replay`: how many messages a join shows."""

    def __init__(self, store: Store, clock: Callable[[], float], replay: int = REPLAY) -> None:
        self.store, self.clock, self.replay = store, clock, replay
        self.unsaved = False  # rows were added since the last flush
        self._oldest: dict[int, int] = {}  # session id -> oldest id it was sent, this room
        self._failing: str | None = None
        self._logged_at = float("-inf")

    # -------------------------------------------------------------- writing
    def said(self, room_key: str, nick: str, stamp: float, text: str,
             kind: str = p.SAY, to: str = "", ends: str = "") -> int:
        """Keep a message (a private one: seen by the keys `ends` only); its id."""
        self.unsaved = True
        return self.store.add(room_key, kind, nick, stamp, text, to, ends).id

    def put(self, table: str, key: str, value: str | None) -> None:
        """Keep a value (JSON text; None deletes) in one of the store's tables: sessions,
        games and scores, written with the turn's messages."""
        self.unsaved = True
        self.store.put(table, key, value)

    def items(self, table: str) -> dict[str, str]:
        return self.store.items(table)

    def fresh(self, table: str, keys: list[str]) -> dict[str, str | None] | None:
        return self.store.fresh(table, keys)

    def noted(self, room_key: str, nick: str, text: str) -> None:
        """Keep a notice about `nick` (joined, left, renamed) for the room's history."""
        self.unsaved = True
        self.store.add(room_key, p.NOTICE, nick, int(self.clock() * 1000) / 1000, text)

    def commit(self) -> str | None:
        """Write what was kept to the store, before anyone is sent it.  A sentence
        for every room when that starts or stops working, else None."""
        self.unsaved = False
        ok = self.store.flush()
        problem = None if ok else (self.store.problem or "the history store failed")
        if problem:
            now = self.clock()
            if now - self._logged_at >= LOG_EVERY or problem != self._failing:
                log.error("history not kept: %s", problem)
                self._logged_at = now
        if problem == self._failing or (problem and self._failing):
            self._failing = problem
            return None
        was, self._failing = self._failing, problem
        if problem:
            return "history is not being kept for now (the server's store is failing)"
        log.info("the history store works again")
        return KEPT_AGAIN if was else None

    @property
    def failing(self) -> bool:
        return self._failing is not None

    def prune(self) -> int:
        return self.store.prune(self.clock())

    # -------------------------------------------------------------- reading
    def on_join(self, session_id: int, room_key: str, room: str, viewer: str) -> p.HistoryPage:
        # What was said, without the comings and goings (they are in /history pages):
        # a replay of joins and leaves is noise, and a returning client saw some live.
        entries = self.store.recent(room_key, 2 * self.replay + 1, viewer) if self.replay else []
        older = int(len(entries) > self.replay)
        entries = [e for e in entries if e.kind != p.NOTICE][-self.replay:] if self.replay else []
        self._remember(session_id, entries)
        return p.HistoryPage(room, p.ON_JOIN, tuple(stored(room, e) for e in entries), older)

    def forget(self, session_id: int) -> None:
        """The session left its room: its paging starts again in the next one."""
        self._oldest.pop(session_id, None)

    def page(self, session_id: int, room_key: str, room: str, viewer: str,
             msg: p.History) -> p.HistoryPage | str:
        """The answer to /history: a page, or a sentence saying what is wrong."""
        count = _count(msg.count, PAGE)
        if count is None:
            return f"usage: /history [N], N from 1 to {MAX_PAGE} (how many older messages)"
        before = _count(msg.before, self._oldest.get(session_id, self.store.last_id() + 1),
                        top=p.MAX_ID)
        if before is None:
            return "usage: /history N ID, where ID is a message number"
        entries = self.store.before(room_key, before, count + 1, viewer)
        older = int(len(entries) > count)
        entries = entries[-count:]
        self._remember(session_id, entries)
        text = "" if entries else "there is nothing older in this room's history"
        return p.HistoryPage(room, p.PAGE, tuple(stored(room, e) for e in entries), older, text)

    def missed(self, session_id: int, room_key: str, room: str, viewer: str,
               msg: p.Missed) -> p.HistoryPage | str:
        """The answer to /missed ID: what came after ID (the newest page of it)."""
        after = _count(msg.after, None, low=0, top=p.MAX_ID)
        if after is None:
            return "usage: /missed ID, where ID is the number of the last message you saw"
        if after > self.store.last_id():
            return f"there is no message {after} yet; /history shows the room's past"
        entries, left_out = self.store.since(room_key, after, MAX_PAGE, viewer)
        self._remember(session_id, entries)
        entries = [e for e in entries if e.kind != p.NOTICE]  # (as on join)
        text = (f"{left_out} earlier ones not shown: /history {MAX_PAGE} fetches more"
                if left_out else "")
        return p.HistoryPage(room, p.CAUGHT_UP, tuple(stored(room, e) for e in entries),
                             left_out, text)

    def _remember(self, session_id: int, entries: list[Entry]) -> None:
        if entries:
            oldest = self._oldest.get(session_id)
            if oldest is None or entries[0].id < oldest:
                self._oldest[session_id] = entries[0].id


def _count(text: str, default: int | None, low: int = 1, top: int = MAX_PAGE) -> int | None:
    """A number from `low` to `top` as typed (`default` when empty), or None when bad."""
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > 16:
        return None
    value = int(text)
    return value if low <= value <= top else None
