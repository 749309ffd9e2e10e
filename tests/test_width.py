"""chat.width: cell widths, clipping and sanitizing, with and without wcwidth."""

import importlib
import sys

import pytest

from chat import width
from chat.width import char_width, clip, sanitize, text_width, unjoined

WIDE = "中"      # CJK, 2 cells
EMOJI = "😀"     # 2 cells
ACUTE = "\u0301"  # combining, 0 cells


@pytest.mark.parametrize("ch, cells", [
    ("a", 1), (" ", 1), ("é", 1), (WIDE, 2), (EMOJI, 2), ("Ａ", 2),
    (ACUTE, 0), ("\u200d", 0), ("\ufe0f", 0),
])
def test_char_width_common_characters(ch, cells):
    assert char_width(ch) == cells


@pytest.mark.parametrize("ch", [
    "a", "é", WIDE, EMOJI, "Ａ", ACUTE, "\u200d", "\u200b", "\ufe0f", "ᄀ", "\u1160", "한",
])
def test_width_fallback_agrees_with_wcwidth_on_common_characters(ch):
    assert width._unicodedata_width(ch) == char_width(ch)


@pytest.mark.parametrize("ch", ["\x00", "\x1b", "\x7f", "\x85"])
def test_width_fallback_gives_controls_no_cells(ch):
    assert width._unicodedata_width(ch) == 0
    assert char_width(ch) == 0


def test_width_runs_without_wcwidth(monkeypatch):
    monkeypatch.setitem(sys.modules, "wcwidth", None)  # makes the import fail
    try:
        bare = importlib.reload(width)
        assert bare._measure is bare._unicodedata_width
        assert bare.text_width("a" + WIDE + EMOJI + "e" + ACUTE) == 6
        assert bare.sanitize("\x1b[2J") == "^[[2J"
    finally:
        monkeypatch.undo()
        importlib.reload(width)
    assert width._measure is width._wcwidth_width


@pytest.mark.parametrize("s, cells", [
    ("", 0), ("hello", 5), ("中文", 4), ("a😀b", 4), ("e\u0301", 1),
    ("👍🏽", 4),  # no grapheme shaping: the sum of the code points
])
def test_text_width_sums_cells(s, cells):
    assert text_width(s) == cells
    assert text_width(s) == sum(map(char_width, s))


@pytest.mark.parametrize("s, cells, expected", [
    ("hello", 3, "hel"),
    ("hello", 5, "hello"),
    ("hello", 9, "hello"),
    ("hello", 0, ""),
    ("hello", -1, ""),
    ("中文字", 4, "中文"),
    ("中文字", 3, "中"),        # never splits a wide character: one cell short
    ("a中", 2, "a"),
    ("a😀b", 3, "a😀"),
    ("e\u0301x", 1, "e\u0301"),  # the mark stays with its base
    ("", 3, ""),
])
def test_clip_longest_prefix_that_fits(s, cells, expected):
    assert clip(s, cells) == expected
    assert text_width(clip(s, cells)) <= max(cells, 0)


@pytest.mark.parametrize("raw, safe", [
    ("\x1b[2J", "^[[2J"),
    ("\x1b]0;pwned\x07", "^[]0;pwned^G"),
    ("bell\x07", "bell^G"),
    ("del\x7f", "del^?"),
    ("nul\x00", "nul^@"),
    ("a\nb\rc", "a^Jb^Mc"),
    ("tab\there", "tab here"),
    ("\x9b31m", "<U+009B>31m"),   # C1 CSI
    ("\x85", "<U+0085>"),
    ("abc\u202eevil", "abc<U+202E>evil"),
    ("\u2066x\u2069", "<U+2066>x<U+2069>"),
    ("\u200e\u200f\u061c", "<U+200E><U+200F><U+061C>"),
    ("zero\u200bwidth", "zero<U+200B>width"),
    ("\ufeffbom", "<U+FEFF>bom"),
    ("x\ud800y", "x\ufffdy"),
])
def test_sanitize_makes_controls_visible(raw, safe):
    assert sanitize(raw) == safe


@pytest.mark.parametrize("text", [
    "plain ascii", "", "café 中文 😀", "e\u0301", "👨\u200d👩\u200d👧", "❤\ufe0f", "زن\u200cها",
])
def test_sanitize_leaves_safe_text_alone(text):
    assert sanitize(text) is text


def test_sanitize_is_idempotent_and_leaves_nothing_unsafe():
    raw = "".join(chr(cp) for cp in range(0xA0)) + "\u202a\u202e\u2066\ud800\U000e0041"
    once = sanitize(raw)
    assert sanitize(once) == once
    assert all(ch == " " or ch.isprintable() or ch == "\ufffd" for ch in once)


def test_sanitize_output_has_no_escape_or_bidi_characters():
    out = sanitize("\x1b[31mred\x1b[0m \u202eevil\u202c \x1bP+q\x1b\\")
    assert "\x1b" not in out
    assert not any(0x202A <= ord(ch) <= 0x202E for ch in out)


def test_width_unjoined_drops_what_follows_a_wide_character_only():
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"
    assert unjoined(family) == "\U0001F468\U0001F469\U0001F467"
    assert unjoined("\U0001F469\u200d\U0001F4BB\ufe0f!") == "\U0001F469\U0001F4BB!"
    assert unjoined("e\u0301 a\u200cb \u0915\u094d\u200d\u0937") == \
        "e\u0301 a\u200cb \u0915\u094d\u200d\u0937"  # marks on narrow letters stay
    assert unjoined("plain") == "plain"
