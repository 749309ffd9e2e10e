"""Fixtures for the integration tests: an in-process server, a socket test peer,
and the real server.py / client.py as subprocesses.

Every port is 0, every read has a deadline, and nothing sleeps to synchronise: a
test waits for a line (or the end of a stream) and fails with what it saw instead.
"""
from __future__ import annotations

import logging
import os
import re
import selectors
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from chat import protocol as p
from chat.server.limits import Limits
from chat.server.loop import Server
from chat.server.main import build_state
from pty_harness import with_own_db

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 5.0  # seconds any single wait may take before the test fails


def assert_clean_line(line: str) -> None:
    """What the server sends must fit the protocol and never carry control characters."""
    assert len(line.encode("utf-8")) < p.MAX_LINE, f"over-long line from the server: {line[:80]!r}..."
    bad = [ch for ch in line if ord(ch) < 0x20 or ord(ch) == 0x7F]
    assert not bad, f"control characters {bad!r} in a server line: {line!r}"


Matcher = str | type | Callable[[p.ServerMessage], bool]


def said(msg: p.Chat) -> tuple[str, str, str]:
    """(room, nick, text) of a chat message: what was said, leaving out when."""
    assert isinstance(msg, p.Chat), msg
    return msg.room, msg.nick, msg.text


def _matches(msg: p.ServerMessage, what: Matcher) -> bool:
    if isinstance(what, str):
        return type(msg) is p.KEYWORDS[what]
    if isinstance(what, type):
        return isinstance(msg, what)
    return bool(what(msg))


class Peer:
    """A test client over a real loopback socket that speaks the wire protocol by hand.

    It splits lines itself (not with chat.protocol.LineDecoder, which is under test),
    checks every line the server sends, and keeps everything it saw in `seen`.
    """

    def __init__(self, address: tuple[str, int], rcvbuf: int | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # before connect, so the advertised window is small too
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(address)
        if tls is not None:  # (the handshake, blocking, within TIMEOUT)
            self.sock = tls.wrap_socket(self.sock, server_hostname=address[0])
        self._buffer = b""
        self.eof = False
        self.seen: list[p.ServerMessage] = []

    # -------------------------------------------------------------- writing
    def send(self, line: str | bytes) -> None:
        """A str is one line (the newline is added); bytes go out exactly as given."""
        data = line if isinstance(line, bytes) else line.encode("utf-8") + b"\n"
        self.sock.sendall(data)

    # -------------------------------------------------------------- reading
    def readline(self, timeout: float = TIMEOUT) -> str | None:
        """The next raw line from the server (checked, not parsed); None at end of stream."""
        return self._read_line(time.monotonic() + timeout)

    def _read_line(self, deadline: float) -> str | None:
        """The next line from the server, None at end of stream; fails at the deadline."""
        while b"\n" not in self._buffer:
            if self.eof:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(self._report("timed out waiting for a line"))
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise AssertionError(self._report("timed out waiting for a line")) from None
            except ConnectionResetError:
                data = b""
            self.eof = not data
            self._buffer += data
        raw, self._buffer = self._buffer.split(b"\n", 1)
        line = raw.decode("utf-8")
        assert_clean_line(line)
        return line

    def next(self, timeout: float = TIMEOUT) -> p.ServerMessage:
        """The very next message; fails if the stream ends or nothing comes in time."""
        line = self._read_line(time.monotonic() + timeout)
        if line is None:
            raise AssertionError(self._report("the server closed the connection"))
        msg = p.parse_server_line(line)
        self.seen.append(msg)
        return msg

    def lines_until(self, what: Matcher, timeout: float = TIMEOUT) -> list[p.ServerMessage]:
        """Every message up to and including the first that matches `what`: a wire
        keyword ("MSG"), a message class (p.Chat) or a predicate on the message."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            line = self._read_line(deadline)
            if line is None:
                raise AssertionError(self._report(f"the connection closed before {what!r}"))
            msg = p.parse_server_line(line)
            self.seen.append(msg)
            got.append(msg)
            if _matches(msg, what):
                return got

    def expect(self, what: Matcher, timeout: float = TIMEOUT) -> p.ServerMessage:
        """Read until a message matches `what` (see lines_until) and return it."""
        return self.lines_until(what, timeout)[-1]

    def expect_closed(self, timeout: float = TIMEOUT) -> list[p.ServerMessage]:
        """Read to the end of the stream; returns what came before it."""
        deadline = time.monotonic() + timeout
        got = []
        while (line := self._read_line(deadline)) is not None:
            got.append(p.parse_server_line(line))
        self.seen.extend(got)
        return got

    # -------------------------------------------------------------- shortcuts
    def enter(self, room: str, nick: str | None = None) -> None:
        """/join ROOM (and /nick NICK), reading through every line the server sends
        back for it, so the next read starts with what happens after."""
        self.send(f"/join {room}")
        members = self.expect(p.Members)
        for _ in range(members.count):
            assert isinstance(self.next(), p.Member)
        if nick is not None:
            self.send(f"/nick {nick}")
            reply = self.expect(p.Reply)
            assert reply.code == 0, reply
            self.expect(lambda m: isinstance(m, p.Joined) and m.nick == nick)

    def say(self, text: str) -> p.Chat:
        """Send a chat line and wait for the server to echo it back to us."""
        self.send(text)
        return self.expect(lambda m: isinstance(m, p.Chat) and m.text == text)

    def close(self, reset: bool = False) -> None:
        if reset:  # an abrupt end: RST instead of FIN
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def _report(self, problem: str) -> str:
        recent = "\n  ".join(repr(m) for m in self.seen[-15:]) or "(nothing)"
        return f"{problem}; the last messages seen:\n  {recent}\n  pending bytes: {self._buffer[:200]!r}"


# ------------------------------------------------------------------ in-process server
@pytest.fixture
def start_server(caplog):
    """Start in-process servers (port 0, one thread each); stopped and joined at teardown.

    The server turns a crash in the state into an ERROR reply and a logged traceback,
    which would hide a bug from a test, so any ERROR it logs fails the test.
    """
    caplog.set_level(logging.INFO, logger="parlor.server")
    running: list[tuple[Server, threading.Thread]] = []

    crashes: list[BaseException] = []

    def run(server: Server) -> None:
        try:
            server.serve_forever()
        except BaseException as exc:  # the loop itself died: report it at teardown
            crashes.append(exc)
            raise

    def start(limits: Limits | None = None, grace: float = 0,
              tls: ssl.SSLContext | None = None, password: str | None = None,
              compat_gap: float | None = None, selector=None) -> Server:
        """`grace`: how long a dropped session is held for /resume (0 here unless a
        test is about that: most tests want a dropped peer gone at once); `tls`: a
        server context (see the `certs` fixture); `compat_gap`: also a course port
        (--compat-port 0) with that gap between sends; `selector`: the loop's
        (a selectors.SelectSelector, the only kind Windows has)."""
        from chat.server.password import PasswordGate
        course = {} if compat_gap is None else {"compat_port": 0, "compat_gap": compat_gap}
        server = Server(build_state(grace=grace), "127.0.0.1", 0, limits, tls_context=tls,
                        password=PasswordGate(password) if password is not None else None,
                        selector=selector, **course)
        thread = threading.Thread(target=run, args=(server,), name="parlor-server", daemon=True)
        thread.start()
        running.append((server, thread))
        return server

    yield start
    for server, thread in running:
        server.stop()
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "the server thread did not stop"
    assert not crashes, f"the server loop crashed: {crashes!r}"
    records = caplog.get_records("setup") + caplog.get_records("call") + caplog.records
    errors = [r for r in records if r.name == "parlor.server" and r.levelno >= logging.ERROR]
    assert not errors, "the server logged errors:\n" + "\n".join(r.getMessage() for r in errors)


@pytest.fixture
def server(start_server) -> Server:
    return start_server()


@pytest.fixture
def connect(start_server):
    """connect(server_or_address, rcvbuf=None) -> Peer, after its HELLO and SESSION (kept as
    peer.session); all closed at teardown
    (before the servers stop, since this fixture depends on start_server)."""
    peers: list[Peer] = []

    def make(target: Server | tuple[str, int], rcvbuf: int | None = None,
             hello: bool = True, tls: ssl.SSLContext | None = None) -> Peer:
        address = target.address if isinstance(target, Server) else target
        peer = Peer(address, rcvbuf, tls)
        peers.append(peer)
        if hello:
            assert isinstance(peer.next(), p.Hello)
            peer.session = peer.next()
            assert isinstance(peer.session, p.SessionToken)
        return peer

    yield make
    for peer in peers:
        peer.close()


def make_room(connect, server, room: str, *nicks: str) -> list[Peer]:
    """One connected peer per nick, each in `room` under that nick."""
    peers = []
    for nick in nicks:
        peer = connect(server)
        peer.enter(room, nick)
        peers.append(peer)
    return peers


# ------------------------------------------------------------------ subprocesses
class PipeReader:
    """Lines from a subprocess pipe, each read with a deadline (selectors, no threads)."""

    def __init__(self, pipe) -> None:
        self.fd = pipe.fileno()
        os.set_blocking(self.fd, False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.fd, selectors.EVENT_READ)
        self._buffer = b""
        self.eof = False
        self.lines: list[str] = []  # everything read so far

    def readline(self, deadline: float) -> str | None:
        """The next line without its newline; None at end of file; fails at the deadline."""
        while b"\n" not in self._buffer:
            if self.eof:
                if not self._buffer:
                    return None
                break  # a last line without a newline
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.selector.select(remaining):
                raise AssertionError(f"timed out waiting for output; so far: {self.lines!r}")
            data = os.read(self.fd, 65536)
            self.eof = not data
            self._buffer += data
        raw, _, self._buffer = self._buffer.partition(b"\n")
        line = raw.decode("utf-8", "replace")
        self.lines.append(line)
        return line

    def expect(self, what: str | Callable[[str], bool], timeout: float = TIMEOUT) -> str:
        """Read lines until one contains `what` (or satisfies it) and return that line."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.readline(deadline)
            if line is None:
                raise AssertionError(f"output ended before {what!r}; it was: {self.lines!r}")
            if (what in line) if isinstance(what, str) else what(line):
                return line

    def read_rest(self, timeout: float = TIMEOUT) -> list[str]:
        """Every remaining line, up to the end of file."""
        deadline = time.monotonic() + timeout
        rest = []
        while (line := self.readline(deadline)) is not None:
            rest.append(line)
        return rest

    def close(self) -> None:
        self.selector.close()


class Process:
    """A child process with its stdout and stderr readable line by line."""

    def __init__(self, args: list[str]) -> None:
        self.popen = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.stdout = PipeReader(self.popen.stdout)
        self.stderr = PipeReader(self.popen.stderr)

    def write(self, line: str) -> None:
        self.popen.stdin.write(line.encode("utf-8") + b"\n")
        self.popen.stdin.flush()

    def close_stdin(self) -> None:
        self.popen.stdin.close()

    def wait(self, timeout: float = TIMEOUT) -> int:
        return self.popen.wait(timeout)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(TIMEOUT)
        for pipe in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            pipe.close()
        self.stdout.close()
        self.stderr.close()


class ServerProcess(Process):
    """`python3 server.py --port 0 --quiet`; `address` is known once `wait_listening` returns.
    (--quiet keeps the log small: nobody reads stderr until the end.)"""

    def __init__(self, *extra: str) -> None:
        super().__init__(["server.py", "--port", "0", "--quiet", *with_own_db(extra)])
        self.address: tuple[str, int] | None = None

    def wait_listening(self) -> None:
        banner = self.stdout.readline(time.monotonic() + TIMEOUT)
        assert banner and banner.startswith("listening on "), f"unexpected banner {banner!r}"
        host, port = parse_banner(banner)
        self.address = (host, port)


def parse_banner(banner: str) -> tuple[str, int]:
    """`listening on HOST:PORT`, with ' (TLS)' after it on a TLS port."""
    match = re.match(r"listening on (.+):(\d+)( \(TLS\))?$", banner)
    assert match, f"unexpected banner {banner!r}"
    return match[1], int(match[2])


@pytest.fixture
def spawn():
    """spawn.server(*args), spawn.client(*args) (client.py --plain) and spawn.process(*argv)
    start Python children in the repository root; each is killed if still running, and
    reaped, at teardown."""
    children: list[Process] = []

    class Spawner:
        @staticmethod
        def server(*extra: str) -> ServerProcess:
            child = ServerProcess(*extra)
            children.append(child)
            child.wait_listening()
            return child

        @staticmethod
        def process(*args: str) -> Process:
            child = Process(list(args))
            children.append(child)
            return child

        @staticmethod
        def client(*extra: str) -> Process:
            child = Process(["client.py", "--plain", *extra])
            children.append(child)
            return child

    yield Spawner
    for child in reversed(children):
        child.stop()


# ------------------------------------------------------------------ TLS
class Certs:
    """A test certificate authority and a certificate it signed for 127.0.0.1 and
    localhost, as files (`cert`, `key`, `ca`) and as contexts."""

    def __init__(self, folder: Path) -> None:
        import trustme
        self.authority = trustme.CA()
        issued = self.authority.issue_cert("127.0.0.1", "localhost")
        self.cert, self.key, self.ca = (str(folder / name) for name in
                                        ("cert.pem", "key.pem", "ca.pem"))
        issued.cert_chain_pems[0].write_to_path(self.cert)
        issued.private_key_pem.write_to_path(self.key)
        self.authority.cert_pem.write_to_path(self.ca)
        self.issued = issued
        der = ssl.PEM_cert_to_DER_cert(issued.cert_chain_pems[0].bytes().decode())
        from chat.trust import fingerprint
        self.fingerprint = fingerprint(der)

    def server_context(self) -> ssl.SSLContext:
        from chat.server.tls import server_context
        return server_context(self.cert, self.key)

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.authority.configure_trust(context)
        return context


@pytest.fixture(scope="session")
def certs(tmp_path_factory) -> Certs:
    return Certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="session")
def other_certs(tmp_path_factory) -> Certs:
    """Another authority and certificate: not the one the server shows."""
    return Certs(tmp_path_factory.mktemp("other-certs"))
