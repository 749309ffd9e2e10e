"""Games in rooms, sans I/O: a running match, a challenge, a pair's score, the records
(scores and last games) a room keeps of its people, and the pure helpers the game host
uses to route moves and put games into sentences and wire lines.  Must not import
socket, selectors, select, curses or threading.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from chat import protocol as p
from chat.width import utf8_prefix
from chat.server.state import Room, Session, key
from game.base import Game, GameError

Person = int | str  # who plays, whatever their nick: a session id, or BOT_SEAT
BOT_SEAT = "bot"  # the bot's fixed key (session ids are ints)


@dataclass(eq=False, slots=True)
class Match:
    """A game being played in a room; `id` is its token on the wire.  A duel knows who
    sits in each of its seats (`people`, in the order of game.players; `tokens`, the
    same people by their sessions' resume tokens, which outlive a restart), and
    whether it grew from an open challenge (`taken_by`: who took it).  The game is a
    function of how it started (`setup`, `seed`) and of `acts`, what was done in it
    since, in order: ("plays", nick, text), ("resigns", nick) or ("forfeits", nick)."""
    id: str
    room: Room
    game: Game
    bot: bool = False
    people: tuple[Person, ...] = ()
    taken_by: str = ""
    setup: str = ""
    seed: int = 0
    tokens: tuple[str, ...] = ()
    acts: list[tuple[str, ...]] = field(default_factory=list)

    def seats(self, nick: str) -> bool:
        return not self.game.is_over() and nick in self.game.players


@dataclass(eq=False, slots=True)
class Challenge:
    """A duel waiting for an answer; `target` None is open to anyone in the room."""
    id: str
    room: Room
    cls: type[Game]
    challenger: str
    target: str | None
    challenger_first: bool = True
    rematch: bool = False

    def involves(self, nick: str) -> bool:
        return key(nick) in (key(self.challenger), key(self.target or ""))

    def is_for(self, nick: str, open_ok: bool = True) -> bool:
        if self.target is None:
            return open_ok and key(nick) != key(self.challenger)
        return key(nick) == key(self.target)

    def players(self, acceptor: str) -> tuple[str, str]:
        pair = (self.challenger, acceptor)
        return pair if self.challenger_first else (acceptor, self.challenger)

    def describe(self, for_whom: bool = True) -> str:
        """`alice's challenge to bob (tictactoe)`; without `for_whom`, leaving out the
        target (when the target is the one speaking: "bob declines alice's challenge")."""
        to = f" to {self.target or 'anyone'}" if for_whom else ""
        return f"{self.challenger}'s challenge{to} ({self.cls.name})"


@dataclass(slots=True)
class Score:
    """Wins per person and draws, for one pair and one game in one room."""
    wins: dict[Person, int] = field(default_factory=dict)
    draws: int = 0

    def line(self, names: tuple[str, ...], people: tuple[Person, ...]) -> str:
        """The score as the room reads it: each person by their nick in `names`."""
        parts = [f"{n} {self.wins.get(who, 0)}" for n, who in zip(names, people)]
        if self.draws:
            parts.append(f"{self.draws} draw{'' if self.draws == 1 else 's'}")
        return "score: " + ", ".join(parts)


def where_problem(session: Session) -> str | None:
    if session.room is None:
        return "you are in the lobby: /join ROOM first, then /nick NAME"
    if session.nick is None:
        return f"pick a nick first: /nick NAME (you are in {session.room.name})"
    return None


def rematch_problem(last: Match | None, room: Room) -> str | None:
    if last is None:
        return (f"you have no finished two-player game in {room.name} to play again "
                "(/rematch is for duels; /game lists the games)")
    if not last.game.duel:
        name = last.game.name
        return f"/rematch is for two-player games: start a new {name} with /game {name}"
    return None


def how_to_start(cls: type[Game]) -> str:
    start = p.typed(p.StartGame, cls.name)
    if not cls.duel:
        return f"{start} [{cls.setup_help}] starts it for everyone here"
    bot = f", {start} bot plays the bot" if cls.has_bot else ""
    return f"{start} NICK challenges NICK, {start} challenges anyone{bot}"


def fitness(game: Game, nick: str, text: str) -> tuple[bool, bool, bool, bool]:
    """How well a move fits a game, best first: legal, parses, nick may move, plays it."""
    try:
        move = game.parse_move(text)
    except GameError:
        return False, False, game.can_move(nick), nick in game.players
    return game.is_legal(nick, move), True, game.can_move(nick), nick in game.players


def why_not(game: Game, nick: str, text: str) -> str:
    """The game's sentence refusing `text` as `nick`'s move."""
    try:
        game.check_move(nick, game.parse_move(text))
    except GameError as exc:
        return str(exc)
    return "it would be legal"


def left_note(nick: str, game: Game) -> str:
    outcome = game.outcome()
    if outcome is None:
        return f"{nick} left; play goes on"
    winners = " and ".join(outcome.winners)
    if not winners:
        return f"{nick} left: nobody wins"
    return f"{nick} left: {winners} win{'s' if len(outcome.winners) == 1 else ''}"


def leaver_note(game: Game) -> str:
    """What a player who left a game is told of it."""
    outcome = game.outcome()
    if outcome is None:
        return f"you left {game.name}; play goes on without you"
    winners = " and ".join(outcome.winners) or "nobody"
    verb = "wins" if len(outcome.winners) <= 1 else "win"
    return f"leaving forfeits {game.name}: {winners} {verb}"


def score_key(name: str, people: tuple[Person, ...]) -> tuple[str, frozenset[Person]]:
    """A score's key within its room: the game and the pair, in either order."""
    return name, frozenset(people)


@dataclass(slots=True)
class RoomRecords:
    """What one room remembers of its people: scores, each one's last duel (what
    /rematch plays again), and which scores each person is in."""
    scores: dict[tuple, Score] = field(default_factory=dict)
    last: dict[Person, Match] = field(default_factory=dict)
    scores_of: dict[Person, set[tuple]] = field(default_factory=dict)


class Records:
    """Every room's records, indexed by room key and, within a room, by person, so
    that a room's end or a person's leaving costs only what they own.  At most `cap`
    scores in all: a new one beyond that forgets the oldest."""

    def __init__(self, cap: int, on_drop=None) -> None:
        self.cap = cap
        self.on_drop = on_drop or (lambda room_key, score: None)  # told of each score gone
        self.rooms: dict[str, RoomRecords] = {}
        self._age: OrderedDict[tuple[str, tuple], None] = OrderedDict()  # oldest first

    def __len__(self) -> int:
        return len(self._age)

    def score(self, room_key: str, score: tuple) -> Score | None:
        records = self.rooms.get(room_key)
        return records.scores.get(score) if records else None

    def tally(self, room_key: str, score: tuple) -> Score:
        """The score `score` of the room, made (and the oldest forgotten) if new."""
        records = self.rooms.setdefault(room_key, RoomRecords())
        found = records.scores.get(score)
        if found is not None:
            return found
        found = records.scores[score] = Score()
        for person in score[1]:
            records.scores_of.setdefault(person, set()).add(score)
        self._age[(room_key, score)] = None
        while len(self._age) > self.cap:  # a long-lived room meets many pairs
            self._drop_score(*next(iter(self._age)))
        return found

    def last_game(self, room_key: str, person: Person) -> Match | None:
        records = self.rooms.get(room_key)
        return records.last.get(person) if records else None

    def set_last_game(self, room_key: str, person: Person, match: Match) -> None:
        self.rooms.setdefault(room_key, RoomRecords()).last[person] = match

    def forget_person(self, room_key: str, person: Person) -> None:
        """`person` left the room: their scores and their last game go."""
        records = self.rooms.get(room_key)
        if records is None:
            return
        records.last.pop(person, None)
        for score in list(records.scores_of.get(person, ())):
            self._drop_score(room_key, score)

    def forget_room(self, room_key: str) -> None:
        """The room is going away: all it kept goes with it."""
        records = self.rooms.pop(room_key, None)
        for score in records.scores if records else ():
            del self._age[(room_key, score)]
            self.on_drop(room_key, score)

    def _drop_score(self, room_key: str, score: tuple) -> None:
        records = self.rooms[room_key]
        del records.scores[score], self._age[(room_key, score)]
        self.on_drop(room_key, score)
        for person in score[1]:
            mine = records.scores_of[person]
            mine.discard(score)
            if not mine:
                del records.scores_of[person]


def redact(text: str, secret: str) -> str:
    """`text` without `secret` in it: a game's setup (a secret word) is never echoed."""
    secret = secret.strip()
    if not secret:
        return text
    return re.sub(rf"(?<!\w)'?{re.escape(secret)}'?(?!\w)", "that", text, flags=re.IGNORECASE)


def fit_text(text: str, limit: int = p.MAX_TEXT) -> str:
    """`text` cut (at a space if it can be) to at most `limit` UTF-8 bytes."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    cut = utf8_prefix(data[:limit - 3])
    return (cut.rpartition(" ")[0] or cut) + "..."


def fit(msg: p.ServerMessage) -> p.ServerMessage:
    """`msg` with its free text shortened so the line stays within MAX_LINE (and a
    room game's players, who can be a whole room, cut to the first ones that fit)."""
    excess = len(p.encode(msg)) - p.MAX_LINE
    if excess <= 0:
        return msg
    if isinstance(msg, p.GameState) and len(msg.players) > 1:
        return fit(replace(msg, players=msg.players[:len(msg.players) // 2]))
    text = fit_text(msg.text, len(msg.text.encode("utf-8")) - excess)
    if isinstance(msg, p.Turn):  # whole hints only, no '...'
        text = text.removesuffix("...").rpartition(" ")[0]
    return replace(msg, text=text)
