"""Sessions that outlive a dropped connection: held nicks and seats, /resume, the grace
running out; the state alone, then a real server over loopback, then the client core."""
from __future__ import annotations

import os
import signal

import pytest

from chat import protocol as p
from chat.client import core as c
from chat.server.state import REPLACED, ChatState, Outbox
from conftest import Peer, make_room
from test_client_games import core_fed


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Sessions:
    def __init__(self, grace: float = 120) -> None:
        self.clock = Clock()
        self.state = ChatState(clock=self.clock, grace=grace)
        self.next = 1
        self.tokens: dict[int, str] = {}

    def connect(self) -> int:
        sid, self.next = self.next, self.next + 1
        out = Outbox()
        self.state.connect(sid, "127.0.0.1:1", out)
        (token,) = [m for _, m in out.sends if isinstance(m, p.SessionToken)]
        self.tokens[sid] = token.token
        return sid

    def say(self, sid: int, line: str) -> Outbox:
        out = Outbox()
        self.state.handle(sid, line, out)
        return out

    def got(self, out: Outbox, sid: int) -> list:
        return [m for targets, m in self.state.deliveries(out) if sid in targets]

    def enter(self, sid: int, room: str, nick: str) -> None:
        self.say(sid, f"/join {room}")
        self.say(sid, f"/nick {nick}")


def replies(msgs) -> list[p.Reply]:
    return [m for m in msgs if isinstance(m, p.Reply)]


def test_sessions_a_dropped_member_keeps_the_nick_for_the_grace():
    s = Sessions(grace=120)
    ann, bob = s.connect(), s.connect()
    s.enter(ann, "red", "ann")
    s.enter(bob, "red", "bob")
    out = Outbox()
    s.state.disconnect(ann, "disconnected", out, hold=True)
    (left,) = [m for m in s.got(out, bob) if isinstance(m, p.Left)]
    assert left.nick == "ann" and "wait 120 s" in left.reason
    eve = s.connect()
    s.say(eve, "/join red")
    (answer,) = replies(s.got(s.say(eve, "/nick ann"), eve))
    assert answer.code == 2 and "held for someone who lost the connection" in answer.text
    s.clock.now += 121
    out = Outbox()
    s.state.expire(out)
    (answer,) = replies(s.got(s.say(eve, "/nick ann"), eve))
    assert answer.code == 0  # the grace ran out: free again


def test_sessions_resume_takes_back_room_nick_and_id():
    s = Sessions()
    ann, bob = s.connect(), s.connect()
    s.enter(ann, "red", "ann")
    s.enter(bob, "red", "bob")
    s.state.disconnect(ann, "disconnected", Outbox(), hold=True)
    again = s.connect()
    out = s.say(again, f"/resume {s.tokens[ann]}")
    assert out.adoptions == [(again, ann)]  # the connection now goes by the old id
    mine = s.got(out, ann)
    assert replies(mine)[0].code == 0 and p.Here("red", "ann") in mine
    assert p.Joined("red", "ann", p.BACK) in s.got(out, bob)
    assert again not in s.state.sessions and s.state.sessions[ann].room.name == "red"
    chat = s.got(s.say(ann, "back again"), bob)
    assert [m.text for m in chat if isinstance(m, p.Chat)] == ["back again"]


@pytest.mark.parametrize("token", ["", "forged", "x" * 300])
def test_sessions_a_bad_token_gets_a_sentence(token):
    s = Sessions()
    sid = s.connect()
    (answer,) = replies(s.got(s.say(sid, f"/resume {token}".rstrip()), sid))
    assert answer.code == 1 and "session is over" in answer.text


def test_sessions_an_expired_token_is_refused():
    s = Sessions(grace=5)
    ann = s.connect()
    s.enter(ann, "red", "ann")
    s.state.disconnect(ann, "disconnected", Outbox(), hold=True)
    s.clock.now += 6
    s.state.expire(Outbox())
    sid = s.connect()
    (answer,) = replies(s.got(s.say(sid, f"/resume {s.tokens[ann]}"), sid))
    assert answer.code == 1
    assert "red" not in s.state.rooms  # nobody is left in it, held or not


def test_sessions_a_goodbye_is_not_held():
    s = Sessions()
    ann, bob = s.connect(), s.connect()
    s.enter(ann, "red", "ann")
    s.enter(bob, "red", "bob")
    s.state.disconnect(ann, "quit", Outbox(), hold=False)
    (answer,) = replies(s.got(s.say(bob, "/nick ann"), bob))
    assert answer.code == 0


# ------------------------------------------------------------------ a real server
def test_sessions_server_resume_after_a_reset(start_server, connect):
    server = start_server(grace=30)
    ann, bob = make_room(connect, server, "red", "ann", "bob")
    token = ann.session.token
    ann.close(reset=True)
    assert "wait 30 s" in bob.expect(p.Left).reason
    back = connect(server)
    back.send(f"/resume {token}")
    assert back.expect(p.Reply).code == 0
    assert bob.expect(p.Joined) == p.Joined("red", "ann", p.BACK)
    back.say("I am back")
    assert bob.expect(p.Chat).nick == "ann"


def test_sessions_server_resume_replaces_a_connection_still_open(start_server, connect):
    server = start_server(grace=30)
    ann, bob = make_room(connect, server, "red", "ann", "bob")
    other = connect(server)
    other.send(f"/resume {ann.session.token}")
    assert other.expect(p.Reply).code == 0
    assert ann.expect(p.Bye).text == REPLACED
    ann.expect_closed()
    other.say("from the new one")
    got = bob.lines_until(lambda m: isinstance(m, p.Chat))
    assert not any(isinstance(m, (p.Left, p.Joined)) for m in got)  # never gone


def test_sessions_server_a_game_waits_for_a_dropped_player(start_server, connect):
    server = start_server(grace=30)
    ann, bob = make_room(connect, server, "red", "ann", "bob")
    ann.send("/game tictactoe bob")
    bob.expect(lambda m: isinstance(m, p.GameNote) and "challenges" in m.text)
    bob.send("/accept")
    first = ann.expect(p.Turn).nick
    mover, other = (ann, bob) if first == "ann" else (bob, ann)
    token = ann.session.token
    ann.close(reset=True)
    back = connect(server)
    back.send(f"/resume {token}")
    assert back.expect(p.Reply).code == 0
    if mover is ann:
        mover = back
    mover.send("/move 5")
    note = (bob if mover is back else back).expect(
        lambda m: isinstance(m, p.GameNote) and "5" in m.text)
    assert "forfeit" not in note.text


# ------------------------------------------------------------------ the client core
def test_sessions_client_resumes_by_token_then_catches_up():
    core = core_fed("HERE general alice\n")
    core.receive_data(b"SESSION tok1 120 keep it\nMSG general 7 bob 2026-12-01T10:31:05.123Z hi\n")
    core.data_to_send(0.0)
    core.connection_lost("reset")
    core.connection_made()
    core.receive_data(b"HELLO parlor/4 hi\nSESSION tok2 120 new\n")
    assert core.data_to_send(0.0) == b"/resume tok1\n"
    core.receive_data(b"REPLY resume 0 welcome back\nSESSION tok1 120 again\nHERE general alice\n")
    assert core.data_to_send(0.0) == b"/missed 7\n"
    assert core.token == "tok1" and core.settled


def test_sessions_client_falls_back_to_joining_when_the_session_is_over():
    core = core_fed("HERE general alice\n")
    core.receive_data(b"SESSION tok1 120 keep it\n")
    core.data_to_send(0.0)
    core.connection_lost("reset")
    core.connection_made()
    core.receive_data(b"HELLO parlor/4 hi\nSESSION tok2 120 new\nREPLY resume 1 that session is over\n")
    assert core.data_to_send(0.0) == b"/resume tok1\n/nick alice\n/join general\n"
    assert core.token == "tok2"


@pytest.mark.parametrize("end", ["sigterm", "kill-9"])
def test_sessions_server_restart_keeps_sessions_for_resume(spawn, tmp_path, end):
    """Stopped (SIGTERM) and started again, the server still knows who was where: a
    client that comes back with its token is back in its room under its nick, and
    the nick was held for it."""
    db = str(tmp_path / "history.db")
    first = spawn.server("--db", db)
    ann = Peer(first.address)
    assert isinstance(ann.next(), p.Hello)
    token = ann.next().token
    ann.enter("red", "ann")
    if end == "kill-9":
        os.kill(first.popen.pid, signal.SIGKILL)
        first.popen.wait(10)
    else:
        first.stop()
    second = spawn.server("--db", db)
    eve = Peer(second.address)
    eve.send("/join red")
    eve.send("/nick ann")
    assert eve.expect(lambda m: isinstance(m, p.Reply) and m.command == "nick").code == 2
    back = Peer(second.address)
    back.send(f"/resume {token}")
    reply = back.expect(p.Reply)
    assert reply.code == 0 and "ann in red" in reply.text
    back.say("after the restart")


def test_sessions_server_an_end_of_input_without_quit_is_held_too(start_server, connect):
    """A client killed, or a terminal closed, ends with a FIN and no /quit: held."""
    server = start_server(grace=30)
    ann, bob = make_room(connect, server, "red", "ann", "bob")
    ann.close()
    assert "wait 30 s" in bob.expect(p.Left).reason


def test_sessions_the_room_is_told_when_the_grace_runs_out():
    s = Sessions(grace=5)
    ann, bob = s.connect(), s.connect()
    s.enter(ann, "red", "ann")
    s.enter(bob, "red", "bob")
    s.state.disconnect(ann, "disconnected", Outbox(), hold=True)
    s.clock.now += 6
    out = Outbox()
    s.state.expire(out)
    (left,) = [m for m in s.got(out, bob) if isinstance(m, p.Left)]
    assert left.nick == "ann" and "did not come back" in left.reason
