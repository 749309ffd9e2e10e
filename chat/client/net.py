"""The client's socket, for the shells (plain and curses views): connect, a
non-blocking send buffer, friendly connection errors.  No chat logic here."""
from __future__ import annotations

import errno
import os
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
        self.connecting = False

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

    @classmethod
    def start(cls, host: str, port: int) -> "Link":
        """Begin a non-blocking connect; watch for writability, then call `finish_connect`."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise ConnectError(f"cannot find {host}: {exc.strerror or exc}") from None
        family, type_, proto, _, addr = infos[0]
        sock = socket.socket(family, type_, proto)
        link = cls(sock)
        link.connecting = True
        err = sock.connect_ex(addr)
        if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
            sock.close()
            raise ConnectError(_connect_failure(host, port, err))
        return link

    def finish_connect(self, host: str, port: int) -> None:
        """After writability: raises ConnectError if the connect failed."""
        self.connecting = False
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.sock.close()
            raise ConnectError(_connect_failure(host, port, err))

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


def _connect_failure(host: str, port: int, err: int) -> str:
    if err == errno.ECONNREFUSED:
        return refused_text(host, port)
    return f"cannot connect to {host}:{port}: {os.strerror(err)}"
