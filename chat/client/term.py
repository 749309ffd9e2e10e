"""Line mode's shell on a terminal: the terminal in character mode (no echo, no
line discipline, no signals from keys) while the prompt row is up, restored on every
way out (return, exception, SIGTERM, SIGHUP, suspend); SIGWINCH and SIGCONT redraw.
Keys are read here and handed to chat.client.prompt, which says what to draw.
"""
from __future__ import annotations

import codecs
import os
import re
import select
import signal
import sys
import time
from collections.abc import Callable

try:
    import termios
except ImportError:  # Windows: no termios, and line mode reads lines, as from a pipe
    termios = None

from chat.client import prompt as pr
from chat.client import stdin_thread
from chat.client.core import ClientCore
from chat.client.rows import wrap_rows

ESC_WAIT = 0.025  # seconds the rest of an escape sequence may take (curses' ESCDELAY)
POSITION_WAIT = 0.2  # seconds a terminal may take to say where its cursor is
ASK_POSITION = "\x1b[6n"  # DSR 6; the answer is CSI row ; column R
POSITION = re.compile(rb"\x1b\[(\d+);(\d+)R")
READ_MOST = 1 << 20  # bytes of keys read in one turn (a paste) before the socket's turn


def can_edit(env: dict[str, str] = os.environ) -> bool:
    """Whether line mode may draw its own prompt row: stdin and stdout are terminals
    that move the cursor (not TERM=dumb, an Emacs shell buffer, or no TERM at all),
    and stdin is not read by chat.client.stdin_thread (which reads lines)."""
    return (termios is not None and sys.stdin.isatty() and sys.stdout.isatty()
            and env.get("TERM", "") not in ("", "dumb")
            and not stdin_thread.wanted(sys.platform, env, selectable=True))


class PromptTerminal:
    """The prompt row at the bottom of the terminal, lines printed above it.  A
    context manager: inside it the terminal is in character mode."""

    def __init__(self, core: ClientCore, columns: Callable[[], int]) -> None:
        self.core, self.columns = core, columns
        self.fd, self.out_fd = sys.stdin.fileno(), sys.stdout.fileno()
        self.typing = pr.Typing()
        self.screen = pr.PromptScreen()
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._saved: list | None = None  # the terminal's modes before, to put back
        self._handlers: dict[int, object] = {}
        self.stale = False  # resized or resumed: the prompt row is drawn anew
        self.wake_fd, self._wake_w = os.pipe()  # signals wake the select loop
        self._events: list[tuple[str, str]] = []  # lines entered, not yet taken

    # -------------------------------------------------------------- the mode
    def __enter__(self) -> "PromptTerminal":
        self._saved = termios.tcgetattr(self.fd)
        for fd in (self.wake_fd, self._wake_w):
            os.set_blocking(fd, False)
        self._old_wakeup = signal.set_wakeup_fd(self._wake_w)
        for sig, handler in ((signal.SIGWINCH, self._on_change), (signal.SIGCONT, self._on_cont),
                             (signal.SIGTSTP, self._on_suspend),
                             (signal.SIGTERM, self._on_end), (signal.SIGHUP, self._on_end)):
            self._handlers[sig] = signal.signal(sig, handler)
        self._character_mode()
        return self

    def __exit__(self, *_: object) -> None:
        self._write(self.screen.clear())  # the shell's prompt goes where ours was
        self._restore()
        for sig, handler in self._handlers.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(self._old_wakeup)
        os.close(self.wake_fd)
        os.close(self._wake_w)

    def _character_mode(self) -> None:
        attrs = termios.tcgetattr(self.fd)
        attrs[0] &= ~(termios.IXON | termios.ICRNL | termios.INLCR | termios.IGNCR)
        attrs[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN)
        attrs[6][termios.VMIN], attrs[6][termios.VTIME] = 1, 0
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)  # NOW: keep what was typed ahead

    def _restore(self) -> None:
        try:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
        except termios.error:
            pass  # the terminal is gone (a hangup): nothing to restore

    def _on_change(self, *_: object) -> None:
        self.stale = True

    def _on_cont(self, *_: object) -> None:
        """Continued after a stop from outside: the shell may have reset the modes."""
        self._character_mode()
        self.stale = True

    def _on_suspend(self, *_: object) -> None:
        """Ctrl-Z (or SIGTSTP): the terminal as it was, stop, and on `fg` come back."""
        self._write(self.screen.clear())
        self._restore()
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stops here until continued
        signal.signal(signal.SIGTSTP, self._on_suspend)
        self._on_cont()

    def _on_end(self, signum: int, _frame: object) -> None:
        """SIGTERM or SIGHUP: the terminal as it was, then die of the signal as before."""
        self._write(self.screen.clear())
        self._restore()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    # -------------------------------------------------------------- keys
    def take(self) -> list[tuple[str, str]]:
        """The (LINE, text) and (EOF, "") events of the keys read so far, in order."""
        events, self._events = self._events, []
        return events

    def read(self) -> None:
        """Read the keys waiting (a whole paste, an escape sequence's rest) and apply
        them (see `take`).  Ctrl-C raises KeyboardInterrupt, as the terminal's own
        interrupt key did."""
        total = 0
        while total < READ_MOST:
            data = self._read()
            if not data:
                self._events.append((pr.EOF, ""))
                return
            total += len(data)
            self._keys(data)
            if not self._readable(ESC_WAIT if self.typing.pending else 0):
                break
        if self.typing.pending:
            self.typing.lone_escape()

    def _read(self) -> bytes:
        try:
            return os.read(self.fd, 65536)
        except OSError:  # EIO: the terminal hung up
            return b""

    def _keys(self, data: bytes) -> None:
        for kind, line in self.typing.feed(self._decoder.decode(data), self.core):
            if kind == pr.INTERRUPT:
                raise KeyboardInterrupt
            if kind == pr.SUSPEND:
                os.kill(os.getpid(), signal.SIGTSTP)
            elif kind == pr.REDRAW:
                self._write(self.screen.redraw(self._row(), whole_screen=True))
            elif kind == pr.BEEP:
                self._write("\a")
            else:
                self._events.append((kind, line))

    def woken(self) -> None:
        """The wake pipe was readable: a signal came.  After a resize or a resume the
        prompt row is drawn anew, where it now starts."""
        try:
            while os.read(self.wake_fd, 512):
                pass
        except BlockingIOError:
            pass
        if not self.stale:
            return
        self.stale = False
        width, up = self.columns(), 0
        if pr.needs_position(self.screen.shown, width):
            column = self._cursor_column()
            if column is not None:
                up = pr.rows_up(self.screen.shown.cursor, width, column)
        self._write(self.screen.redraw(self._row(width), up=up))

    def _cursor_column(self) -> int | None:
        """Ask the terminal where the cursor is (DSR 6) and wait a moment for the
        answer; keys typed meanwhile are applied.  None: no answer."""
        self._write(ASK_POSITION)
        deadline, data, column = time.monotonic() + POSITION_WAIT, b"", None
        while (left := deadline - time.monotonic()) > 0 and self._readable(left):
            chunk = self._read()
            data += chunk
            answer = POSITION.search(data)
            if answer is not None:
                data, column = data[:answer.start()] + data[answer.end():], int(answer[2]) - 1
            if answer is not None or not chunk:
                break
        self._keys(data)
        return column

    def _readable(self, timeout: float) -> bool:
        return bool(select.select([self.fd], [], [], timeout)[0])

    # -------------------------------------------------------------- output
    def show(self, lines: list[str]) -> None:
        """Print `lines` above the prompt row, wrapped to the width with marked
        continuation rows, and redraw the row under them."""
        width = self.columns()
        rows = [row for line in lines for row in wrap_rows(line, width)]
        self._write(self.screen.show(rows, self._row(width)))

    def refresh(self) -> None:
        """Redraw the prompt row if it changed (an edit, a new room)."""
        self._write(self.screen.show([], self._row()))

    def _row(self, width: int | None = None) -> pr.Row:
        return pr.prompt_row(self.core, self.typing.editor, width or self.columns())

    def _write(self, text: str) -> None:
        """Straight to the file descriptor: a signal handler writes too, and a
        buffered sys.stdout refuses a write inside its own."""
        data = text.encode("utf-8", "replace")
        try:
            while data:
                data = data[os.write(self.out_fd, data):]
        except OSError:
            pass  # the terminal is gone: what is left to say has nowhere to go
