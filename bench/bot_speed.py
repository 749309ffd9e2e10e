"""Worst-case tic-tac-toe bot answer time over every reachable position.

Run: python3 bench/bot_speed.py. Times the cold first call (empty cache,
empty board) separately from the warm worst case over all positions.
"""

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from game import tictactoe  # noqa: E402


def timed_bot_move(game, rng):
    start = time.perf_counter()
    move = game.bot_move(rng)
    return move, time.perf_counter() - start


def walk(game, seen, rng, times):
    if game.board in seen or game.outcome() is not None:
        return
    seen.add(game.board)
    times.append(timed_bot_move(game, rng)[1])
    for cell in range(1, 10):
        if game.board[cell - 1] == tictactoe.EMPTY:
            game.push(game.to_move, cell)
            walk(game, seen, rng, times)
            game.pop()


def main():
    rng = random.Random(1)
    tictactoe._value.cache_clear()
    game = tictactoe.TicTacToe.start(("x", "o"))
    _, cold = timed_bot_move(game, rng)
    times = []
    walk(game, set(), rng, times)
    print(f"cold first call (empty board, empty cache): {cold * 1000:.2f} ms")
    print(f"warm worst case over {len(times)} positions: "
          f"{max(times) * 1000:.3f} ms (mean {sum(times) / len(times) * 1e6:.1f} us)")


if __name__ == "__main__":
    main()
