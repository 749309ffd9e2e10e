"""The server password: the pure gate and guard, the real server over loopback
(right, wrong, missing, pipelined), and the real clients (--password-file, the
refusal to send one in clear to another machine, /pass never shown)."""
from __future__ import annotations

import logging
import time

import pytest

from chat import protocol as p
from chat.server.guard import Guard, Refusal
from chat.server.limits import Limits
from chat.server.password import FORGET, MAX_DELAY, PasswordGate
from conftest import TIMEOUT

SECRET = "open sesame"


# ------------------------------------------------------------------ pure
def test_password_gate_compares_and_hides():
    gate = PasswordGate(SECRET)
    assert gate.accepts(SECRET)
    assert not gate.accepts("open sesam") and not gate.accepts("") and not gate.accepts("é")
    assert SECRET not in repr(gate)


def test_password_gate_slows_failures_per_address():
    gate = PasswordGate(SECRET)
    delays = [gate.failed("10.0.0.1", 100.0 + i) for i in range(8)]
    assert delays == [1, 2, 4, 8, 16, MAX_DELAY, MAX_DELAY, MAX_DELAY]
    assert gate.failed("10.0.0.2", 110.0) == 1  # another address starts afresh
    assert gate.failed("10.0.0.1", 108.0 + FORGET + 1) == 1  # and so does an old one
    gate.forget_idle(108.0 + 2 * FORGET + 10)
    assert gate.failed("10.0.0.2", 108.0 + 2 * FORGET + 10) == 1


def test_password_guard_refuses_at_its_time_and_ignores_lines_meanwhile():
    guard = Guard(Limits(), 0.0)
    refusal = Refusal("a wrong password", "wrong password")
    guard.refuse(2.0, refusal)
    assert guard.next_wake() == 2.0
    assert guard.receive(["/pass again"], 1.0) == ([], ())
    assert guard.tick(1.5) == ([], ())
    assert guard.tick(2.0) == ([], (refusal,))
    assert guard.tick(2.5) == ([], ())


# ------------------------------------------------------------------ the server
def greeted(connect, server):
    peer = connect(server)
    assert isinstance(peer.next(), p.PasswordWanted)
    return peer


def not_logged(caplog, *secrets: str) -> None:
    for record in caplog.records:
        for secret in secrets:
            assert secret not in record.getMessage(), record.getMessage()


def test_password_right_lets_in(start_server, connect, caplog):
    server = start_server(password=SECRET)
    peer = greeted(connect, server)
    peer.send(f"/pass {SECRET}")
    assert peer.next() == p.Reply("pass", 0, "password accepted")
    peer.enter("general", "ann")
    peer.say("in")
    not_logged(caplog, SECRET, "sesame")


def test_password_wrong_is_refused_after_a_delay(start_server, connect, caplog):
    server = start_server(password=SECRET)
    peer = greeted(connect, server)
    start = time.monotonic()
    peer.send("/pass guess-one\n/join general\n".encode())
    said = peer.expect_closed()
    waited = time.monotonic() - start
    assert said == [p.Reply("pass", 1, "wrong password"), p.Bye("wrong password")]
    assert 0.9 <= waited < 3, waited
    not_logged(caplog, "guess-one", SECRET)
    assert any("gave a wrong password: refused in 1 s" in r.getMessage() for r in caplog.records)


def test_password_missing_is_refused_and_nothing_reaches_the_state(start_server, connect):
    server = start_server(password=SECRET)
    peer = greeted(connect, server)
    peer.send("/join general")
    said = peer.expect_closed()
    assert said == [p.Reply("pass", 1, "this server asks for a password first: /pass SECRET"),
                    p.Bye("this server asks for a password first: /pass SECRET")]
    watcher = greeted(connect, server)
    watcher.send(f"/pass {SECRET}\n/join general\n".encode())  # pipelined: both handled
    members = watcher.expect(p.Members)  # only itself: the refused one never joined
    assert (members.count, members.unnamed) == (0, 1), members


def test_password_pass_on_an_open_server_is_answered(start_server, connect):
    server = start_server()
    peer = connect(server)
    peer.send("/pass whatever")
    assert peer.next() == p.Reply("pass", 0, "no password is needed: you are in")


# ------------------------------------------------------------------ the clients
@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / "password"
    path.write_text(f"  {SECRET}  \nthe rest is not read\n")
    return str(path)


def test_password_clients_with_the_file_get_in(spawn, password_file, tmp_path):
    server = spawn.server("--password-file", password_file)
    client = spawn.client("--port", str(server.address[1]), "--room", "general", "--nick",
                          "ann", "--password-file", password_file)
    client.stdout.expect("You joined general as ann")
    client.write("hello")
    client.stdout.expect("[general] ann: hello")
    client.close_stdin()
    assert client.wait() == 0
    assert SECRET not in "\n".join(client.stdout.lines + client.stderr.read_rest())


def test_password_client_without_it_is_told_how(spawn, password_file):
    server = spawn.server("--password-file", password_file)
    client = spawn.client("--port", str(server.address[1]), "--room", "general")
    client.stdout.expect("! This server asks for a password: /pass PASSWORD sends it, or start "
                         "client.py with --password-file FILE or --ask-password.")
    assert client.wait() == 1


def test_password_typed_is_sent_and_never_shown(spawn, password_file):
    server = spawn.server("--password-file", password_file)
    client = spawn.client("--port", str(server.address[1]))
    client.stdout.expect("This server asks for a password")
    client.write(f"/pass {SECRET}")
    client.write("/join general")
    client.stdout.expect("You joined general")
    client.close_stdin()
    assert client.wait() == 0
    assert SECRET not in "\n".join(client.stdout.lines)


def test_password_client_refuses_to_send_it_in_clear_to_another_machine(spawn, password_file):
    client = spawn.client("--host", "192.0.2.1", "--password-file", password_file)
    assert client.wait() == 1
    assert client.stderr.read_rest() == [
        "parlor: not sending a password to 192.0.2.1 without TLS: anyone on the network could "
        "read it. Connect with --tls, or add --password-in-clear if that is what you want"]
