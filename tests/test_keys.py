"""Keys curses leaves to the view, decoded as data: Alt combinations, word keys, text."""
from __future__ import annotations

import pytest

from chat.client import keys


def feed_all(seq: list[str]) -> list[str | None]:
    decoder = keys.EscapeKeys()
    return [decoder.feed(key) for key in seq]


@pytest.mark.parametrize("seq,action", [
    (["\x1b", "b"], "word_left"),
    (["\x1b", "f"], "word_right"),
    (["\x1b", "B"], "word_left"),
    (["\x1b", "d"], "kill_word_right"),
    (["\x1b", "\x7f"], "kill_word"),
    (["\x1b", "KEY_BACKSPACE"], "kill_word"),  # curses decodes the DEL after ESC
    (["\x1b", "KEY_LEFT"], "word_left"),
    (["kLFT5"], "word_left"),  # Ctrl-Left where terminfo knows it (xterm)
    (["kRIT5"], "word_right"),
    (["kLFT3"], "word_left"),
    (list("\x1b[1;5D"), "word_left"),  # ... and raw where it does not (TERM=screen)
    (list("\x1b[1;5C"), "word_right"),
    (list("\x1b[1;3D"), "word_left"),
    (list("\x1bOd"), "word_left"),
    (["CTL_LEFT"], "word_left"),  # PDCurses (windows-curses): a key code per combination
    (["CTL_RIGHT"], "word_right"),
    (["ALT_LEFT"], "word_left"),
    (["ALT_B"], "word_left"),
    (["ALT_F"], "word_right"),
    (["ALT_D"], "kill_word_right"),
    (["ALT_BKSP"], "kill_word"),
    (["CTL_DEL"], "kill_word_right"),
])
def test_keys_word_keys_decode_to_editor_actions(seq, action):
    assert feed_all(seq) == [""] * (len(seq) - 1) + [action]


def test_keys_unknown_sequences_and_alt_letters_are_swallowed():
    assert feed_all(list("\x1b[1;9Z")) == [""] * 6
    assert feed_all(["\x1b", "x", "y"]) == ["", "", None]  # Alt-x: nothing typed
    assert feed_all(["\x1b", "\x1b", "b"]) == ["", "", "word_left"]


def test_keys_ordinary_keys_pass_through():
    assert feed_all(["a", "KEY_UP", "\r"]) == [None, None, None]
    assert feed_all(["\x1b", "KEY_UP"]) == ["", None]  # a special key after ESC still works
    assert feed_all(["\x1b", "[", "KEY_UP"]) == ["", "", None]


def test_keys_a_lone_escape_does_nothing():
    decoder = keys.EscapeKeys()
    assert decoder.feed("\x1b") == ""
    decoder.reset()  # no more keys were waiting
    assert decoder.feed("b") is None  # typed later: the letter b


@pytest.mark.parametrize("ch", ["a", "é", "\u200d", "\u200c", "\ufe0f", "\U000e0100", "\u0301",
                                "😀"])
def test_keys_is_text_accepts_joiners_and_selectors(ch):
    assert keys.is_text(ch)


@pytest.mark.parametrize("ch", ["\x1b", "\x00", "\x7f", "\x9b", "\t", "KEY_UP", ""])
def test_keys_is_text_refuses_controls(ch):
    assert not keys.is_text(ch)


def test_keys_cursor_keys_are_decoded_only_for_a_raw_terminal():
    assert feed_all(list("\x1b[D")) == ["", "", ""]  # curses decodes them itself
    raw = keys.EscapeKeys(keys.TERMINAL_SEQUENCES)
    assert [raw.feed(k) for k in "\x1b[D\x1bOA\x1b[3~"] == \
        ["", "", "left", "", "", "history_prev", "", "", "", "delete"]
    assert not raw.pending
    raw.feed("\x1b")
    assert raw.pending
