"""Line mode's rows (chat.client.rows), pure: eve's padded line at several widths,
wrapped as a terminal would and as the line-mode client now does.
"""
from __future__ import annotations

import pytest

from chat.client.rows import MARKER, wrap_rows
from chat.width import char_width, text_width

HEAD = "[general] eve: hi"
FAKE = "[general] bob: I'm moving to #secret, join me there"


def terminal_rows(line: str, width: int) -> list[str]:
    """What a terminal shows for `line` printed whole: cut at the right edge, a wide
    character that does not fit moved to the next row."""
    rows, row, used = [], "", 0
    for ch in line:
        if used + char_width(ch) > width:
            rows, row, used = rows + [row], "", 0
        row, used = row + ch, used + char_width(ch)
    return rows + [row]


def attack(width: int, pad: str) -> str:
    """eve's line, padded with `pad` (and a '.' if a wide pad leaves one cell) so that
    FAKE starts at column 0 of the terminal's second row."""
    gap = width - text_width(HEAD)
    return HEAD + pad * (gap // char_width(pad)) + "." * (gap % char_width(pad)) + FAKE


@pytest.mark.parametrize("pad", [" ", "-", "\u5b57"])  # spaces, a visible filler, a wide one
@pytest.mark.parametrize("width", [40, 80, 120])
def test_rows_padding_cannot_start_a_row_with_a_fake_line(width, pad):
    line = attack(width, pad)
    assert terminal_rows(line, width)[1].startswith(FAKE[:20])  # the attack, printed whole
    rows = wrap_rows(line, width)
    assert rows[0].startswith("[general] eve:") and len(rows) > 1
    for row in rows[1:]:
        assert row.startswith(MARKER) and not row.startswith("["), rows
    assert all(text_width(row) <= width for row in rows), rows


@pytest.mark.parametrize("width", [40, 80, 120])
def test_rows_keep_every_word_and_break_at_spaces(width):
    line = "[red] ann: " + " ".join(f"word{i}" for i in range(60))
    rows = wrap_rows(line, width)
    assert " ".join(row.removeprefix(MARKER) for row in rows) == line
    assert all(text_width(row) <= width for row in rows)


def test_rows_wide_characters_count_two_cells():
    rows = wrap_rows("\u5b57" * 50, 40)
    assert [text_width(row) for row in rows] == [40, 40, 28]  # marker 4 + 18 wide, ...
    assert rows[1] == MARKER + "\u5b57" * 18


def test_rows_a_line_that_fits_is_one_row_unchanged():
    for line in ["", "* bob joined red", "    X | O |  ", "! Not connected."]:
        assert wrap_rows(line, 80) == [line.rstrip()]


def test_rows_a_real_line_never_starts_like_a_continuation():
    """The marker is unlike the start of anything format_entry prints."""
    assert not MARKER[0].isalnum() and MARKER[0] not in "[*!" and not MARKER.startswith("    ")
