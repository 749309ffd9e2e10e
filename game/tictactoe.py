"""Tic-tac-toe for two players, with a perfect (memoised minimax) bot.

Pure: imports only the standard library and `game.base`/`game.registry`;
must not import socket, selectors, threading, curses or `chat`.
"""

from __future__ import annotations

import functools
import random
from typing import Sequence

from .base import (Game, IllegalMoveError, InvalidMoveError, Outcome,
                   clip, panel)
from .registry import register

EMPTY = "."
CELLS = {str(n): n for n in range(1, 10)}
CELL_NAMES = ("top-left", "top", "top-right", "left", "centre", "right",
              "bottom-left", "bottom", "bottom-right")
# Each line as 0-based board indexes, with the name used in summaries.
LINES = (
    ((0, 1, 2), "row 1"), ((3, 4, 5), "row 2"), ((6, 7, 8), "row 3"),
    ((0, 3, 6), "column 1"), ((1, 4, 7), "column 2"), ((2, 5, 8), "column 3"),
    ((0, 4, 8), "diagonal 1-5-9"), ((2, 4, 6), "diagonal 3-5-7"),
)
RULE = "---+---+---"


@register
class TicTacToe(Game):
    """Noughts and crosses: players[0] is X and moves first.

    Resigning or forfeiting hands the win to the other player. `pop()`
    undoes the last move (python-chess style) and clears any outcome.
    """

    name = "tictactoe"
    summary = "three in a row on a 3x3 board, X moves first"
    duel = True
    has_bot = True
    move_help = "/move N with N from 1 to 9 (1-3 top row, 7-9 bottom)"

    def __init__(self, players: Sequence[str]) -> None:
        super().__init__(players)
        self._board = EMPTY * 9
        self._moves: list[int] = []

    @classmethod
    def start(cls, players: Sequence[str], setup: str = "",
              rng: random.Random | None = None) -> TicTacToe:
        if len(players) != 2:
            raise ValueError(f"tictactoe needs 2 players, got {players!r}")
        if players[0] == players[1]:
            raise InvalidMoveError("you can't play tictactoe against yourself")
        if setup.strip():
            raise InvalidMoveError(f"tictactoe takes no setup, not {setup!r}")
        return cls(players)

    @property
    def board(self) -> str:
        """Nine characters, 'X', 'O' or '.', cells 1-9 in order."""
        return self._board

    @property
    def moves(self) -> tuple[int, ...]:
        """The cells played so far, in order."""
        return tuple(self._moves)

    @property
    def to_move(self) -> str | None:
        if self._outcome is not None:
            return None
        return self._players[len(self._moves) % 2]

    def mark_of(self, nick: str) -> str:
        return "XO"[self._players.index(nick)]

    def parse_move(self, text: str) -> int:
        cell = CELLS.get(text.strip())
        if cell is None:
            raise InvalidMoveError(f"no such cell {text.strip()!r}: cells are 1-9")
        return cell

    def check_move(self, nick: str, move: int) -> None:
        self.check_turn(nick)
        if not (isinstance(move, int) and 1 <= move <= 9):
            raise IllegalMoveError(f"no such cell {move!r}: cells are 1-9")
        if self._board[move - 1] != EMPTY:
            raise IllegalMoveError(f"cell {move} is taken")

    def _apply(self, nick: str, move: int) -> str:
        mark = self.mark_of(nick)
        self._set(move, mark)
        self._moves.append(move)
        self._outcome = self._board_outcome()
        return f"{nick} plays {mark} at {move} ({CELL_NAMES[move - 1]})"

    def pop(self) -> int:
        """Undo the last move and return its cell; clears any outcome."""
        move = self._moves.pop()
        self._set(move, EMPTY)
        self._outcome = None
        return move

    def _set(self, cell: int, mark: str) -> None:
        i = cell - 1
        self._board = self._board[:i] + mark + self._board[i + 1:]

    def _board_outcome(self) -> Outcome | None:
        names = [name for _, name in winning_lines(self._board)]
        if names:
            mark = self._board[self._moves[-1] - 1]
            winner = self._players["XO".index(mark)]
            where = " and ".join(names)
            return Outcome((winner,), "win", f"{winner} wins with {mark} ({where})")
        if EMPTY not in self._board:
            return Outcome((), "draw", "draw: the board is full")
        return None

    def _ending(self, nick: str, reason: str) -> Outcome:
        other = self._players[1 - self._players.index(nick)]
        verb = "resigned" if reason == "resign" else "forfeited"
        return Outcome((other,), reason, f"{nick} {verb}: {other} wins")

    def hint_moves(self, nick: str) -> list[str]:
        if not self.can_move(nick):
            return []
        return [str(i + 1) for i, c in enumerate(self._board) if c == EMPTY]

    def best_moves(self) -> list[int]:
        """Every optimal cell for the side to move (empty if the game is over)."""
        if self._outcome is not None:
            return []
        return best_cells(self._board)

    def bot_move(self, rng: random.Random | None = None) -> str | None:
        best = self.best_moves()
        if not best:
            return None
        return str((rng or random).choice(best))

    def status(self) -> str:
        if self._outcome is not None:
            return self._outcome.summary
        x, o = self._players
        return f"{x} (X) vs {o} (O), {self.to_move} to move"

    def render(self) -> list[str]:
        body = _grid(self._board, self._moves[-1:], self._winning_cells())
        x, o = self._players
        body += ["", clip(f"X {x}  O {o}")]
        if self._moves:
            move = self._moves[-1]
            mark = self._board[move - 1]
            body.append(f"last: {mark} at {move} ({CELL_NAMES[move - 1]})")
        return panel(body, self._render_status())

    def _winning_cells(self) -> set[int]:
        return {i + 1 for line, _ in winning_lines(self._board) for i in line}

    def _render_status(self) -> str:
        if self._outcome is not None:
            return self._outcome.summary
        turn = self.to_move
        return f"{turn} ({self.mark_of(turn)}) to move"


def _grid(board: str, last: list[int], winning: set[int]) -> list[str]:
    """Five lines; every cell is 3 characters wide whatever its decoration."""
    rows = []
    for r in range(3):
        cells = [_cell(board, 3 * r + c + 1, last, winning) for c in range(3)]
        rows.append("|".join(cells))
    return [rows[0], RULE, rows[1], RULE, rows[2]]


def _cell(board: str, cell: int, last: list[int], winning: set[int]) -> str:
    mark = board[cell - 1]
    if mark == EMPTY:
        return f" {cell} "
    if cell in winning:
        return f"*{mark}*"
    if cell in last:
        return f"[{mark}]"
    return f" {mark} "


def winning_lines(board: str) -> list[tuple[tuple[int, int, int], str]]:
    """The completed lines on `board` (0-based indexes and names)."""
    return [(line, name) for line, name in LINES
            if board[line[0]] != EMPTY
            and board[line[0]] == board[line[1]] == board[line[2]]]


def mark_to_move(board: str) -> str:
    return "X" if board.count(EMPTY) % 2 else "O"


def best_cells(board: str) -> list[int]:
    """Every cell (1-9) whose minimax score is the best for the side to move."""
    mark = mark_to_move(board)
    me, them = _bits(board, mark), _bits(board, "O" if mark == "X" else "X")
    scores = {i + 1: _score(me, them, i)
              for i, c in enumerate(board) if c == EMPTY}
    best = max(scores.values(), default=None)
    return [cell for cell, score in scores.items() if score == best]


# Minimax on bitboards (bit i = cell i + 1), memoised: about 4,500 positions,
# about 10 ms from a cold cache, microseconds after. A score > 0 wins, 0
# draws, < 0 loses; a win scores 1 + the cells still empty after it, so
# sooner wins score higher and later losses lose less (no toying).
_WINS = tuple(sum(1 << i for i in line) for line, _ in LINES)
_THROUGH = tuple(tuple(w for w in _WINS if w >> i & 1) for i in range(9))
_FULL = (1 << 9) - 1


def _bits(board: str, mark: str) -> int:
    return sum(1 << i for i, c in enumerate(board) if c == mark)


def _score(me: int, them: int, i: int) -> int:
    """The score for the side to move (`me`) of playing index `i`."""
    mine = me | 1 << i
    if any(mine & w == w for w in _THROUGH[i]):
        return 10 - bin(mine | them).count("1")
    return -_value(them, mine) if mine | them != _FULL else 0


@functools.lru_cache(maxsize=None)
def _value(me: int, them: int) -> int:
    """The best score for the side to move on an unfinished board."""
    occupied = me | them
    empties = 9 - bin(occupied).count("1")
    best = -10
    for i in range(9):
        bit = 1 << i
        if occupied & bit:
            continue
        mine = me | bit
        for w in _THROUGH[i]:
            if mine & w == w:
                return empties  # an immediate win: nothing scores higher
        best = max(best, -_value(them, mine) if empties > 1 else 0)
    return best
