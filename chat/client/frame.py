"""The full-screen view's screen as data: `paint()` turns the client's state (core,
scrollback, line editor, screen size, connection text) into a `Frame` of styled runs
and a cursor, which the curses view only copies.  Pure: must not import curses,
socket, select, selectors or threading.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

from chat.client import core as c
from chat.client import scrollback as sb
from chat.client.layout import (Layout, fit_prompt, fit_status, panel_block, prompt,
                                status_parts, topic_line)
from chat.client.lineedit import LineEditor
from chat.width import char_width, clip, sanitize, text_width, unjoined

MIN_H, MIN_W = 3, 12  # smaller than this, the frame only says so
TOO_SMALL = "window too small"
_EMPHASIS = re.compile(r"\*([^*]+)\*")

Run = tuple[int, str, str]  # (column, text, style name): the view maps style names to attributes


@dataclass(frozen=True)
class Frame:
    """A whole screen of h x w: each row the runs drawn on it, left to right, and
    the cursor (y, x), or None when the window is too small to type in."""
    h: int
    w: int
    rows: tuple[tuple[Run, ...], ...]
    cursor: tuple[int, int] | None

    def text(self) -> list[str]:
        """The rows as plain strings of exactly w cells each (for tests and logs)."""
        return [_row_text(runs, self.w) for runs in self.rows]

    def runs(self, style: str) -> list[tuple[int, int, str]]:
        """Every (y, x, text) drawn in `style`, top to bottom."""
        return [(y, x, text) for y, runs in enumerate(self.rows)
                for x, text, run_style in runs if run_style == style]


def _row_text(runs: tuple[Run, ...], w: int) -> str:
    cells = [" "] * w  # a wide character's second cell is ""
    for x, text, _ in runs:
        for ch in text:
            cw = char_width(ch)
            if cw == 0 and x > 0:  # a mark or joiner rides on the cell before
                cells[x - 1] += ch
            elif x + cw <= w:
                cells[x:x + cw] = [ch] + [""] * (cw - 1)
            x += cw
    return "".join(cells)


class _Canvas:
    """Rows of runs being painted; a run is clipped to its width and to the screen."""

    def __init__(self, h: int, w: int) -> None:
        self.h, self.w = h, w
        self.rows: list[list[Run]] = [[] for _ in range(h)]

    def put(self, y: int, x: int, text: str, style: str, width: int) -> None:
        """Draw `text` in at most `width` cells at (y, x), as curses can (unjoined)."""
        text = clip(unjoined(text), min(width, self.w - x))
        if text and 0 <= y < self.h and x >= 0:
            self.rows[y].append((x, text, style))

    def frame(self, cursor: tuple[int, int] | None) -> Frame:
        return Frame(self.h, self.w, tuple(tuple(sorted(row)) for row in self.rows), cursor)


def paint(core: c.ClientCore, scroll: sb.Scrollback, editor: LineEditor, h: int, w: int,
          *, address: str, connection: str = "") -> Frame:
    """The screen for h rows of w cells.  `connection` is the core's word for a link
    that is not up (ClientCore.connection_state: "connecting...", "DISCONNECTED,
    reconnecting in 7 s"); "" once the server has greeted us.
    Records the pane's size in `scroll`, as drawing it does."""
    canvas = _Canvas(h, w)
    if h < MIN_H or w < MIN_W:
        canvas.put(0, 0, TOO_SMALL, "error", w)
        return canvas.frame(None)
    topic = topic_line(core, h, w)
    layout, blocks, drawn = _place_games(core, h, w, top=int(bool(topic)))
    if topic:
        canvas.put(0, 0, topic + " " * max(w - text_width(topic), 0), "topic-bar", w)
    _paint_pane(canvas, layout, scroll)
    if drawn:
        _paint_panel(canvas, layout, blocks[:len(drawn)])
    scrolled = "" if scroll.at_bottom else _below(scroll)
    parts = status_parts(core, connection, scrolled, address, bool(blocks) and not layout.panel)
    text = fit_status(parts, w)
    canvas.put(layout.status_y, 0, text + " " * max(w - text_width(text), 0), "status", w)
    return canvas.frame(_paint_input(canvas, layout, core, editor))


def _place_games(core: c.ClientCore, h: int, w: int,
                 top: int = 0) -> tuple[Layout, list[list[str]], list[c.Panel]]:
    """The layout for h x w, the blocks of the (at most two) games to show, and the
    games whose boards the panel draws: none when it does not fit."""
    panels = core.game_panels()[:2]  # the second is drawn below the first if it fits
    blocks = [panel_block(panel) for panel in panels]
    layout = Layout(h, w, blocks[0] if blocks else None, panels[0].width if panels else 0,
                    blocks[1] if len(blocks) > 1 else None, top)
    drawn = panels[:2 if layout.stacked else 1] if layout.panel else []
    return layout, blocks, drawn


def panel_shows(core: c.ClientCore, panel: c.Panel, h: int, w: int) -> bool:
    """Whether a screen of h x w draws `panel`'s board in the game panel (if not, the
    client puts it in the message pane)."""
    if h < MIN_H or w < MIN_W:
        return False
    top = int(bool(topic_line(core, h, w)))
    return any(shown is panel for shown in _place_games(core, h, w, top)[2])


def _paint_pane(canvas: _Canvas, layout: Layout, scroll: sb.Scrollback) -> None:
    y0, x0, ph, pw = layout.pane
    lines = scroll.visible(pw, ph)
    top = y0 + ph - len(lines)
    for i, line in enumerate(lines):
        x = x0
        for text, style in line:
            canvas.put(top + i, x, text, style, x0 + pw - x)
            x += text_width(text)


def _paint_panel(canvas: _Canvas, layout: Layout, blocks: list[list[str]]) -> None:
    """Each block (a title line, then a board) below the last, a blank line between;
    beside the pane, a column of `|` before it."""
    y0, x0, ph, pw = layout.panel
    if x0 > 0:
        for y in range(y0, y0 + ph):
            canvas.put(y, x0 - 1, "|", "time", 1)
    y = y0
    for title, *rows in blocks:
        canvas.put(y, x0 + 1, sanitize(title), "title", pw - 1)
        for i, line in enumerate(rows[:max(y0 + ph - y - 1, 0)], start=1):
            _put_emphasised(canvas, y + i, x0 + 1, sanitize(line), pw - 1)
        y += len(rows) + 2


def _put_emphasised(canvas: _Canvas, y: int, x: int, line: str, width: int) -> None:
    """A board row, each `*X*` drawn as ` X ` in the "emphasis" style."""
    pos = 0
    for match in _EMPHASIS.finditer(line):
        for text, style in ((line[pos:match.start()], "panel"),
                            (f" {match.group(1)} ", "emphasis")):
            cells = text_width(text)  # as wide as it would be, even where clipped
            canvas.put(y, x, text, style, width)
            x, width = x + cells, width - cells
        pos = match.end()
    canvas.put(y, x, line[pos:], "panel", width)


def _paint_input(canvas: _Canvas, layout: Layout, core: c.ClientCore,
                 editor: LineEditor) -> tuple[int, int]:
    """The prompt (at most half the width) and the visible part of the input line;
    returns where the cursor goes."""
    shown_prompt = fit_prompt(sanitize(prompt(core)), layout.w)
    canvas.put(layout.input_y, 0, shown_prompt, "prompt", layout.w)
    offset = text_width(shown_prompt)
    shown, col = editor.view(max(layout.w - offset - 1, 1))
    canvas.put(layout.input_y, offset, shown, "text", layout.w - offset)
    return layout.input_y, min(offset + col, layout.w - 1)


def _below(scroll: sb.Scrollback) -> str:
    """The status bar's word while scrolled back: what came below, the private messages
    counted apart (they are for me)."""
    if not scroll.unread:
        return "scrolled back"
    private = scroll.unread_counted
    return f"MORE BELOW ({scroll.unread} new{f', {private} private' if private else ''})"


def _private(entry: c.Entry, past: bool) -> sb.Entry:
    """`(private) bob -> you: text`, each nick in its colour (mine in my own style)."""
    def who(nick: str) -> str:
        return "past" if past else "own" if nick == c.YOU else f"nick:{nick}"
    mark, text = ("past", "past") if past else ("private", "private")
    segments = (("(private) ", mark), (entry.nick, who(entry.nick)), (" -> ", mark),
                (entry.to, who(entry.to)), (": ", mark), (entry.text, text))
    return sb.Entry(time.strftime("%H:%M", time.localtime(entry.time)), segments, entry.kind, 5)


def _action(entry: c.Entry, past: bool) -> sb.Entry:
    """`* alice waves`, the nick in its colour."""
    style = "past" if past else "text"
    segments = (("* ", style), (entry.nick, "past" if past else f"nick:{entry.nick}"),
                (" ", style), (entry.text, style))
    return sb.Entry(time.strftime("%H:%M", time.localtime(entry.time)), segments, entry.kind, 3)


_SPECIAL = {c.PRIVATE: lambda e: _private(e, False), c.PRIVATE_SENT: lambda e: _private(e, False),
            c.PAST_PRIVATE: lambda e: _private(e, True), c.ACTION: lambda e: _action(e, False),
            c.PAST_ACTION: lambda e: _action(e, True)}


def to_scroll_entry(entry: c.Entry) -> sb.Entry:
    """A core entry as the pane shows it: a clock, then styled segments."""
    special = _SPECIAL.get(entry.kind)
    if special is not None:
        return special(entry)
    hhmm = time.strftime("%H:%M", time.localtime(entry.time))
    if entry.kind in (c.CHAT, c.OWN, c.MENTION):
        nick_style = "own" if entry.kind == c.OWN else f"nick:{entry.nick}"
        text_style = "mention" if entry.kind == c.MENTION else "text"
        segments = ((entry.nick, nick_style), (": ", "text"), (entry.text, text_style))
        return sb.Entry(hhmm, segments, entry.kind, 2)
    if entry.kind == c.PAST:
        segments = ((entry.nick, "past"), (": ", "past"), (entry.text, "past"))
        return sb.Entry(hhmm, segments, entry.kind, 2)
    if entry.kind == c.DIVIDER:
        return sb.Entry(" " * len(hhmm), (("--- ", "past"), (entry.text, "past"),
                                         (" ---", "past")), entry.kind, 1)
    if entry.kind == c.BOARD:  # a final board in the pane: no clock on every row
        return sb.Entry(" " * len(hhmm), (("  ", "info"), (entry.text, "info")), entry.kind, 1)
    marks = {c.NOTICE: ("* ", "notice"), c.ERROR: ("! ", "error"), c.PAST_NOTICE: ("* ", "past")}
    mark, style = marks.get(entry.kind, ("", "info"))
    return sb.Entry(hhmm, ((mark, style), (entry.text, style)), entry.kind, 1)
