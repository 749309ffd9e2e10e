"""The curses view: the only module that imports curses.

Copies the frames that chat/client/frame.py paints from the client's state to the
screen, and turns keys into editor actions.  One loop: select over the socket, the
terminal and a signal wake-up pipe (on Windows: the socket, then poll keys).
"""
from __future__ import annotations

import curses
import locale
import os
import select
import signal
import sys
import time
import zlib

from chat.client import core as c
from chat.client import events as ev
from chat.client import frame
from chat.client import keys
from chat.client import prompt
from chat.client import scrollback as sb
from chat.client import settings
from chat.client.lineedit import LineEditor
from chat.client.net import ConnectError, Link
from chat.client.tls import ClientTLS, TrustError, Untrusted

# windows-curses (PDCurses) reads the console itself: select cannot watch it (keys are
# polled), there is no SIGWINCH (a resize is a KEY_RESIZE) and no wake-up pipe.  The
# tests switch this on to run that branch here, on ncurses.
WINDOWS = sys.platform == "win32"
KEY_POLL = 0.03  # seconds between looks at the keys, where they cannot be selected on
DIM = curses.A_DIM  # 0 under PDCurses, which has no dim: grey stands in (tests set it so)
GREY = 8  # the bright black of a 16-colour terminal or console
WRITE = 2  # (chat.tls.WRITE: what a TLS handshake may wait for)
QUIT_GRACE = 1.0  # seconds to wait for the server's goodbye after /quit
MAX_READ_PER_TURN = 1 << 14  # bytes read from the server before the screen is painted again


# ------------------------------------------------------------------ styles
class Styles:
    """Style names (from the scrollback and the view) to curses attributes."""
    NICK_COLOURS = ("CYAN", "GREEN", "YELLOW", "MAGENTA", "BLUE", "RED")
    DIMMED = ("time", "system", "notice", "past")  # set apart from what is said now

    def __init__(self) -> None:
        self.colour = curses.has_colors()
        base = {"time": DIM, "text": curses.A_NORMAL, "system": DIM,
                "notice": DIM, "info": curses.A_NORMAL, "error": curses.A_BOLD,
                "own": curses.A_BOLD, "mention": curses.A_BOLD | curses.A_REVERSE,
                "status": curses.A_REVERSE, "prompt": curses.A_BOLD,
                "emphasis": curses.A_BOLD | curses.A_REVERSE, "panel": curses.A_NORMAL,
                "speaker": curses.A_BOLD, "title": curses.A_BOLD | curses.A_UNDERLINE,
                "past": DIM, "marker": curses.A_BOLD, "topic-bar": curses.A_REVERSE,
                "private": curses.A_BOLD}
        self.attrs = base
        self.nick_attrs = [curses.A_BOLD]
        if self.colour:
            self._init_colours()
        else:  # others' nicks are bold too, with no colour to tell them apart: mark mine
            base["own"] = curses.A_BOLD | curses.A_UNDERLINE

    def _init_colours(self) -> None:
        curses.start_color()
        try:
            curses.use_default_colors()
            background = -1
        except curses.error:
            background = curses.COLOR_BLACK
        for i, name in enumerate(self.NICK_COLOURS, start=1):
            curses.init_pair(i, getattr(curses, f"COLOR_{name}"), background)
        self.nick_attrs = [curses.color_pair(i) | curses.A_BOLD for i in range(1, 7)]
        curses.init_pair(7, curses.COLOR_RED, background)
        curses.init_pair(8, curses.COLOR_BLACK, curses.COLOR_CYAN)
        self.attrs["error"] = curses.color_pair(7) | curses.A_BOLD
        self.attrs["status"] = curses.color_pair(8)
        if not DIM and curses.COLORS > GREY:
            curses.init_pair(9, GREY, background)
            self.attrs.update(dict.fromkeys(self.DIMMED, curses.color_pair(9)))

    def attr(self, style: str) -> int:
        if style.startswith("nick:"):
            return self.nick_attr(style[5:])
        return self.attrs.get(style, curses.A_NORMAL)

    def nick_attr(self, nick: str) -> int:
        """A stable colour per nick: the same for every client and every run."""
        return self.nick_attrs[zlib.crc32(nick.casefold().encode()) % len(self.nick_attrs)]


# ------------------------------------------------------------------ the view
class Tui:
    def __init__(self, screen, core: c.ClientCore, host: str, port: int,
                 link: Link | None, on_quit=None, tls: ClientTLS | None = None,
                 untrusted: Untrusted | None = None) -> None:
        self.screen, self.core, self.host, self.port = screen, core, host, port
        self.tls = tls  # every connect, the first and each reconnect, makes the same checks
        self.untrusted = untrusted  # a certificate the user is asked about
        self.core.reconnects = True  # when the server goes away, and on Enter while away
        # The panel shows a board, the pane the move in words; a board the panel has no
        # room for goes into the pane.
        self.core.shows_panel = self._shows_panel
        self.link = link
        self.escape = keys.EscapeKeys()
        self.on_quit = on_quit
        self.styles = Styles()
        self._away = False  # the core's away, as the scrollback was last told it
        self.scroll = sb.Scrollback(counted=frozenset({c.PRIVATE}), read_marker=True,
                                    quiet=c.QUIET_KINDS, dividers=frozenset({c.DIVIDER}))
        self.editor = LineEditor()
        self.done = False
        self.resized = False
        self.shown: frame.Frame | None = None  # the frame on the screen; None: draw anew
        self._wake_r, self._wake_w = (None, None) if WINDOWS else os.pipe()

    # -------------------------------------------------------------- setup
    def run(self) -> int:
        curses.raw()
        curses.noecho()
        self.screen.keypad(True)
        self.screen.nodelay(True)
        self._install_resize_signal()
        if self.link is not None:
            self.core.connection_made(self.link.encryption)
        elif self.untrusted is not None:
            self.core.ask_trust(str(self.untrusted))
        try:
            while not self.done:
                self._absorb()
                self.paint()
                self._wait()
        except KeyboardInterrupt:
            pass
        self._quit()
        return 0

    def _install_resize_signal(self) -> None:
        if WINDOWS:
            return
        os.set_blocking(self._wake_w, False)
        os.set_blocking(self._wake_r, False)
        signal.set_wakeup_fd(self._wake_w)
        signal.signal(signal.SIGWINCH, self._on_sigwinch)

    def _on_sigwinch(self, *_: object) -> None:
        self.resized = True

    def _quit(self) -> None:
        if self.link is not None and self.core.connected:
            self.core.quit()
            self._send()
            self._await_goodbye(QUIT_GRACE)
        if self.link is not None:
            self.link.close()
            self.link = None
        if self.on_quit is not None:
            self.on_quit()

    def _await_goodbye(self, grace: float) -> None:
        """Read until the server closes after our /quit (or `grace` runs out), so it
        sees the /quit before the socket goes: a host's embedded server is not kept
        waiting for a client that has stopped reading."""
        end = time.monotonic() + grace
        while self.link is not None and (left := end - time.monotonic()) > 0:
            self._flush()
            if self.link is None or not select.select([self.link.sock], [], [], left)[0]:
                return
            try:
                if self.link.recv() == b"":  # end of file: the server let us go
                    return
            except OSError:
                return

    # -------------------------------------------------------------- the loop
    def _wait(self) -> None:
        now = time.monotonic()
        wakes = [t for t in (self.core.wake_at(now), self.core.next_send_at()) if t is not None]
        timeout = max(0.0, min(wakes) - now) if wakes else None
        reads, writes = [], []
        if self.link is not None:
            reads.append(self.link.sock)
            if self.link.connecting or self.link.pending or (
                    self.link.shaking and self.link.wants == WRITE):
                writes.append(self.link.sock)
        if WINDOWS:
            timeout = KEY_POLL if timeout is None else min(timeout, KEY_POLL)
        else:
            reads += [sys.stdin.fileno(), self._wake_r]
        # Windows reports a failed connect in the exceptional set, not as writable (as
        # selectors.SelectSelector knows): watched there too, it ends a reconnect's wait.
        ready_r, ready_w, failed = select.select(reads, writes, writes, timeout) \
            if reads or writes else (time.sleep(timeout or KEY_POLL) or [], [], [])
        self._on_ready(ready_r, ready_w + failed)

    def _on_ready(self, ready_r: list, ready_w: list) -> None:
        if self._wake_r is not None and self._wake_r in ready_r:
            try:
                os.read(self._wake_r, 512)
            except BlockingIOError:
                pass
        if self.resized:
            self._resize()
        # Keys waiting go first, and the server's lines wait for the next turn (select
        # says so at once): a key typed in a burst is drawn after one paint, not after
        # MAX_READ_PER_TURN of the burst is taken in too.
        typed = not WINDOWS and sys.stdin.fileno() in ready_r and self._read_keys()
        if self.link is not None and self.link.shaking:
            if self.link.sock in ready_r or self.link.sock in ready_w:
                self._step_tls()
        else:
            if self.link is not None and self.link.sock in ready_w:
                self._on_writable()
            if self.link is not None and self.link.sock in ready_r and not typed:
                self._on_readable()
        if not typed:
            self._read_keys()
        self.core.tick(time.monotonic())  # its requests (reconnect, hang up) are met in _absorb
        self._send()

    def _on_writable(self) -> None:
        if self.link.connecting:
            try:
                self.link.finish_connect(self.host, self.port)
            except ConnectError as exc:
                self.link = None  # (closed by finish_connect)
                self.core.connect_failed(str(exc))
                return
            if self.tls is not None:
                self.link.start_tls(self.host, self.port, self.tls)
                self._step_tls()  # (the first step sends the ClientHello)
                return
            self.core.connection_made()  # the backoff restarts once the server greets us
        else:
            self._flush()

    def _step_tls(self) -> None:
        """The TLS handshake of a reconnect, a step at a time: its certificate is
        checked as the first connection's was."""
        try:
            done = self.link.step_tls()
        except ConnectError as exc:
            self.link = None  # (closed by step_tls)
            self.core.connect_failed(str(exc))
            return
        except Untrusted as exc:
            self.link, self.untrusted = None, exc
            self.core.ask_trust(str(exc))
            return
        except TrustError as exc:
            self.link = None
            self.core.refused_trust(str(exc))
            return
        if done:
            self.core.connection_made(self.link.encryption)

    def on_trust_answer(self, answer: ev.TrustAnswer) -> None:
        """Yes: the certificate is remembered (known_servers) and the connect starts."""
        untrusted, self.untrusted = self.untrusted, None
        if not answer.yes or untrusted is None:
            return
        try:
            self.tls.remember(untrusted.key, untrusted.fingerprint)
        except TrustError as exc:
            self.core.note(f"{exc}.", error=True)
            return
        self.core.note(f"Trusted: {untrusted.fingerprint} is kept for {untrusted.key} in "
                       f"{self.tls.known_path}.")
        self._reconnect_now()

    def _on_readable(self) -> None:
        total = 0
        while self.link is not None and total < MAX_READ_PER_TURN:
            try:
                data = self.link.recv(MAX_READ_PER_TURN - total)  # (a turn's budget, not more)
            except OSError as exc:
                self._lost(exc.strerror or str(exc))
                return
            if data is None:
                return
            if not data:
                self._lost("the server closed the connection")
                return
            total += len(data)
            self.core.receive_data(data)
            if self.core.foreign:  # not a Parlor server: hang up now, before its EOF
                self.core.requests.remove(ev.NotParlor())
                self._stop_trying()
                return

    def _send(self) -> None:
        data = self.core.data_to_send(time.monotonic())
        if data and self.link is not None and not self.link.connecting:
            self.link.pending += data
        self._flush()
        if self.core.quitting and (self.link is None or not self.link.pending):
            self.done = True

    def _flush(self) -> None:
        if self.link is None or self.link.connecting:
            return
        try:
            self.link.flush()
        except OSError as exc:
            self._lost(exc.strerror or str(exc))

    # -------------------------------------------------------------- connection
    # (When to try again, and what to say, is the core's: this only dials and hangs up.)
    def _lost(self, reason: str) -> None:
        self._hang_up()
        self.scroll.look_away()  # what comes after the reconnect gets the read marker
        self.core.connection_lost(reason)
        if self.core.quitting:
            self.done = True

    def _hang_up(self) -> None:
        if self.link is not None:
            self.link.close()
            self.link = None

    def _reconnect_now(self) -> None:
        """Connect again (/reconnect, Enter while away, a retry that is due): a live
        connection is ended first, so the core forgets the old session and rejoins its
        room under its nick on the new one."""
        if self.link is not None and self.core.connected:
            self.scroll.look_away()
            self.core.connection_lost("you asked for a new connection", asked=True)
        self._hang_up()
        try:
            self.link = Link.start(self.host, self.port)
        except ConnectError as exc:
            self.core.connect_failed(str(exc))
            return
        self.core.connect_started()

    # -------------------------------------------------------------- keys
    def _read_keys(self) -> bool:
        """The keys waiting, each acted on; whether there were any."""
        typed = False
        while True:
            try:
                key = self.screen.get_wch()
            except curses.error:
                self.escape.reset()  # nothing more waiting: a lone Esc does nothing
                return typed
            typed = True
            self._on_key(key)
            if self.done:
                return typed

    def _on_key(self, key: str | int) -> None:
        name = key if isinstance(key, str) else _key_name(key)
        if name in keys.PAD_MOVES:  # the keypad's Home, arrows... with NumLock off
            name = keys.PAD_MOVES[name]
            key = getattr(curses, name)
        key = keys.PAD_TEXT.get(name, key)  # (PDCurses: a keypad key as its character)
        edit = self.escape.feed(key if isinstance(key, str) else name)
        if edit is not None:
            if edit:
                getattr(self.editor, edit)()
            return
        action = KEYS.get(key)
        if action is not None:
            action(self)
        elif isinstance(key, str) and keys.is_text(key):
            self.editor.insert(key)
            self.scroll.scroll_to_bottom()

    def key_enter(self) -> None:
        line = self.editor.submit()
        self.scroll.scroll_to_bottom()
        self.core.submit(line)  # an empty line while away: connect now
        self._absorb()

    def key_tab(self) -> None:
        if not prompt.complete(self.editor, self.core):
            curses.beep()

    def key_quit(self) -> None:
        self.done = True

    def key_redraw(self) -> None:
        self._clear()

    def _clear(self) -> None:
        """Clear the screen (redrawn in full at the next refresh): draw the next frame anew."""
        self.screen.clear()
        self.shown = None

    def key_page_up(self) -> None:
        """Up a page; at the top, the room's older messages are fetched (and come
        above, for the next PgUp)."""
        at_top = self.scroll.at_top
        self.scroll.page_up()
        if at_top:
            self.core.fetch_older()

    def key_page_down(self) -> None:
        self.scroll.page_down()

    def key_end(self) -> None:
        if not self.editor.text or self.editor.cursor == len(self.editor.text):
            self.scroll.scroll_to_bottom()
        self.editor.end()

    def _resize(self) -> None:
        """SIGWINCH came (never on Windows): curses is told the terminal's new size."""
        self.resized = False
        size = os.get_terminal_size(sys.stdout.fileno())
        curses.resizeterm(size.lines, size.columns)
        self._resized()

    def key_resize(self) -> None:
        if WINDOWS:
            # PDCurses learns the console's new size from resize_term(0, 0) (windows-
            # curses 2 has called it already, and again does no harm); ncurses
            # refuses it with an error, which changes nothing.
            try:
                curses.resize_term(0, 0)
            except curses.error:
                pass
        self._resized()

    def _resized(self) -> None:
        self._clear()
        self.core.refit()  # a board the panel has no room for now goes into the pane

    def _shows_panel(self, panel: c.Panel) -> bool:
        h, w = self.screen.getmaxyx()
        return frame.panel_shows(self.core, panel, h, w)

    # -------------------------------------------------------------- core output
    def _absorb(self) -> None:
        """Move the core's new entries into the scrollback; act on its requests."""
        entries = self.core.take_entries()
        if entries:
            self.scroll.extend(frame.to_scroll_entry(e) for e in entries)
        if self.core.away != self._away:  # /away: what comes meanwhile gets the read marker
            self._away = self.core.away
            if self._away:
                self.scroll.look_away()
            elif self.core.caught_up:
                self.scroll.look_back()
        if self.scroll.away and self.core.caught_up and not self._away:
            self.scroll.look_back()  # back, and the catch-up is in (it had the marker)
        older = self.core.take_older()
        if older:
            at_top = self.scroll.at_top  # waiting for it there: show it at once
            self.scroll.prepend([frame.to_scroll_entry(e) for e in older])
            if at_top:
                self.scroll.page_up()
        for event in self.core.requests:
            handler = REQUESTS.get(type(event))
            if handler is not None:
                handler(self)
            elif isinstance(event, ev.TrustAnswer):
                self.on_trust_answer(event)
        self.core.requests.clear()
        if self.core.quitting and not self.core.connected:
            self.done = True

    def on_clear_pane(self) -> None:
        self.scroll.clear()

    def on_bell(self) -> None:
        curses.beep()

    def on_save_settings(self) -> None:
        settings.save_from(self.core)


    def _stop_trying(self) -> None:
        """The peer is not a Parlor server (the core has said so): hang up; the core
        does not plan a retry."""
        self._hang_up()
        self.core.connection_lost("not a Parlor server", quiet=True)

    # -------------------------------------------------------------- painting
    def paint(self) -> None:
        """Paint the state as a frame and copy it to the screen, if it changed."""
        self._absorb()
        h, w = self.screen.getmaxyx()
        connection = self.core.connection_state(time.monotonic())
        shown = frame.paint(self.core, self.scroll, self.editor, h, w,
                            address=f"{self.host}:{self.port}", connection=connection)
        if shown != self.shown:
            self.draw(shown)
            self.shown = shown

    def draw(self, shown: frame.Frame) -> None:
        """Copy a frame's runs to the screen and put the cursor where it says."""
        self.screen.erase()
        for y, runs in enumerate(shown.rows):
            for x, text, style in runs:
                try:
                    self.screen.addstr(y, x, text, self.styles.attr(style))
                except curses.error:
                    pass  # writing the bottom-right cell moves the cursor off screen: harmless
        if shown.cursor is not None:
            try:
                curses.curs_set(1)
            except curses.error:
                pass
            self.screen.move(*shown.cursor)
        self.screen.noutrefresh()
        curses.doupdate()


def _key_name(key: int) -> str:
    """curses' name for a key code: 'KEY_LEFT', or a terminfo name such as 'kLFT5'."""
    try:
        return curses.keyname(key).decode("ascii", "replace")
    except (ValueError, OverflowError):
        return ""


def _editor_key(name: str):
    return lambda tui: getattr(tui.editor, name)()


REQUESTS = {  # what the core asks of the view (chat/client/events.py)
    ev.ClearPane: Tui.on_clear_pane, ev.Bell: Tui.on_bell,
    ev.Reconnect: Tui._reconnect_now, ev.Hangup: Tui._hang_up, ev.NotParlor: Tui._stop_trying,
    ev.SaveSettings: Tui.on_save_settings,
}
KEYS = {
    "\n": Tui.key_enter, "\r": Tui.key_enter, curses.KEY_ENTER: Tui.key_enter,
    "\t": Tui.key_tab, "\x03": Tui.key_quit, "\x0c": Tui.key_redraw,
    curses.KEY_RESIZE: Tui.key_resize,
    curses.KEY_PPAGE: Tui.key_page_up, curses.KEY_NPAGE: Tui.key_page_down,
    curses.KEY_END: Tui.key_end, "\x05": Tui.key_end,
    curses.KEY_LEFT: _editor_key("left"), "\x02": _editor_key("left"),
    curses.KEY_RIGHT: _editor_key("right"), "\x06": _editor_key("right"),
    curses.KEY_HOME: _editor_key("home"), "\x01": _editor_key("home"),
    curses.KEY_BACKSPACE: _editor_key("backspace"), "\x7f": _editor_key("backspace"),
    "\x08": _editor_key("backspace"),
    curses.KEY_DC: _editor_key("delete"), "\x04": _editor_key("delete"),
    "\x15": _editor_key("kill_to_start"), "\x0b": _editor_key("kill_to_end"),
    "\x17": _editor_key("kill_word"),
    curses.KEY_UP: _editor_key("history_prev"), "\x10": _editor_key("history_prev"),
    curses.KEY_DOWN: _editor_key("history_next"), "\x0e": _editor_key("history_next"),
}


def terminal_problem() -> str | None:
    """Why curses cannot drive this terminal (no TERM, an unknown one, or one that
    cannot move the cursor, as TERM=dumb), as words; None if it can."""
    if WINDOWS:
        return None  # windows-curses drives the console itself, with no terminfo
    term = os.environ.get("TERM", "")
    if not term:
        return "TERM is not set"
    try:
        curses.setupterm(term, sys.stdout.fileno())
    except curses.error:
        return f"the terminal type {term!r} is not known here"
    if not curses.tigetstr("cup"):
        return f"the terminal type {term!r} cannot move the cursor"
    return None


def run(host: str, port: int, core: c.ClientCore, link: Link | None, on_quit=None,
        tls: ClientTLS | None = None, untrusted: Untrusted | None = None) -> int:
    locale.setlocale(locale.LC_ALL, "")
    os.environ.setdefault("ESCDELAY", "25")
    return curses.wrapper(lambda screen: Tui(screen, core, host, port, link, on_quit, tls,
                                             untrusted).run())
