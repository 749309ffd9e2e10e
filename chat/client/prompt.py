"""Line mode's prompt on a terminal, as data: the keys typed (characters, already
decoded) as edits and events, the one prompt row at the bottom (scrolled sideways,
never wrapped), and the output that prints lines above it and redraws it.  Also
what Tab completes, for both views.  Pure: must not import curses, socket,
selectors, select, termios or threading.
"""
from __future__ import annotations

from dataclasses import dataclass

from chat import protocol as p
from chat.client import keys
from chat.client.core import ClientCore
from chat.client.layout import fit_prompt, prompt
from chat.client.lineedit import LineEditor
from chat.width import sanitize, text_width

COMMANDS = p.completions()

# What a run of keys asks of the shell, besides edits (see Typing.feed).
LINE, EOF, INTERRUPT = "line", "eof", "interrupt"
SUSPEND, REDRAW, BEEP = "suspend", "redraw", "beep"
SPECIAL = {"\r": LINE, "\n": LINE, "\t": "tab", "\x03": INTERRUPT, "\x04": "ctrl_d",
           "\x0c": REDRAW, "\x1a": SUSPEND}

# VT100 sequences, which every terminal line mode edits on understands.
CLEAR = "\r\x1b[J"  # to the start of the row, then erase it and all below
HOME_CLEAR = "\x1b[H\x1b[2J"  # the whole screen, the cursor top left


def complete(editor: LineEditor, core: ClientCore) -> bool:
    """Tab: a command's argument completes to what it takes (the moves I can make
    after /move, a room after /join and /who, a game after /game), anything else to a
    command or a nick here; False when nothing matched (the view may beep)."""
    words = core.argument_words(editor.text[:editor.cursor])
    if words is not None:
        return editor.complete([], words)
    return editor.complete(COMMANDS, [n for n in core.members if n != core.nick])


class Typing:
    """Characters typed at a terminal, applied to a line editor.  `feed` returns the
    events the shell acts on, in order: (LINE, text) for Enter, (EOF, "") for Ctrl-D
    on an empty line, (INTERRUPT|SUSPEND|REDRAW|BEEP, "")."""

    def __init__(self, editor: LineEditor | None = None) -> None:
        self.editor = editor or LineEditor()
        self.escape = keys.EscapeKeys(keys.TERMINAL_SEQUENCES)
        self._after_cr = False  # a paste's CR LF is one Enter

    @property
    def pending(self) -> bool:
        """An ESC sequence is incomplete: wait a moment for the rest, else `lone_escape`."""
        return self.escape.pending

    def lone_escape(self) -> None:
        """Nothing followed the ESC: it was the Esc key, which does nothing."""
        self.escape.reset()

    def feed(self, text: str, core: ClientCore) -> list[tuple[str, str]]:
        events: list[tuple[str, str]] = []
        run: list[str] = []  # typed text, inserted at once (a paste is one insert)
        for ch in text:
            if ch == "\n" and self._after_cr:
                self._after_cr = False
                continue
            self._after_cr = ch == "\r"
            action = self.escape.feed(ch)
            if action is None and keys.is_text(ch):
                run.append(ch)
                continue
            self._insert(run)
            if action:
                getattr(self.editor, action)()
            elif action is None:
                self._special(ch, core, events)
        self._insert(run)
        return events

    def _insert(self, run: list[str]) -> None:
        if run:
            self.editor.insert("".join(run))
            run.clear()

    def _special(self, ch: str, core: ClientCore, events: list[tuple[str, str]]) -> None:
        edit = keys.CONTROL.get(ch)
        special = SPECIAL.get(ch)
        if edit is not None:
            getattr(self.editor, edit)()
        elif special == LINE:
            events.append((LINE, self.editor.submit()))
        elif special == "tab":
            if not complete(self.editor, core):
                events.append((BEEP, ""))
        elif special == "ctrl_d":  # as in a shell: the end of input on an empty line
            if self.editor.text:
                self.editor.delete()
            else:
                events.append((EOF, ""))
        elif special is not None:
            events.append((special, ""))


@dataclass(frozen=True)
class Row:
    """The prompt row: its text (never as wide as the terminal, so it never wraps)
    and the cell the cursor is in."""

    text: str
    cursor: int


def prompt_row(core: ClientCore, editor: LineEditor, width: int) -> Row:
    """`#room nick> ` and the part of the typed line around the cursor, in
    `width` - 1 cells: a long line scrolls sideways, as the full-screen input does."""
    cells = max(width - 1, 1)
    shown_prompt = fit_prompt(sanitize(prompt(core)), cells)
    offset = text_width(shown_prompt)
    shown, col = editor.view(cells - offset)
    return Row(shown_prompt + shown, offset + col)


class PromptScreen:
    """What the bottom of a line-mode terminal shows: printed lines scroll up above
    one prompt row.  Each method returns the output that does it."""

    def __init__(self) -> None:
        self.shown: Row | None = None  # the prompt row on the screen; None: none drawn

    def show(self, rows: list[str], row: Row) -> str:
        """Print `rows` (each narrower than the terminal or exactly as wide) above the
        prompt, then draw `row`: "" when there is nothing new to show."""
        if not rows and row == self.shown:
            return ""
        self.shown = row
        return CLEAR + "".join(r + "\r\n" for r in rows) + _draw(row)

    def redraw(self, row: Row, up: int = 0, whole_screen: bool = False) -> str:
        """Draw `row` anew, `up` rows higher (after a resize: see `rows_up`; a
        suspend; or Ctrl-L, which also clears the screen)."""
        self.shown = row
        start = HOME_CLEAR if whole_screen else (f"\x1b[{up}A" if up else "") + CLEAR
        return start + _draw(row)

    def clear(self) -> str:
        """Take the prompt row away (leaving: the shell's prompt goes there)."""
        self.shown = None
        return CLEAR


def needs_position(shown: Row | None, width: int) -> bool:
    """After a resize to `width`: whether the terminal may have rewrapped the prompt
    row so that the cursor is no longer on its first row (then ask where it is)."""
    return shown is not None and shown.cursor >= width


def rows_up(cursor: int, width: int, column: int) -> int:
    """How many rows above the cursor the old prompt row starts, after a resize to
    `width`, given the cursor's `column` now (0-based) and its cell before.  A
    terminal that rewraps (tmux, VTE, kitty) moves it to column cursor % width,
    cursor // width rows down; one that cuts rows (xterm) leaves it in the last
    column of the same row.  When it cannot tell, 0: a stale piece of prompt may
    stay above, but no printed line is ever erased."""
    if cursor < width or column == width - 1 or column != cursor % width:
        return 0
    return cursor // width


def _draw(row: Row) -> str:
    return row.text + "\r" + (f"\x1b[{row.cursor}C" if row.cursor else "")
