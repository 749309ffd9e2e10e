"""A pseudo-terminal harness for the curses client: the real client.py runs in a
pty made by pexpect (window size set before exec) and its output is rendered by
the pyte terminal emulator, so tests assert on the screen a user would see.

Nothing sleeps to synchronise: `wait_for` / `wait_until` read until the screen
matches or a deadline passes, then fail with the screen dumped.  Also here: the
real server.py as a subprocess, and a bare socket peer for hand-written lines.
"""
from __future__ import annotations

import os
import re
import atexit
import itertools
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pexpect
import pyte

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 10.0  # seconds any single wait may take before the test fails

SMCUP = b"\x1b[?1049h"  # xterm's "enter the alternate screen" (terminfo smcup)
RMCUP = b"\x1b[?1049l"  # ... and "leave it" (rmcup), written by endwin()

# Keys as an xterm sends them once curses has turned keypad mode on (smkx puts the
# cursor keys in application mode, where they are SS3 sequences: terminfo's kcuu1...).
UP, DOWN, RIGHT, LEFT = "\x1bOA", "\x1bOB", "\x1bOC", "\x1bOD"
CTRL_C, CTRL_E, CTRL_U, CTRL_W, TAB, ENTER = "\x03", "\x05", "\x15", "\x17", "\t", "\r"

Check = str | Callable[["Terminal"], bool]
ALTERNATE_SCREEN = (47, 1047, 1049)  # the private modes that switch to the alternate screen


class Screen(pyte.Screen):
    """pyte's screen plus what ncurses uses and pyte 0.8 lacks: SU and SD (CSI n S,
    CSI n T, which ncurses sends for `indn`/`rin` to scroll the message pane), DCH
    with a coloured background, a flag for the alternate screen (pyte keeps no
    second buffer), and a count of the bells rung."""

    def __init__(self, columns: int, lines: int) -> None:
        super().__init__(columns, lines)
        self.alternate = False
        self.bells = 0  # BEL characters received (pyte's `bell` is a stub to override)

    def bell(self, *_: object) -> None:
        self.bells += 1

    def scroll_up(self, count: int = 1, *_: int, **__: object) -> None:
        self._scroll(self.index, 1, count)

    def scroll_down(self, count: int = 1, *_: int, **__: object) -> None:
        self._scroll(self.reverse_index, 0, count)

    def _scroll(self, step: Callable[[], None], at_bottom: int, count: int) -> None:
        y, x = self.cursor.y, self.cursor.x
        margins = self.margins or pyte.screens.Margins(0, self.lines - 1)
        self.cursor.y = margins.bottom if at_bottom else margins.top
        for _ in range(max(count, 1)):
            step()
        self.cursor.y, self.cursor.x = y, x

    def delete_characters(self, count: int | None = None) -> None:
        """DCH as xterm does it with bce (which its terminfo claims, so ncurses relies
        on it): the cells freed at the right edge take the current background."""
        super().delete_characters(count)
        line = self.buffer[self.cursor.y]
        for x in range(max(self.columns - (count or 1), self.cursor.x), self.columns):
            line[x] = self.cursor.attrs

    def set_mode(self, *modes: int, **kwargs: object) -> None:
        if kwargs.get("private") and any(m in ALTERNATE_SCREEN for m in modes):
            self.alternate = True
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs: object) -> None:
        if kwargs.get("private") and any(m in ALTERNATE_SCREEN for m in modes):
            self.alternate = False
        super().reset_mode(*modes, **kwargs)


class ByteStream(pyte.ByteStream):
    csi = {**pyte.ByteStream.csi, "S": "scroll_up", "T": "scroll_down"}


def child_env(term: str = "xterm") -> dict[str, str]:
    """The environment for a child: a known terminal type and a UTF-8 locale.
    LINES and COLUMNS would override the pty's window size in curses, so they go."""
    env = {k: v for k, v in os.environ.items() if k not in ("LINES", "COLUMNS")}
    env.update(TERM=term, LANG="C.UTF-8", LC_ALL="C.UTF-8", ESCDELAY="25",
               PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    return env


class Terminal:
    """One child in a pty of rows x cols, and the screen it has drawn so far."""

    def __init__(self, args: list[str], rows: int = 24, cols: int = 80,
                 program: str = "client.py", term: str = "xterm",
                 env: dict[str, str] | None = None) -> None:
        self.screen = Screen(cols, rows)
        self.stream = ByteStream(self.screen)
        self.raw = bytearray()  # every byte the child wrote, for checks on escape sequences
        self.eof = False
        self.child = pexpect.spawn(sys.executable, [program, *args], cwd=str(ROOT),
                                   env={**child_env(term), **(env or {})},
                                   dimensions=(rows, cols))

    # -------------------------------------------------------------- reading
    def pump(self, timeout: float = 0.05) -> bool:
        """Feed whatever the child writes within `timeout` to the emulator; False at EOF."""
        if self.eof:
            return False
        try:
            data = self.child.read_nonblocking(65536, timeout)
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            self.eof = True
            return False
        self.raw += data
        self.stream.feed(data)
        return True

    def wait_for(self, what: Check, timeout: float = TIMEOUT, why: str = "") -> None:
        """Read until `what` (text somewhere on the screen, or a predicate over this
        terminal) holds; fail with the screen dumped if it does not within `timeout`."""
        test = (lambda t: what in t.text()) if isinstance(what, str) else what

        def check(term: Terminal) -> None:
            assert test(term), f"waiting for {why or what!r}"
        self.wait_until(check, timeout)

    def wait_until(self, check: Callable[["Terminal"], None], timeout: float = TIMEOUT) -> None:
        """Read until `check(self)` stops raising AssertionError; at the deadline fail
        with its last message and the screen.

        Put everything a test asserts about one screen into one check: the child
        draws a refresh in several writes, so a screen that shows the first thing
        looked for may not show the rest yet.  Between reads the emulator does not
        change, so what the check saw is what the test gets."""
        deadline = time.monotonic() + timeout
        ended = False
        while True:
            try:
                check(self)
                return
            except AssertionError as exc:
                problem = str(exc) or "the check failed"
            remaining = deadline - time.monotonic()
            if ended or remaining <= 0:
                break
            # At the end of the child's output, check once more: the check may ask for it.
            ended = not self.pump(min(remaining, 0.1))
        state = "the child ended" if self.eof else f"timed out after {timeout:g} s"
        raise AssertionError(f"{state}: {problem}\nthe screen:\n{self.dump()}")

    def wait_eof(self, timeout: float = TIMEOUT) -> int:
        """Read to the end of the child's output, then reap it; returns its exit status."""
        deadline = time.monotonic() + timeout
        while self.pump(min(max(deadline - time.monotonic(), 0), 0.1)):
            if time.monotonic() >= deadline:
                raise AssertionError(f"the child did not exit in {timeout:g} s; the screen:\n"
                                     f"{self.dump()}")
        self.child.wait()
        return self.child.exitstatus if self.child.exitstatus is not None \
            else -self.child.signalstatus

    # -------------------------------------------------------------- the screen
    def lines(self) -> list[str]:
        """The display, one string per row, trailing blanks removed."""
        return [line.rstrip() for line in self.screen.display]

    def text(self) -> str:
        """The display as one string, rows padded to the full width (so a prompt's
        trailing space can be matched)."""
        return "\n".join(self.screen.display)

    def row(self, y: int) -> str:
        return self.lines()[y]

    @property
    def rows(self) -> int:
        return self.screen.lines

    @property
    def cols(self) -> int:
        return self.screen.columns

    @property
    def cursor(self) -> tuple[int, int]:
        """(y, x) of the terminal's cursor."""
        return self.screen.cursor.y, self.screen.cursor.x

    def status(self) -> str:
        return self.row(self.rows - 2)

    def input_line(self) -> str:
        return self.row(self.rows - 1)

    def dump(self) -> str:
        width = self.cols
        border = "+" + "-" * width + "+"
        body = "\n".join(f"|{line.ljust(width)}| {y}" for y, line in enumerate(self.screen.display))
        return f"{border}\n{body}\n{border}\ncursor (y, x) = {self.cursor}"

    # -------------------------------------------------------------- writing
    def send(self, keys: str | bytes) -> None:
        self.child.send(keys)

    def resize(self, rows: int, cols: int) -> None:
        """Both sides at once: the emulator and the pty (the child gets SIGWINCH).

        The emulator is also blanked, so whatever shows afterwards was drawn after
        the resize (a real terminal keeps stale cells that the client must repaint
        anyway; its curses view clears the whole screen on a resize).  Read
        everything pending first so no old output lands on the new screen."""
        while select.select([self.child.child_fd], [], [], 0)[0] and self.pump(0):
            pass
        self.screen.resize(rows, cols)
        self.screen.erase_in_display(2)
        self.screen.cursor_position()
        self.child.setwinsize(rows, cols)

    def local_modes(self) -> int:
        """The pty's termios local flags (ICANON, ECHO, ISIG...).  Read through the
        master side, so it works after the child has exited too."""
        return termios.tcgetattr(self.child.child_fd)[3]

    def close(self) -> None:
        """Hang up (the client dies of SIGHUP; SIGKILL follows if it does not), checking
        every 10 ms rather than after pexpect's fixed 0.1 s pauses."""
        self.child.delayafterterminate = self.child.ptyproc.delayafterclose = 0.01
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close(force=True)


_DATA = tempfile.mkdtemp(prefix="parlor-test-data-")
atexit.register(shutil.rmtree, _DATA, ignore_errors=True)
# Any server a test starts without --db keeps its history here, never in the home folder.
os.environ["XDG_DATA_HOME"] = _DATA
# And any client its settings (who it ignores): a test that changes them gives its
# clients a folder of its own (monkeypatch.setenv("XDG_CONFIG_HOME", ...)).
os.environ["XDG_CONFIG_HOME"] = os.path.join(_DATA, "config")
_DB_NUMBERS = itertools.count(1)


def with_own_db(extra: tuple[str, ...]) -> tuple[str, ...]:
    """A test server's arguments, with a history file of its own unless they name one:
    servers of different tests must not share a room's past (nor lock one file)."""
    if any(arg == "--db" or arg.startswith("--db=") for arg in extra):
        return extra
    return (*extra, "--db", os.path.join(_DATA, f"history-{next(_DB_NUMBERS)}.db"))


class ServerProcess:
    """`python3 server.py --port PORT --quiet [EXTRA...]`; `port` is known once it has started."""

    def __init__(self, port: int = 0, *extra: str) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "server.py", "--port", str(port), "--quiet", *with_own_db(extra)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.port = self._read_port(time.monotonic() + TIMEOUT)

    def _read_port(self, deadline: float) -> int:
        fd = self.popen.stdout.fileno()
        os.set_blocking(fd, False)
        data = b""
        while b"\n" not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise AssertionError(f"server.py did not say where it listens; it said {data!r}")
            try:
                chunk = os.read(fd, 4096)
            except BlockingIOError:
                select.select([fd], [], [], remaining)
                continue
            if not chunk:
                self.stop()
                raise AssertionError(f"server.py ended before listening; it said {data!r}")
            data += chunk
        banner = data.split(b"\n", 1)[0].decode()
        assert banner.startswith("listening on "), f"unexpected banner {banner!r}"
        return int(banner.removesuffix(" (TLS)").rpartition(":")[2])

    def kill(self) -> None:
        """An abrupt end (SIGKILL): no goodbye to the clients."""
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(TIMEOUT)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(TIMEOUT)
        self.popen.stdout.close()


def free_port() -> int:
    """A port that was free a moment ago (bind to 0, read it, close).  Racy: another
    process may take it before the caller binds it; only for where port 0 cannot work."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RawPeer:
    """A bare socket client speaking the wire protocol by hand (no client core)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def expect(self, needle: bytes | re.Pattern, timeout: float = TIMEOUT) -> bytes:
        """Read until a line containing `needle` (or matching it, a pattern) arrives;
        returns that line."""
        deadline = time.monotonic() + timeout
        while True:
            *lines, self.buffer = self.buffer.split(b"\n")
            for i, line in enumerate(lines):
                if (needle.search(line) if isinstance(needle, re.Pattern) else needle in line):
                    self.buffer = b"\n".join(lines[i + 1:] + [self.buffer])
                    return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line with {needle!r} from the server in {timeout:g} s")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise AssertionError(f"no line with {needle!r} from the server in "
                                     f"{timeout:g} s") from None
            if not chunk:
                raise AssertionError(f"the server closed the connection before {needle!r}")
            self.buffer += chunk

    def close(self) -> None:
        self.sock.close()
