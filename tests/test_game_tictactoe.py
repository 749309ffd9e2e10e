"""Tic-tac-toe rules, rendering, the bot, and walks over every reachable position."""

import itertools
import random

import pytest

from game import IllegalMoveError, InvalidMoveError, Outcome
from game.base import RENDER_HEIGHT, RENDER_WIDTH
from game.tictactoe import EMPTY, TicTacToe, best_cells

X, O = "alice", "bob"

WINNING_LINES = [
    ((1, 2, 3), "row 1"), ((4, 5, 6), "row 2"), ((7, 8, 9), "row 3"),
    ((1, 4, 7), "column 1"), ((2, 5, 8), "column 2"), ((3, 6, 9), "column 3"),
    ((1, 5, 9), "diagonal 1-5-9"), ((3, 5, 7), "diagonal 3-5-7"),
]


def new_game():
    return TicTacToe.start((X, O))


def played(*cells):
    game = new_game()
    for cell in cells:
        game.play(game.to_move, str(cell))
    return game


def off_line(line):
    return [c for c in range(1, 10) if c not in line]


@pytest.mark.parametrize("line,name", WINNING_LINES)
def test_tictactoe_x_wins_every_line(line, name):
    a, b = off_line(line)[:2]  # two O marks can never make a line
    game = played(line[0], a, line[1], b, line[2])
    assert game.outcome() == Outcome((X,), "win", f"{X} wins with X ({name})")
    assert game.to_move is None
    for cell in line:
        assert "*X*" in game.render()[2 * ((cell - 1) // 3)]


@pytest.mark.parametrize("line,name", WINNING_LINES)
def test_tictactoe_o_wins_every_line(line, name):
    x1, x2, x3 = next(t for t in itertools.combinations(off_line(line), 3)
                      if t not in [w for w, _ in WINNING_LINES])
    game = played(x1, line[0], x2, line[1], x3, line[2])
    assert game.outcome() == Outcome((O,), "win", f"{O} wins with O ({name})")


def test_tictactoe_double_line_names_both():
    game = played(1, 4, 3, 6, 7, 8, 9, 2, 5)
    assert game.outcome().summary == \
        "alice wins with X (diagonal 1-5-9 and diagonal 3-5-7)"
    assert game.render()[0] == "*X*| O |*X*"


def test_tictactoe_draw():
    game = played(1, 2, 3, 5, 4, 6, 8, 7, 9)
    assert game.outcome() == Outcome((), "draw", "draw: the board is full")
    assert game.status() == "draw: the board is full"
    assert game.hint_moves(X) == [] and game.hint_moves(O) == []


def test_tictactoe_push_describes_move():
    game = new_game()
    assert game.play(X, "5") == "alice plays X at 5 (centre)"
    assert game.play(O, " 9 ") == "bob plays O at 9 (bottom-right)"


def test_tictactoe_occupied_cell():
    game = played(5)
    with pytest.raises(IllegalMoveError, match="^cell 5 is taken$"):
        game.play(O, "5")
    assert not game.is_legal(O, 5)


def test_tictactoe_out_of_turn():
    game = new_game()
    with pytest.raises(IllegalMoveError, match="^it's not your turn: alice plays next$"):
        game.play(O, "5")
    assert not game.can_move(O) and game.can_move(X)
    assert game.hint_moves(O) == []


def test_tictactoe_stranger_cannot_move():
    game = new_game()
    with pytest.raises(IllegalMoveError, match="^carol is not playing this game$"):
        game.play("carol", "5")
    assert not game.can_move("carol")


@pytest.mark.parametrize("text", ["0", "10", "x", "", "banana", "5.0", "-1"])
def test_tictactoe_no_such_cell(text):
    with pytest.raises(InvalidMoveError, match="^no such cell .*: cells are 1-9$"):
        new_game().parse_move(text)


def test_tictactoe_bad_cell_message_quotes_input():
    with pytest.raises(InvalidMoveError) as info:
        new_game().parse_move("12")
    assert str(info.value) == "no such cell '12': cells are 1-9"


@pytest.mark.parametrize("move", [0, 10, "5", None, -3])
def test_tictactoe_is_legal_never_raises(move):
    assert new_game().is_legal(X, move) is False


def test_tictactoe_move_after_game_over():
    game = played(1, 4, 2, 5, 3)
    with pytest.raises(IllegalMoveError, match="^the game is over$"):
        game.play(O, "9")
    assert not game.can_move(O) and not game.can_move(X)


@pytest.mark.parametrize("method,reason,verb", [("resign", "resign", "resigned"),
                                                ("forfeit", "forfeit", "forfeited")])
def test_tictactoe_resign_and_forfeit(method, reason, verb):
    game = played(5)
    getattr(game, method)(X)
    assert game.outcome() == Outcome((O,), reason, f"alice {verb}: bob wins")
    assert game.to_move is None
    with pytest.raises(IllegalMoveError, match="the game is over"):
        getattr(game, method)(O)
    with pytest.raises(IllegalMoveError, match="the game is over"):
        game.play(O, "1")


def test_tictactoe_resign_out_of_turn_and_stranger():
    game = new_game()
    game.resign(O)  # resigning needs no turn
    assert game.outcome().winners == (X,)
    with pytest.raises(IllegalMoveError, match="carol is not playing"):
        new_game().forfeit("carol")


def test_tictactoe_start_rejects_bad_setup():
    with pytest.raises(InvalidMoveError, match="against yourself"):
        TicTacToe.start((X, X))
    with pytest.raises(InvalidMoveError, match="no setup"):
        TicTacToe.start((X, O), "junk")
    with pytest.raises(ValueError):
        TicTacToe.start((X,))


def test_tictactoe_class_attributes():
    assert TicTacToe.name == "tictactoe" and TicTacToe.duel and TicTacToe.has_bot
    assert "1" in TicTacToe.move_help and "9" in TicTacToe.move_help


def test_tictactoe_status_and_hints():
    game = played(5)
    assert game.status() == "alice (X) vs bob (O), bob to move"
    assert game.hint_moves(O) == ["1", "2", "3", "4", "6", "7", "8", "9"]


def test_tictactoe_render_example():
    game = played(3, 5, 7)
    game.pop()
    game.push(X, 7)
    assert game.render()[:5] == [
        " 1 | 2 | X ",
        "---+---+---",
        " 4 | O | 6 ",
        "---+---+---",
        "[X]| 8 | 9 ",
    ]
    assert "last: X at 7 (bottom-left)" in game.render()
    assert game.render()[-1] == "bob (O) to move"


def test_tictactoe_render_win_marks_line():
    game = played(1, 4, 2, 5, 3)
    assert game.render()[0] == "*X*|*X*|*X*"
    assert game.render()[-1] == "alice wins with X (row 1)"


def test_tictactoe_render_long_nicks_fit():
    game = TicTacToe.start(("a" * 40, "b" * 40))
    game.play("a" * 40, "5")
    game.resign("b" * 40)
    _check_render(game)


def test_tictactoe_pop_undoes_win():
    game = played(1, 4, 2, 5, 3)
    assert game.pop() == 3
    assert game.outcome() is None and game.to_move == X


def test_tictactoe_bot_move_is_optimal_and_seeded():
    game = played(1, 5, 9)
    assert game.bot_move(random.Random(3)) == game.bot_move(random.Random(3))
    seen = {game.bot_move(random.Random(s)) for s in range(40)}
    assert seen == {str(c) for c in game.best_moves()}
    assert seen <= {"2", "4", "6", "8"}  # a corner here loses to a fork


def test_tictactoe_bot_takes_fastest_win():
    # X can win at 3 now or set up slower wins; it must take the win at once.
    game = played(1, 4, 2, 5)
    assert game.best_moves() == [3]


def test_tictactoe_bot_blocks():
    game = played(1, 5, 2)
    assert game.best_moves() == [3]


def test_tictactoe_bot_none_when_over():
    game = played(1, 4, 2, 5, 3)
    assert game.bot_move(random.Random(0)) is None


# --- exhaustive walks ---------------------------------------------------


def _bot_walk(game, bot, results, seen):
    """Every game where `bot` plays any optimal move and the other side
    plays anything; record each outcome's winners. What can follow depends
    only on the board, so each board is expanded once."""
    if game.board in seen:
        return
    seen.add(game.board)
    outcome = game.outcome()
    if outcome is not None:
        results.add(outcome.winners)
        return
    cells = game.best_moves() if game.to_move == bot else \
        [int(c) for c in game.hint_moves(game.to_move)]
    for cell in cells:
        game.push(game.to_move, cell)
        _bot_walk(game, bot, results, seen)
        game.pop()


@pytest.mark.parametrize("bot", [X, O])
def test_tictactoe_bot_never_loses(bot):
    results = set()
    _bot_walk(new_game(), bot, results, set())
    human = O if bot == X else X
    assert (human,) not in results
    assert () in results  # draws happen against best play


def _positions(game, seen):
    """Visit each reachable board once (depth first), yielding the game."""
    if game.board in seen:
        return
    seen.add(game.board)
    yield game
    for text in game.hint_moves(game.to_move or ""):
        game.play(game.to_move, text)
        yield from _positions(game, seen)
        game.pop()


def _check_invariants(game):
    board = game.board
    xs, os = board.count("X"), board.count("O")
    assert xs - os in (0, 1)
    outcome = game.outcome()
    if outcome is None:
        assert game.to_move == (X if xs == os else O)
        assert EMPTY in board
        assert game.hint_moves(game.to_move) == [
            str(i + 1) for i, c in enumerate(board) if c == EMPTY]
        return
    assert game.to_move is None and game.bot_move() is None
    for nick in (X, O):
        assert not game.can_move(nick) and game.hint_moves(nick) == []
        assert not any(game.is_legal(nick, c) for c in range(1, 10))
    if outcome.reason == "draw":
        assert EMPTY not in board and outcome.winners == ()
    else:
        winner_mark = "X" if outcome.winners == (X,) else "O"
        assert outcome.reason == "win"
        assert winner_mark == ("X" if xs > os else "O")


def _check_render(game):
    lines = game.render()
    assert 1 <= len(lines) <= RENDER_HEIGHT
    assert all(len(line) <= RENDER_WIDTH for line in lines)
    for row in lines[0:5:2]:
        assert len(row) == 11 and row[3] == row[7] == "|"
    assert lines[1] == lines[3] == "---+---+---"
    assert sum(row.count("[") for row in lines[:5]) <= 1


def test_tictactoe_walk_all_positions_invariants():
    seen = set()
    for game in _positions(new_game(), seen):
        _check_invariants(game)
        _check_render(game)
    assert len(seen) == 5478  # the well-known count of reachable boards


def test_tictactoe_walk_bot_answers_everywhere():
    rng = random.Random(7)
    answered = 0
    for game in _positions(new_game(), set()):
        if game.outcome() is None:
            move = game.bot_move(rng)
            assert game.is_legal(game.to_move, game.parse_move(move))
            answered += 1
    assert answered == 4520


def test_tictactoe_best_cells_empty_board_all_draw():
    assert best_cells(EMPTY * 9) == list(range(1, 10))
