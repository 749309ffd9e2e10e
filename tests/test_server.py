"""The server over real loopback sockets: an in-process server on port 0 in a thread,
test peers with a deadline on every read, and server.py run as a real subprocess.
"""
from __future__ import annotations

import random
import signal
import socket

import pytest

from chat import protocol as p
from chat.server.limits import Limits
from conftest import TIMEOUT, said


def is_chat(text: str):
    return lambda m: isinstance(m, p.Chat) and m.text == text


def test_server_greets_with_hello(server, connect):
    peer = connect(server, hello=False)
    hello = peer.next()
    assert hello == p.Hello(p.PROTOCOL, hello.text) and "/join" in hello.text


def test_server_lines_in_one_read_reach_the_room_the_sender_was_in(server, connect):
    """Rooms are expanded when their messages are delivered: what a sender said before
    a /join in the same read still reaches it and its old room, and only them."""
    ann, bob, cid = connect(server), connect(server), connect(server)
    ann.enter("red", "ann")
    bob.enter("red", "bob")
    cid.enter("blue", "cid")
    ann.send(b"bye red\n/join blue\nhello blue\n/leave\nin the lobby\n")
    got = ann.lines_until(p.Error)
    assert [said(m) for m in got if isinstance(m, p.Chat)] == [
        ("red", "ann", "bye red"), ("blue", "ann", "hello blue")]
    assert [m.room for m in got if isinstance(m, p.Here)] == ["*", "blue", "blue", "*"]
    assert said(bob.expect(p.Chat)) == ("red", "ann", "bye red")
    assert said(cid.expect(p.Chat)) == ("blue", "ann", "hello blue")
    bob.say("sync")
    assert not [m for m in bob.seen if isinstance(m, p.Chat) and m.text == "hello blue"]


def test_server_three_clients_two_rooms_are_isolated(server, connect):
    ann, bob, cid = connect(server), connect(server), connect(server)
    ann.enter("red", "ann")
    bob.enter("red", "bob")
    cid.enter("blue", "cid")
    ann.say("hello red")
    assert said(bob.expect(p.Chat)) == ("red", "ann", "hello red")
    cid.say("hello blue")  # its echo means the server has handled it
    bob.say("sync")
    ann.lines_until(is_chat("sync"))
    cid.send("/who")  # answered after anything the server could have leaked to cid
    assert cid.lines_until(p.Members)[-1] == p.Members("blue", 1, 0)
    chats = {name: [m.text for m in peer.seen if isinstance(m, p.Chat)]
             for name, peer in [("ann", ann), ("bob", bob), ("cid", cid)]}
    assert chats == {"ann": ["hello red", "sync"], "bob": ["hello red", "sync"],
                     "cid": ["hello blue"]}


def test_server_list_counts_and_join_creates(server, connect):
    ann, bob, cid = connect(server), connect(server), connect(server)
    ann.send("/list")
    assert ann.next() == p.RoomCount(0, 0, "no rooms yet")
    ann.enter("red", "ann")
    bob.enter("red")
    cid.enter("blue", "cid")
    ann.send("/list")
    assert ann.expect(p.RoomCount) == p.RoomCount(2, 2, "2 rooms")
    assert [ann.next(), ann.next()] == [p.RoomEntry("blue", 1), p.RoomEntry("red", 2)]


def test_server_nick_codes(server, connect):
    ann, bob = connect(server), connect(server)
    ann.enter("red")
    bob.enter("red")
    ann.send("/nick ann")
    assert ann.expect(p.Reply).code == 0
    assert ann.expect(p.Here) == p.Here("red", "ann")
    ann.send("/nick not valid")
    assert ann.expect(p.Reply).code == 1
    bob.send("/nick ANN")  # taken, whatever the case
    reply = bob.expect(p.Reply)
    assert (reply.command, reply.code) == ("nick", 2)


def test_server_who(server, connect):
    ann, bob = connect(server), connect(server)
    ann.enter("red", "zed")
    bob.enter("red", "amy")
    bob.send("/who")
    assert bob.expect(p.Members) == p.Members("red", 2, 0)
    assert [bob.next(), bob.next()] == [p.Member("red", "amy"), p.Member("red", "zed")]


def test_server_leave_frees_the_nick(server, connect):
    ann, bob = connect(server), connect(server)
    ann.enter("red", "ann")
    bob.enter("red")
    ann.send("/leave")
    assert ann.expect(p.Here) == p.Here(p.NOBODY, p.NOBODY)
    assert bob.expect(p.Left) == p.Left("red", "ann", "left")
    bob.send("/nick ann")
    assert bob.expect(p.Reply).code == 0


@pytest.mark.parametrize("reset", [False, True], ids=["close", "reset"])
def test_server_abrupt_disconnect_frees_the_nick_and_notifies(server, connect, reset):
    """With --resume-grace 0 (this fixture's): no session is held."""
    ann, bob = connect(server), connect(server)
    ann.enter("red", "ann")
    bob.enter("red", "bob")
    ann.close(reset=reset)
    left = bob.expect(p.Left)
    assert (left.room, left.nick) == ("red", "ann")
    assert left.reason == "disconnected" or left.reason.startswith("connection error")
    assert "TLS" not in left.reason  # (this server speaks plain text)
    newcomer = connect(server)
    newcomer.enter("red", "ann")  # asserts code 0


def test_server_quit_says_bye_and_closes(server, connect):
    ann, bob = connect(server), connect(server)
    ann.enter("red", "ann")
    bob.enter("red", "bob")
    ann.send("/quit")
    assert ann.expect("BYE") == p.Bye("goodbye")
    assert ann.expect_closed() == []
    assert bob.expect(p.Left) == p.Left("red", "ann", "quit")


def test_server_ignores_what_follows_quit(server, connect):
    ann, bob = connect(server), connect(server)
    ann.enter("red", "ann")
    bob.enter("red", "bob")
    ann.send(b"/quit\nnot relayed\n")
    assert ann.expect(p.Bye)
    ann.expect_closed()
    bob.say("sync")
    assert not [m for m in bob.seen if isinstance(m, p.Chat) and m.nick == "ann"]


@pytest.mark.parametrize("junk", [
    pytest.param(b"x" * 2000 + b"\n", id="over-long line"),
    pytest.param(b"x" * 1024 + b"\n", id="1024 bytes plus newline"),
    pytest.param(b"caf\xc3\x28 \xff\xfe\n", id="invalid utf-8"),
    pytest.param(b"\xed\xa0\x80\n", id="encoded surrogate"),
])
def test_server_bad_line_gets_an_error_and_the_connection_works(server, connect, junk):
    ann, bob = connect(server), connect(server)
    ann.enter("red", "ann")
    bob.enter("red", "bob")
    ann.send(junk)
    assert isinstance(ann.expect(p.Error), p.Error)
    ann.say("still here")
    assert said(bob.expect(p.Chat)) == ("red", "ann", "still here")


def test_server_long_line_in_pieces(server, connect):
    ann = connect(server)
    ann.enter("red", "ann")
    for _ in range(10):
        ann.send(b"y" * 500)  # 5000 bytes, no newline yet: one ERROR, as soon as it passes 1024
    assert isinstance(ann.next(), p.Error)
    ann.send(b"rest\nafter\n")
    assert said(ann.next()) == ("red", "ann", "after")


def test_server_survives_binary_junk(start_server, connect):
    server = start_server(Limits(max_rate=0))  # ~200 lines at once: past the flood limit
    ann, bob = connect(server), connect(server)
    ann.enter("red", "ann")
    bob.enter("red", "bob")
    noise = random.Random(2024).randbytes(50_000).replace(b"/", b"|")  # no /quit by chance
    commands = b"".join(b"/" + cmd + b" " + noise[i * 100:i * 100 + 40] + b"\n"
                        for i, cmd in enumerate([b"join", b"nick", b"who", b"\xff", b"\x1b[2J", b""]))
    ann.send(commands + noise + b"\n")
    ann.say("after the junk")  # every line the peers got was checked: short, no control characters
    assert bob.expect(is_chat("after the junk")).nick == "ann"
    assert any(isinstance(m, p.Error) for m in ann.seen)


def test_server_cuts_off_a_peer_that_never_reads(start_server, connect):
    server = start_server(Limits(max_pending=64 * 1024, max_rate=0, max_work=0))
    talker, listener = connect(server), connect(server)
    talker.enter("red", "talker")
    listener.enter("red", "listener")
    slow = connect(server, rcvbuf=4096)
    slow.enter("red", "slow")  # from here on, it never reads
    listener.expect(lambda m: m == p.Joined("red", "slow"))
    payload = "z" * 880
    left = None
    for batch in range(2000):  # at most ~60 MB; a few MB of kernel buffers are usually enough
        lines = [f"{batch}-{i} {payload}" for i in range(32)]
        talker.send("".join(line + "\n" for line in lines).encode())
        seen = talker.lines_until(is_chat(lines[-1]))
        listener.lines_until(is_chat(lines[-1]))
        left = next((m for m in seen if isinstance(m, p.Left)), None)
        if left:
            break
    assert left is not None and (left.room, left.nick) == ("red", "slow")
    assert "not reading" in left.reason
    talker.say("still chatting")
    assert said(listener.expect(p.Chat)) == ("red", "talker", "still chatting")
    slow.expect_closed(timeout=10)  # what was in flight, then the end


def test_server_stop_says_bye_to_everyone(server, connect):
    peers = [connect(server) for _ in range(3)]
    peers[0].enter("red", "ann")
    peers[1].enter("blue", "bob")
    server.stop("maintenance")
    for peer in peers:
        assert peer.expect(p.Bye) == p.Bye("maintenance")
        peer.expect_closed()


def test_server_stop_refuses_new_connections_at_once(server, connect):
    peer = connect(server)
    address = server.address
    server.stop("maintenance")
    peer.expect(p.Bye)
    with pytest.raises(ConnectionRefusedError):  # not accepted into a backlog nobody serves
        socket.create_connection(address, timeout=TIMEOUT).close()


# ------------------------------------------------------------------ the real server.py
def test_server_process_chat_and_sigterm(spawn, connect):
    proc = spawn.server()
    ann = connect(proc.address, hello=False)
    assert ann.readline().startswith("HELLO parlor/4 ")  # the raw banner, as nc shows it
    bob = connect(proc.address)
    ann.enter("lounge", "ann")
    bob.enter("lounge", "bob")
    ann.say("hello from a real process")
    assert said(bob.expect(p.Chat)) == ("lounge", "ann", "hello from a real process")
    proc.popen.send_signal(signal.SIGTERM)
    for peer in (ann, bob):
        assert isinstance(peer.expect(p.Bye), p.Bye)
        peer.expect_closed()
        peer.close()  # as a client does: the server waits (2 s at most) for that
    assert proc.wait() == 0
    assert "Traceback" not in "\n".join(proc.stderr.read_rest())


def test_server_process_port_in_use(spawn):
    first = spawn.server()
    second = spawn.process("server.py", "--port", str(first.address[1]))
    assert second.wait() == 1
    (line,) = second.stderr.read_rest()
    port = first.address[1]
    assert line.startswith(f"cannot listen: 127.0.0.1:{port} is already in use")
    assert f"python3 client.py --port {port}" in line and "(" not in line  # no Python tuple
