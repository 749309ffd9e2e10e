"""The message pane: a bounded list of entries, word wrapping, and the scroll position.

Stores entries, not screen lines, so a resize re-wraps; wraps lazily, per width,
only what is shown. Must not import curses, socket, selectors or threading; it
measures cells with chat.width alone.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass
from typing import Iterable

from chat.width import clip, sanitize, text_width

__all__ = [
    "Entry", "Line", "Scrollback", "Segment", "line_ranges", "message", "notice", "wrap",
    "STYLE_NICK", "STYLE_SYSTEM", "STYLE_TEXT", "STYLE_TIME", "SMALL_INDENT", "MARKER",
]

Segment = tuple[str, str]  # (text, style name); the view maps style names to attributes
Line = list[Segment]

STYLE_TIME, STYLE_NICK, STYLE_TEXT, STYLE_SYSTEM = "time", "speaker", "text", "system"
SMALL_INDENT = 2  # hanging indent when the real prefix would take over half the width
MARKER = "--- new since you looked ---"  # the read marker, drawn above the first unseen
STYLE_MARKER = "marker"


@dataclass(frozen=True)
class Entry:
    """One message as received: "HH:MM" (or ""), styled segments, and a kind.

    The first `prefix` segments (e.g. the nick and ": ") are the heading that
    continuation lines hang under. Segment text is sanitized on the way in.
    """

    time: str
    segments: tuple[Segment, ...]
    kind: str = "message"
    prefix: int = 0

    def __post_init__(self) -> None:
        clean = tuple((sanitize(text), style) for text, style in self.segments)
        object.__setattr__(self, "segments", clean)
        object.__setattr__(self, "time", sanitize(self.time))


def message(time: str, nick: str, text: str, *, nick_style: str = STYLE_NICK,
            kind: str = "message") -> Entry:
    """`HH:MM nick: text`, hanging under the text."""
    return Entry(time, ((nick, nick_style), (": ", STYLE_TEXT), (text, STYLE_TEXT)), kind, 2)


def notice(time: str, text: str, *, style: str = STYLE_SYSTEM, kind: str = "system") -> Entry:
    """`HH:MM text` for joins, errors and game news, hanging under the text."""
    return Entry(time, ((text, style),), kind)


# --- wrapping ---------------------------------------------------------------

_WORD = re.compile(r"[^ ]+")


def _all_segments(entry: Entry) -> list[Segment]:
    head = [(entry.time, STYLE_TIME), (" ", STYLE_TEXT)] if entry.time else []
    return head + [seg for seg in entry.segments if seg[0]]


def _hanging_indent(entry: Entry, width: int) -> int:
    head = [entry.time, " "] if entry.time else []
    indent = text_width("".join(head + [text for text, _ in entry.segments[:entry.prefix]]))
    return indent if indent <= width // 2 else min(SMALL_INDENT, width // 2)


class _Breaker:
    """Greedy word wrap of plain text into (start, end) index ranges, one per line."""

    def __init__(self, text: str, first: int, rest: int) -> None:
        self.text, self.rest = text, rest
        self.ranges: list[tuple[int, int]] = []
        self.start = self.end = self.used = 0
        self.budget = first
        self.fresh = False  # a continuation line with nothing on it yet

    def _gap(self, at: int) -> int:
        return 0 if self.fresh else at - self.end  # the gap is ASCII spaces only

    def _room(self, at: int) -> int:
        return self.budget - self.used - self._gap(at)

    def _put(self, a: int, b: int, cells: int) -> None:
        if self.fresh:
            self.start = a
        self.used += self._gap(a) + cells
        self.end, self.fresh = b, False

    def _newline(self) -> None:
        self.ranges.append((self.start, self.end))
        self.used, self.budget, self.fresh = 0, self.rest, True

    def word(self, a: int, b: int) -> None:
        cells = text_width(self.text[a:b])
        if cells <= self._room(a):
            return self._put(a, b, cells)
        if cells <= self.rest:
            self._newline()
            return self._put(a, b, cells)
        self._split(a, b)

    def _split(self, a: int, b: int) -> None:
        """A word longer than a line: fill what room there is, then whole lines."""
        while a < b:
            cut = a + len(clip(self.text[a:b], self._room(a)))
            if cut == a and not self.fresh:
                self._newline()
                continue
            if cut == a:  # a wide character on a one-cell line: clipped when styled
                cut = a + 1 + len(clip(self.text[a + 1:b], 0))  # with its marks
            self._put(a, cut, text_width(self.text[a:cut]))
            a = cut
            if a < b:
                self._newline()

    def finish(self) -> list[tuple[int, int]]:
        return self.ranges + [(self.start, self.end)]


def line_ranges(text: str, first: int, rest: int) -> list[tuple[int, int]]:
    """Word wrap `text`: the (start, end) of each line, the first at most `first`
    cells, the others `rest`; the spaces where a line breaks belong to neither."""
    breaker = _Breaker(text, first, rest)
    for match in _WORD.finditer(text):
        breaker.word(*match.span())
    return breaker.finish()


def _spans(segments: list[Segment]) -> list[tuple[int, int, str]]:
    spans, at = [], 0
    for text, style in segments:
        spans.append((at, at + len(text), style))
        at += len(text)
    return spans


def _styled(text: str, spans: list[tuple[int, int, str]], a: int, b: int) -> Line:
    return [(text[max(a, s):min(b, e)], style) for s, e, style in spans if s < b and e > a]


def _fit(line: Line, width: int) -> Line:
    """Merge neighbours of one style and clip to `width` cells."""
    out: Line = []
    for text, style in line:
        text = clip(text, width)
        width -= text_width(text)
        if out and out[-1][1] == style:
            out[-1] = (out[-1][0] + text, style)
        elif text:
            out.append((text, style))
    return out


def wrap(entry: Entry, width: int) -> list[Line]:
    """`entry` as screen lines of at most `width` cells: word wrapped, long words
    broken, continuation lines indented under the message body."""
    if width <= 0:
        return []
    segments = _all_segments(entry)
    text = "".join(t for t, _ in segments)
    indent = _hanging_indent(entry, width)
    spans, pad = _spans(segments), [(" " * indent, STYLE_TEXT)] if indent else []
    ranges = line_ranges(text, width, width - indent)
    return [_fit((pad if i else []) + _styled(text, spans, a, b), width)
            for i, (a, b) in enumerate(ranges)]


# --- the pane ---------------------------------------------------------------

Position = tuple[int, int]  # (entry number, line within that entry's wrapped lines)


class Scrollback:
    """Entries, newest last, and what part of them the pane shows.

    Scrolled back, the pane is pinned to its top line: new entries do not move it
    and are counted in `unread` (those of a kind in `counted` in `unread_counted` too).
    `visible()` records the pane size that scroll_up/scroll_down and page_up/page_down
    work in.

    The read marker (with `read_marker`): while the user does not see what arrives (scrolled back, or
    told so by `look_away`), the first message that arrives gets MARKER drawn above
    it, or above the dividers just before it; there is one marker, and the next
    absence moves it.  Entries of a `quiet` kind (notices, what the user did) are not
    messages: they neither take it nor let dividers before them take it.
    """

    def __init__(self, max_entries: int = 10_000, counted: frozenset[str] = frozenset(), *,
                 read_marker: bool = False, quiet: frozenset[str] = frozenset(),
                 dividers: frozenset[str] = frozenset()) -> None:
        self._entries: deque[Entry] = deque(maxlen=max_entries)
        self._start = 0             # the number of the oldest entry (numbers never change)
        self._width, self._height = 80, 24
        self._wrapped: dict[int, list[Line]] = {}  # entry number -> lines at _width
        self._top: Position | None = None  # None: following the newest
        self._arrived = 0           # entries appended while scrolled back
        self.read_marker, self.quiet, self.dividers = read_marker, quiet, dividers
        self.marker: int | None = None  # the entry number the read marker is drawn above
        self._away = False          # told the user does not see what arrives
        self._marked = True         # this absence has placed its marker (or none began)
        self._candidate: int | None = None  # the first of the dividers just appended
        self._counted = counted
        self._counted_at: list[int] = []  # the numbers of those of them of a counted kind

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(self._entries)

    def append(self, entry: Entry) -> None:
        """Add the newest entry, dropping the oldest beyond max_entries. O(1)."""
        if len(self._entries) == self._entries.maxlen:
            self._wrapped.pop(self._first, None)
            self._start += 1
        self._entries.append(entry)
        if self._top is not None:
            self._arrived += 1
            if entry.kind in self._counted:
                self._counted_at.append(self._last)
        if not self._marked and self._absent:
            self._watch(entry, self._last)

    # the read marker

    @property
    def away(self) -> bool:
        """`look_away` was called, and `look_back` not since."""
        return self._away

    @property
    def _absent(self) -> bool:
        return self._top is not None or self._away

    def _begin_absence(self) -> None:
        """Call before the user stops seeing what arrives."""
        if self.read_marker and not self._absent:
            self._marked, self._candidate = False, None

    def look_away(self) -> None:
        """The user does not see what arrives now (disconnected, away)."""
        self._begin_absence()
        self._away = True

    def look_back(self) -> None:
        """The user sees what arrives again (unless scrolled back)."""
        self._away = False

    def _watch(self, entry: Entry, number: int) -> None:
        if entry.kind in self.dividers:
            if self._candidate is None:
                self._candidate = number
        elif entry.kind in self.quiet:
            self._candidate = None
        else:
            self._mark(number if self._candidate is None else self._candidate)

    def _mark(self, number: int) -> None:
        for old in (self.marker, number):
            self._wrapped.pop(old, None)
        self.marker, self._marked, self._candidate = number, True, None

    def extend(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self.append(entry)

    def prepend(self, entries: list[Entry]) -> None:
        """Add older entries above the oldest (a page of the room's past), as many as
        there is room for, newest first; the pane stays where it is."""
        for entry in reversed(entries):
            if len(self._entries) == self._entries.maxlen:
                break
            self._entries.appendleft(entry)
            self._start -= 1

    @property
    def at_top(self) -> bool:
        """The oldest line is in the pane."""
        return bool(self._entries) and (self._top or self._bottom_top()) == (self._first, 0)

    def clear(self) -> None:
        self._start += len(self._entries)
        self._entries.clear()
        self._wrapped.clear()
        self._top, self._arrived, self._counted_at = None, 0, []
        self.marker = None

    # entry numbering and lines

    @property
    def _first(self) -> int:
        return self._start

    @property
    def _last(self) -> int:
        return self._start + len(self._entries) - 1

    def _lines(self, number: int) -> list[Line]:
        lines = self._wrapped.get(number)
        if lines is None:
            entry = self._entries[number - self._first]
            lines = wrap(entry, self._width)
            if number == self.marker:
                lines = wrap(Entry(" " * len(entry.time), ((MARKER, STYLE_MARKER),),
                                   STYLE_MARKER), self._width) + lines
            self._wrapped[number] = lines
        return lines

    def _up(self, pos: Position, n: int) -> Position:
        number, k = pos
        while n > k and number > self._first:
            n -= k + 1
            number -= 1
            k = len(self._lines(number)) - 1
        return number, max(k - n, 0)

    def _down(self, pos: Position, n: int) -> tuple[Position, int]:
        """Move down up to n lines; returns where, and how many lines that was."""
        number, k = pos
        moved = 0
        while True:
            step = min(n - moved, len(self._lines(number)) - 1 - k)
            k, moved = k + step, moved + step
            if moved == n or number == self._last:
                return (number, k), moved
            number, k, moved = number + 1, 0, moved + 1

    def _bottom_top(self) -> Position:
        """The top line of the pane when it shows the newest line at the bottom."""
        last = self._last
        return self._up((last, len(self._lines(last)) - 1), self._height - 1)

    # scrolling

    @property
    def at_bottom(self) -> bool:
        return self._top is None

    @property
    def unread(self) -> int:
        """Entries that arrived while scrolled back and are still below the pane."""
        if self._top is None:
            return 0
        return min(self._arrived, self._last - self._bottom())

    @property
    def unread_counted(self) -> int:
        """Of `unread`, those of a kind in `counted` (private messages, for the status bar)."""
        if self._top is None or not self._counted_at:
            return 0
        return len(self._counted_at) - bisect_right(self._counted_at, self._bottom())

    def _bottom(self) -> int:
        """The number of the entry at the bottom of the pane, scrolled back."""
        (bottom, _), _ = self._down(self._top, self._height - 1)
        return bottom

    def scroll_up(self, lines: int) -> None:
        if not self._entries or lines <= 0:
            return
        self._begin_absence()
        self._top = self._up(self._top or self._bottom_top(), lines)
        self._settle()

    def scroll_down(self, lines: int) -> None:
        if self._top is not None and lines > 0:
            self._top, _ = self._down(self._top, lines)
            self._settle()

    def page_up(self) -> None:
        self.scroll_up(max(self._height - 1, 1))

    def page_down(self) -> None:
        self.scroll_down(max(self._height - 1, 1))

    def scroll_to_bottom(self) -> None:
        self._top, self._arrived, self._counted_at = None, 0, []

    def _settle(self) -> None:
        """Keep the pinned top valid; once the newest line shows, follow again."""
        if self._top is None:
            return
        if not self._entries:
            return self.scroll_to_bottom()
        number, k = self._top
        if number < self._first:
            number, k = self._first, 0  # the pinned entry fell off the end
        self._top = number, min(k, len(self._lines(number)) - 1)
        if self._down(self._top, self._height)[1] < self._height:
            self.scroll_to_bottom()

    # drawing

    def visible(self, width: int, height: int) -> list[Line]:
        """The lines to draw, top to bottom, newest at the bottom: at most `height`."""
        if width <= 0 or height <= 0:
            return []
        if width != self._width:
            self._wrapped.clear()
        self._width, self._height = width, height
        self._settle()
        if not self._entries:
            return []
        return self._lines_from(self._top or self._bottom_top(), height)

    def _lines_from(self, pos: Position, count: int) -> list[Line]:
        number, k = pos
        out: list[Line] = []
        while len(out) < count and number <= self._last:
            out.extend(list(line) for line in self._lines(number)[k:k + count - len(out)])
            number, k = number + 1, 0
        return out
