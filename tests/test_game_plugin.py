"""A game defined only here, registered with game.registry, is playable without touching chat/.

Played through ChatState + GameHost, and once over a real server socket.
"""
from __future__ import annotations

import inspect
import random
from typing import Sequence

import pytest

import game
from chat.server import games as gamehost
from chat import protocol as p
from game.base import Game, IllegalMoveError, InvalidMoveError, Outcome
from test_gamehost import Hall, of, texts


class Pebbles(Game):
    """Take 1 or 2 pebbles from a pile of 5; whoever takes the last one wins."""

    name = "pebbles"
    summary = "take 1 or 2 pebbles from a pile of 5; the last one wins"
    duel = True
    has_bot = False
    move_help = "/move 1 or /move 2"

    def __init__(self, players: Sequence[str]) -> None:
        super().__init__(players)
        self.pile, self.turns = 5, 0

    @classmethod
    def start(cls, players: Sequence[str], setup: str = "",
              rng: random.Random | None = None) -> Pebbles:
        if setup.strip():
            raise InvalidMoveError("pebbles takes no setup")
        return cls(players)

    @property
    def to_move(self) -> str | None:
        return None if self._outcome else self._players[self.turns % 2]

    def parse_move(self, text: str) -> int:
        if text.strip() not in ("1", "2"):
            raise InvalidMoveError(f"take 1 or 2 pebbles, not {text.strip()!r}")
        return int(text)

    def check_move(self, nick: str, move: int) -> None:
        self.check_turn(nick)
        if move > self.pile:
            raise IllegalMoveError(f"only {self.pile} left")

    def _apply(self, nick: str, move: int) -> str:
        self.pile -= move
        self.turns += 1
        if not self.pile:
            self._outcome = Outcome((nick,), "win", f"{nick} takes the last pebble and wins")
        return f"{nick} takes {move}"

    def _ending(self, nick: str, reason: str) -> Outcome:
        other = self._players[1 - self._players.index(nick)]
        return Outcome((other,), reason, f"{nick} gave up: {other} wins")

    def hint_moves(self, nick: str) -> list[str]:
        return [str(n) for n in (1, 2) if n <= self.pile] if self.can_move(nick) else []

    def render(self) -> list[str]:
        return ["o " * self.pile or "-", f"{self.pile} left"]

    def status(self) -> str:
        if self._outcome:
            return self._outcome.summary
        return f"{self.to_move} to take, {self.pile} left"


@pytest.fixture(autouse=True)
def pebbles():
    game.register(Pebbles)
    yield Pebbles
    game.unregister(Pebbles.name)


def test_game_plugin_gamehost_names_no_game():
    source = inspect.getsource(gamehost).lower()
    for cls in game.available():
        assert cls.name not in source


def test_game_plugin_listed_and_played_to_a_win():
    hall = Hall()
    for nick in ("alice", "bob", "carol"):
        hall.enter(nick)
    assert any("pebbles" in t for t in texts(hall.do("carol", "/game"), p.Info))
    hall.do("alice", "/game pebbles bob")
    hall.do("bob", "/accept")
    assert hall.refusal("bob", "/move 1") == "it's not your turn: alice plays next"
    assert hall.refusal("alice", "/move 3") == "take 1 or 2 pebbles, not '3'"
    hall.play("alice", "bob", ["2", "2"])
    assert of(hall.got("carol"), p.Turn)[-1].text == "1"
    assert hall.refusal("alice", "/move 2") == "only 1 left"
    hall.do("alice", "/1")
    seen = hall.got("carol")
    assert texts(seen)[0] == "alice takes 1"
    assert texts(seen, p.GameOver) == ["alice takes the last pebble and wins"]


def test_game_plugin_without_bot_says_so():
    hall = Hall()
    hall.enter("alice")
    assert hall.refusal("alice", "/game pebbles bot") == \
        "pebbles has no bot; challenge someone with /game pebbles NICK"


def test_game_plugin_over_a_real_socket(server, connect):
    alice, bob = connect(server), connect(server)
    alice.enter("general", "alice")
    bob.enter("general", "bob")
    alice.send("/game pebbles bob")
    bob.expect(p.GameNote)
    bob.send("/accept")
    for who, move in ((alice, "2"), (bob, "2")):
        who.expect(lambda m: isinstance(m, p.Turn) and m.nick == ("alice" if who is alice else "bob"))
        who.send(f"/move {move}")
    alice.expect(lambda m: isinstance(m, p.Turn) and m.nick == "alice" and m.text == "1")
    alice.send("/move 1")
    assert bob.expect(p.GameOver).text == "alice takes the last pebble and wins"


class Tally(Game):
    """A room game: anyone adds 1-9 to a running total; reaching 20 wins."""

    name = "tally"
    summary = "add 1-9 to the total; whoever reaches 20 wins"
    duel = False
    move_help = "/move N with N from 1 to 9"

    def __init__(self, players: Sequence[str]) -> None:
        super().__init__(players)
        self.total = 0

    @classmethod
    def start(cls, players: Sequence[str], setup: str = "",
              rng: random.Random | None = None) -> Tally:
        return cls(players)

    @property
    def to_move(self) -> str | None:
        return None

    def check_turn(self, nick: str) -> None:
        if self._outcome is not None:
            raise IllegalMoveError("the game is over")

    def parse_move(self, text: str) -> int:
        if text.strip() not in tuple("123456789"):
            raise InvalidMoveError(f"add 1 to 9, not {text.strip()!r}")
        return int(text)

    def check_move(self, nick: str, move: int) -> None:
        self.check_turn(nick)

    def _apply(self, nick: str, move: int) -> str:
        if nick not in self._players:
            self._players += (nick,)
        self.total += move
        if self.total >= 20:
            self._outcome = Outcome((nick,), "win", f"{nick} reaches {self.total}")
        return f"{nick} adds {move}"

    def _ending(self, nick: str, reason: str) -> None:
        return None

    def hint_moves(self, nick: str) -> list[str]:
        return list("123456789") if self.can_move(nick) else []

    def render(self) -> list[str]:
        return [f"total {self.total}"]

    def status(self) -> str:
        return f"total {self.total}"


def test_game_plugin_an_ambiguous_move_asks_which_game():
    game.register(Tally)
    try:
        hall = Hall()
        for nick in ("alice", "bob", "carol"):
            hall.enter(nick)
        hall.do("alice", "/game pebbles bob")
        hall.do("bob", "/accept")
        hall.do("carol", "/game tally")
        hall.got("carol")
        hall.do("bob", "/move 3")  # not bob's turn in pebbles, and 3 is no pebble move
        hall.do("alice", "/move tally 4")  # named: alice now plays both
        question = hall.refusal("alice", "/move 1")
        assert question == ("which game? /move g1 1 for pebbles (g1), "
                            "or /move g2 1 for tally (g2)")
        hall.do("alice", "/move g1 1")
        assert texts(hall.got("carol")) == ["bob adds 3", "alice adds 4", "alice takes 1"]
    finally:
        game.unregister(Tally.name)
