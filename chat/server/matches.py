"""Games in rooms, sans I/O: a running match, a challenge, a pair's score, and the
pure helpers the game host uses to route moves and put games into sentences and
wire lines.  Must not import socket, selectors, select, curses or threading.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from chat import protocol as p
from chat.server.state import Room, Session, key
from game.base import Game, GameError


@dataclass(eq=False, slots=True)
class Match:
    """A game being played in a room; `id` is its token on the wire."""
    id: str
    room: Room
    game: Game
    bot: bool = False

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

    def describe(self) -> str:
        return f"{self.challenger}'s challenge to {self.target or 'anyone'} ({self.cls.name})"


@dataclass(slots=True)
class Score:
    """Wins per casefolded nick and draws, for one pair and one game in one room."""
    wins: dict[str, int] = field(default_factory=dict)
    draws: int = 0

    def line(self, names: tuple[str, ...]) -> str:
        parts = [f"{n} {self.wins.get(key(n), 0)}" for n in names]
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


def score_key(room: Room, name: str, players: tuple[str, ...]) -> tuple:
    return key(room.name), name, frozenset(key(n) for n in players)


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
    cut = data[:limit - 3].decode("utf-8", "ignore")
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
