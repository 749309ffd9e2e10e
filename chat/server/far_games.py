"""Games run by other servers of a cluster (server.py --redis), sans I/O: the room's
index of games and challenges as the store keeps it (table `games:ROOMKEY`, written
by the node that runs each one, with the turn's lines), read back as `Far` values,
and a game replayed from its record.  Must not import socket, selectors, select,
curses or threading.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass

from chat.server.state import key
from game import registry
from game.base import Game

INDEX = "games:"  # + room key: the store's table of a room's games, by game id
DO, LEFT, RENAMED = "do", "left", "renamed"  # what a forwarded act is (see Outbox.forward)
PLAYS, RESIGNS = "plays", "resigns"  # the acts of a record (as GameHost keeps them)


def index_table(room_key: str) -> str:
    return INDEX + room_key


@dataclass(frozen=True, slots=True)
class Far:
    """A game or a challenge of the room, run by the server `node`: a challenge has
    no `players` yet (`target` "" is open to anyone); a game is its record."""
    id: str
    node: str
    name: str
    challenger: str = ""
    target: str = ""
    players: tuple[str, ...] = ()
    duel: bool = True
    bot: bool = False
    setup: str = ""
    seed: int = 0
    acts: tuple[tuple[str, ...], ...] = ()
    taken_by: str = ""

    @property
    def running(self) -> bool:
        return bool(self.players)

    def seats(self, nick: str) -> bool:
        return key(nick) in map(key, self.players)

    def involves(self, nick: str) -> bool:
        return self.seats(nick) or key(nick) in (key(self.challenger), key(self.target))

    def is_for(self, nick: str, open_ok: bool = True) -> bool:
        """A challenge that `nick` may answer."""
        if self.running:
            return False
        if not self.target:
            return open_ok and key(nick) != key(self.challenger)
        return key(nick) == key(self.target)

    def describe(self) -> str:
        return f"{self.challenger}'s challenge to {self.target or 'anyone'} ({self.name})"

    def replay(self) -> Game:
        """The game as its moves made it (a game is a deterministic function of how it
        started and of its moves): the same board on every server."""
        return replay(self.name, self.players, self.setup, self.seed, self.acts)


def replay(name: str, players: tuple[str, ...], setup: str, seed: int, acts) -> Game:
    """GameError if the moves no longer replay (its rules changed)."""
    game = registry.get(name).start(players, setup, random.Random(seed))
    for act, nick, *text in acts:
        do(game, act, nick, *text)
    return game


def do(game: Game, act: str, nick: str, text: str = "") -> str:
    """Play a move (its sentence), or resign or forfeit for `nick` ("")."""
    if act == PLAYS:
        return game.play(nick, text)
    if act == RESIGNS:
        game.resign(nick)
    else:
        game.forfeit(nick)
    return ""


def challenge_record(node: str, name: str, challenger: str, target: str | None) -> str:
    return json.dumps({"node": node, "name": name, "challenger": challenger,
                       "target": target or ""})


def game_record(node: str, kept: dict) -> str:
    """A running game's index value: what the store keeps of it, and its node."""
    return json.dumps({"node": node, **kept})


def parse_index(items: dict[str, str], node: str | None = None) -> list[Far]:
    """The index's entries (those of other nodes than `node`), oldest id first; an entry
    that does not parse is left out (what Redis holds is not ours to trust blindly)."""
    found = []
    for game_id, value in items.items():
        try:
            kept = json.loads(value)
            far = Far(game_id, str(kept["node"]), str(kept["name"]),
                      str(kept.get("challenger", "")), str(kept.get("target", "")),
                      tuple(map(str, kept.get("players", ()))), bool(kept.get("duel", True)),
                      bool(kept.get("bot", False)), str(kept.get("setup", "")),
                      int(kept.get("seed", 0)), tuple(tuple(map(str, a)) for a in
                                                     kept.get("acts", ())),
                      str(kept.get("taken_by", "")))
        except (TypeError, ValueError, KeyError, AttributeError):
            continue
        if far.node != node:
            found.append(far)
    found.sort(key=lambda f: (len(f.id), f.id))
    return found
