"""Line mode's prompt on a terminal as data: typed characters into edits and events,
the prompt row at any width, and the output that prints lines above it, read back
through the pyte terminal emulator.  No pty, no sockets."""
from __future__ import annotations

import pyte
import pytest

from chat.client import core as c
from chat.client import prompt as pr

GREETED = ("HELLO parlor/2 hi\nHERE general alice\nMEMBERS general 2 0\n"
           "MEMBER general alice\nMEMBER general bob\n")
LEFT, RIGHT, UP, DOWN = "\x1b[D", "\x1b[C", "\x1b[A", "\x1b[B"


def in_general() -> c.ClientCore:
    core = c.ClientCore("127.0.0.1:5000", room="general", nick="alice")
    core.connection_made()
    core.receive_data(GREETED.encode())
    return core


def typed(*chunks: str, core: c.ClientCore | None = None) -> tuple[pr.Typing, list]:
    """A Typing fed `chunks` one after another, and every event they gave."""
    core = core or in_general()
    typing, events = pr.Typing(), []
    for chunk in chunks:
        events += typing.feed(chunk, core)
    return typing, events


def state(typing: pr.Typing) -> tuple[str, int]:
    return typing.editor.text, typing.editor.cursor


# ------------------------------------------------------------------ keys
@pytest.mark.parametrize("keys,expected", [
    ("abc" + LEFT + LEFT + "X", ("aXbc", 2)),
    ("abc" + LEFT + "X", ("abXc", 3)),
    ("abc\x1bOD\x1bODX", ("aXbc", 2)),  # the cursor keys in application mode
    ("abc\x1b[H>" + "\x1b[F<", (">abc<", 5)),  # Home, End
    ("abc\x1b[1~>\x1b[4~<", (">abc<", 5)),  # Home, End as VT220 keys
    ("abc\x01\x1b[3~", ("bc", 0)),  # Ctrl-A, Delete
    ("abc\x02\x02\x06X", ("abXc", 3)),  # Ctrl-B, Ctrl-F
    ("say hello world\x17", ("say hello ", 10)),  # Ctrl-W
    ("say hello world\x1b[1;5D\x1b[1;5D\x15", ("hello world", 0)),  # Ctrl-Left, Ctrl-U
    ("say hello world\x1bb\x0b", ("say hello ", 10)),  # Alt-B, Ctrl-K
    ("abc\x7f\x08", ("a", 1)),  # Backspace as DEL and as ^H
    ("ab\x00\x07\x1b[1;9Zc", ("abc", 3)),  # stray controls and unknown keys type nothing
    ("日本" + LEFT + "語", ("日語本", 2)),
])
def test_prompt_keys_edit_the_line(keys, expected):
    typing, events = typed(keys)
    assert state(typing) == expected and events == []


def test_prompt_enter_gives_the_line_and_clears_it():
    typing, events = typed("abc" + LEFT + LEFT + "X\r")
    assert events == [(pr.LINE, "aXbc")] and state(typing) == ("", 0)


def test_prompt_a_pasted_block_is_one_line_per_row():
    _, events = typed("one\rtwo\r\nthree\nfour\r", "\nfive")
    assert events == [(pr.LINE, t) for t in ("one", "two", "three", "four")]


def test_prompt_escape_sequence_split_across_reads():
    typing, _ = typed("abc\x1b", "[", "D", "X")
    assert state(typing) == ("abXc", 3)


def test_prompt_a_lone_escape_does_nothing():
    typing, _ = typed("ab\x1b")
    assert typing.pending
    typing.lone_escape()
    assert not typing.pending
    typing.feed("b", in_general())
    assert state(typing) == ("abb", 3)


def test_prompt_up_and_down_walk_the_history():
    typing, _ = typed("first\r", "second\r", "draft", UP)
    assert state(typing)[0] == "second"
    typing.feed(UP + UP, in_general())  # past the oldest: stays
    assert state(typing)[0] == "first"
    typing.feed(DOWN + DOWN, in_general())
    assert state(typing)[0] == "draft"


def test_prompt_tab_completes_nicks_commands_and_moves():
    core = in_general()
    assert state(typed("bo\t", core=core)[0]) == ("bob: ", 5)
    assert state(typed("/jo\t", core=core)[0]) == ("/join ", 6)
    typing, events = typed("zz\t", core=core)
    assert events == [(pr.BEEP, "")] and state(typing) == ("zz", 2)
    core.receive_data(b"GAME general g1 tictactoe alice,bob alice to move\n"
                      b"TURN general g1 alice 1 2 3 4 5 6 7 8 9\n")
    assert state(typed("/move \t", core=core)[0])[0] == "/move 1 "


def test_prompt_ctrl_d_deletes_or_ends_the_input():
    typing, events = typed("ab\x01\x04")
    assert state(typing) == ("b", 0) and events == []
    _, events = typed("\x04")
    assert events == [(pr.EOF, "")]


def test_prompt_interrupt_suspend_and_redraw_are_events():
    typing, events = typed("ab\x03\x1a\x0c")
    assert events == [(pr.INTERRUPT, ""), (pr.SUSPEND, ""), (pr.REDRAW, "")]
    assert state(typing) == ("ab", 2)


# ------------------------------------------------------------------ the prompt row
def row_for(keys: str, width: int, core: c.ClientCore | None = None) -> pr.Row:
    core = core or in_general()
    typing, _ = typed(keys, core=core)
    return pr.prompt_row(core, typing.editor, width)


def test_prompt_row_is_the_prompt_and_the_line():
    assert row_for("half typed", 80) == pr.Row("#general alice> half typed", 26)
    assert row_for("half typed" + LEFT * 5, 80) == pr.Row("#general alice> half typed", 21)


def test_prompt_row_in_the_lobby_and_offline():
    core = c.ClientCore("127.0.0.1:5000")
    core.connection_made()
    core.receive_data(b"HELLO parlor/2 hi\n")
    assert row_for("", 40, core) == pr.Row("lobby> ", 7)


def test_prompt_row_scrolls_a_long_line_sideways_never_as_wide_as_the_terminal():
    words = " ".join(f"w{i:02d}" for i in range(30))  # 119 cells
    for width in (20, 40, 80):
        end = row_for(words, width)
        assert len(end.text) < width, width  # never the last column: it never wraps
        assert end.text.endswith("w29") and end.cursor == len(end.text)
        start = row_for(words + "\x01", width)
        shown_prompt, shown = start.text.split("> ", 1)
        assert shown.startswith("w00 w01") and start.cursor == len(shown_prompt) + 2
        assert len(start.text) < width


def test_prompt_row_cursor_counts_wide_characters_as_two_cells():
    assert row_for("日本語" + LEFT, 40) == pr.Row("#general alice> 日本語", 16 + 4)


def test_prompt_row_prompt_gives_way_on_a_narrow_terminal():
    assert row_for("hello", 20) == pr.Row("#gener> hello", 13)
    assert row_for("hello", 12) == pr.Row(">hello", 6)


# ------------------------------------------------------------------ the output
def test_prompt_screen_prints_above_and_redraws_only_on_a_change():
    screen = pr.PromptScreen()
    row = pr.Row("#general alice> hi", 18)
    assert screen.show([], row) == "\r\x1b[J#general alice> hi\r\x1b[18C"
    assert screen.show([], row) == ""  # nothing changed: nothing written
    assert screen.show(["[general] bob: yo"], row) == \
        "\r\x1b[J[general] bob: yo\r\n#general alice> hi\r\x1b[18C"
    assert screen.show([], pr.Row("> ", 2)) == "\r\x1b[J> \r\x1b[2C"
    assert screen.redraw(row, up=2) == "\x1b[2A\r\x1b[J#general alice> hi\r\x1b[18C"
    assert screen.redraw(pr.Row("> ", 0), whole_screen=True) == "\x1b[H\x1b[2J> \r"
    assert screen.clear() == "\r\x1b[J" and screen.shown is None


class Emulated:
    """A 40x6 terminal (pyte) that a PromptScreen draws on, as line mode would."""

    def __init__(self) -> None:
        self.screen = pyte.Screen(40, 6)
        self.stream = pyte.Stream(self.screen)
        self.prompt = pr.PromptScreen()

    def write(self, text: str) -> None:
        self.stream.feed(text)

    def rows(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    @property
    def cursor(self) -> tuple[int, int]:
        return self.screen.cursor.y, self.screen.cursor.x


def test_prompt_an_incoming_line_goes_above_the_half_typed_one():
    term, core, typing = Emulated(), in_general(), pr.Typing()
    typing.feed("half typed", core)
    term.write(term.prompt.show(["* You joined general as alice."],
                                pr.prompt_row(core, typing.editor, 40)))
    term.write(term.prompt.show(["[general] bob: interrupting"],
                                pr.prompt_row(core, typing.editor, 40)))
    assert term.rows()[:3] == ["* You joined general as alice.", "[general] bob: interrupting",
                               "#general alice> half typed"]
    assert term.cursor == (2, 26)
    typing.feed(LEFT * 6 + "-", core)
    term.write(term.prompt.show([], pr.prompt_row(core, typing.editor, 40)))
    assert term.rows()[2] == "#general alice> half- typed" and term.cursor == (2, 21)


def test_prompt_rows_above_scroll_the_screen_and_the_prompt_stays_at_the_bottom():
    term, core = Emulated(), in_general()
    row = pr.prompt_row(core, typed("x", core=core)[0].editor, 40)
    for i in range(8):
        term.write(term.prompt.show([f"line {i}", "x" * 40], row))  # one exactly as wide
    assert term.rows() == ["x" * 40, "line 6", "x" * 40, "line 7", "x" * 40,
                           "#general alice> x"]


# ------------------------------------------------------------------ after a resize
@pytest.mark.parametrize("cursor,width,column,up", [
    (78, 40, 38, 1),  # rewrapped (tmux, VTE): two rows, the cursor on the second
    (100, 40, 20, 2),
    (78, 40, 39, 0),  # cut (xterm): the cursor in the last column, same row
    (79, 40, 39, 0),  # cannot tell: never erase a printed line
    (30, 40, 30, 0),  # the cursor fitted: still on the first row
])
def test_prompt_rows_up_after_a_resize(cursor, width, column, up):
    assert pr.rows_up(cursor, width, column) == up


def test_prompt_needs_the_position_only_when_the_cursor_is_past_the_new_width():
    assert not pr.needs_position(None, 40)
    assert not pr.needs_position(pr.Row("> " + "x" * 70, 30), 40)
    assert pr.needs_position(pr.Row("> " + "x" * 70, 72), 40)


def test_prompt_redraw_after_a_rewrap_leaves_one_clean_prompt_row():
    """What tmux does to a 79-cell prompt row when the window goes from 80 to 40
    columns (two rows, the cursor on the second), then the redraw rows_up asks for."""
    term, core = Emulated(), in_general()
    term.write("[general] bob: before\r\n")
    term.write("#general alice> " + "a" * 24 + "\r\n" + "a" * 38)  # the rewrapped row
    old = pr.Row("#general alice> " + "a" * 62, 78)
    up = pr.rows_up(old.cursor, 40, term.cursor[1])
    typing, _ = typed("a" * 62, core=core)
    term.write(term.prompt.redraw(pr.prompt_row(core, typing.editor, 40), up=up))
    assert term.rows()[:3] == ["[general] bob: before", "#general alice> " + "a" * 22, ""]
    assert term.cursor == (1, 38)
