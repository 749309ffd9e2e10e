"""The course-protocol listener (--compat-port, issue 17) against the real server:
course clients as the course's clients behave (tests/course_peer.py), in the same
rooms as Parlor's own clients (conftest.Peer)."""
from __future__ import annotations

import socket
import time

import pytest

from chat import protocol as p
from chat.server.limits import Limits
from course_peer import CoursePeer
from conftest import said

GAP = 0.02  # a short gap keeps the tests quick; the spacing test uses the default


@pytest.fixture
def course(start_server):
    """course(server, newline=False) -> a CoursePeer on its course port; closed at teardown."""
    peers = []

    def make(server, newline: bool = False) -> CoursePeer:
        peer = CoursePeer(server.compat_address, newline)
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.close()


def test_course_whole_session_with_a_parlor_client(start_server, connect, course):
    server = start_server(compat_gap=GAP)
    bob = connect(server)
    bob.enter("general", "bob")
    alice = course(server)
    assert alice.ask("/list") == "1"
    assert alice.read() == "general"
    assert alice.ask("/join general") == "0"
    assert alice.ask("/nick bob") == "2"  # taken, by the Parlor user
    assert alice.ask("/nick alice") == "0"
    assert alice.read() == "alice has joined the room."
    assert alice.read() == "There are 2 people in the room."
    joined = bob.expect(p.Joined)
    assert (joined.room, joined.nick) == ("general", "alice")

    bob.say("hi alice")
    assert alice.read() == "bob> hi alice"
    alice.send("hello bob")
    assert said(bob.expect(p.Chat)) == ("general", "alice", "hello bob")
    alice.send("/join elsewhere")  # in the room, anything but /who and /logout is said
    assert said(bob.expect(p.Chat)) == ("general", "alice", "/join elsewhere")

    assert alice.ask("/who") == "Users in this room:"  # (no echo of her own lines came first)
    assert [alice.read(), alice.read()] == ["alice", "bob"]
    bob.send("/who")
    assert bob.expect(p.Members).count == 2
    assert [bob.next().nick, bob.next().nick] == ["alice", "bob"]

    carol = course(server)
    assert carol.ask("/join general") == "0"
    carol.send("/nick carol")  # (alice reads as it comes, as course clients do)
    assert [alice.read(), alice.read()] == ["carol has joined the room.",
                                            "There are 3 people in the room."]
    assert [carol.read(), carol.read(), carol.read()] == [
        "0", "carol has joined the room.", "There are 3 people in the room."]
    carol.close(reset=True)  # dropped, no /logout
    assert alice.read() == "carol has been disconnected."
    assert bob.expect(p.Left).nick == "carol"

    alice.send("/logout")
    assert alice.expect_closed() == []  # no goodbye to read: the connection just closes
    left = bob.expect(p.Left)
    assert (left.nick, left.by_choice or left.reason == p.QUIT) == ("alice", True)


def test_course_parlor_user_leaving_and_a_new_room(start_server, connect, course):
    server = start_server(compat_gap=GAP)
    dave = course(server)
    assert dave.enter("fresh", "dave") == ["You have joined a new room."]
    erin = connect(server)
    erin.send("/join fresh")
    erin.send("/nick erin")
    assert [dave.read(), dave.read()] == ["erin has joined the room.",
                                          "There are 2 people in the room."]
    erin.expect(lambda m: isinstance(m, p.Joined) and m.nick == "erin")
    erin.send("/quit")
    assert dave.read() == "erin has left the room."


def test_course_clients_that_send_a_newline(start_server, course):
    server = start_server(compat_gap=GAP)
    frank = course(server, newline=True)
    assert frank.ask("/join general") == "0"
    assert frank.ask("/nick frank") == "0"
    assert frank.read() == "You have joined a new room."
    grace = course(server, newline=True)
    grace.sock.sendall(b"/join general\n/nick grace\n")  # two commands in one send
    assert grace.read() == "0"
    assert grace.read() == "0"
    assert grace.read() == "grace has joined the room."
    frank.send("hello grace   ")  # trailing whitespace is stripped
    assert grace.reads_until("frank> hello grace")[-1] == "frank> hello grace"


def test_course_badly_formatted_names_and_commands(start_server, course):
    server = start_server(compat_gap=GAP)
    henry = course(server)
    assert henry.ask("hello?") == "1"  # in the lobby, only /list and /join
    assert henry.ask("/join no-dashes") == "1"
    assert henry.ask("/join") == "1"
    assert henry.ask("/join lounge") == "0"
    assert henry.ask("hi") == "1"  # before a nick, nothing is said
    assert henry.ask("/nick under_score") == "1"
    assert henry.ask("/nick bot") == "1"  # reserved here, for the games
    assert henry.ask("/nick henry") == "0"
    assert henry.read() == "You have joined a new room."


def test_course_each_send_is_its_own_read_with_the_default_gap(start_server, connect, course):
    server = start_server(compat_gap=0.05)
    for room in ("alpha", "beta", "gamma"):
        connect(server).enter(room, "x")
    ivan = course(server)
    ivan.send("/list")
    arrivals = []
    for _ in range(4):
        arrivals.append((ivan.read(), time.monotonic()))
    assert [text for text, _ in arrivals] == ["3", "alpha", "beta", "gamma"]
    gaps = [b - a for (_, a), (_, b) in zip(arrivals, arrivals[1:])]
    assert min(gaps) >= 0.045, gaps


def test_course_register_timeout_is_told_in_a_sentence(start_server, course):
    server = start_server(Limits(register_timeout=0.3), compat_gap=GAP)
    quiet = course(server)
    assert quiet.expect_closed() == ["Disconnected by the server: said nothing for 0.3 s."]


def test_course_flood_is_cut_off_worded_in_messages(start_server, connect, course):
    server = start_server(Limits(max_rate=1, burst=1, max_queue=4), compat_gap=GAP)
    kim = course(server)
    assert kim.ask("/join general") == "0"
    assert kim.ask("/nick kim") == "0"
    assert kim.read() == "You have joined a new room."
    for i in range(8):
        kim.send(f"spam {i}\n")
    reads = kim.expect_closed()
    assert reads and reads[-1].startswith("Disconnected by the server: flooding: more than 4 "
                                          "messages waiting"), reads
    assert not any(" lines" in text for text in reads), reads


def test_course_port_of_the_real_server_process(spawn):
    child = spawn.server("--compat-port", "0", "--compat-gap", "0.01")
    banner = child.stdout.readline(time.monotonic() + 5)
    assert banner.startswith("course clients: listening on 127.0.0.1:"), banner
    port = int(banner.split(":")[2].split()[0])
    lena = CoursePeer(("127.0.0.1", port))
    try:
        assert lena.ask("/list") == "0"
        assert lena.enter("general", "lena") == ["You have joined a new room."]
        assert lena.ask("/who") == "Users in this room:"
        assert lena.read() == "lena"
    finally:
        lena.close()


def test_course_port_refused_with_a_password(spawn, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("pw\n")
    child = spawn.process("server.py", "--port", "0", "--compat-port", "0",
                          "--password-file", str(secret))
    assert child.wait() == 1
    assert "a course client has no way to give a password" in child.stderr.read_rest()[0]


def test_course_slow_reader_is_cut_off_and_its_room_told(start_server, connect, course):
    server = start_server(Limits(max_pending=4000, max_rate=0), compat_gap=GAP)
    lazy = course(server)
    lazy.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    lazy.enter("general", "lazy")  # ...and then reads no more
    talker = connect(server)
    talker.enter("general", "talker")
    line = "x" * 500
    for i in range(100):  # (reading each echo: the talker is no slow reader)
        talker.say(f"{i} {line}")
        lefts = [m for m in talker.seen if isinstance(m, p.Left)]
        if lefts:
            break
    assert [(m.nick, m.reason) for m in lefts] == [("lazy", "not reading (too much unsent output)")]


def test_course_quiet_client_is_not_hung_up_on(start_server, connect, course):
    server = start_server(Limits(ping_interval=0.1, ping_timeout=0.1), compat_gap=GAP)
    quiet = course(server)
    assert quiet.enter("general", "quiet") == ["You have joined a new room."]
    watcher = connect(server)
    watcher.enter("general", "watcher")
    assert [quiet.read(), quiet.read()] == ["watcher has joined the room.",
                                            "There are 2 people in the room."]
    for _ in range(4):  # a Parlor client answers its PINGs: time enough to hang up twice
        ping = watcher.expect(p.Ping)
        watcher.send(f"/pong {ping.token}")
    watcher.say("still there?")
    assert quiet.read() == "watcher> still there?"


def test_course_port_survives_running_out_of_file_descriptors(tmp_path):
    """Out of descriptors, the server stops watching both its ports a moment, then
    watches both again (it once re-registered the course port it had never let go,
    and the loop died of it)."""
    import resource
    import subprocess
    import sys

    from conftest import ROOT, PipeReader, parse_banner

    def few_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))

    child = subprocess.Popen(
        [sys.executable, "server.py", "--port", "0", "--compat-port", "0", "--db", ":memory:",
         "--max-per-address", "0", "--connect-rate", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=few_files)
    out, err = PipeReader(child.stdout), PipeReader(child.stderr)
    socks = []
    try:
        address = parse_banner(out.readline(time.monotonic() + 5))
        course_port = int(out.readline(time.monotonic() + 5).split(":")[2].split()[0])
        for _ in range(50):
            socks.append(socket.create_connection(address, timeout=5))
        err.expect("accept failed")
        for sock in socks:
            sock.close()
        socks.clear()
        parlor = socket.create_connection(address, timeout=5)  # accepted once the pause is over
        socks.append(parlor)
        assert parlor.recv(1024).startswith(b"HELLO "), err.read_rest()
        late = CoursePeer(("127.0.0.1", course_port))
        socks.append(late.sock)
        assert late.ask("/list") == "0"
    finally:
        for sock in socks:
            sock.close()
        child.terminate()
        child.wait(5)
        out.close()
        err.close()
        child.stdout.close()
        child.stderr.close()
