"""The course protocol's pure parts (chat.course, chat.server.course): no sockets."""
from __future__ import annotations

import pytest

from chat import course as c
from chat import protocol as p
from chat.server.course import CourseSession, Spacer, parlor_line


# ---------------------------------------------------------------- reading a course server
@pytest.mark.parametrize("text, code_wanted, events", [
    ("0", True, [c.Code(0)]),
    ("2", True, [c.Code(2)]),
    ("0You have joined a new room.", True, [c.Code(0), c.NewRoom()]),
    ("0amy has joined the room.There are 2 people in the room.", True,
     [c.Code(0), c.Joined("amy"), c.People(2)]),
    ("amy has left the room.bo has been disconnected.", False,
     [c.Left("amy", False), c.Left("bo", True)]),
    ("Users in this room:amy", False, [c.Users(), c.Word("amy")]),
    ("general", False, [c.Word("general")]),
    ("3", False, [c.Word("3")]),  # a count is a word unless a code is due
    ("amy> has joined the room. no, really", False,
     [c.Said("amy", "has joined the room. no, really")]),  # what is said stays whole
    ("something else", False, [c.Other("something else")]),
])
def test_course_read_server_splits_merged_sends(text, code_wanted, events):
    assert c.read_server(text, code_wanted) == events


def test_course_split_reads_takes_newlines_and_strips():
    assert c.split_reads(b"/join a\n/nick b \n\n") == ["/join a", "/nick b"]
    assert c.split_reads(b"hello  ") == ["hello"]
    assert c.split_reads(b"\xff") == ["\ufffd"]


def test_course_clip_cuts_at_a_character():
    assert len(c.clip("\u00e9" * 600)) == 1024
    assert c.clip("\u00e9" * 600).decode("utf-8") == "\u00e9" * 512


# ---------------------------------------------------------------- a course session
def entered(nick: str = "amy", room: str = "general",
            others: tuple[str, ...] = ()) -> CourseSession:
    session = CourseSession()
    session.sends(p.Here(room, p.NOBODY))
    session.sends(p.MemberList(room, others))
    session.sends(p.Here(room, nick))
    return session


def test_course_session_commands_by_where_it_is():
    session = CourseSession()
    assert session.command("/list") == (parlor_line(p.ListRooms()), [])
    assert session.command("/join bad-name") == (None, ["1"])
    assert session.command("/nick amy") == (None, ["1"])  # not in the lobby
    assert session.command("/join general") == (parlor_line(p.Join("general")), [])
    session.sends(p.Here("general", p.NOBODY))
    assert session.command("hello") == (None, ["1"])
    assert session.command("/nick amy") == (parlor_line(p.Nick("amy")), [])
    session.sends(p.Here("general", "amy"))
    assert session.command("/nick other") == (parlor_line(p.Say("/nick other")), [])
    assert session.command("/who") == (parlor_line(p.Who()), [])
    assert session.command("/logout") == (parlor_line(p.Quit()), [])
    assert session.sends(p.Bye("goodbye")) == []


def test_course_session_answers_as_the_course_does():
    session = CourseSession()
    assert session.sends(p.Hello(p.PROTOCOL, "welcome")) == []
    assert session.sends(p.RoomList((("a", 1), ("b", 0)), 2)) == ["2", "a", "b"]
    session.sends(p.Here("general", p.NOBODY))
    assert session.sends(p.reply(p.Join, 0, "you joined")) == ["0"]
    assert session.sends(p.MemberList("general", ("bo",))) == []  # not asked for
    assert session.sends(p.Chat("general", 1, "bo", 0.0, "hi")) == []  # no nick yet
    assert session.sends(p.reply(p.Nick, 2, "taken")) == ["2"]
    assert session.sends(p.reply(p.Nick, 0, "you are amy")) == ["0"]
    session.sends(p.Here("general", "amy"))
    assert session.sends(p.Joined("general", "amy")) == ["amy has joined the room.",
                                                         "There are 2 people in the room."]
    assert session.sends(p.Chat("general", 2, "bo", 0.0, "hi")) == ["bo> hi"]
    assert session.sends(p.Chat("general", 3, "amy", 0.0, "me")) == []  # no echo
    session.command("/who")
    assert session.sends(p.MemberList("general", ("amy", "bo"))) == ["Users in this room:",
                                                                      "amy", "bo"]
    assert session.sends(p.Left("general", "bo", p.QUIT)) == ["bo has left the room."]


def test_course_session_new_room_and_drops():
    session = entered("amy")
    assert session.sends(p.Joined("general", "amy")) == ["You have joined a new room."]
    assert session.sends(p.Joined("general", "bo")) == ["bo has joined the room.",
                                                        "There are 2 people in the room."]
    assert session.sends(p.Left("general", "bo", "connection error: reset")) == \
        ["bo has been disconnected."]
    assert session.sends(p.Left("general", "bo", "did not come back in time")) == []
    assert session.sends(p.Error("slow down: your next lines wait")) == \
        ["slow down: your next messages wait"]
    assert session.sends(p.Bye("said nothing for 60 s")) == \
        ["Disconnected by the server: said nothing for 60 s."]


# ---------------------------------------------------------------- spacing
def test_course_spacer_lets_one_send_go_a_gap_after_the_last_left():
    spacer = Spacer(gap=0.05)
    assert spacer.due() is None and spacer.take(0.0) is None
    spacer.push("3")
    spacer.push("alpha")
    assert spacer.size == 6
    assert spacer.take(0.0) == b"3"
    assert spacer.take(1.0) is None  # the one before has not left yet
    spacer.sent(1.0)
    assert spacer.due() == 1.05
    assert spacer.take(1.04) is None
    assert spacer.take(1.05) == b"alpha"
    assert spacer.size == 0 and spacer.due() is None
