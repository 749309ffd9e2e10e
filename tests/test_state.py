"""The server's behaviour, sans I/O: ChatState fed lines, its Outbox read back.

No sockets, threads or sleeps: a session is an id, a line is a str.
"""
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings, strategies as st

from chat import protocol as p
from chat.server.state import ChatState, Outbox


NOW = 1764585065.123  # the server's clock in these tests


class Chat:
    """A ChatState with helpers: `say(sid, line)` returns what each session got."""

    def __init__(self) -> None:
        self.state = ChatState(clock=lambda: NOW + 0.0004)  # the wire keeps milliseconds
        self._next = 1

    def connect(self) -> int:
        sid, self._next = self._next, self._next + 1
        out = Outbox()
        self.state.connect(sid, f"127.0.0.1:{40000 + sid}", out)
        delivered(self.state, out)
        assert [type(m) for m in inbox(out, sid)] == [p.Hello, p.SessionToken]
        return sid

    def say(self, sid: int, line: str | p.BadLine) -> Outbox:
        out = Outbox()
        self.state.handle(sid, line, out)
        check_wire(delivered(self.state, out))
        return out

    def enter(self, sid: int, room: str, nick: str | None = None) -> None:
        self.say(sid, f"/join {room}")
        if nick is not None:
            (reply,) = [m for m in inbox(self.say(sid, f"/nick {nick}"), sid) if isinstance(m, p.Reply)]
            assert reply.code == 0, reply

    def disconnect(self, sid: int, reason: str = "disconnected") -> Outbox:
        out = Outbox()
        self.state.disconnect(sid, reason, out)
        check_wire(delivered(self.state, out))
        return out


def inbox(out: Outbox, sid: int) -> list[p.ServerMessage]:
    """What session `sid` is sent, in order (the Chat helper has expanded rooms)."""
    return [msg for targets, msg in out.sends if sid in targets]


def delivered(state: ChatState, out: Outbox) -> Outbox:
    """`out` as the shell delivers it: rooms expanded into their members now."""
    out.sends = state.deliveries(out)
    return out


def no_id(msgs: list) -> list:
    """Chat messages with their ids made 0 (ids are the store's business)."""
    return [dataclasses.replace(m, id=0) if isinstance(m, p.Chat) else m for m in msgs]


def of(out: Outbox, sid: int, cls: type) -> list:
    return [m for m in inbox(out, sid) if isinstance(m, cls)]


def reply(out: Outbox, sid: int) -> p.Reply:
    (r,) = of(out, sid, p.Reply)
    return r


def check_wire(out: Outbox) -> None:
    """Everything the state sends must encode to clean lines within MAX_LINE that the
    client's decoder reads back as the same message (a list block is one message)."""
    for _, msg in out.sends:
        data = p.encode(msg)
        for line in data.splitlines(True):
            assert len(line) <= p.MAX_LINE, f"{len(line)}-byte line: {line[:60]!r}..."
            assert not any(b < 0x20 or b == 0x7F for b in line[:-1]), line
        assert p.ServerDecoder().feed(data) == [msg]


@pytest.fixture
def chat() -> Chat:
    return Chat()


# ------------------------------------------------------------------ lobby, rooms, /list
def test_state_lobby_chat_gets_an_error(chat):
    a = chat.connect()
    out = chat.say(a, "hello?")
    (err,) = inbox(out, a)
    assert isinstance(err, p.Error) and "/join" in err.text


def test_state_join_creates_a_room(chat):
    a = chat.connect()
    out = chat.say(a, "/join red")
    assert inbox(out, a) == [p.Here("red", p.NOBODY), reply(out, a),
                             p.MemberList("red", (), 1, "1 without a nick yet")]
    assert reply(out, a).code == 0
    assert "red" in chat.state.rooms


def test_state_join_accepts_a_hash_and_any_case(chat):
    a, b = chat.connect(), chat.connect()
    chat.enter(a, "Red", "ann")
    out = chat.say(b, "/join #RED")
    assert of(out, b, p.Here) == [p.Here("Red", p.NOBODY)]  # the room keeps its first spelling
    assert list(chat.state.rooms) == ["red"]


def test_state_join_the_room_you_are_in(chat):
    a = chat.connect()
    chat.enter(a, "red", "ann")
    out = chat.say(a, "/join red")
    assert inbox(out, a) == [p.Reply("join", 0, "you are already in red")]


def test_state_list_counts_members(chat):
    a, b, c = chat.connect(), chat.connect(), chat.connect()
    assert inbox(chat.say(a, "/list"), a) == [p.RoomList((), 0, "no rooms yet")]
    chat.enter(a, "red", "ann")
    chat.enter(b, "red")  # no nick yet: still counted
    chat.enter(c, "blue", "cid")
    assert inbox(chat.say(a, "/list"), a) == [
        p.RoomList((("blue", 1), ("red", 2)), 2, "2 rooms")]


def test_state_empty_room_disappears(chat):
    a = chat.connect()
    chat.enter(a, "red", "ann")
    chat.say(a, "/leave")
    assert chat.state.rooms == {}
    assert inbox(chat.say(a, "/list"), a) == [p.RoomList((), 0, "no rooms yet")]


def test_state_join_another_room_leaves_the_first(chat):
    a, b, c = chat.connect(), chat.connect(), chat.connect()
    chat.enter(a, "red", "ann")
    chat.enter(b, "red", "bob")
    chat.enter(c, "blue", "cid")
    out = chat.say(a, "/join blue")
    assert of(out, b, p.Left) == [p.Left("red", "ann", "left")]
    assert reply(out, a) == p.Reply("join", 0, "you joined blue as ann")  # the nick comes along
    assert of(out, c, p.Joined) == [p.Joined("blue", "ann")]
    out = chat.say(a, "hi blue")
    assert inbox(out, b) == []
    assert no_id(of(out, c, p.Chat)) == [p.Chat("blue", 0, "ann", NOW, "hi blue")]


def test_state_join_with_a_nick_taken_in_the_new_room(chat):
    a, b = chat.connect(), chat.connect()
    chat.enter(a, "red", "ann")
    chat.enter(b, "blue", "ANN")
    out = chat.say(a, "/join blue")
    assert "ann is taken here" in reply(out, a).text
    assert of(out, a, p.Here)[-1] == p.Here("blue", p.NOBODY)


@pytest.mark.parametrize("name", [
    "", "a b", "x" * (p.MAX_ROOM + 1), "café", "\x1b[31mred", "bad!", "#",
])
def test_state_bad_room_name_is_refused_with_a_reason(chat, name):
    a = chat.connect()
    out = chat.say(a, f"/join {name}")
    r = reply(out, a)
    assert r.command == "join" and r.code == 1
    assert "room name" in r.text
    assert chat.state.rooms == {}


# ------------------------------------------------------------------ nicks
def test_state_nick_codes(chat):
    a, b = chat.connect(), chat.connect()
    chat.enter(a, "red")
    chat.enter(b, "red")
    assert reply(chat.say(a, "/nick ann"), a).code == 0
    assert reply(chat.say(a, "/nick ann"), a).code == 0  # already yours
    assert reply(chat.say(a, "/nick bad nick"), a).code == 1
    assert reply(chat.say(b, "/nick ann"), b).code == 2


def test_state_nick_clash_is_case_insensitive(chat):
    a, b = chat.connect(), chat.connect()
    chat.enter(a, "red", "Ann")
    chat.enter(b, "red")
    out = chat.say(b, "/nick aNN")
    assert reply(out, b) == p.Reply("nick", 2, "nick 'aNN' is taken in red, pick another")


def test_state_same_nick_in_two_rooms(chat):
    a, b = chat.connect(), chat.connect()
    chat.enter(a, "red", "ann")
    chat.enter(b, "blue")
    assert reply(chat.say(b, "/nick ann"), b).code == 0


def test_state_nick_announced_then_renamed(chat):
    a, b = chat.connect(), chat.connect()
    chat.enter(a, "red", "ann")
    chat.enter(b, "red")
    out = chat.say(b, "/nick bob")
    assert of(out, a, p.Joined) == [p.Joined("red", "bob")]
    assert of(out, b, p.Here) == [p.Here("red", "bob")]
    out = chat.say(b, "/nick Bob")  # a new case of your own nick is a rename
    assert of(out, a, p.Renamed) == [p.Renamed("red", "bob", "Bob")]


def test_state_nick_in_the_lobby_is_kept_for_the_next_room(chat):
    a, b = chat.connect(), chat.connect()
    out = chat.say(a, "/nick ann")
    assert inbox(out, a) == [p.Reply("nick", 0, "you will be ann in the room you join next")]
    out = chat.say(a, "/join red")
    assert reply(out, a) == p.Reply("join", 0, "you joined red as ann")
    assert of(out, a, p.Here)[-1] == p.Here("red", "ann")
    chat.say(b, "/nick ANN")
    out = chat.say(b, "/join red")
    assert "ANN is taken here" in reply(out, b).text
    assert of(out, b, p.Here) == [p.Here("red", p.NOBODY)]


def test_state_bad_nick_in_the_lobby_is_refused(chat):
    a = chat.connect()
    assert reply(chat.say(a, "/nick a b"), a).code == 1
    assert reply(chat.say(a, "/join red"), a).text == "you joined red; pick a nick with /nick NAME"


@pytest.mark.parametrize("nick", ["", "a b", "x" * (p.MAX_NICK + 1), "bob!", "\x1b[2J", "*"])
def test_state_bad_nick_is_refused_with_a_reason(chat, nick):
    a = chat.connect()
    chat.enter(a, "red")
    r = reply(chat.say(a, f"/nick {nick}"), a)
    assert r.code == 1 and "nick name" in r.text


def test_state_chat_before_nick_gets_a_clear_error(chat):
    a = chat.connect()
    chat.enter(a, "red")
    (err,) = inbox(chat.say(a, "hello"), a)
    assert isinstance(err, p.Error)
    assert "/nick" in err.text and "red" in err.text


# ------------------------------------------------------------------ /who, /leave, disconnect
def test_state_who_lists_members_sorted(chat):
    a, b, c = chat.connect(), chat.connect(), chat.connect()
    chat.enter(a, "red", "zed")
    chat.enter(b, "red", "Ann")
    chat.enter(c, "red")
    assert inbox(chat.say(a, "/who"), a) == [
        p.MemberList("red", ("Ann", "zed"), 1, "1 without a nick yet")]


def test_state_who_another_room(chat):
    a, b = chat.connect(), chat.connect()
    chat.enter(a, "red", "ann")
    assert inbox(chat.say(b, "/who #RED"), b) == [p.MemberList("red", ("ann",))]


@pytest.mark.parametrize("args", ["", " nowhere", " " + "x" * 1010, " " + "\x1b" * 500, " a b"])
def test_state_who_without_a_room_is_refused(chat, args):
    a = chat.connect()
    r = reply(chat.say(a, "/who" + args), a)  # check_wire: the reply still fits one line
    assert r.command == "who" and r.code == 1


def test_state_leave_frees_the_nick(chat):
    a, b = chat.connect(), chat.connect()
    chat.enter(a, "red", "ann")
    chat.enter(b, "red")
    out = chat.say(a, "/leave")
    assert reply(out, a) == p.Reply("leave", 0, "you left red and are back in the lobby")
    assert of(out, a, p.Here) == [p.Here(p.NOBODY, p.NOBODY)]
    assert of(out, b, p.Left) == [p.Left("red", "ann", "left")]
    assert reply(chat.say(b, "/nick ann"), b).code == 0


def test_state_leave_in_the_lobby(chat):
    a = chat.connect()
    assert reply(chat.say(a, "/leave"), a).code == 1


def test_state_disconnect_notifies_the_room_and_frees_the_nick(chat):
    a, b, c = chat.connect(), chat.connect(), chat.connect()
    chat.enter(a, "red", "ann")
    chat.enter(b, "red", "bob")
    chat.enter(c, "red")
    out = chat.disconnect(a, "connection error: reset")
    assert of(out, b, p.Left) == of(out, c, p.Left) == [p.Left("red", "ann", "connection error: reset")]
    assert a not in chat.state.sessions
    assert reply(chat.say(c, "/nick ann"), c).code == 0


def test_state_disconnect_twice_or_unknown_is_harmless(chat):
    a = chat.connect()
    chat.enter(a, "red", "ann")
    chat.disconnect(a)
    assert chat.disconnect(a).sends == []
    assert chat.disconnect(999).sends == []
    assert chat.state.rooms == {}


def test_state_quit_says_bye_and_closes(chat):
    a = chat.connect()
    out = chat.say(a, "/QUIT")
    assert inbox(out, a) == [p.Bye("goodbye")]
    assert out.closes == [a]


def test_state_shutdown_says_bye_to_everyone(chat):
    ids = [chat.connect() for _ in range(3)]
    chat.enter(ids[0], "red", "ann")
    out = Outbox()
    chat.state.shutdown("maintenance", out)
    delivered(chat.state, out)
    for sid in ids:
        assert inbox(out, sid) == [p.Bye("maintenance")]
    assert sorted(out.closes) == ids


# ------------------------------------------------------------------ other input
def test_state_unknown_command(chat):
    a = chat.connect()
    assert inbox(chat.say(a, "/frobnicate now"), a) == [
        p.Reply("frobnicate", 1, "there is no command /frobnicate; /help lists the commands")]


def test_state_unknown_command_with_a_strange_name(chat):
    a = chat.connect()
    r = reply(chat.say(a, "/\x1b[2J" + "x" * 100), a)  # check_wire: no ESC gets through
    assert r.command == "unknown" and r.code == 1


def test_state_help(chat):
    a = chat.connect()
    lines = inbox(chat.say(a, "/help"), a)
    assert lines and all(isinstance(m, p.Info) for m in lines)
    assert any("/join" in m.text for m in lines)


def test_state_pong_is_silent(chat):
    a = chat.connect()
    assert chat.say(a, "/pong 1").sends == []


@pytest.mark.parametrize("line", ["", "   ", "\t"])
@pytest.mark.parametrize("where", ["lobby", "room"])
def test_state_empty_line_is_ignored(chat, line, where):
    a = chat.connect()
    if where == "room":
        chat.enter(a, "red", "ann")
    out = chat.say(a, line)
    assert out.sends == [] and out.closes == []


def test_state_bad_line_gets_its_reason_back(chat):
    a = chat.connect()
    out = chat.say(a, p.BadLine("a line was longer than 1024 bytes; it was ignored"))
    assert inbox(out, a) == [p.Error("a line was longer than 1024 bytes; it was ignored")]


# ------------------------------------------------------------------ chat lines
def test_state_chat_goes_to_every_member_including_the_sender(chat):
    a, b, c, lobby, other = (chat.connect() for _ in range(5))
    chat.enter(a, "red", "ann")
    chat.enter(b, "red", "bob")
    chat.enter(c, "red")  # no nick yet, but in the room: it reads along
    chat.enter(other, "blue", "oz")
    out = chat.say(a, "hello all")
    (_, sent), = out.sends
    msg = p.Chat("red", sent.id, "ann", NOW, "hello all")
    assert [(sorted(targets), m) for targets, m in out.sends] == [([a, b, c], msg)]
    for sid in (a, b, c):
        assert inbox(out, sid) == [msg]
    assert inbox(out, lobby) == inbox(out, other) == []


def test_state_chat_double_slash_sends_a_slash(chat):
    a = chat.connect()
    chat.enter(a, "red", "ann")
    assert no_id(inbox(chat.say(a, "//shrug"), a)) == [p.Chat("red", 0, "ann", NOW, "/shrug")]


FAKE = "[general] bob: I'm moving to #secret, join me there"


@pytest.mark.parametrize("width", [40, 80, 120])
def test_state_padding_that_would_fake_a_line_is_collapsed(chat, width):
    """eve pads so that, wrapped by an 80-column terminal, `[general] bob: ...` would
    start a row of its own: the run of spaces reaches the room as one space."""
    a, b = chat.connect(), chat.connect()
    chat.enter(a, "general", "eve")
    chat.enter(b, "general", "bob")
    padding = " " * (width - len("[general] eve: hi"))
    (msg,) = of(chat.say(a, f"hi{padding}{FAKE}"), b, p.Chat)
    assert msg.text == f"hi {FAKE}"


@pytest.mark.parametrize("text, relayed", [
    ("two  spaces", "two spaces"),
    ("  leading and trailing \t ", "leading and trailing"),
    ("tab\there\t\tand\t there", "tab here and there"),
    ("no-break\u00a0\u00a0\u00a0and ideographic\u3000\u3000spaces", "no-break and ideographic spaces"),
    ("em\u2003\u2003 thin\u2009\u2009space", "em thin space"),
    ("one space each", "one space each"),
    ("  /not a command", "/not a command"),  # a Say already: stripping makes no command
])
def test_state_chat_whitespace_runs_become_one_space(chat, text, relayed):
    a = chat.connect()
    chat.enter(a, "red", "ann")
    assert no_id(of(chat.say(a, text), a, p.Chat)) == [p.Chat("red", 0, "ann", NOW, relayed)]


def test_state_chat_length_is_measured_after_collapsing(chat):
    """Spaces that are collapsed do not count against the limit, and a long line with
    no control characters is not said to have grown."""
    a = chat.connect()
    chat.enter(a, "red", "ann")
    (msg,) = of(chat.say(a, "x" * p.MAX_TEXT + "      "), a, p.Chat)
    assert msg.text == "x" * p.MAX_TEXT
    (err,) = inbox(chat.say(a, "x y" * p.MAX_TEXT), a)
    assert isinstance(err, p.Error) and "made visible" not in err.text


@pytest.mark.parametrize("text, ok", [
    ("x" * p.MAX_TEXT, True),
    ("x" * (p.MAX_TEXT + 1), False),
    ("é" * (p.MAX_TEXT // 2), True),  # 936 bytes in 468 characters
    ("é" * (p.MAX_TEXT // 2) + "x", False),
    ("\x1b" * (p.MAX_TEXT // 2), True),  # shown as '^[': exactly 936 bytes
    ("\x1b" * (p.MAX_TEXT // 2 + 1), False),  # fine as typed, too long once made visible
    ("\u202e" * (p.MAX_TEXT // 8), True),  # each shown as '<U+202E>', 8 bytes
    ("\u202e" * (p.MAX_TEXT // 8 + 1), False),
])
def test_state_text_over_max_text_bytes_is_refused(chat, text, ok):
    a, b = chat.connect(), chat.connect()
    chat.enter(a, "red", "ann")
    chat.enter(b, "red", "bob")
    out = chat.say(a, text)  # check_wire: whatever is relayed fits in MAX_LINE
    if ok:
        assert len(of(out, b, p.Chat)) == 1
    else:
        assert inbox(out, b) == []
        (err,) = inbox(out, a)
        assert isinstance(err, p.Error) and str(p.MAX_TEXT) in err.text


def test_state_longest_relayed_line_fits(chat):
    a = chat.connect()
    chat.enter(a, "r" * p.MAX_ROOM, "n" * p.MAX_NICK)
    (msg,) = inbox(chat.say(a, "x" * p.MAX_TEXT), a)
    assert len(p.encode(msg)) <= p.MAX_LINE
    assert len(p.encode(p.Chat(msg.room, p.MAX_ID, msg.nick, 4102444799.999, msg.text))) <= p.MAX_LINE  # 2099


@pytest.mark.parametrize("text", [
    "\x1b[2J\x1b[H cleared your screen",
    "\x1b]0;new title\x07",
    "bell\x07 and backspace\x08 and del\x7f",
    "carriage\rreturn",
    "\x9b31m C1 CSI",
    "right-to-left \u202e override",
    "tab\there",
])
def test_state_control_characters_are_neutralised(chat, text):
    a, b = chat.connect(), chat.connect()
    chat.enter(a, "red", "ann")
    chat.enter(b, "red", "bob")
    out = chat.say(a, text)  # check_wire: no control byte in any encoded line
    (msg,) = of(out, b, p.Chat)
    assert "\x1b" not in msg.text and "\x9b" not in msg.text and "\u202e" not in msg.text
    assert all(b"\x1b" not in p.encode(m) for _, m in out.sends)


# ------------------------------------------------------------------ invariants
NAMES = st.sampled_from(["red", "Red", "blue", "#blue", "ann", "ANN", "bob", "x" * 40, "a b", "\x1b"])
LINES = st.one_of(
    st.builds("/join {}".format, NAMES), st.builds("/nick {}".format, NAMES),
    st.builds("/who {}".format, NAMES), st.sampled_from(["/who", "/list", "/leave", "/help", ""]),
    st.text(max_size=40), st.text(st.sampled_from("\x1bx\u202e é"), max_size=600),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), LINES | st.just("<disconnect>")), max_size=40))
def test_state_invariants_hold_for_any_sequence(steps):
    chat = Chat()
    live = [chat.connect() for _ in range(4)]
    for who, line in steps:
        sid = live[who]
        if line == "<disconnect>":
            chat.disconnect(sid)
            live[who] = chat.connect()
        else:
            chat.say(sid, line)  # check_wire runs on every step
        for key, room in chat.state.rooms.items():
            assert room.sessions, "an empty room was kept"
            assert key == room.name.casefold()
            assert all(s.room is room for s in room.sessions.values())
            assert {n: s.nick.casefold() for n, s in room.nicks.items()} == {n: n for n in room.nicks}
        for session in chat.state.sessions.values():
            if session.nick is not None:
                assert session.room.nicks[session.nick.casefold()] is session


def test_state_list_is_cut_to_the_biggest_rooms_and_filtered_by_a_word(chat):
    from chat.server.state import LIST_LIMIT
    asker = chat.connect()
    crowd = [chat.connect() for _ in range(3)]
    for sid in crowd:
        chat.enter(sid, "lounge")
    for i in range(LIST_LIMIT + 50):
        chat.enter(chat.connect(), f"room{i:03d}")
    (listing,) = inbox(chat.say(asker, "/list"), asker)
    assert len(listing.rooms) == LIST_LIMIT and listing.total == LIST_LIMIT + 51
    assert ("lounge", 3) in listing.rooms  # the biggest are kept
    assert "/list WORD" in listing.text
    (found,) = inbox(chat.say(asker, "/list ROOM01"), asker)
    assert [name for name, _ in found.rooms] == [f"room{i:03d}" for i in range(10, 20)]
    assert found.total == 10 and found.text == "10 rooms"
    (none,) = inbox(chat.say(asker, "/list zebra"), asker)
    assert none == p.RoomList((), 0, "no room has 'zebra' in its name")
