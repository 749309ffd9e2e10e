"""Line mode's terminal rows: one printed line word wrapped to the window's width,
every continuation row marked so that no wrapped half can pass for a line of its own.

Pure: must not import curses, socket, selectors or threading; cells are measured
with chat.width (wide characters count 2).
"""
from __future__ import annotations

from chat.client.scrollback import line_ranges
from chat.width import text_width

# Starts every continuation row.  A real line starts with `[`, `*`, `!`, a letter, or
# four spaces (a board row): never with two spaces and a bar.
MARKER = "  | "


def wrap_rows(line: str, width: int) -> list[str]:
    """`line` as rows of at most `width` cells (if `width` leaves room for the marker
    and a character): word wrapped, long words broken, each row after the first
    starting with MARKER."""
    rest = max(width - text_width(MARKER), 1)
    ranges = line_ranges(line, max(width, 1), rest)
    return [line[a:b] if i == 0 else MARKER + line[a:b] for i, (a, b) in enumerate(ranges)]
