"""The client's socket, for the shells (plain and curses views): connect, TLS
(chat.client.tls says what to trust), a non-blocking send buffer, friendly
connection errors.  No chat logic here."""
from __future__ import annotations

import errno
import os
import socket
import ssl

from chat import tls as t
from chat.client.tls import ClientTLS, version
from chat.trust import server_key


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
        self.shaking: tuple[ClientTLS, str, bool] | None = None  # a TLS handshake under way
        self.wants = t.READ  # what that handshake waits for

    @property
    def encryption(self) -> str:
        """'TLS 1.3' once a TLS handshake is done, '' for a plain connection."""
        return "" if self.shaking else version(self.sock)

    @classmethod
    def open(cls, host: str, port: int, timeout: float = 5.0,
             tls: ClientTLS | None = None) -> "Link":
        """Connect, and with `tls` do the handshake and the trust check (raising
        ConnectError, or chat.client.tls.TrustError for a certificate not trusted)."""
        sock = _dial(host, port, timeout)
        if tls is None:
            return cls(sock)
        key = server_key(host, port)
        context, pins = tls.context(key)
        try:
            sock = _handshake(sock, context, host, key, timeout)
        except ssl.SSLCertVerificationError as exc:
            if tls.ca_file:
                raise ConnectError(tls.refusal(exc, key)) from None
            # First use of a self-signed server: connect again, without the authorities,
            # to see its certificate's fingerprint (a failed handshake shows none).
            context, pins = tls.context(key, first_use=True)
            sock = _handshake(_dial(host, port, timeout), context, host, key, timeout)
        if pins:
            try:
                tls.check(sock, key)
            except Exception:
                sock.close()
                raise
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

    def start_tls(self, host: str, port: int, tls: ClientTLS) -> None:
        """After `finish_connect`: begin the TLS handshake; call `step_tls` each time
        the socket is ready for `wants`."""
        key = server_key(host, port)
        context, pins = tls.context(key)
        self.sock = context.wrap_socket(self.sock, server_hostname=host,
                                        do_handshake_on_connect=False)
        self.shaking, self.wants = (tls, key, pins), t.READ

    def step_tls(self) -> bool:
        """One handshake step: True once it is done and the certificate trusted; raises
        ConnectError (or TrustError), having closed the socket."""
        tls, key, pins = self.shaking
        try:
            wants = t.handshake_step(self.sock)
            if not wants and pins:
                tls.check(self.sock, key)
        except ssl.SSLCertVerificationError as exc:
            self.sock.close()
            raise ConnectError(tls.refusal(exc, key)) from None
        except OSError as exc:
            self.sock.close()
            raise ConnectError(_not_tls(key, exc)) from None
        except Exception:
            self.sock.close()
            raise
        if wants:
            self.wants = wants
            return False
        self.shaking = None
        return True

    def fileno(self) -> int:
        return self.sock.fileno()

    def recv(self, size: int = 65536) -> bytes | None:
        """What arrived, about `size` bytes at most; b"" at end of file; None if nothing
        is ready.  Raises OSError."""
        try:
            if isinstance(self.sock, ssl.SSLSocket):
                return t.receive(self.sock, size)  # (every record, and what is pending)
            return self.sock.recv(size)
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
        except (BlockingIOError, InterruptedError, *t.WANTS):
            return  # (TLS: the same bytes go first next time, as OpenSSL asks)
        self.pending = self.pending[sent:]

    def close(self) -> None:
        self.sock.close()


def _dial(host: str, port: int, timeout: float) -> socket.socket:
    try:
        return socket.create_connection((host, port), timeout=timeout)
    except ConnectionRefusedError:
        raise ConnectError(refused_text(host, port)) from None
    except socket.timeout:
        raise ConnectError(f"no answer from {host}:{port} within {timeout:g} s") from None
    except OSError as exc:
        raise ConnectError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None


def _handshake(sock: socket.socket, context: ssl.SSLContext, host: str, key: str,
               timeout: float) -> ssl.SSLSocket:
    """A blocking TLS handshake within `timeout`; raises ssl.SSLCertVerificationError
    for the caller to judge, ConnectError for the rest."""
    sock.settimeout(timeout)
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError:
        sock.close()
        raise
    except socket.timeout:
        sock.close()
        raise ConnectError(f"no TLS answer from {key} within {timeout:g} s: does it use TLS? "
                           "(without --tls, the client connects in plain text)") from None
    except OSError as exc:
        sock.close()
        raise ConnectError(_not_tls(key, exc)) from None


def _not_tls(key: str, exc: OSError) -> str:
    if "wrong version number" in t.failure(exc):
        return (f"{key} answered in plain text, not TLS: it is not started with --tls-cert. "
                "Without --tls, the client connects in plain text")
    return (f"the TLS handshake with {key} failed ({t.failure(exc)}): is it a TLS server "
            "(server.py --tls-cert)? Without --tls, the client connects in plain text")


def refused_text(host: str, port: int) -> str:
    return (f"no Parlor server is listening at {host}:{port}. Start one with "
            f"'python3 server.py --port {port}', or host one and chat at once with "
            f"'python3 client.py --serve --port {port}'")


def _connect_failure(host: str, port: int, err: int) -> str:
    if err == errno.ECONNREFUSED:
        return refused_text(host, port)
    return f"cannot connect to {host}:{port}: {os.strerror(err)}"
