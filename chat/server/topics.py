"""Rooms' topics, sans I/O: what each room's topic is, who set it and when, kept in
the store's key/value space (table TABLE, by room) so a restart keeps them.

A topic outlives its room: a room that empties keeps it, and has it back when it is
made again.  Must not import socket, selectors, select, curses, threading or sqlite3.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from chat import protocol as p
from chat.server.store import Tables

TABLE = "topics"
MAX_KEPT = 10_000  # topics kept; past it, the oldest of a room nobody is in goes


@dataclass(frozen=True, slots=True)
class Kept:
    room: str   # the room's name as it was when the topic was set
    text: str   # sanitised, whitespace collapsed
    by: str     # the nick that set it
    at: float   # server time, epoch seconds (milliseconds, as on the wire)


class Topics:
    """The topics of every room (by casefolded name), read from `store` when built
    (the server hands it its History, which writes what is put with the turn)."""

    def __init__(self, store: Tables) -> None:
        self.store = store
        self._kept: dict[str, Kept] = {}
        for room_key, value in store.items(TABLE).items():
            kept = _parsed(value)
            if kept is not None:
                self._kept[room_key] = kept

    def _fresh(self, room_keys: list[str]) -> None:
        """Read these rooms' topics again where other servers set them too."""
        now = self.store.fresh(TABLE, room_keys)
        for room_key, value in (now or {}).items():
            kept = _parsed(value) if value is not None else None
            if kept is None:
                self._kept.pop(room_key, None)
            elif kept != self._kept.get(room_key):
                self._kept.pop(room_key, None)
                self._kept[room_key] = kept

    def __len__(self) -> int:
        return len(self._kept)

    def of(self, room_key: str) -> Kept | None:
        self._fresh([room_key])
        return self._kept.get(room_key)

    def text_of(self, room_key: str) -> str:
        kept = self.of(room_key)
        return kept.text if kept is not None else ""

    def texts(self, room_keys: list[str]) -> tuple[str, ...]:
        """The topics of these rooms, in order ("" for none), read in one go."""
        self._fresh(room_keys)
        return tuple(k.text if (k := self._kept.get(r)) is not None else "" for r in room_keys)

    def line(self, room_key: str, room: str, why: str) -> p.RoomTopic | None:
        """The room's TOPIC line (under its name as shown now), or None with no topic."""
        kept = self.of(room_key)
        if kept is None:
            return None
        return p.RoomTopic(room, kept.by, kept.at, why, kept.text)

    def set(self, room_key: str, kept: Kept, live: Callable[[str], bool]) -> None:
        """Keep `kept` as the room's topic; past MAX_KEPT, forget the oldest topic of a
        room that is not `live` (nobody is in it)."""
        self._kept.pop(room_key, None)
        self._kept[room_key] = kept
        self.store.put(TABLE, room_key, json.dumps(
            {"room": kept.room, "text": kept.text, "by": kept.by, "at": kept.at}))
        if len(self._kept) > MAX_KEPT:
            idle = [k for k in self._kept if not live(k)]
            if idle:
                self.delete(min(idle, key=lambda k: self._kept[k].at))

    def delete(self, room_key: str) -> None:
        if self._kept.pop(room_key, None) is not None:
            self.store.put(TABLE, room_key, None)


def _parsed(value: str) -> Kept | None:
    """A kept topic from its JSON text; None if it is not one (what another server, or
    anyone with the Redis, wrote is not to be trusted blindly)."""
    try:
        kept = json.loads(value)
        made = Kept(kept["room"], kept["text"], kept["by"], kept["at"])
    except (ValueError, TypeError, KeyError):
        return None
    fields = (made.room, made.text, made.by)
    if not all(isinstance(f, str) for f in fields) or not isinstance(made.at, (int, float)):
        return None
    return made


def topic_problem(text: str) -> str | None:
    """Why `text` (sanitised, whitespace collapsed) cannot be a topic, as a sentence
    with the usage; None if it can."""
    usage = f"usage: {p.typed(p.Topic, 'TEXT')} sets it, {p.typed(p.Topic)} shows it, " \
            f"{p.typed(p.Topic, p.TOPIC_DELETE)} removes it"
    if len(text) > p.MAX_TOPIC:
        return f"a topic is at most {p.MAX_TOPIC} characters and this one is {len(text)}; {usage}"
    word = text.split(" ", 1)[0]
    if word.startswith("-") and word[1:].isalpha():  # an option that does not exist
        shown = word if len(word) <= 20 else word[:20] + "..."
        return f"{p.typed(p.Topic)} has no option {shown!r}; {usage}"
    return None
