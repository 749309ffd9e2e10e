"""The client's socket, for the shells (plain and curses views): connect, a
non-blocking send buffer, friendly connection errors.  No chat logic here."""
from __future__ import annotations

import socket


class ConnectError(Exception):
    """Could not connect; the message is a sentence for the user."""


class Link:
    """A connected, non-blocking socket with an output buffer."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.pending = b""

    @classmethod
    def open(cls, host: str, port: int, timeout: float = 5.0) -> "Link":
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except ConnectionRefusedError:
            raise ConnectError(refused_text(host, port)) from None
        except socket.timeout:
            raise ConnectError(f"no answer from {host}:{port} within {timeout:g} s") from None
        except OSError as exc:
            raise ConnectError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        return cls(sock)

    def fileno(self) -> int:
        return self.sock.fileno()

    def recv(self) -> bytes | None:
        """What arrived; b"" at end of file; None if nothing is ready.  Raises OSError."""
        try:
            return self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return None

    def send(self, data: bytes) -> None:
        self.pending += data
        self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        try:
            sent = self.sock.send(self.pending)
        except (BlockingIOError, InterruptedError):
            return
        self.pending = self.pending[sent:]

    def close(self) -> None:
        self.sock.close()


def refused_text(host: str, port: int) -> str:
    return (f"no Parlor server is listening at {host}:{port}. Start one with "
            f"'python3 server.py --port {port}', or host one and chat at once with "
            f"'python3 client.py --serve --port {port}'")
