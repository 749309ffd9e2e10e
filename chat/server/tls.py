"""The server's TLS, a shell beside the loop: the context made from --tls-cert and
--tls-key (checked at start: a sentence for a missing, unreadable, expired or
mismatched file), and the connections still in their handshake, stepped by the
loop's selector without blocking, under a deadline and a bound on the handshaking
one loop turn does.  No chat logic here.
"""
from __future__ import annotations

import logging
import selectors
import socket
import ssl
import time
from collections import deque
from typing import Callable

from chat import protocol as p
from chat import tls
from chat.trust import CertificateError, fingerprint, validity

log = logging.getLogger("parlor.server")

HANDSHAKE_TIMEOUT = 10.0  # default --handshake-timeout
# Seconds of handshaking one loop turn does: a thousand ClientHellos at once are
# taken a few at a time, and the chat of those connected goes on between them.
TURN_HANDSHAKES = 0.005
TLS_HANDSHAKE = 0x16  # the first byte of a TLS record that opens a handshake
PLAIN_ON_TLS = ("this port speaks TLS: connect with 'python3 client.py --tls' "
                "(a plain-text client cannot talk to it)")


class CertError(Exception):
    """The certificate or key cannot serve; the message is a sentence."""


def server_context(cert_file: str, key_file: str | None = None,
                   now: float | None = None) -> ssl.SSLContext:
    """A TLS 1.2+ server context with the standard library's secure defaults, or
    CertError saying what is wrong with the files."""
    key_file = key_file or cert_file
    for path, what in ((cert_file, "certificate"), (key_file, "private key")):
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise CertError(f"cannot read the TLS {what} {path}: "
                            f"{exc.strerror or exc}") from None
    der = _first_certificate(cert_file)
    try:
        not_before, not_after = validity(der)
    except CertificateError as exc:
        raise CertError(f"cannot read the TLS certificate {cert_file}: {exc}") from None
    now = time.time() if now is None else now
    if now > not_after:
        raise CertError(f"the TLS certificate {cert_file} expired on "
                        f"{time.strftime('%Y-%m-%d', time.gmtime(not_after))}: make a new one "
                        "(README, 'Encryption')")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= getattr(ssl, "OP_NO_RENEGOTIATION", 0)
    try:
        context.load_cert_chain(cert_file, key_file)
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc):
            raise CertError(f"the TLS key {key_file} does not belong to the certificate "
                            f"{cert_file}") from None
        raise CertError(f"{key_file} holds no usable TLS key for {cert_file} "
                        f"({tls.failure(exc)})") from None
    except OSError as exc:
        raise CertError(f"cannot load the TLS certificate {cert_file}: "
                        f"{exc.strerror or exc}") from None
    context.fingerprint = fingerprint(der)  # (for the start-up line)
    return context


def _first_certificate(path: str) -> bytes:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            text = f.read()
    except OSError as exc:
        raise CertError(f"cannot read the TLS certificate {path}: {exc.strerror or exc}") from None
    begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    start = text.find(begin)
    stop = text.find(end, start)
    if start < 0 or stop < 0:
        raise CertError(f"{path} holds no PEM certificate (a '{begin}' block)")
    try:
        return ssl.PEM_cert_to_DER_cert(text[start:stop + len(end)])
    except ValueError as exc:
        raise CertError(f"cannot read the TLS certificate {path}: {exc}") from None


class Handshake:
    __slots__ = ("sock", "fd", "host", "addr", "deadline", "events", "wrapped")

    def __init__(self, sock: socket.socket, host: str, addr: str, deadline: float) -> None:
        self.sock: socket.socket | ssl.SSLSocket = sock
        self.fd = sock.fileno()  # the selector watches the number: wrapping keeps it
        self.host, self.addr, self.deadline = host, addr, deadline
        self.events = selectors.EVENT_READ
        self.wrapped = False


class Handshakes:
    """Accepted connections until their TLS handshake is done: `done(sock, host,
    addr)` gets the TLS socket of each that finishes; `failed(host)` hears of each
    that does not (closed, after one log line saying why)."""

    def __init__(self, context: ssl.SSLContext, selector: selectors.BaseSelector,
                 timeout: float, done: Callable[[ssl.SSLSocket, str, str], None],
                 failed: Callable[[str], None]) -> None:
        self.context, self.selector, self.timeout = context, selector, timeout
        self.done, self.failed = done, failed
        self.pending: dict[int, Handshake] = {}
        self._by_deadline: deque[Handshake] = deque()  # deadlines in order: one timeout
        self._turn_left = TURN_HANDSHAKES

    def __len__(self) -> int:
        return len(self.pending)

    def start(self, sock: socket.socket, host: str, addr: str, now: float) -> None:
        sock.setblocking(False)
        shake = Handshake(sock, host, addr, now + self.timeout)
        self.pending[shake.fd] = shake
        self._by_deadline.append(shake)
        self.selector.register(shake.fd, shake.events, lambda _fd, _mask: self._step(shake))

    def new_turn(self) -> None:
        self._turn_left = TURN_HANDSHAKES

    def next_deadline(self) -> float | None:
        queue = self._by_deadline
        while queue and queue[0].fd not in self.pending:
            queue.popleft()
        return queue[0].deadline if queue else None

    def expire(self, now: float) -> None:
        queue = self._by_deadline
        while queue and (queue[0].fd not in self.pending or queue[0].deadline <= now):
            shake = queue.popleft()
            if self.pending.get(shake.fd) is shake:
                what = "handshake" if shake.wrapped else "ClientHello"
                self._fail(shake, f"no TLS {what} within {self.timeout:g} s")

    def _step(self, shake: Handshake) -> None:
        if self._turn_left <= 0:
            return  # (its socket stays ready: the next turn comes back to it)
        start = time.perf_counter()
        try:
            wants = self._try(shake)
        except OSError as exc:
            self._fail(shake, tls.failure(exc))
            return
        finally:
            self._turn_left -= time.perf_counter() - start
        if wants is None:
            return
        if not wants:
            self._finish(shake)
        elif wants != shake.events:
            shake.events = wants
            self.selector.modify(shake.fd, wants, self.selector.get_key(shake.fd).data)

    def _try(self, shake: Handshake) -> int | None:
        """A step: 0 done, READ or WRITE to wait for, None when there is nothing to
        do yet or it has failed.  Before the handshake, a look at the first byte: a
        plain-text client is told in plain text what this port is."""
        if not shake.wrapped:
            try:
                head = shake.sock.recv(1, socket.MSG_PEEK)
            except (BlockingIOError, InterruptedError):
                return None
            if not head:
                self._fail(shake, "closed the connection before a TLS handshake")
                return None
            if head[0] != TLS_HANDSHAKE:
                self._fail(shake, "not TLS: a plain-text client on the TLS port",
                           told=p.encode(p.Bye(PLAIN_ON_TLS)))
                return None
            shake.sock = self.context.wrap_socket(shake.sock, server_side=True,
                                                  do_handshake_on_connect=False)
            shake.wrapped = True
        return tls.handshake_step(shake.sock)

    def _finish(self, shake: Handshake) -> None:
        del self.pending[shake.fd]
        self.selector.unregister(shake.fd)
        self.done(shake.sock, shake.host, shake.addr)

    def _fail(self, shake: Handshake, reason: str, told: bytes = b"") -> None:
        log.info("TLS handshake with %s failed: %s", shake.addr, reason)
        del self.pending[shake.fd]
        self.selector.unregister(shake.fd)
        if told:  # what it sent is read first: closing on unread input would reset
            try:  # the connection, and its kernel might drop our line unread
                shake.sock.recv(65536)
                shake.sock.send(told)  # (never blocks: a fresh socket's buffer is empty)
                shake.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        shake.sock.close()
        self.failed(shake.host)

    def close_all(self) -> None:
        for shake in list(self.pending.values()):
            self.selector.unregister(shake.fd)
            shake.sock.close()
        self.pending.clear()
        self._by_deadline.clear()
