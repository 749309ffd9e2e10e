"""The input line: editing keys, history, Tab completion and horizontal scrolling.

Every edit is a pure function (text, cursor) -> (text, cursor); `LineEditor` only
holds the state between keys. Must not import curses, socket, selectors or threading;
it measures cells with chat.width alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Sequence

from chat.protocol import is_secret_line
from chat.width import char_width, clip, text_width

__all__ = [
    "HISTORY_LIMIT", "Completion", "LineEditor", "apply_choice", "backspace", "complete",
    "completions", "delete", "insert", "kill_to_end", "kill_to_start", "kill_word",
    "kill_word_right", "move_end", "move_home", "move_left", "move_right", "scroll_view",
    "word_left", "word_right",
]

HISTORY_LIMIT = 500

Edit = Callable[[str, int], tuple[str, int]]  # every key is one of these


# --- pure edits: (text, cursor) -> (text, cursor) -----------------------------

_CLEAN = {cp: None for cp in [*range(0x20), *range(0x7F, 0xA0)]}
_CLEAN.update({0x09: " ", 0x0A: " ", 0x0D: " "})


def _clean(s: str) -> str:
    """Typed or pasted text: line breaks and tabs become spaces, other controls go."""
    return s.replace("\r\n", "\n").translate(_CLEAN)


def insert(text: str, cursor: int, s: str) -> tuple[str, int]:
    s = _clean(s)
    return text[:cursor] + s + text[cursor:], cursor + len(s)


ZWJ = "\u200d"
_MODIFIERS = range(0x1F3FB, 0x1F400)  # emoji skin tones: drawn wide, yet part of the emoji before


def _continues(text: str, i: int) -> bool:
    """Whether `text[i]` belongs to the character cluster before it: a zero-width mark
    (combining, variation selector, joiner), a skin tone, or whatever follows a ZWJ
    (so "X ZWJ Y" is one emoji, and the cursor never lands inside it)."""
    return 0 < i < len(text) and (char_width(text[i]) == 0 or ord(text[i]) in _MODIFIERS
                                  or text[i - 1] == ZWJ)


def _prev_stop(text: str, i: int) -> int:
    """Index of the start of the cluster left of `i` (a character, its marks, and any
    characters joined to it by ZWJ)."""
    i = max(i - 1, 0)
    while _continues(text, i):
        i -= 1
    return i


def _next_stop(text: str, i: int) -> int:
    """Index just past the cluster right of `i`, keeping its marks and joined characters."""
    i = min(i + 1, len(text))
    while _continues(text, i):
        i += 1
    return i


def move_left(text: str, cursor: int) -> tuple[str, int]:
    return text, _prev_stop(text, cursor)


def move_right(text: str, cursor: int) -> tuple[str, int]:
    return text, _next_stop(text, cursor)


def move_home(text: str, cursor: int) -> tuple[str, int]:
    return text, 0


def move_end(text: str, cursor: int) -> tuple[str, int]:
    return text, len(text)


def backspace(text: str, cursor: int) -> tuple[str, int]:
    start = _prev_stop(text, cursor)
    return text[:start] + text[cursor:], start


def delete(text: str, cursor: int) -> tuple[str, int]:
    return text[:cursor] + text[_next_stop(text, cursor):], cursor


def kill_to_start(text: str, cursor: int) -> tuple[str, int]:
    return text[cursor:], 0


def kill_to_end(text: str, cursor: int) -> tuple[str, int]:
    return text[:cursor], cursor


def _skip_back(text: str, i: int, pred: Callable[[str], bool]) -> int:
    while i > 0 and pred(text[i - 1]):
        i -= 1
    return i


def _skip_forward(text: str, i: int, pred: Callable[[str], bool]) -> int:
    while i < len(text) and pred(text[i]):
        i += 1
    return i


def _is_space(ch: str) -> bool:
    return ch.isspace()


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def kill_word(text: str, cursor: int) -> tuple[str, int]:
    """Ctrl-W, readline's unix-word-rubout: spaces, then the word before them."""
    start = _skip_back(text, _skip_back(text, cursor, _is_space), lambda ch: not ch.isspace())
    return text[:start] + text[cursor:], start


def word_left(text: str, cursor: int) -> tuple[str, int]:
    """Alt-b: to the start of this or the previous word."""
    return text, _skip_back(text, _skip_back(text, cursor, lambda ch: not _is_word(ch)), _is_word)


def word_right(text: str, cursor: int) -> tuple[str, int]:
    """Alt-f: to the end of this or the next word."""
    i = _skip_forward(text, _skip_forward(text, cursor, lambda ch: not _is_word(ch)), _is_word)
    return text, i


def kill_word_right(text: str, cursor: int) -> tuple[str, int]:
    """Alt-d: from the cursor to the end of this or the next word."""
    end = word_right(text, cursor)[1]
    return text[:cursor] + text[end:], cursor


# --- completion -------------------------------------------------------------

@dataclass(frozen=True)
class Completion:
    """The word `text[start:end]` and what Tab may replace it with, in order."""

    start: int
    end: int
    choices: tuple[str, ...]


def _word_start(text: str, cursor: int) -> int:
    return _skip_back(text, cursor, lambda ch: not ch.isspace())


def _command_choices(word: str, commands: Sequence[str]) -> list[str]:
    names = dict.fromkeys("/" + c.lstrip("/") for c in commands)
    found = [n for n in names if n.lower().startswith(word.lower())]
    return [found[0] + " "] if len(found) == 1 else found


def _nick_choices(word: str, nicks: Sequence[str], at_start: bool) -> list[str]:
    suffix = ": " if at_start else " "
    seen: dict[str, str] = {}
    for nick in nicks:
        if nick.lower().startswith(word.lower()):
            seen.setdefault(nick.lower(), nick)
    return [nick + suffix for nick in seen.values()]


def completions(text: str, cursor: int, commands: Sequence[str],
                nicks: Sequence[str]) -> Completion | None:
    """What Tab could put in place of the word before the cursor, or None.

    A word starting with "/" at the start of the line completes to a command
    (with a space when unique); anything else to a nick, case-insensitively, in
    the given priority order, as "nick: " at the start of the line, else "nick ".
    """
    start = _word_start(text, cursor)
    word, at_start = text[start:cursor], not text[:start].strip()
    if at_start and word.startswith("/"):
        choices = _command_choices(word, commands)
    else:
        choices = _nick_choices(word, nicks, at_start)
    return Completion(start, cursor, tuple(choices)) if choices else None


def apply_choice(text: str, completion: Completion, index: int) -> tuple[str, int]:
    choice = completion.choices[index % len(completion.choices)]
    new = text[:completion.start] + choice + text[completion.end:]
    return new, completion.start + len(choice)


def complete(text: str, cursor: int, commands: Sequence[str],
             nicks: Sequence[str]) -> tuple[str, int]:
    """One Tab with no cycling: the first choice, or the line unchanged."""
    found = completions(text, cursor, commands, nicks)
    return apply_choice(text, found, 0) if found else (text, cursor)


# --- horizontal scrolling ---------------------------------------------------

def _start_for(text: str, end: int, cells: int) -> int:
    """Smallest index i with text_width(text[i:end]) <= cells."""
    used, i = 0, end
    while i > 0:
        used += char_width(text[i - 1])
        if used > cells:
            break
        i -= 1
    return i


def scroll_view(text: str, cursor: int, width: int, offset: int = 0) -> tuple[str, int, int]:
    """What a `width`-cell input line shows: (visible text, cursor cell, new offset).

    `offset` is the index of the first shown character from the last call; it only
    moves when the cursor would leave the window (jumping half a window when going
    left), and moves back when text was deleted, so no space is wasted on the right.
    The character under the cursor is shown whole when it fits at all; the cursor
    cell is always < width and the visible text is never wider than width.
    """
    if width <= 0:
        return "", 0, cursor
    under = max(char_width(text[cursor]), 1) if cursor < len(text) else 1
    if cursor < offset:
        offset = _start_for(text, cursor, width // 2)
    offset = max(offset, _start_for(text, cursor, width - under))
    offset = min(offset, _start_for(text, len(text), width - 1))
    while offset < cursor and _continues(text, offset):
        offset += 1  # never start on a mark or a joined character without its base
    return clip(text[offset:], width), text_width(text[offset:cursor]), offset


# --- the stateful shell over the pure edits -----------------------------------

@dataclass(frozen=True)
class _Cycle:
    """A run of Tabs: the line before the first one, the matches, and where we are."""

    base: str
    found: Completion
    index: int
    shown: tuple[str, int] = ("", 0)  # the (text, cursor) the last Tab produced


def _key(edit: Edit) -> Callable[["LineEditor"], None]:
    def method(self: "LineEditor") -> None:
        self.apply(edit)

    method.__doc__ = edit.__doc__
    return method


class LineEditor:
    """The input line between keys: text, cursor, history and the Tab cycle."""

    def __init__(self, text: str = "", history: Sequence[str] = ()) -> None:
        self.text = text
        self.cursor = len(text)
        self.history: list[str] = list(history)[-HISTORY_LIMIT:]
        self._position = len(self.history)  # == len(history): the draft line
        self._edited: dict[int, str] = {}   # unsent changes to recalled lines
        self._cycle: _Cycle | None = None
        self._offset = 0

    def apply(self, edit: Edit) -> None:
        """Apply one pure edit; any edit ends a Tab cycle."""
        self.text, self.cursor = edit(self.text, self.cursor)
        self._cycle = None

    def insert(self, s: str) -> None:
        self.apply(lambda text, cursor: insert(text, cursor, s))

    left = _key(move_left)
    right = _key(move_right)
    home = _key(move_home)
    end = _key(move_end)
    backspace = _key(backspace)
    delete = _key(delete)
    kill_to_start = _key(kill_to_start)
    kill_to_end = _key(kill_to_end)
    kill_word = _key(kill_word)
    word_left = _key(word_left)
    word_right = _key(word_right)
    kill_word_right = _key(kill_word_right)

    # history

    def submit(self) -> str:
        """Enter: return the line, remember it (not blank, not a repeat, not a
        password: Up must not show it again), clear."""
        line = self.text
        if line.strip() and (not self.history or self.history[-1] != line) \
                and not is_secret_line(line):
            self.history.append(line)
            del self.history[:-HISTORY_LIMIT]
        self._position, self._edited = len(self.history), {}
        self.apply(lambda text, cursor: ("", 0))
        return line

    def history_prev(self) -> None:
        """Up: the previous line; the draft and any edits wait until you return."""
        self._recall(self._position - 1)

    def history_next(self) -> None:
        """Down: the next line, or back to the draft."""
        self._recall(self._position + 1)

    def _recall(self, position: int) -> None:
        if not 0 <= position <= len(self.history):
            return
        self._edited[self._position] = self.text
        self._position = position
        saved = self.history[position] if position < len(self.history) else ""
        line = self._edited.get(position, saved)
        self.apply(lambda text, cursor: (line, len(line)))

    # completion

    def complete(self, commands: Sequence[str], nicks: Sequence[str]) -> bool:
        """Tab: complete the word before the cursor; Tab again cycles the matches.
        Returns False when there is nothing to complete (the view may beep)."""
        cycle = self._cycle
        if cycle is not None and cycle.shown == (self.text, self.cursor):
            cycle = replace(cycle, index=cycle.index + 1)
        else:
            found = completions(self.text, self.cursor, commands, nicks)
            if found is None:
                return False
            cycle = _Cycle(self.text, found, 0)
        self.text, self.cursor = apply_choice(cycle.base, cycle.found, cycle.index)
        self._cycle = replace(cycle, shown=(self.text, self.cursor))
        return True

    # view

    def view(self, width: int) -> tuple[str, int]:
        """(text to draw, cursor cell) for a `width`-cell line, scrolled to show the cursor."""
        shown, col, self._offset = scroll_view(self.text, self.cursor, width, self._offset)
        return shown, col
