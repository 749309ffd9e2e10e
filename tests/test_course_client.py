"""client.py --course: the client core through a CourseAdapter (pure, first), then
the real client, line mode and full-screen, against tests/course_server.py (which
merges reads as the course's published server does)."""
from __future__ import annotations

import pytest

from chat import protocol as p
from chat.client import core as c
from chat.client.course import ANSWER_WAIT, SEND_GAP, WHO_QUIET, CourseAdapter, CourseCore
from course_peer import CoursePeer
from course_server import CourseServer
from pty_harness import ENTER, Terminal


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def course_core(**kwargs) -> tuple[CourseCore, Clock]:
    clock = Clock()
    core = CourseCore("course:5220", clock=clock, wall=lambda: 1.8e9, **kwargs)
    core.connection_made()
    return core, clock


def sent(core: CourseCore, clock: Clock) -> list[bytes]:
    """Every send the core makes from now, each taken SEND_GAP after the one before
    (and, for a command, after its answer: the caller feeds those)."""
    sends = []
    while data := core.data_to_send(clock.now):
        sends.append(data)
        clock.now += SEND_GAP
    return sends


def texts(core: CourseCore) -> list[str]:
    return [e.text for e in core.take_entries()]


# ---------------------------------------------------------------- the adapter, pure
def test_course_client_join_and_nick_with_the_merged_answer():
    core, clock = course_core()
    core.take_entries()
    core.submit("/join general")
    core.submit("/nick amy")
    assert sent(core, clock) == [b"/join general"]  # the /nick waits for the answer
    core.receive_data(b"0")
    assert core.room == "general" and core.nick is None
    assert sent(core, clock) == [b"/nick amy"]
    core.receive_data(b"0bo has joined the room.There are 2 people in the room.")
    assert (core.room, core.nick) == ("general", "amy")
    shown = texts(core)
    assert "You joined general; pick a nick with /nick NAME." in shown
    assert "You are now amy in general." in shown
    assert "bo joined general" in shown and "There are 2 people in general." in shown


def test_course_client_every_code_is_a_sentence():
    core, clock = course_core()
    core.take_entries()
    core.submit("/join no-way")
    sent(core, clock)
    core.receive_data(b"1")
    core.submit("/join lounge")
    sent(core, clock)
    core.receive_data(b"0")
    for nick, code in (("bo", b"2"), ("b_o", b"1"), ("amy", b"0You have joined a new room.")):
        core.submit(f"/nick {nick}")
        sent(core, clock)
        core.receive_data(code)
    shown = texts(core)
    assert "'no-way' is not a room name the course server takes (letters and digits only)." \
        in shown
    assert "Nick 'bo' is taken in lounge, pick another." in shown
    assert "'b_o' is not a nick the course server takes (letters and digits only)." in shown
    assert "lounge is a new room: you are the first here." in shown
    assert not any(text in ("0", "1", "2") for text in shown)


def test_course_client_list_with_the_count_glued_to_a_name():
    core, clock = course_core()
    core.take_entries()
    core.submit("/list")
    assert sent(core, clock) == [b"/list"]
    core.receive_data(b"2alpha")
    core.receive_data(b"beta")
    assert texts(core) == ["Rooms: alpha, beta. /join ROOM to enter one."]
    core.submit("/list")
    sent(core, clock)
    core.receive_data(b"0")
    assert texts(core) == ["No rooms yet: /join NAME creates one."]


def in_room(nick: str = "amy") -> tuple[CourseCore, Clock]:
    core, clock = course_core(room="general", nick=nick)
    assert sent(core, clock) == [b"/join general"]  # the nick waits for the room
    core.receive_data(b"0")
    assert sent(core, clock) == [f"/nick {nick}".encode()]
    core.receive_data(b"0You have joined a new room.")
    assert sent(core, clock) == [b"/who"]  # asked by itself: who is here, for the count
    core.receive_data(b"Users in this room:")
    core.receive_data(nick.encode())
    core.tick(clock.now + WHO_QUIET)
    assert core.here_count() == 1
    core.take_entries()
    return core, clock


def test_course_client_chat_both_ways_and_who_ending_when_quiet():
    core, clock = in_room()
    core.submit("hello")
    assert sent(core, clock) == [b"hello"]
    core.receive_data(b"bo> hi amy")
    entries = core.take_entries()
    assert [(e.kind, e.nick, e.text) for e in entries] == [
        (c.OWN, "amy", "hello"), (c.MENTION, "bo", "hi amy")]
    core.submit("/who")
    assert sent(core, clock) == [b"/who"]
    core.receive_data(b"Users in this room:")
    core.receive_data(b"amy")
    core.submit("next")
    core.receive_data(b"bo")
    core.tick(clock.now + WHO_QUIET / 2)
    assert texts(core) == []  # more may come
    assert sent(core, clock) == []  # and nothing goes meanwhile
    core.tick(clock.now + WHO_QUIET)
    assert texts(core) == ["In general: amy, bo"]
    assert sent(core, clock) == [b"next"]
    core.take_entries()
    core.receive_data(b"bo has left the room.")
    core.receive_data(b"cy has been disconnected.")
    assert texts(core) == ["bo left general", "cy left general (disconnected)"]


def test_course_client_what_the_course_cannot_do_is_said_here():
    core, clock = in_room()
    for line in ("/join other", "/nick other", "/topic hi", "//who", "/history"):
        core.submit(line)
    assert sent(core, clock) == []
    shown = texts(core)
    assert "A course server has no way to change rooms: /quit, then connect again." in shown
    assert any("a course server has no /topic" in text.lower() for text in shown)
    assert any("would take '/who' as its command" in text for text in shown)


def test_course_client_quit_sends_logout_at_once():
    core, clock = in_room()
    core.submit("/who")
    assert sent(core, clock) == [b"/who"]
    core.submit("waiting behind the who")
    core.submit("/quit")
    assert core.data_to_send(clock.now) == b"/logout"
    assert core.data_to_send(clock.now + 1) == b""  # what waited is dropped


def test_course_client_an_answer_that_never_comes_lets_the_next_go():
    core, clock = in_room()
    core.submit("/who")
    core.submit("after")
    assert sent(core, clock) == [b"/who"]
    core.tick(clock.now)
    assert core.wake_at(clock.now) == clock.now - SEND_GAP + ANSWER_WAIT
    clock.now += ANSWER_WAIT
    core.tick(clock.now)
    assert "The course server did not answer /who within 5 s." in texts(core)
    assert sent(core, clock) == [b"after"]


# ---------------------------------------------------------------- the real client
@pytest.fixture
def course_server():
    server = CourseServer()
    yield server
    server.stop()


def test_course_client_line_mode_whole_session(course_server, spawn):
    zed = CoursePeer(course_server.address)
    try:
        assert zed.ask("/join general") == "0"
        assert zed.ask("/nick zed") == "0You have joined a new room."
        client = spawn.client("--course", "--port", str(course_server.address[1]))
        client.stdout.expect("This is a course server: /list shows the rooms")
        client.write("/list")
        client.stdout.expect("Rooms: general. /join ROOM to enter one.")
        client.write("/join general")
        client.stdout.expect("You joined general; pick a nick with /nick NAME.")
        client.write("/nick zed")
        client.stdout.expect("Nick 'zed' is taken in general, pick another.")
        client.write("/nick amy")
        client.stdout.expect("You are now amy in general.")
        client.stdout.expect("There are 2 people in general.")
        assert zed.read() == "amy has joined the room.There are 2 people in the room."
        client.stdout.expect("In general: zed, amy")  # asked by itself (as the server lists)
        client.write("hello zed")
        assert zed.read() == "amy> hello zed"
        zed.send("hi amy")
        client.stdout.expect("[general] zed: hi amy")
        client.write("/who")
        client.stdout.expect("In general: zed, amy")
        client.write("/quit")
        assert client.wait() == 0
        assert zed.read() == "amy has left the room."
        assert "/logout" in course_server.heard
    finally:
        zed.close()


def test_course_client_full_screen_with_room_and_nick(course_server):
    port = str(course_server.address[1])
    term = Terminal(["--course", "--port", port, "--room", "lounge",
                     "--nick", "bea"], rows=20, cols=90)
    try:
        term.wait_for("lounge is a new room: you are the first here.")
        zed = CoursePeer(course_server.address)
        try:
            assert zed.ask("/join lounge") == "0"
            assert zed.ask("/nick zed") == \
                "0zed has joined the room.There are 2 people in the room."
            term.wait_for("zed joined lounge")
            zed.send("welcome bea")
            term.wait_for("welcome bea")
            term.send("thanks" + ENTER)
            assert zed.read() == "bea> thanks"
            term.send("/quit" + ENTER)
            assert term.wait_eof() == 0
            assert zed.read() == "bea has left the room."
        finally:
            zed.close()
    finally:
        term.close()


def test_course_client_on_parlor_s_own_course_port(start_server, connect, spawn):
    server = start_server(compat_gap=0.02)
    pat = connect(server)
    pat.enter("general", "pat")
    client = spawn.client("--course", "--port", str(server.compat_address[1]),
                          "--room", "general", "--nick", "quinn")
    client.stdout.expect("You are now quinn in general.")
    client.stdout.expect("In general: pat, quinn")
    assert pat.expect(p.Joined).nick == "quinn"
    pat.say("hi quinn")
    client.stdout.expect("[general] pat: hi quinn")
    client.write("hello pat")
    assert pat.expect(p.Chat).text == "hello pat"
    client.write("/quit")
    assert client.wait() == 0
    left = pat.expect(p.Left)
    assert (left.nick, left.reason) == ("quinn", p.QUIT)
