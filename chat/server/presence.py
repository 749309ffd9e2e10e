"""Who holds which nick in which room beyond this server: the interface the state asks
when a nick is taken or let go, and the one a single server uses (nobody else: every
claim is free, and costs nothing).  Pure: no I/O.  The Redis one is in redis_bus.py.
"""
from __future__ import annotations

from typing import Protocol

GONE = "their server stopped answering"  # why a dead server's users left their rooms


def node_table(table: str, node: str) -> str:
    """The name of a store table that is one server's own (its kept sessions), in a
    store several servers share."""
    return f"{table}@{node}"


class Presence(Protocol):
    def claim(self, room_key: str, room: str, nick: str, owner: str,
              gone: str = "") -> str | None:
        """Take `nick` in the room for this server's session `owner` (its key: the same
        after a restart and a /resume), atomically across servers: None when it is the
        owner's now, else a sentence saying why not.  `gone`: a server that is gone,
        whose claim on it is taken over (a /resume here of a session it kept)."""

    def gone_since(self, node: str) -> float | None:
        """When the server `node` went (stopped, or its heartbeat ran out: wall time);
        None while it is up, or cannot be told."""

    def release(self, room_key: str, nick: str, owner: str) -> None:
        """The owner no longer has `nick` there (a no-op if it is not its own)."""

    def others(self, room_key: str) -> list[str]:
        """The nicks in the room on the other servers."""

    def where(self, room_key: str, nick: str) -> tuple[str, str, str] | None:
        """Who holds `nick` in the room on another server, as (server, session key, nick
        as they spell it); None when nobody there does."""

    def rooms(self) -> dict[str, tuple[str, int]]:
        """room key -> (name, how many have a nick there) on the other servers."""

    def find(self, nick: str) -> tuple[str, str, str, str] | None:
        """Who holds `nick` in any room on another server, as (server, session key,
        nick, room key); None when nobody there does."""

    # Games (chat.server.far_games): `node` names this server ("": it is alone).
    node: str

    def game_id(self) -> str | None:
        """A game id no other server gives (None: none can be had now)."""

    def claim_seat(self, game_id: str, nick: str) -> str | None:
        """Take the seat of the open challenge `game_id` for `nick`, atomically across
        servers: None when it is theirs now, else who has it ("": cannot tell now)."""

    def claim_player(self, room_key: str, nick: str, game_id: str) -> str | None:
        """`nick` plays the duel `game_id` in the room, atomically across servers: None
        when they do now, else the game they play ("": cannot tell now)."""

    def release_player(self, room_key: str, nick: str, game_id: str) -> None:
        """`nick` no longer plays `game_id` (a no-op if they play another)."""


class Alone:
    """One server: its own rooms' nicks are all there is."""
    node = ""

    def game_id(self) -> str | None:
        return None

    def claim_seat(self, game_id: str, nick: str) -> str | None:
        return None

    def claim_player(self, room_key: str, nick: str, game_id: str) -> str | None:
        return None

    def release_player(self, room_key: str, nick: str, game_id: str) -> None:
        pass

    def claim(self, room_key: str, room: str, nick: str, owner: str,
              gone: str = "") -> str | None:
        return None

    def gone_since(self, node: str) -> float | None:
        return None

    def release(self, room_key: str, nick: str, owner: str) -> None:
        pass

    def others(self, room_key: str) -> list[str]:
        return []

    def where(self, room_key: str, nick: str) -> tuple[str, str, str] | None:
        return None

    def rooms(self) -> dict[str, tuple[str, int]]:
        return {}

    def find(self, nick: str) -> tuple[str, str, str, str] | None:
        return None
