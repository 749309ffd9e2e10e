"""The game interface every Parlor game implements: `Game`, `Outcome`, the errors.

Pure: standard library only; must not import socket, selectors, threading,
curses or anything from `chat`. The server drives games only through `Game`.
"""

from __future__ import annotations

import abc
import random
import textwrap
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

RENDER_WIDTH = 30
RENDER_HEIGHT = 12


class GameError(Exception):
    """Base of every game error; the message is a sentence for the user."""


class InvalidMoveError(GameError):
    """Move (or setup) text that cannot be parsed."""


class IllegalMoveError(GameError):
    """A parsed move that the rules forbid right now."""


class UnknownGameError(GameError, ValueError):
    """No game by that name; the message lists the available games."""


@dataclass(frozen=True)
class Outcome:
    """How a game ended: who won (empty for nobody), why, and a sentence."""

    winners: tuple[str, ...]
    reason: str
    summary: str


class Game(abc.ABC):
    """One game in progress. Subclasses set the class attributes and fill in
    the abstract methods; the server only ever talks to this interface.

    Moves go parse_move -> is_legal/check_move -> push, as in python-chess.
    Nicks are compared exactly: the server must pass its canonical nicks.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    duel: ClassVar[bool]
    has_bot: ClassVar[bool] = False
    move_help: ClassVar[str]
    setup_help: ClassVar[str] = "SETUP"  # the placeholder in `/game NAME [SETUP]`

    def __init__(self, players: Sequence[str]) -> None:
        self._players: tuple[str, ...] = tuple(players)
        self._outcome: Outcome | None = None

    @classmethod
    @abc.abstractmethod
    def start(cls, players: Sequence[str], setup: str = "",
              rng: random.Random | None = None) -> Game:
        """A new game. Raises InvalidMoveError for a bad `setup`."""

    @property
    def players(self) -> tuple[str, ...]:
        return self._players

    @property
    @abc.abstractmethod
    def to_move(self) -> str | None:
        """Whose turn it is; None when the game is over or anyone may move."""

    def check_turn(self, nick: str) -> None:
        """Raise IllegalMoveError unless `nick` may make some move now."""
        if self._outcome is not None:
            raise IllegalMoveError("the game is over")
        if nick not in self._players:
            raise IllegalMoveError(f"{nick} is not playing this game")
        turn = self.to_move
        if turn is not None and turn != nick:
            raise IllegalMoveError(f"it's not your turn: {turn} plays next")

    def can_move(self, nick: str) -> bool:
        """Would a move by `nick` be allowed now (membership and turn)?"""
        return _passes(self.check_turn, nick)

    @abc.abstractmethod
    def parse_move(self, text: str) -> Any:
        """The game's own move value for `text`; raises InvalidMoveError."""

    @abc.abstractmethod
    def check_move(self, nick: str, move: Any) -> None:
        """Raise IllegalMoveError with the reason if `move` is not allowed."""

    def is_legal(self, nick: str, move: Any) -> bool:
        return _passes(self.check_move, nick, move)

    def push(self, nick: str, move: Any) -> str:
        """Check and apply `move`; return a sentence describing it."""
        self.check_move(nick, move)
        return self._apply(nick, move)

    @abc.abstractmethod
    def _apply(self, nick: str, move: Any) -> str:
        """Apply an already checked move; set the outcome if it ends the game."""

    def play(self, nick: str, text: str) -> str:
        return self.push(nick, self.parse_move(text))

    def resign(self, nick: str) -> None:
        """`nick` gives up; each game class documents what that means."""
        self._end(nick, "resign")

    def forfeit(self, nick: str) -> None:
        """`nick` left (disconnected or left the room); like resign."""
        self._end(nick, "forfeit")

    def _end(self, nick: str, reason: str) -> None:
        if self._outcome is not None:
            raise IllegalMoveError("the game is over")
        if nick not in self._players:
            raise IllegalMoveError(f"{nick} is not playing this game")
        self._outcome = self._ending(nick, reason)

    @abc.abstractmethod
    def _ending(self, nick: str, reason: str) -> Outcome | None:
        """The outcome when `nick` resigns or forfeits (None: play goes on)."""

    def outcome(self) -> Outcome | None:
        return self._outcome

    def is_over(self) -> bool:
        return self._outcome is not None

    @abc.abstractmethod
    def render(self) -> list[str]:
        """At most RENDER_HEIGHT lines of at most RENDER_WIDTH characters."""

    @abc.abstractmethod
    def hint_moves(self, nick: str) -> list[str]:
        """Move texts `nick` could play right now (empty if none)."""

    def bot_move(self, rng: random.Random | None = None) -> str | None:
        """A move text for the side to move, or None (no bot, or game over)."""
        return None

    @abc.abstractmethod
    def status(self) -> str:
        """One short line: who plays and whose turn, or the outcome."""


def _passes(check, *args) -> bool:
    try:
        check(*args)
    except GameError:
        return False
    return True


def clip(text: str, width: int = RENDER_WIDTH) -> str:
    """`text` cut to `width` characters, marking the cut with '...'."""
    return text if len(text) <= width else text[:width - 3] + "..."


def panel(body: list[str], status: str) -> list[str]:
    """`body` plus `status` wrapped below it, fitted to the render bounds."""
    room = max(1, RENDER_HEIGHT - len(body))
    tail = textwrap.wrap(status, RENDER_WIDTH) or [""]
    if len(tail) > room:
        tail = tail[:room - 1] + [clip(" ".join(tail[room - 1:]))]
    lines = [clip(line) for line in body] + tail
    return lines[-RENDER_HEIGHT:]
