"""The full-screen view's geometry and bar texts, sans curses: where the message pane,
the game panel, the status bar and the input line go, and what the status bar and
the prompt say, fitted to the width.  Pure: must not import curses, socket,
selectors, select or threading.
"""
from __future__ import annotations

from dataclasses import dataclass

from chat.client.core import ClientCore, Panel
from chat.width import clip, sanitize, text_width

PANEL_MIN_SIDE = 64   # narrower than this, the panel goes on top
PANEL_TEXT_WIDTH = 30  # the built-in games' rows fit this (PROTOCOL.md): one width per game
WIDEN = " (widen the window for the board)"


class Layout:
    """Where everything goes for a screen of h x w and an optional panel of `lines`,
    kept at least `width` cells wide so it does not change size from move to move.
    `below` is a second block (another game) stacked under the first, with a blank
    line between, when the panel is beside the pane and tall and wide enough.
    `top`: rows kept at the top of the screen (the room's topic), above both."""

    def __init__(self, h: int, w: int, lines: list[str] | None, width: int = 0,
                 below: list[str] | None = None, top: int = 0) -> None:
        self.h, self.w = h, w
        self.status_y, self.input_y = h - 2, h - 1
        self.pane = (top, 0, max(h - 2 - top, 0), w)  # y, x, height, width
        self.panel: tuple[int, int, int, int] | None = None
        self.stacked = False  # `below` is shown too
        if lines:
            self._place_panel(lines, width, below or [])

    def _place_panel(self, lines: list[str], width: int, below: list[str]) -> None:
        y, x, ph, pw = self.pane
        need_w = max(width, PANEL_TEXT_WIDTH, *map(text_width, lines)) + 2
        if self.w >= PANEL_MIN_SIDE and need_w + 20 <= self.w:
            self.panel = (y, self.w - need_w, ph, need_w)
            self.pane = (y, 0, ph, self.w - need_w - 2)  # a blank column before the "|"
            self.stacked = bool(below) and len(lines) + 1 + len(below) <= ph \
                and max(map(text_width, below)) <= need_w - 2
        elif ph - len(lines) - 1 >= 3:
            self.panel = (y, 0, len(lines) + 1, self.w)
            self.pane = (y + len(lines) + 1, 0, ph - len(lines) - 1, self.w)


def panel_block(panel: Panel) -> list[str]:
    """A game's lines for the panel: a title naming the game and its id, then the board,
    padded to the most rows it has had so the panel does not jump from move to move."""
    title = f"{panel.title} {panel.key}" if panel.title else panel.key
    return [title, *panel.lines, *[""] * (panel.height - len(panel.lines))]


TOPIC_MIN_H = 6  # shorter than this, the screen has no row to spare for the topic


def topic_line(core: ClientCore, h: int, w: int) -> str:
    """The top row: my room's topic, cut at a word to the width (with '...' when cut);
    "" when there is none, or no room for it."""
    topic = core.topic_text()
    if not topic or h < TOPIC_MIN_H:
        return ""
    text = f" {topic}"
    if text_width(text) <= w:
        return text
    return clip_words(text, w - 3) + "..."


def prompt(core: ClientCore) -> str:
    """`#room nick> `; while away, the room and nick it will be back in, marked so."""
    room, nick, state = core.place()
    mark = f" ({state})" if state else ""
    if not room:
        return f"lobby{mark}> "
    return f"#{room} {nick}{mark}> " if nick else f"#{room}{mark}> "


MIN_INPUT = 10  # columns the input keeps before the prompt gives way


def fit_prompt(text: str, width: int) -> str:
    """The prompt for a `width`-column input line: whole while the input keeps
    MIN_INPUT columns and the prompt at most half, else cut and still ending in
    '> ', down to '>' alone."""
    budget = min(width // 2, width - MIN_INPUT - 1)
    if text_width(text) <= budget:
        return text
    if budget < 4:
        return ">"
    return clip(text.rstrip("> "), budget - 2) + "> "


@dataclass(frozen=True)
class Part:
    """One field of the status bar; fields of lower `rank` shrink to `short` first."""
    text: str
    rank: int = 99  # 99: never dropped
    short: str = ""


def status_parts(core: ClientCore, connection: str, scrolled: str, address: str,
                 panel_hidden: bool) -> list[Part]:
    """The status bar's fields, most important first: where I am, then the lines
    still waiting to go, then my game, then the connection, then the address."""
    room, nick, state = core.place()
    # Narrow, "DISCONNECTED, reconnecting in 7 s" gives way to its countdown (the room
    # still says "(offline)") before the room is cut.
    parts = [Part(connection, rank=5, short=connection.rpartition(", ")[2])] if connection else []
    parts += [Part(scrolled)] if scrolled else []
    if room:
        parts.append(Part(f"#{room}" + (f" ({state})" if state else "")))
        parts.append(Part(nick or "no nick yet"))
        if core.away:
            parts.append(Part("you are away", rank=4, short="afk"))
        if not state:
            parts.append(Part(f"{core.here_count()} here", rank=3))
    else:
        parts.append(Part("lobby"))
    if core.waiting:  # a paste going out at the client's pace
        waiting = core.waiting
        parts.append(Part(f"sending: {waiting} waiting", rank=4, short=f"{waiting} to send"))
    game = core.game_status()
    if game:
        parts.append(Part(game + WIDEN, rank=2, short=game) if panel_hidden else Part(game))
    if core.connected and not connection:  # (connected, but not greeted: "connecting...")
        parts.append(Part(f"encrypted ({core.encryption})", rank=1, short="TLS")
                     if core.encryption else Part("connected", rank=1))
    parts.append(Part(address, rank=0))
    return parts


def fit_status(parts: list[Part], width: int) -> str:
    """The bar's text in `width` cells: fields shrink lowest rank first; what still
    does not fit is cut at a space, never inside a word."""
    texts = [sanitize(part.text) for part in parts]
    for rank in sorted({part.rank for part in parts if part.rank < 99}):
        if text_width(_join(texts)) <= width:
            break
        texts = [sanitize(part.short) if part.rank == rank else text
                 for part, text in zip(parts, texts)]
    return clip_words(_join(texts), width)


def _join(texts: list[str]) -> str:
    return " " + " | ".join(text for text in texts if text)


def clip_words(text: str, width: int) -> str:
    """`text` cut to `width` cells at a space (a hard cut only for a single long word)."""
    cut = clip(text, width)
    if len(cut) == len(text) or text[len(cut)] == " ":
        return cut.rstrip(" |")
    space = cut.rfind(" ")
    return cut[:space].rstrip(" |") if space > 0 else cut
