"""Games run by other servers of a cluster (server.py --redis), sans I/O: the room's
index of games and challenges as the store keeps it (table `games:ROOMKEY`, written
by the node that runs each one, with the turn's lines), read back as `Far` values,
a game replayed from its record, and the `Cluster` a game host asks about the other
servers (the index, stand-ins for their players, acts to forward, claims).  Must not
import socket, selectors, select, curses or threading.
"""
from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass

from chat import protocol as p
from chat.server.history import History
from chat.server.presence import Alone, Presence
from chat.server.state import Outbox, Room, Session, key
from game import registry
from game.base import Game

INDEX = "games:"  # + room key: the store's table of a room's games, by game id
DO, LEFT, RENAMED = "do", "left", "renamed"  # what a forwarded act is (see Outbox.forward)
PLAYS, RESIGNS = "plays", "resigns"  # the acts of a record (as GameHost keeps them)
FAR_BASE = -10**9  # stand-ins for players on other servers have ids from here down
NO_SEAT = ("cannot check that with the other servers now (the message bus is down); "
           "try again in a moment")


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


class Cluster:
    """What a game host needs of the other servers (several servers; alone, every
    answer is "nothing there" at no cost): the room's index of games they run, a
    stand-in session here for each of their players who plays a game run here, the
    acts to forward to them, and the claims in Redis (through the presence) that keep
    one taker a seat and one duel a player.  `bot` is the bot's nick (never claimed)."""

    def __init__(self, bot: str) -> None:
        self.bot = bot
        self.presence: Presence = Alone()  # who holds which nick on the other servers
        self.node = ""  # this server's name in a cluster ("": alone)
        self.store: History | None = None  # where the index is (the room games' store)
        self._standins: dict[tuple[str, str], Session] = {}  # (node, key) -> a far player
        self._far: dict[int, tuple[str, str]] = {}  # a stand-in's id -> (node, key)
        self._ids = itertools.count(FAR_BASE, -1)

    def attach(self, store: History, presence: Presence | None) -> None:
        self.store, self.presence = store, presence or Alone()
        self.node = self.presence.node

    # -------------------------------------------------------------- the index
    def entries(self, room: Room) -> list[Far]:
        """The room's games and challenges that other servers run."""
        if not self.node or self.store is None:
            return []
        return parse_index(self.store.items(index_table(key(room.name))), self.node)

    def all_entries(self, room_key: str) -> list[Far]:
        """The room's games and challenges, this server's too."""
        return parse_index(self.store.items(index_table(room_key))) if self.node else []

    def index(self, room: Room, game_id: str, value: str | None) -> None:
        if self.node and self.store is not None:
            self.store.put(index_table(key(room.name)), game_id, value)

    def seat(self, session: Session) -> Far | None:
        """The game on another server that `session` sits in, or else a room game there
        anyone may join in, if any."""
        games = [f for f in self.entries(session.room) if f.running]
        return next((f for f in games if f.seats(session.nick)),
                    next((f for f in games if not f.duel), None))

    def seated(self, session: Session) -> Far | None:
        return next((f for f in self.entries(session.room)
                     if f.running and f.seats(session.nick)), None)

    def duel(self, room: Room, nick: str) -> Far | None:
        return next((f for f in self.entries(room) if f.running and f.duel and f.seats(nick)),
                    None)

    def challenges(self, session: Session, challenger: str, open_ok: bool) -> list[Far]:
        """The challenges to `session` (from `challenger`, if named) other servers run."""
        return [f for f in self.entries(session.room) if f.is_for(session.nick, open_ok)
                and (not challenger or key(f.challenger) == key(challenger))]

    # -------------------------------------------------------------- stand-ins, forwarding
    def standin(self, room: Room, node: str, far_key: str, nick: str) -> Session:
        """The session here that plays for `nick` (session `far_key` of the server
        `node`; "-": a dead one's, found by nick)."""
        standin = self._standins.get((node, far_key)) or next(
            (s for s in self._standins.values() if s.room is room and key(s.nick) == key(nick)
             and far_key == "-"), None)
        if standin is None:
            standin = self._standins[(node, far_key)] = Session(next(self._ids), node)
            self._far[standin.id] = (node, far_key)
        standin.room, standin.nick = room, nick
        return standin

    def drop_standins(self, room: Room, nick: str) -> None:
        for where, gone in list(self._standins.items()):
            if gone.room is room and key(gone.nick) == key(nick):
                del self._standins[where], self._far[gone.id]

    def holder(self, room: Room, nick: str) -> Session:
        """Who has `nick` in the room: a session here, or a stand-in for one elsewhere."""
        here = room.nicks.get(key(nick))
        return here if here is not None else next(
            s for s in self._standins.values() if s.room is room and key(s.nick) == key(nick))

    def forward(self, session: Session, far: Far | str, out: Outbox, kind: str = DO,
                text: str = "") -> None:
        """An act of `session` here for a game or challenge that the server `far` (or
        the game `far`'s server) runs: through the room's stream."""
        if session.id in self._far:
            return  # (a stand-in's own node tells the others itself)
        node = far if isinstance(far, str) else far.node
        out.forward(key(session.room.name), node, session.key, session.nick, f"{kind} {text}")

    def forward_msg(self, session: Session, far: Far, msg: object, out: Outbox) -> None:
        self.forward(session, far, out, DO, p.encode_client(msg).decode("utf-8").rstrip("\n"))

    # -------------------------------------------------------------- claims in Redis
    def claim_players(self, session: Session, game_id: str, players: tuple[str, ...]) -> str | None:
        """One duel at a time, across servers too: each player of a new duel is claimed
        for it in Redis, atomically (two servers starting a duel with the same player
        at once: one gets them).  None when all are; else why not, none kept."""
        taken: list[str] = []
        for nick in players if self.node else ():
            holder = self.presence.claim_player(key(session.room.name), nick, game_id)
            if holder is not None:
                self.release_players(session.room, game_id, tuple(taken))
                if not holder:
                    return NO_SEAT
                if key(nick) == key(session.nick):
                    return f"you are already playing ({holder}): finish it or /resign first"
                return f"{nick} is already playing ({holder}) now; try again when it is over"
            taken.append(nick)
        return None

    def release_players(self, room: Room, game_id: str, players: tuple[str, ...]) -> None:
        for nick in players if self.node else ():
            if nick != self.bot:
                self.presence.release_player(key(room.name), nick, game_id)

    def claim_seat(self, session: Session, challenge_id: str, challenger: str,
                   name: str) -> str | None:
        """Take the seat an open challenge offers, atomically across servers: None when
        it is `session`'s, else why not."""
        if not self.node:
            return None
        holder = self.presence.claim_seat(challenge_id, session.nick)
        if holder is None:
            return None
        if not holder:
            return NO_SEAT
        return (f"{challenger}'s challenge to anyone ({name}) was already taken by "
                f"{holder}; {p.typed(p.StartGame, name)} makes your own")
