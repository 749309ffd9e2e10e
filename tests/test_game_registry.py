"""The game registry: lookup by name, listing, registration rules; and that
`game/` stays pure."""

import ast
from pathlib import Path

import pytest

import game
from game import Game, UnknownGameError, registry
from game.hangman import Hangman
from game.tictactoe import TicTacToe


class Dummy(Game):
    name = "dummy"
    summary = "a throwaway game for registry tests"
    duel = True
    move_help = "/move anything"


@pytest.fixture
def dummy():
    """Register Dummy for one test and always remove it afterwards."""
    registry.register(Dummy)
    yield Dummy
    registry.unregister("dummy")


def test_registry_builtin_games_available_sorted():
    assert registry.available() == [Hangman, TicTacToe]
    assert game.available is registry.available


@pytest.mark.parametrize("name", ["tictactoe", "TicTacToe", " TICTACTOE "])
def test_registry_get_case_insensitive(name):
    assert registry.get(name) is TicTacToe


def test_registry_unknown_name_lists_available():
    with pytest.raises(UnknownGameError) as info:
        registry.get("chess")
    assert str(info.value) == "no game 'chess': available games are hangman, tictactoe"


def test_registry_unknown_is_value_error():
    with pytest.raises(ValueError):
        registry.get("")


def test_registry_register_adds_and_lists(dummy):
    assert registry.get("DUMMY") is dummy
    assert [cls.name for cls in registry.available()] == ["dummy", "hangman", "tictactoe"]


def test_registry_duplicate_register_raises(dummy):
    with pytest.raises(ValueError, match="already registered"):
        registry.register(dummy)


def test_registry_duplicate_builtin_name_raises():
    imposter = type("Imposter", (Dummy,), {"name": "tictactoe"})
    with pytest.raises(ValueError, match="'tictactoe' is already registered"):
        registry.register(imposter)
    assert registry.get("tictactoe") is TicTacToe


def test_registry_unregister_removes(dummy):
    registry.unregister("dummy")
    with pytest.raises(UnknownGameError):
        registry.get("dummy")
    registry.register(dummy)  # so the fixture can remove it again


def test_registry_unregister_unknown_raises():
    with pytest.raises(UnknownGameError, match="no game 'nope'"):
        registry.unregister("nope")


@pytest.mark.parametrize("name", ["", "Chess", "two words"])
def test_registry_rejects_bad_names(name):
    bad = type("Bad", (Dummy,), {"name": name})
    with pytest.raises(ValueError, match="lowercase word"):
        registry.register(bad)


def test_registry_rejects_non_games():
    with pytest.raises(TypeError):
        registry.register(object)


def test_registry_game_classes_fill_the_interface():
    for cls in registry.available():
        assert isinstance(cls.summary, str) and isinstance(cls.move_help, str)
        assert isinstance(cls.duel, bool) and isinstance(cls.has_bot, bool)
        assert not getattr(cls, "__abstractmethods__", None)


FORBIDDEN = {"socket", "selectors", "select", "curses", "threading", "chat",
             "asyncio", "subprocess"}


@pytest.mark.parametrize("path", sorted(Path(game.__file__).parent.glob("*.py")),
                         ids=lambda p: p.name)
def test_game_modules_are_pure(path):
    tree = ast.parse(path.read_text())
    assert ast.get_docstring(tree), f"{path.name} needs a module docstring"
    assert len(ast.get_docstring(tree).splitlines()) <= 5
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN
