"""Line mode's stdin where select cannot watch it: on Windows (its select takes sockets
only), for a stdin select refuses, or when $PARLOR_STDIN_THREAD=1 asks (the tests run
this path on Linux).  A reader thread copies stdin into one end of a socket pair; the
loop selects on the other end like any socket, and the end of input is its end of
file.  A shell: a thread and sockets, no chat.
"""
from __future__ import annotations

import select
import signal
import socket
import sys
import threading
from collections.abc import Mapping

ENV = "PARLOR_STDIN_THREAD"
BLOCK = 65536  # bytes read from stdin at most in one go (a paste comes in such pieces)


def wanted(platform: str, env: Mapping[str, str], selectable: bool) -> bool:
    """Whether line mode reads stdin through the thread: on Windows, where select
    refuses stdin, wherever it is refused (`selectable` False), or when asked."""
    return platform == "win32" or not selectable or env.get(ENV, "") not in ("", "0")


def selectable(fd: int) -> bool:
    """Whether select() takes this file descriptor (Windows: sockets only; elsewhere
    not one past FD_SETSIZE)."""
    try:
        select.select([fd], [], [], 0)
    except (OSError, ValueError):
        return False
    return True


class StdinThread:
    """A context manager: inside it, `sock` is readable when stdin has something, and
    `read()` gives it (b"" at the end of input).  The signal wake-up byte goes down
    `wake`: Ctrl-C does not interrupt a select() on Windows, so without it the
    KeyboardInterrupt would wait for the next key or line from the server."""

    def __init__(self, stream=None) -> None:
        # The raw stream: a console on Windows reads as UTF-8 there (os.read would
        # give the console's code page), and no buffer lock is held by a thread that
        # is still reading when the program ends.
        self.stream = stream if stream is not None else sys.stdin.buffer.raw
        self.sock, self._far = socket.socketpair()
        self.wake, self._wake_far = socket.socketpair()
        self._old_wakeup = -1
        self._thread = threading.Thread(target=self._copy, name="parlor-stdin", daemon=True)

    def __enter__(self) -> "StdinThread":
        for sock in (self.wake, self._wake_far):
            sock.setblocking(False)
        self._old_wakeup = signal.set_wakeup_fd(self._wake_far.fileno(),
                                                warn_on_full_buffer=False)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        signal.set_wakeup_fd(self._old_wakeup)
        # The thread may still wait on a console: it is a daemon, and its next send
        # fails on the closed pair.
        for sock in (self.sock, self.wake, self._wake_far):
            sock.close()

    def read(self) -> bytes:
        try:
            return self.sock.recv(BLOCK)
        except OSError:  # (the thread ends its side on a read error: the end of input)
            return b""

    def woken(self) -> None:
        """Empty the wake-up pair (the signal's handler runs on its own)."""
        try:
            while self.wake.recv(512):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def _copy(self) -> None:
        try:
            while data := self.stream.read(BLOCK):
                self._far.sendall(data)
        except (OSError, ValueError):  # stdin failed or closed, or the loop has gone
            pass
        finally:
            self._far.close()
