"""Terminal cell widths of text, clipping to a width, and making peer text safe to draw.

Owns the one definition of "how many cells does this take" used by the line editor
and the scrollback. Pure: must not import curses, socket, selectors, threading or
any other chat module. Uses `wcwidth` when installed, else a unicodedata fallback.
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata

try:
    from wcwidth import wcwidth as _wcwidth
except ImportError:  # a bare checkout must still run
    _wcwidth = None

__all__ = ["char_width", "text_width", "clip", "sanitize", "unjoined", "utf8_prefix"]


def _unicodedata_width(ch: str) -> int:
    """Width of one code point from the standard library's tables alone."""
    cp = ord(ch)
    if cp < 0x20 or 0x7F <= cp < 0xA0:
        return 0
    if 0x1160 <= cp <= 0x11FF:  # Hangul medial vowels and finals join the syllable
        return 0
    category = unicodedata.category(ch)
    if category in ("Mn", "Me", "Zl", "Zp") or (category == "Cf" and cp != 0xAD):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _wcwidth_width(ch: str) -> int:
    return max(_wcwidth(ch), 0)  # wcwidth says -1 for controls; callers sanitize first


_measure = _wcwidth_width if _wcwidth is not None else _unicodedata_width


@functools.lru_cache(maxsize=8192)
def char_width(ch: str) -> int:
    """Cells one code point takes: 0 (combining, format, control), 1 or 2 (CJK, emoji)."""
    return _measure(ch)


def text_width(s: str) -> int:
    """Cells `s` takes: the sum of its code points' widths (no grapheme shaping)."""
    if s.isascii() and s.isprintable():
        return len(s)
    return sum(map(char_width, s))


def clip(s: str, cells: int) -> str:
    """Longest prefix of `s` that fits in `cells`; never splits a wide character,
    so the result may be one cell short. Zero-width marks stay with their base."""
    if cells < 0:
        return ""
    if s.isascii() and s.isprintable():
        return s[:cells]
    used = 0
    for i, ch in enumerate(s):
        used += char_width(ch)
        if used > cells:
            return s[:i]
    return s


def unjoined(s: str) -> str:
    """`s` without the zero-width characters (a joiner, a variation selector, a mark)
    that follow a double-width one: what a curses screen can draw.  ncurses 6.4 drops
    them itself, so an emoji ZWJ sequence (a family) shows as its separate emoji, in
    the cells counted here; one that passed them on to a terminal that joins the
    sequence would get it in fewer cells than it counts, shifting the rest of the row."""
    if s.isascii():
        return s
    kept, after_wide = [], False
    for ch in s:
        cells = char_width(ch)
        if cells == 0 and after_wide:
            continue
        if cells:
            after_wide = cells == 2
        kept.append(ch)
    return "".join(kept)


# --- sanitize ---------------------------------------------------------------

_BIDI = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
# Invisible or layout-changing format characters that could hide or disguise text.
# ZWJ/ZWNJ (U+200D, U+200C) stay: emoji sequences and several scripts need them.
# Tag characters go too, which breaks subdivision flags but stops hidden payloads.
_HIDDEN = [
    0x180E, 0x200B, 0x2028, 0x2029, *range(0x2060, 0x2065), *range(0x206A, 0x2070),
    0xFEFF, 0xFFF9, 0xFFFA, 0xFFFB, 0xE0001, *range(0xE0020, 0xE0080),
]


def _caret(cp: int) -> str:
    return "^?" if cp == 0x7F else "^" + chr(cp + 0x40)


def _build_table() -> dict[int, str]:
    table = {cp: _caret(cp) for cp in [*range(0x20), 0x7F]}
    table[0x09] = " "
    for cp in [*range(0x80, 0xA0), *_BIDI, *_HIDDEN]:
        table[cp] = f"<U+{cp:04X}>"
    for cp in range(0xD800, 0xE000):
        table[cp] = "\uFFFD"
    return table


def _build_pattern(table: dict[int, str]) -> re.Pattern[str]:
    """One character class matching exactly the code points `table` rewrites."""
    ranges, cps = [], sorted(table)
    start = prev = cps[0]
    for cp in cps[1:] + [-1]:
        if cp != prev + 1:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
            start = cp
        prev = cp
    return re.compile("[" + "".join(ranges) + "]")


_TABLE = _build_table()
_UNSAFE = _build_pattern(_TABLE)


def sanitize(s: str) -> str:
    """Text from the network made safe to draw: control, bidi and hidden format
    characters become visible placeholders (`^[`, `^?`, `<U+202E>`), TAB a space,
    lone surrogates U+FFFD. Idempotent; returns `s` itself when already safe."""
    if s.isascii() and s.isprintable():
        return s
    if _UNSAFE.search(s) is None:
        return s
    return s.translate(_TABLE)


def utf8_prefix(data: bytes) -> str:
    """`data` (UTF-8 cut anywhere) decoded, a character cut in two at its end left out."""
    # An incremental decoder not told the input is final holds back a partial character.
    return codecs.getincrementaldecoder("utf-8")(errors="replace").decode(data)
