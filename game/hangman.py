"""Hangman for a whole room: the starter sets a word, everyone else guesses.

Pure: imports only the standard library and `game.base`/`game.registry`;
must not import socket, selectors, threading, curses or `chat`.
"""

from __future__ import annotations

import random
import string
from typing import Sequence

from .base import (Game, IllegalMoveError, InvalidMoveError, Outcome,
                   clip, panel)
from .registry import register

LIVES = 6
MIN_LEN, MAX_LEN = 2, 24
WORDS = (
    "apple", "bridge", "candle", "garden", "window", "pencil", "rocket",
    "guitar", "island", "jacket", "kitten", "ladder", "marble", "needle",
    "orange", "parrot", "pirate", "rabbit", "saddle", "silver", "tunnel",
    "velvet", "wizard", "yellow", "anchor", "basket", "castle", "dragon",
    "engine", "forest", "harbor", "jungle", "lemon", "mirror", "monkey",
    "parlor", "planet", "puzzle", "quiet", "river", "shadow", "spider",
    "thunder", "violin", "whistle", "blanket", "chimney", "diamond",
    "elephant", "mountain", "keyboard", "umbrella", "frog", "kite", "milk",
)
# The gallows after 0..6 misses: each miss adds the next body part.
_PARTS = ((2, 6, "O"), (3, 6, "|"), (3, 5, "/"), (3, 7, "\\"),
          (4, 5, "/"), (4, 7, "\\"))
_FRAME = ("  +---+", "  |   |", "  |", "  |", "  |", "==+=====")


@register
class Hangman(Game):
    """Guess the starter's word a letter (or the whole word) at a time.

    Anyone may guess, except a starter who set the word themselves (a random
    word is as new to its starter as to everyone); players are the starter
    followed by everyone else who has guessed. The one who completes the
    word wins; after six misses (wrong letters or wrong words) nobody does.
    The starter resigning or forfeiting ends the game with no winner and
    shows the word. A guesser resigning or forfeiting only withdraws them: they leave
    `players` and play goes on; one who resigned may not guess again this game, one
    who forfeited (left the room) may, on coming back, like anyone new.
    """

    name = "hangman"
    summary = "guess the starter's word a letter at a time, 6 misses allowed"
    duel = False
    has_bot = False
    move_help = "/move E to guess a letter, /move WORD to guess the word"
    setup_help = "WORD"

    def __init__(self, starter: str, word: str, chosen: bool = True) -> None:
        super().__init__((starter,))
        self._setter = starter
        self._word = word
        self._chosen = chosen  # the starter picked the word, so knows it
        self._guessed: list[str] = []
        self._wrong_words: list[str] = []
        self._misses = 0
        self._solved = False
        self._withdrawn: set[str] = set()
        self._last = ""

    @classmethod
    def start(cls, players: Sequence[str], setup: str = "",
              rng: random.Random | None = None) -> Hangman:
        if len(players) != 1:
            raise ValueError(f"hangman has 1 starter, got {players!r}")
        if setup.strip():
            return cls(players[0], parse_word(setup))
        return cls(players[0], parse_word((rng or random).choice(WORDS)), chosen=False)

    @property
    def setter(self) -> str:
        return self._setter

    @property
    def word(self) -> str:
        """The secret word, upper-case (do not show it before the end)."""
        return self._word

    @property
    def misses(self) -> int:
        return self._misses

    @property
    def guessed(self) -> tuple[str, ...]:
        """Letters guessed so far, in order."""
        return tuple(self._guessed)

    @property
    def to_move(self) -> str | None:
        return None

    def check_turn(self, nick: str) -> None:
        if self._outcome is not None:
            raise IllegalMoveError("the game is over")
        if nick == self._setter and self._chosen:
            raise IllegalMoveError("you set the word, so you can't guess")
        if nick in self._withdrawn:
            raise IllegalMoveError("you gave up on this word, so you can't guess")

    def parse_move(self, text: str) -> str:
        guess = text.strip()
        if not guess:
            raise InvalidMoveError("guess a letter or the whole word, e.g. /move E")
        if not _is_letters(guess):
            raise InvalidMoveError(
                f"guess a letter or the whole word, not {guess!r}")
        return guess.upper()

    def check_move(self, nick: str, move: str) -> None:
        self.check_turn(nick)
        if not (isinstance(move, str) and _is_letters(move) and move.isupper()):
            raise IllegalMoveError(f"{move!r} is not an upper-case guess")
        if move in self._guessed or move in self._wrong_words:
            raise IllegalMoveError(f"{move} was already guessed")
        if len(move) > 1 and len(move) != len(self._word):
            raise IllegalMoveError(
                f"the word has {len(self._word)} letters, not {len(move)}")

    def _apply(self, nick: str, move: str) -> str:
        if nick not in self._players:
            self._players += (nick,)
        apply = self._guess_letter if len(move) == 1 else self._guess_word
        result = apply(nick, move)
        self._last = f"last: {nick} guessed {move}"
        return f"{nick} guesses {move}: {result}"

    def _guess_letter(self, nick: str, letter: str) -> str:
        self._guessed.append(letter)
        count = self._word.count(letter)
        if not count:
            return self._miss("not in the word")
        if all(c in self._guessed for c in self._word):
            self._win(nick)
        return f"{count} in the word"

    def _guess_word(self, nick: str, word: str) -> str:
        if word != self._word:
            self._wrong_words.append(word)
            return self._miss("wrong")
        self._solved = True
        self._win(nick)
        return "right!"

    def _miss(self, what: str) -> str:
        self._misses += 1
        left = LIVES - self._misses
        if not left:
            summary = f"the word was {self._word}: nobody guessed it"
            self._outcome = Outcome((), "lost", summary)
        return f"{what}, {_guesses_left(left)}"

    def _win(self, nick: str) -> None:
        summary = f"{nick} wins: the word was {self._word}"
        self._outcome = Outcome((nick,), "win", summary)

    def _ending(self, nick: str, reason: str) -> Outcome | None:
        if nick != self._setter:
            if reason == "resign":
                self._withdrawn.add(nick)
            self._players = tuple(p for p in self._players if p != nick)
            return None
        verb = "ended the game" if reason == "resign" else "left"
        return Outcome((), reason, f"{nick} {verb}: the word was {self._word}")

    def hint_moves(self, nick: str) -> list[str]:
        if not self.can_move(nick):
            return []
        return [c for c in string.ascii_uppercase if c not in self._guessed]

    def masked(self, spaced: bool = True) -> str:
        """The word with unguessed letters as '_' (all shown once over)."""
        shown = self._outcome is not None or self._solved
        letters = [c if shown or c in self._guessed else "_" for c in self._word]
        return " ".join(letters) if spaced else "".join(letters)

    def status(self) -> str:
        if self._outcome is not None:
            return self._outcome.summary
        left = LIVES - self._misses
        whose = f"{self._setter}'s word" if self._chosen else "the word"
        return f"{whose}: {self.masked(spaced=False)}, {_guesses_left(left)}"

    def render(self) -> list[str]:
        body = _gallows(self._misses) + [self._word_line(), self._wrong_line(),
                                         f"guesses left: {LIVES - self._misses}"]
        if self._last:
            body.append(clip(self._last))
        started = (f"{self._setter} set the word" if self._chosen
                   else f"{self._setter} drew a random word")
        return panel(body, self.status() if self._outcome else started)

    def _word_line(self) -> str:
        text = self.masked()
        if len(text) > 28:
            text = self.masked(spaced=False)
        won = self._outcome is not None and self._outcome.reason == "win"
        return f"*{text}*" if won else text

    def _wrong_line(self) -> str:
        wrong = [c for c in self._guessed if c not in self._word]
        line = "wrong: " + (" ".join(wrong) or "-")
        if self._wrong_words:
            line += f" +{_plural(len(self._wrong_words), 'word', 'words')}"
        return line


def parse_word(text: str) -> str:
    """The secret word, upper-case; raises InvalidMoveError if unusable."""
    word = text.strip()
    if len(word.split()) > 1:
        raise InvalidMoveError(f"the word must be one word of letters A-Z, "
                               f"not {len(word.split())} words")
    if not _is_letters(word):
        raise InvalidMoveError(f"the word must be letters A-Z only, not {word!r}")
    if not MIN_LEN <= len(word) <= MAX_LEN:
        raise InvalidMoveError(
            f"the word must be {MIN_LEN} to {MAX_LEN} letters long, "
            f"not {len(word)}")
    return word.upper()


def _is_letters(text: str) -> bool:
    return bool(text) and all(c in string.ascii_letters for c in text)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _guesses_left(left: int) -> str:
    if not left:
        return "no guesses left"
    return _plural(left, "guess", "guesses") + " left"


def _gallows(misses: int) -> list[str]:
    rows = [list(line.ljust(8)) for line in _FRAME]
    for row, col, char in _PARTS[:misses]:
        rows[row][col] = char
    return ["".join(row).rstrip() for row in rows]
