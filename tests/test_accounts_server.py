"""Accounts end to end: the real server.py on a real store file, socket peers and
the real client in a pseudo-terminal.  Register, nick protection in every room,
wrong passwords slowed, a restart keeps the account, and the password is never
found in the server's log, its store files or the client's screen and files.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from chat import protocol as p
from conftest import TIMEOUT, Peer, Process, parse_banner
from pty_harness import ENTER, UP, Terminal

PASSWORD = "s3cret with spaces ünï"


class LoggedServer(Process):
    """server.py with its log (stderr) kept, on the store file `db`."""

    def __init__(self, db: Path, *extra: str) -> None:
        super().__init__(["server.py", "--port", "0", "--db", str(db), *extra])
        banner = self.stdout.readline(time.monotonic() + TIMEOUT)
        self.address = parse_banner(banner)

    def log(self) -> str:
        self.popen.terminate()
        self.popen.wait(TIMEOUT)
        return "\n".join(self.stderr.read_rest())


@pytest.fixture
def servers():
    started: list[LoggedServer] = []

    def start(db: Path, *extra: str) -> LoggedServer:
        server = LoggedServer(db, *extra)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def peer(server: LoggedServer) -> Peer:
    peer = Peer(server.address)
    assert isinstance(peer.next(), p.Hello)
    assert isinstance(peer.next(), p.SessionToken)
    return peer


def answer(peer: Peer, line: str, command: type) -> p.Reply:
    peer.send(line)
    return peer.expect(lambda m: isinstance(m, p.Reply) and m.answers(command))


def store_bytes(db: Path) -> bytes:
    return b"".join(path.read_bytes() for path in db.parent.glob(db.name + "*"))


def test_accounts_register_protect_slow_and_survive_a_restart(servers, tmp_path):
    db = tmp_path / "parlor.db"
    server = servers(db)
    alice = peer(server)
    alice.enter("general", "alice")
    assert answer(alice, f"/register {PASSWORD}", p.Register).code == 0
    guest = peer(server)
    guest.enter("lounge")
    taken = answer(guest, "/nick alice", p.Nick)
    assert (taken.code, taken.text) == (2, "nick 'alice' is registered; /login to use it")
    assert answer(guest, "/login alice guess one", p.Login).text == "wrong nick or password"
    slowed = answer(guest, "/login alice guess two", p.Login)
    assert slowed.code == 1 and slowed.text.startswith("too many wrong passwords"), slowed
    guest.close()
    alice.close()
    log = server.log()
    assert "register" in log and PASSWORD not in log and "guess" not in log

    again = servers(db)  # a restart on the same file
    back = peer(again)
    assert answer(back, f"/login alice {PASSWORD}", p.Login).code == 0
    back.send("/join lounge")
    assert back.expect(p.Here).nick == "*"
    assert back.expect(lambda m: isinstance(m, p.Here) and m.nick == "alice")
    members = back.expect(p.Members)
    notes = [back.next() for _ in range(members.count)]
    assert notes == [p.Member("lounge", "alice", "logged in; owner")]
    back.close()
    log = again.log()
    assert PASSWORD.encode() not in store_bytes(db) and b"alice" in store_bytes(db)
    assert PASSWORD not in log


def test_accounts_require_login_refuses_guests_a_nick(servers, tmp_path):
    server = servers(tmp_path / "parlor.db", "--require-login")
    guest = peer(server)
    guest.enter("general")
    refused = answer(guest, "/nick bob", p.Nick)
    assert refused.code == 1 and "only logged-in users" in refused.text


def test_accounts_client_login_prompts_without_echo_and_keeps_it_nowhere(servers, tmp_path,
                                                                          monkeypatch):
    db = tmp_path / "parlor.db"
    server = servers(db)
    owner = peer(server)
    owner.enter("general", "alice")
    assert answer(owner, f"/register {PASSWORD}", p.Register).code == 0
    owner.send("/quit")
    owner.expect_closed()
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    term = Terminal(["--port", str(server.address[1]), "--login", "alice", "--room", "general"])
    try:
        term.wait_for("Password of alice on 127.0.0.1")
        term.send(PASSWORD + ENTER)
        term.wait_for("You are logged in as alice")
        term.wait_for(lambda t: "alice" in t.status())
        term.send("/who" + ENTER)
        term.send("/password another password" + ENTER)
        term.wait_for("Your password is changed")
        term.send(UP)  # the input history has no password line to bring back: /who
        term.wait_for(lambda t: "/who" in t.input_line() or "another" in t.input_line())
        assert "another password" not in term.input_line()
        screen = term.text()
        assert PASSWORD not in screen and "another password" not in screen
    finally:
        term.close()
    assert PASSWORD.encode() not in term.raw and b"another password" not in term.raw
    for path in config.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
    log = server.log()
    assert PASSWORD not in log and "another password" not in log
    assert PASSWORD.encode() not in store_bytes(db)
