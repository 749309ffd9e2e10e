"""Parlor games: the game interface, the registry, and one module per game."""

from .base import (Game, GameError, IllegalMoveError, InvalidMoveError,
                   Outcome, UnknownGameError)
from .registry import available, get, register, unregister
from . import hangman, tictactoe  # noqa: F401  (importing registers them)

__all__ = [
    "Game", "GameError", "IllegalMoveError", "InvalidMoveError", "Outcome",
    "UnknownGameError", "available", "get", "register", "unregister",
]
