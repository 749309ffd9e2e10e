"""The line-mode view: one select loop over the server socket and stdin (seed 004).

Used with --plain, and whenever stdin or stdout is not a terminal.  All protocol
and state handling is in chat.client.core; this module only moves lines.  On a
terminal, typing goes through chat.client.term's prompt row (line editing, lines
printed above it); from a pipe or a file, stdin is read as lines.  Where select
cannot watch stdin (Windows), chat.client.stdin_thread's socket stands in for it.
"""
from __future__ import annotations

import contextlib
import os
import selectors
import sys
import time

from chat import protocol as p
from chat.client import core as c
from chat.client import events as ev
from chat.client import settings
from chat.client import stdin_thread
from chat.client.prompt import EOF
from chat.client.net import ConnectError, Link
from chat.client.tls import ClientTLS, TrustError, Untrusted
from chat.client.rows import wrap_rows
from chat.client.term import PromptTerminal, can_edit

# Requests the core makes that only the full-screen view can carry out: the command
# that asked, and what to do in line mode instead.  (A Bell is not rung here: the
# terminal's own scrollback shows the mention.)
LINE_MODE_CANNOT = {
    ev.Reconnect: (p.Reconnect, "in line mode, start client.py again"),
    ev.ClearPane: (p.ClearPane, "line mode leaves what has scrolled by in the terminal"),
}
QUIT_GRACE = 2.0  # seconds of silence from the server, after /quit, before giving up on it
SETTLE_WAIT = 5.0  # seconds to hold stdin back for the --room/--nick answers at most
READ_AHEAD = 200  # lines waiting for their turn to go before stdin is left unread a while
FALLBACK_COLUMNS = 80  # a terminal that will not say how wide it is


def format_entry(entry: c.Entry) -> str:
    if entry.kind in (c.CHAT, c.OWN, c.MENTION):
        return f"[{entry.room}] {entry.nick}: {entry.text}"
    if entry.kind == c.NOTICE:
        return f"* {entry.text}"
    if entry.kind == c.ERROR:
        return f"! {entry.text}"
    if entry.kind == c.BOARD:
        return f"    {entry.text}"  # indented under the move in words
    if entry.kind in (c.PRIVATE, c.PRIVATE_SENT):
        return f"[{entry.room}] (private) {entry.nick} -> {entry.to}: {entry.text}"
    if entry.kind == c.ACTION:
        return f"[{entry.room}] * {entry.nick} {entry.text}"
    if entry.kind == c.PAST:
        return f"{_dated(entry)} [{entry.room}] {entry.nick}: {entry.text}"
    if entry.kind == c.PAST_PRIVATE:
        return f"{_dated(entry)} [{entry.room}] (private) {entry.nick} -> {entry.to}: {entry.text}"
    if entry.kind == c.PAST_ACTION:
        return f"{_dated(entry)} [{entry.room}] * {entry.nick} {entry.text}"
    if entry.kind == c.PAST_NOTICE:
        return f"{_dated(entry)} * {entry.text}"
    if entry.kind == c.DIVIDER:
        return f"--- {entry.text} ---"
    return entry.text


def _dated(entry: c.Entry) -> str:
    """A stored message's local date and time, as line mode prints history."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.time))


class PlainClient:
    def __init__(self, link: Link, core: c.ClientCore, edit: bool = False,
                 reader: stdin_thread.StdinThread | None = None) -> None:
        self.link, self.core = link, core
        # select(), not epoll: stdin may be a regular file or /dev/null, which epoll
        # refuses (EPERM) and select reports as always readable, as reading them is.
        self.selector = selectors.SelectSelector()
        self.reader = reader  # None: stdin itself is selected on
        self.stdin_fd = sys.stdin.fileno() if reader is None else reader.sock.fileno()
        self.stdin_tail = b""
        self.stdin_state = "held"  # "held" until the autojoin is answered, "open", "closed"
        self.stdin_watched = False  # in the selector: open, and not too many lines waiting
        self.settle_deadline = time.monotonic() + SETTLE_WAIT
        self.quit_deadline: float | None = None
        # On a terminal, lines are wrapped here with marked continuation rows (so a
        # padded line cannot fake another at the start of a row); a pipe or file gets
        # them whole, for scripts.
        self.on_terminal = sys.stdout.isatty()
        self.prompt = PromptTerminal(core, _columns) if edit else None
        self.typed_ahead: list[tuple[str, str]] = []  # what the prompt gave while held

    def run(self) -> int:
        self.core.connection_made(self.link.encryption)
        self.selector.register(self.link.sock, selectors.EVENT_READ, "net")
        with self.prompt or self.reader or contextlib.nullcontext():
            if self.prompt is not None:
                self.selector.register(self.prompt.wake_fd, selectors.EVENT_READ, "wake")
            elif self.reader is not None:
                self.selector.register(self.reader.wake, selectors.EVENT_READ, "signal")
            try:
                return self._loop()
            except KeyboardInterrupt:
                if self.prompt is None:  # after the terminal's ^C: the shell prompt starts a line
                    sys.stdout.write("\n")
                self.core.quit()
                self._pump()
                return 0
            finally:
                self.link.close()

    def _loop(self) -> int:
        while True:
            self._release_stdin()
            self._watch_stdin()
            now = time.monotonic()
            self.core.tick(now)  # no greeting in time: not a Parlor server
            if self.core.foreign:
                return self._not_parlor()
            if self.quit_deadline is not None and now >= self.quit_deadline:
                return 0
            deadlines = [d for d in (self.quit_deadline,
                                     self.settle_deadline if self.stdin_state == "held" else None,
                                     self.core.next_send_at(), self.core.wake_at(now))
                         if d is not None]
            timeout = max(min(deadlines) - now, 0) if deadlines else None
            for key, _ in self.selector.select(timeout):
                if key.data == "stdin":
                    self._read_stdin()
                elif key.data == "wake":
                    self.prompt.woken()
                    self._read_prompt()
                elif key.data == "signal":
                    self.reader.woken()  # (Ctrl-C's KeyboardInterrupt is raised now)
                elif (status := self._read_net()) is not None:
                    return status
            self._pump()
            if self.prompt is not None:
                self.prompt.refresh()

    def _release_stdin(self) -> None:
        """Start reading stdin once the --room and --nick commands are answered, so
        piped lines go to the room asked for (or after SETTLE_WAIT, whatever happened)."""
        if self.stdin_state == "held" and (self.core.settled
                                           or time.monotonic() >= self.settle_deadline):
            self.stdin_state = "open"
            self._take_typed()

    def _watch_stdin(self) -> None:
        """Read stdin while it is open and the pace keeps up: a long piped file is
        read as it is sent, not all at once into memory.  Keys at the prompt are
        always read: they must show as typed, and /cancel must not wait its turn."""
        if self.prompt is not None:
            wanted = self.stdin_state != "closed"
        else:
            wanted = self.stdin_state == "open" and self.core.waiting < READ_AHEAD
        if wanted and not self.stdin_watched:
            self.selector.register(self.stdin_fd, selectors.EVENT_READ, "stdin")
        elif self.stdin_watched and not wanted:
            self.selector.unregister(self.stdin_fd)
        self.stdin_watched = wanted

    def _read_net(self) -> int | None:
        try:
            data = self.link.recv()
        except OSError as exc:
            data, reason = b"", exc.strerror or str(exc)
        else:
            reason = "the server closed the connection"
        if data is None:
            return None
        if data:
            self.core.receive_data(data)
            if self.core.foreign:
                return self._not_parlor()
            if self.quit_deadline is not None:  # still answering what we sent before /quit
                self.quit_deadline = time.monotonic() + QUIT_GRACE
            return None
        self.core.connection_lost(reason)
        self._print_entries()
        return 0 if self.core.quitting else 1

    def _not_parlor(self) -> int:
        """The core has said why this is no Parlor server: print it, exit status 1."""
        self.core.requests.clear()
        self._print_entries()
        return 1

    def _read_stdin(self) -> None:
        if self.prompt is not None:
            self.prompt.read()
            self._read_prompt()
            return
        data = os.read(self.stdin_fd, 65536) if self.reader is None else self.reader.read()
        if not data:  # /quit once what waits has gone: see _pump
            self.stdin_state = "closed"
            self._watch_stdin()
            lines = [self.stdin_tail] if self.stdin_tail else []
            self.stdin_tail = b""
        else:
            *lines, self.stdin_tail = (self.stdin_tail + data).split(b"\n")
        for raw in lines:
            self.core.submit(raw.rstrip(b"\r").decode("utf-8", "replace"))

    def _read_prompt(self) -> None:
        self.typed_ahead += self.prompt.take()
        if self.stdin_state != "held":
            self._take_typed()

    def _take_typed(self) -> None:
        """Submit the lines entered at the prompt; Ctrl-D on an empty line ends the
        input, as the end of a piped file does."""
        for kind, line in self.typed_ahead:
            if kind == EOF:
                self.stdin_state = "closed"
                self._watch_stdin()
                break
            if line.strip():
                self.core.submit(line)
        self.typed_ahead.clear()

    def _pump(self) -> None:
        """Send what the core may send now and print what it has to show; at the end
        of input, once nothing waits, say /quit."""
        now = time.monotonic()
        data = self.core.data_to_send(now)
        if self.stdin_state == "closed" and not self.core.waiting and not self.core.quitting:
            self.core.quit()
            data += self.core.data_to_send(now)
        if data:
            self.link.send(data)
        self.link.flush()
        for event in self.core.requests:
            if isinstance(event, ev.SaveSettings):
                settings.save_from(self.core)
            cannot = LINE_MODE_CANNOT.get(type(event))
            if cannot is not None:
                command, instead = cannot
                self.core.note(f"{p.typed(command)} is for the full-screen client; {instead}.")
        self.core.requests.clear()
        self._print_entries()
        if self.core.quitting and self.quit_deadline is None:
            self.quit_deadline = time.monotonic() + QUIT_GRACE

    def _print_entries(self) -> None:
        entries = self.core.take_older() + self.core.take_entries()  # a page: as it comes
        if not entries:
            return
        lines = [format_entry(e) for e in entries]
        if self.prompt is not None:
            self.prompt.show(lines)
            return
        if self.on_terminal:
            width = _columns()  # read on every print: a resize is honoured
            lines = [row for line in lines for row in wrap_rows(line, width)]
        sys.stdout.write("".join(line + "\n" for line in lines))
        sys.stdout.flush()


def _columns() -> int:
    """The terminal's width now (not $COLUMNS, which goes stale on a resize)."""
    try:
        columns = os.get_terminal_size(sys.stdout.fileno()).columns
    except OSError:
        columns = 0
    return columns if columns > 0 else FALLBACK_COLUMNS


def run(host: str, port: int, room: str | None, nick: str | None,
        pace: tuple[int, float] = (c.SEND_BURST, c.SEND_RATE), notes: list[str] = (),
        tls: ClientTLS | None = None, password: str | None = None,
        secret_ok: bool = False, core_class: type[c.ClientCore] = c.ClientCore,
        login: tuple[str, str] | None = None) -> int:
    try:
        link = Link.open(host, port, tls=tls)
    except Untrusted as exc:  # first use: line mode cannot ask, so it says how to answer
        print(f"parlor: {exc}; if they match, connect again with --trust {exc.fingerprint}",
              file=sys.stderr)
        return 1
    except (ConnectError, TrustError) as exc:
        print(f"parlor: {exc}", file=sys.stderr)
        return 1
    core = core_class(f"{host}:{port}", room=room, nick=nick,
                      send_burst=pace[0], send_rate=pace[1])
    core.password, core.secret_ok, core.login = password, secret_ok, login
    # A pipe on Windows is written in the ANSI code page: a character it lacks is
    # printed as "?", not a UnicodeEncodeError that ends the client.
    sys.stdout.reconfigure(errors="replace")
    core.view_lacks = {command for command, _ in LINE_MODE_CANNOT.values()}  # not in /help
    core.interactive = sys.stdin.isatty()  # a file cannot take /cancel: the pace note leaves it out
    for note in notes:  # (host mode: how others join)
        core.note(note)
    settings.load_into(core)
    if stdin_thread.wanted(sys.platform, os.environ, stdin_thread.selectable(sys.stdin.fileno())):
        return PlainClient(link, core, reader=stdin_thread.StdinThread()).run()
    return PlainClient(link, core, edit=can_edit()).run()
