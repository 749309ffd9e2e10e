"""The server's TLS over real loopback sockets: verified connects, refused
certificates, plain-text clients on the TLS port and TLS clients on a plain one,
half and slow handshakes under the deadline and --max-clients, the read and write
paths; and server.py's start with good and bad certificate files."""
from __future__ import annotations

import logging
import os
import socket
import ssl
import time

import pytest

from chat import protocol as p
from chat import tls
from chat.server.limits import Limits
from conftest import TIMEOUT, Peer

FAST = Limits(max_rate=0, max_work=0, handshake_timeout=0.5)


def client_hello(context: ssl.SSLContext) -> bytes:
    """The first bytes a TLS client sends: a real ClientHello, made in memory."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


def raw(server) -> socket.socket:
    sock = socket.create_connection(server.address, timeout=TIMEOUT)
    return sock


def read_to_end(sock: socket.socket) -> bytes:
    """Everything until the server closes (fails after TIMEOUT)."""
    sock.settimeout(TIMEOUT)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def handshake_failures(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "TLS handshake" in r.getMessage()]


def wait_for_log(caplog, text: str, timeout: float = TIMEOUT) -> str:
    """The first log line with `text`, once the server has logged it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [r.getMessage() for r in caplog.records if text in r.getMessage()]
        if found:
            return found[0]
        time.sleep(0.01)  # (polling the log, not synchronising with a sleep)
    raise AssertionError(f"no log line with {text!r}: {[r.getMessage() for r in caplog.records]}")


def test_tls_verified_connect_chats(start_server, connect, certs):
    server = start_server(FAST, tls=certs.server_context())
    ann = connect(server, tls=certs.client_context())
    bob = connect(server, tls=certs.client_context())
    assert ann.sock.version() in ("TLSv1.2", "TLSv1.3")
    ann.enter("general", "ann")
    bob.enter("general", "bob")
    ann.say("over TLS")
    assert bob.expect(p.Chat).text == "over TLS"


def test_tls_wrong_authority_is_refused_and_the_server_goes_on(start_server, connect, certs,
                                                                other_certs, caplog):
    server = start_server(FAST, tls=certs.server_context())
    with pytest.raises(ssl.SSLCertVerificationError):
        Peer(server.address, tls=other_certs.client_context())
    line = wait_for_log(caplog, "TLS handshake with")
    assert "unknown ca" in line, line
    ann = connect(server, tls=certs.client_context())
    ann.enter("general", "ann")


def test_tls_plain_text_client_on_the_tls_port_is_told_and_closed(start_server, certs, caplog):
    server = start_server(FAST, tls=certs.server_context())
    sock = raw(server)
    sock.sendall(b"/nick ann\n")
    said = read_to_end(sock).decode()
    assert said.startswith("BYE ") and "--tls" in said, said
    assert p.parse_server_line(said.rstrip("\n")) == p.Bye(
        "this port speaks TLS: connect with 'python3 client.py --tls' "
        "(a plain-text client cannot talk to it)")
    assert "plain-text client" in wait_for_log(caplog, "TLS handshake with")
    assert len(handshake_failures(caplog)) == 1
    assert not server.conns


def test_tls_silent_plain_client_is_closed_at_the_deadline(start_server, certs, caplog):
    server = start_server(FAST, tls=certs.server_context())
    sock = raw(server)
    start = time.monotonic()
    assert read_to_end(sock) == b""
    waited = time.monotonic() - start
    assert 0.4 <= waited < 2.0, waited
    assert "no TLS ClientHello within 0.5 s" in wait_for_log(caplog, "TLS handshake with")


def test_tls_half_handshake_is_dropped_and_others_chat_meanwhile(start_server, connect,
                                                                  certs, caplog):
    server = start_server(FAST, tls=certs.server_context())
    halves = []
    for _ in range(20):
        sock = raw(server)
        sock.sendall(client_hello(certs.client_context())[:40])  # stops half-way
        halves.append(sock)
    ann = connect(server, tls=certs.client_context())
    ann.enter("general", "ann")
    start = time.monotonic()
    ann.say("not held up")
    assert time.monotonic() - start < 0.3
    for sock in halves:
        assert read_to_end(sock) == b""
    wait_for_log(caplog, "no TLS handshake within 0.5 s")
    assert len(server.handshakes) == 0
    ann.say("still here")


def test_tls_garbage_client_hello_is_closed_with_one_log_line(start_server, connect, certs,
                                                             caplog):
    server = start_server(FAST, tls=certs.server_context())
    sock = raw(server)
    sock.sendall(b"\x16\x03\x01\x00\x20" + os.urandom(32) + b"\x16\x03\x03\xff\xff" * 50)
    start = time.monotonic()
    read_to_end(sock)
    assert time.monotonic() - start < 0.4  # at once, not at the deadline
    wait_for_log(caplog, "TLS handshake with")
    assert len(handshake_failures(caplog)) == 1
    connect(server, tls=certs.client_context()).enter("general", "ann")


def test_tls_handshakes_count_in_max_clients(start_server, connect, certs):
    limits = Limits(max_rate=0, max_work=0, handshake_timeout=0.5, max_clients=3,
                    max_per_address=0)
    server = start_server(limits, tls=certs.server_context())
    waiting = [raw(server) for _ in range(3)]  # never say a word: three handshakes
    start = time.monotonic()
    ann = socket.create_connection(server.address, timeout=TIMEOUT)
    assert read_to_end(ann) == b""  # full: closed at once, without a handshake
    assert time.monotonic() - start < 0.3  # (not at the 0.5 s deadline)
    for sock in waiting:
        assert read_to_end(sock) == b""  # the deadline frees their places
    connect(server, tls=certs.client_context()).enter("general", "ann")


def test_tls_client_on_a_plain_port_is_closed_with_one_log_line(start_server, connect,
                                                               certs, caplog):
    server = start_server(FAST)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        Peer(server.address, tls=certs.client_context())
    assert "TLS client on this plain-text port" in wait_for_log(caplog, "TLS client")
    connect(server).enter("general", "ann")


def test_tls_lines_in_many_records_are_one_batch(certs):
    """tls.receive reads every record that has come (an SSLSocket's recv gives one
    at a time) and what the TLS layer holds decrypted (which select cannot see)."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname(), timeout=TIMEOUT)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each record goes at once
    accepted, _ = listener.accept()
    listener.close()
    server_side = certs.server_context().wrap_socket(accepted, server_side=True,
                                                     do_handshake_on_connect=False)
    client_side = certs.client_context().wrap_socket(client, server_hostname="127.0.0.1",
                                                     do_handshake_on_connect=False)
    server_side.setblocking(False)
    client_side.setblocking(False)
    for _ in range(50):
        for end in (server_side, client_side):
            try:
                end.do_handshake()
            except tls.WANTS:
                pass
    lines = [b"line %d\n" % i for i in range(50)]
    for line in lines:
        client_side.send(line)  # one record each (on loopback, queued here when it returns)
    assert _receive_some(server_side, 65536) == b"".join(lines)  # one read, as plain recv
    client_side.send(b"x" * 1000 + b"\n")
    assert _receive_some(server_side, 10) == b"x" * 1000 + b"\n"  # not just 10 bytes
    assert server_side.pending() == 0
    for end in (server_side, client_side):
        end.close()


def test_tls_slow_reader_gets_every_line_in_order(start_server, connect, certs):
    """A reader that cannot keep up: the server's sends wait (SSLWantWriteError)
    and go on with the same bytes first, so the stream stays whole."""
    server = start_server(Limits(max_rate=0, max_work=0, max_pending=1 << 24),
                          tls=certs.server_context())
    slow = connect(server, rcvbuf=4096, tls=certs.client_context())
    slow.enter("general", "slow")
    ann = connect(server, tls=certs.client_context())
    ann.enter("general", "ann")
    texts = [f"{i:04d} " + "x" * 800 for i in range(8000)]
    for text in texts:
        ann.send(text)
    ann.expect(lambda m: isinstance(m, p.Chat) and m.text == texts[-1], timeout=10)
    got = [m.text for m in slow.lines_until(
        lambda m: isinstance(m, p.Chat) and m.text == texts[-1], timeout=10)
           if isinstance(m, p.Chat)]
    assert got == texts


def _receive_some(sock: ssl.SSLSocket, size: int) -> bytes:
    """tls.receive's first answer that has something in it."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        data = tls.receive(sock, size)
        if data:
            return data
    raise AssertionError("nothing came")


# ------------------------------------------------------------------ server.py
def test_tls_server_py_says_tls_and_its_fingerprint(spawn, certs):
    child = spawn.server("--tls-cert", certs.cert, "--tls-key", certs.key)
    assert child.stdout.lines[0] == f"listening on 127.0.0.1:{child.address[1]} (TLS)"
    fingerprint = child.stdout.readline(time.monotonic() + TIMEOUT)
    assert fingerprint == f"TLS certificate fingerprint (SHA-256): {certs.fingerprint}"
    peer = Peer(child.address, tls=certs.client_context())
    assert isinstance(peer.next(), p.Hello)
    peer.close()


def _start_failure(spawn, *args: str) -> str:
    child = spawn.process("server.py", "--port", "0", "--db", ":memory:", *args)
    assert child.wait() == 1
    said = child.stderr.read_rest()
    assert len(said) == 1 and "Traceback" not in said[0], said
    return said[0]


def test_tls_server_py_refuses_a_missing_certificate(spawn, tmp_path):
    said = _start_failure(spawn, "--tls-cert", str(tmp_path / "nope.pem"))
    assert said == f"cannot start: cannot read the TLS certificate {tmp_path / 'nope.pem'}: " \
                   "No such file or directory"


def test_tls_server_py_refuses_an_unreadable_certificate(spawn, tmp_path):
    said = _start_failure(spawn, "--tls-cert", str(tmp_path))  # a folder
    assert said.startswith(f"cannot start: cannot read the TLS certificate {tmp_path}: "), said


def test_tls_server_py_refuses_a_file_that_is_no_certificate(spawn, tmp_path):
    junk = tmp_path / "junk.pem"
    junk.write_text("hello\n")
    said = _start_failure(spawn, "--tls-cert", str(junk))
    assert said == f"cannot start: {junk} holds no PEM certificate (a '-----BEGIN " \
                   "CERTIFICATE-----' block)"


def test_tls_server_py_refuses_an_expired_certificate(spawn, certs, tmp_path):
    import datetime
    old = certs.authority.issue_cert("127.0.0.1", not_after=datetime.datetime(
        2020, 3, 4, tzinfo=datetime.timezone.utc))
    cert, key = tmp_path / "old.pem", tmp_path / "old.key"
    old.cert_chain_pems[0].write_to_path(str(cert))
    old.private_key_pem.write_to_path(str(key))
    said = _start_failure(spawn, "--tls-cert", str(cert), "--tls-key", str(key))
    assert said.startswith(f"cannot start: the TLS certificate {cert} expired on 2020-03-04"), said


def test_tls_server_py_refuses_a_key_of_another_certificate(spawn, certs, other_certs):
    said = _start_failure(spawn, "--tls-cert", certs.cert, "--tls-key", other_certs.key)
    assert said == f"cannot start: the TLS key {other_certs.key} does not belong to the " \
                   f"certificate {certs.cert}"


def test_tls_server_py_warns_when_serving_beyond_loopback_in_clear(spawn):
    child = spawn.process("server.py", "--host", "0.0.0.0", "--port", "0", "--quiet",
                          "--db", ":memory:")
    assert child.stdout.readline(time.monotonic() + TIMEOUT).startswith("listening on 0.0.0.0:")
    warning = child.stderr.readline(time.monotonic() + TIMEOUT)
    assert warning.startswith("warning: serving 0.0.0.0 beyond this machine without TLS"), warning


def test_tls_server_py_does_not_warn_on_loopback(spawn, certs):
    child = spawn.process("server.py", "--port", "0", "--db", ":memory:")
    assert child.stdout.readline(time.monotonic() + TIMEOUT).startswith("listening on")
    child.popen.terminate()
    child.wait()
    assert not any("warning" in line for line in child.stderr.read_rest())


def test_tls_a_flood_of_client_hellos_does_not_stall_the_chat(start_server, connect, certs):
    """Hundreds of ClientHellos at once (each costs the server a key exchange and a
    signature): they are taken 5 ms of work a turn, and a line from someone already
    in goes round meanwhile."""
    limits = Limits(max_rate=0, max_work=0, handshake_timeout=5, max_per_address=0,
                    connect_rate=0)
    server = start_server(limits, tls=certs.server_context())
    ann = connect(server, tls=certs.client_context())
    ann.enter("general", "ann")
    hello = client_hello(certs.client_context())
    flood = [raw(server) for _ in range(800)]
    for sock in flood:
        sock.sendall(hello)
    start = time.monotonic()
    ann.say("still quick")
    waited = time.monotonic() - start
    assert waited < 0.15, waited  # (unbounded, 0.3 s here)
    assert len(server.handshakes) > 0  # (the flood was still being worked through)
    for sock in flood:
        sock.close()
