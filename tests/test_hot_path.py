"""The loop's hot path for a chat line read alone (Server._say_one), over real sockets.

Most reads are one chat line; the loop hands those to ChatState.say without the
general path's loop, parsing or password checks.  What must hold there as it does
for every other line: the room hears it once, the sender gets its echo, the
history keeps it, a crash in the state is the sender's ERROR (the others go on),
and a command or a line with a password never takes that path.
"""
from __future__ import annotations

import logging
import threading

from chat import protocol as p
from chat.server.loop import Server
from chat.server.main import build_state
from conftest import TIMEOUT, Peer


def _serve(**state_kw) -> tuple[Server, threading.Thread]:
    server = Server(build_state(grace=0, **state_kw), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def _member(server: Server, nick: str) -> Peer:
    peer = Peer(server.address)
    peer.send(f"/nick {nick}")
    peer.send("/join lounge")
    peer.expect(lambda m: isinstance(m, p.Here) and m.nick == nick)
    return peer


def test_a_lone_chat_line_reaches_the_room_once_with_its_echo_and_is_kept():
    server, thread = _serve()
    alice, bob = _member(server, "alice"), _member(server, "bob")
    try:
        alice.send("hello   there")  # (a read of one chat line: the hot path)
        got = bob.expect(p.Chat)
        assert (got.nick, got.text) == ("alice", "hello there")  # spaces collapsed there too
        echo = alice.expect(p.Chat)
        assert (echo.id, echo.text) == (got.id, "hello there")
        bob.send("//slash first")  # a line starting '//' is chat, by the general path
        assert alice.expect(p.Chat).text == "/slash first"
        kept = server.state.history.store.recent("lounge", 10, "")
        assert [e.text for e in kept if e.kind == p.SAY] == ["hello there", "/slash first"]
    finally:
        alice.sock.close()
        bob.sock.close()
        server.stop()
        thread.join(TIMEOUT)


def test_a_crash_saying_a_lone_line_is_the_senders_error_and_the_room_goes_on(caplog):
    server, thread = _serve()
    real_say = server.state.say

    def say(session_id, text, out):
        if text == "boom":
            raise RuntimeError("a bug in the state")
        real_say(session_id, text, out)

    server.state.say = say
    alice, bob = _member(server, "alice"), _member(server, "bob")
    try:
        with caplog.at_level(logging.ERROR, logger="parlor.server"):
            alice.send("boom")
            error = alice.expect(p.Error)
            assert "failed to handle your last line" in error.text
            alice.send("still here")
            assert bob.expect(p.Chat).text == "still here"  # nothing of 'boom' came first
        assert any("error handling a line" in r.getMessage() and r.exc_info for r in caplog.records)
        assert all(m.text != "boom" for m in bob.seen if isinstance(m, p.Chat))
    finally:
        alice.sock.close()
        bob.sock.close()
        server.stop()
        thread.join(TIMEOUT)


def test_commands_and_password_lines_never_take_the_chat_path():
    server, thread = _serve()
    said = []
    real_say = server.state.say
    server.state.say = lambda sid, text, out: (said.append(text), real_say(sid, text, out))
    alice = _member(server, "alice")
    try:
        alice.send("/who")
        alice.expect(p.Members)
        alice.send("/pass hunter2")  # (no password on this server: answered, never relayed)
        alice.expect(lambda m: isinstance(m, p.Reply) and "no password is needed" in m.text)
        alice.send("plain words")
        alice.expect(p.Chat)
        assert said == ["plain words"]
    finally:
        alice.sock.close()
        server.stop()
        thread.join(TIMEOUT)
