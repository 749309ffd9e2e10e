"""The wire codec, sans I/O: framing, client lines, server messages both ways.

Every decode case is fed whole, byte by byte, and with trailing data after it.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from chat import protocol as p
from chat.protocol import BadLine, LineDecoder

TOO_LONG = "<too long>"
NOT_UTF8 = "<not utf-8>"
LIMIT = p.MAX_LINE


def summary(items: list[str | BadLine]) -> list[str]:
    """Decoder output with each BadLine reduced to which kind it is."""
    out = []
    for item in items:
        if isinstance(item, BadLine):
            assert "UTF-8" in item.reason or "longer than" in item.reason, item
            out.append(NOT_UTF8 if "UTF-8" in item.reason else TOO_LONG)
        else:
            out.append(item)
    return out


def feed_whole(data: bytes) -> tuple[list, LineDecoder]:
    decoder = LineDecoder()
    return decoder.feed(data), decoder


def feed_bytewise(data: bytes) -> tuple[list, LineDecoder]:
    decoder = LineDecoder()
    out = []
    for i in range(len(data)):
        out += decoder.feed(data[i:i + 1])
    return out, decoder


FEEDS = {"whole": feed_whole, "byte by byte": feed_bytewise}

# ------------------------------------------------------------------ framing
DECODE_CASES = {
    "one line": (b"hello\n", ["hello"]),
    "empty line": (b"\n", [""]),
    "many lines": (b"a\nbb\n\nccc\n", ["a", "bb", "", "ccc"]),
    "crlf": (b"one\r\ntwo\r\n", ["one", "two"]),
    "inner cr is kept": (b"a\rb\n", ["a\rb"]),
    "only one cr stripped": (b"a\r\r\n", ["a\r"]),
    "utf-8": ("café 😀 日本\n".encode(), ["café 😀 日本"]),
    "nul is valid utf-8": (b"a\x00b\n", ["a\x00b"]),
    "1023 + newline is accepted": (b"x" * (LIMIT - 1) + b"\n", ["x" * (LIMIT - 1)]),
    "1022 + crlf is accepted": (b"x" * (LIMIT - 2) + b"\r\n", ["x" * (LIMIT - 2)]),
    "1024 + newline is refused": (b"x" * LIMIT + b"\n", [TOO_LONG]),
    "1023 + crlf is refused": (b"x" * (LIMIT - 1) + b"\r\n", [TOO_LONG]),
    "refused, then usable": (b"x" * LIMIT + b"\nnext\n", [TOO_LONG, "next"]),
    "way too long, reported once": (b"y" * 5000 + b"\nafter\n", [TOO_LONG, "after"]),
    "multibyte at the limit": ("é".encode() * 511 + b"x\n", ["é" * 511 + "x"]),
    "multibyte over the limit": ("é".encode() * 512 + b"\n", [TOO_LONG]),
    "invalid utf-8": (b"\xff\n", [NOT_UTF8]),
    "truncated sequence": (b"caf\xc3\n", [NOT_UTF8]),
    "overlong encoding": (b"\xc0\xaf\n", [NOT_UTF8]),
    "encoded surrogate": (b"\xed\xa0\x80\n", [NOT_UTF8]),
    "bad lines in between": (b"ok\n\xc3\n\xe2\x82\nfine\n", ["ok", NOT_UTF8, NOT_UTF8, "fine"]),
}


@pytest.mark.parametrize("feed", FEEDS.values(), ids=FEEDS.keys())
@pytest.mark.parametrize("data, expected", DECODE_CASES.values(), ids=DECODE_CASES.keys())
def test_decoder_cases(feed, data, expected):
    out, decoder = feed(data)
    assert summary(out) == expected
    assert decoder.pending == 0


@pytest.mark.parametrize("feed", FEEDS.values(), ids=FEEDS.keys())
@pytest.mark.parametrize("data, expected", DECODE_CASES.values(), ids=DECODE_CASES.keys())
def test_decoder_cases_with_trailing_data(feed, data, expected):
    trailing = b"partial \xc3"  # no newline yet, and it ends inside a character
    out, decoder = feed(data + trailing)
    assert summary(out) == expected
    assert decoder.pending == len(trailing)
    assert decoder.feed(b"\xa9\n") == ["partial é"]


def test_decoder_joins_a_character_split_across_feeds():
    decoder = LineDecoder()
    assert decoder.feed("caf".encode() + b"\xc3") == []
    assert decoder.feed(b"\xa9!\n") == ["café!"]


def test_decoder_reports_a_long_line_once_before_its_newline():
    decoder = LineDecoder()
    assert decoder.feed(b"x" * (LIMIT - 1)) == []
    assert summary(decoder.feed(b"x")) == [TOO_LONG]  # 1024 bytes and still no newline
    assert decoder.pending == 0  # nothing of it is kept
    assert decoder.feed(b"x" * 10_000) == []
    assert decoder.pending == 0
    assert decoder.feed(b"rest of it\nnext line\n") == ["next line"]


def test_decoder_bad_line_is_a_value_not_an_exception():
    out = LineDecoder().feed(b"\x80\x81\xfe\xff\n")
    assert len(out) == 1 and isinstance(out[0], BadLine)
    assert "UTF-8" in out[0].reason


def test_decoder_many_lines_in_one_feed():
    data = b"".join(b"line %d\n" % i for i in range(1000))
    assert LineDecoder().feed(data) == [f"line {i}" for i in range(1000)]


def test_decoder_limit_is_configurable():
    decoder = LineDecoder(max_line=8)
    assert summary(decoder.feed(b"1234567\n12345678\nok\n")) == ["1234567", TOO_LONG, "ok"]


# ------------------------------------------------------------------ client lines
# (line the user or a client sends, message, whether encode_client gives the line back)
CLIENT_CASES = {
    "chat": ("hello there", p.Say("hello there"), True),
    "command": ("/join red", p.Join("red"), True),
    "command without args": ("/who", p.Who(), True),
    "name lower-cased": ("/JOIN red", p.Join("red"), False),
    "mixed case name": ("/NiCk Bob", p.Nick("Bob"), False),
    "args stripped": ("/nick   bob  ", p.Nick("bob"), False),
    "args keep inner spaces": ("/who a b", p.Who("a b"), True),
    "alias": ("/part", p.Leave(), False),
    "alias of quit": ("/logout", p.Quit(), False),
    "no-argument command ignores arguments": ("/leave now please", p.Leave(), False),
    "list with a word": ("/list gen", p.ListRooms("gen"), True),
    "game with arguments": ("/game tictactoe bob", p.StartGame("tictactoe bob"), True),
    "move alias": ("/guess e", p.Move("e"), False),
    "digits are a move": ("/5", p.Move("5", digits=True), True),
    "digits with more": ("/5 g2", p.Move("5 g2", digits=True), True),
    "password keeps its inner spaces": ("/pass open  sesame", p.Pass("open  sesame"), True),
    "unknown command": ("/dance wildly", p.UnknownCommand("dance", "wildly"), True),
    "local commands are unknown to the server": ("/clear", p.UnknownCommand("clear"), True),
    "ignore is local too": ("/ignore bob", p.UnknownCommand("ignore", "bob"), True),
    "topic alone asks": ("/topic", p.Topic(), True),
    "topic keeps its spaces inside": ("/topic  the  plan ", p.Topic("the  plan"), False),
    "double slash is text": ("//text", p.Say("/text"), True),
    "triple slash": ("///x", p.Say("//x"), True),
    "bare slash": ("/", p.UnknownCommand(""), True),
    "leading space is text": (" /join x", p.Say(" /join x"), True),
    "empty": ("", p.Say(""), True),
    "private message": ("/msg bob hi  there", p.Tell("bob hi  there"), True),
    "private message aliases": ("/w bob hi", p.Tell("bob hi"), False),
    "answer the last one": ("/r hi", p.TellBack("hi"), True),
    "action": ("/me waves", p.Me("waves"), True),
    "away with a reason": ("/away at lunch", p.Away("at lunch"), True),
    "back": ("/back", p.Back(), True),
    "back with more": ("/back from lunch", p.Back("from lunch"), True),
}


def test_tell_splits_the_nick_from_the_text():
    msg = p.parse_client_line("/tell  bob   hi  there ")
    assert msg == p.Tell("bob   hi  there") and (msg.nick, msg.text) == ("bob", "hi  there")
    assert (p.Tell("bob").nick, p.Tell("bob").text) == ("bob", "")


@pytest.mark.parametrize("line, msg, canonical", CLIENT_CASES.values(), ids=CLIENT_CASES.keys())
def test_parse_client_line(line, msg, canonical):
    assert p.parse_client_line(line) == msg


@pytest.mark.parametrize("line, msg, canonical", CLIENT_CASES.values(), ids=CLIENT_CASES.keys())
def test_encode_client_round_trip(line, msg, canonical):
    data = p.encode_client(msg)
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    if canonical:
        assert data == line.encode() + b"\n"
    (decoded,) = LineDecoder().feed(data)
    assert p.parse_client_line(decoded) == msg


def test_parse_client_line_takes_local_commands_only_when_asked():
    assert p.parse_client_line("/CLEAR", local=True) == p.ClearPane()
    assert p.parse_client_line("/bell off", local=True) == p.SetBell("off")
    assert p.parse_client_line("/join x", local=True) == p.Join("x")
    assert p.parse_client_line("/bell off") == p.UnknownCommand("bell", "off")


def test_every_command_type_has_a_name_and_round_trips():
    for name, cls in p.COMMANDS.items():
        msg = p.parse_client_line(f"/{name} x")
        assert type(msg) is cls
        assert p.parse_client_line(p.encode_client(msg).decode().rstrip("\n")) == msg
        assert f"/{name}" in p.names_of(cls)
        assert p.command_name(msg) == p.command_name(cls)


def test_command_names_are_the_first_of_each_type():
    assert p.command_name(p.Leave) == "leave" and p.command_name(p.Quit()) == "quit"
    assert p.command_name(p.UnknownCommand("dance")) == "dance"
    assert p.command_name(p.UnknownCommand("d\u00e4nce")) == "unknown"  # never a bad token
    assert p.names_of(p.Move) == ["/move", "/m", "/guess"]
    assert "/clear" in p.completions() and "/pong" not in p.completions()


def test_reply_names_its_command():
    reply = p.reply(p.Join("x"), 1, "no")
    assert reply == p.Reply("join", 1, "no")
    assert reply.answers(p.Join) and not reply.answers(p.Nick)


# ------------------------------------------------------------------ server messages
# One table for both directions: encode(msg) == line, parse_server_line(line) == msg.
STAMP = 1764585065.123  # 2025-12-01T10:31:05.123Z
STAMP_TEXT = "2025-12-01T10:31:05.123Z"
SERVER_CASES = [
    (p.Hello("parlor/4", "Welcome to Parlor."), "HELLO parlor/4 Welcome to Parlor."),
    (p.Reply("nick", 2, "nick 'bob' is taken in red"), "REPLY nick 2 nick 'bob' is taken in red"),
    (p.Reply("list", 0, ""), "REPLY list 0"),
    (p.Chat("red", 7, "bob", STAMP, "hi  there "), f"MSG red 7 bob {STAMP_TEXT} hi  there "),
    (p.Chat("red", 8, "bob", STAMP, ""), f"MSG red 8 bob {STAMP_TEXT}"),
    (p.Chat("red", 9, "bob", STAMP, " leading"), f"MSG red 9 bob {STAMP_TEXT}  leading"),
    (p.Chat("red", 1, "bob", 0.0, "epoch"), "MSG red 1 bob 1970-01-01T00:00:00.000Z epoch"),
    (p.HistoryStart("red", 2, 1, p.ON_JOIN), "HISTORY red 2 1 join"),
    (p.SessionToken("Zx_9-a", 120, "come back"), "SESSION Zx_9-a 120 come back"),
    (p.PasswordWanted("this server asks for a password"), "PASSWORD this server asks for a password"),
    (p.Past("red", 12, p.SAY, "bob", p.NOBODY, STAMP, "hi  there"),
     f"ENTRY red 12 say bob * {STAMP_TEXT} hi  there"),
    (p.Past("red", 13, p.PRIVATE, "bob", "ann", STAMP, "psst"),
     f"ENTRY red 13 private bob ann {STAMP_TEXT} psst"),
    (p.Private("red", 14, "bob", "ann", STAMP, "psst  there"),
     f"PRIVATE red 14 bob ann {STAMP_TEXT} psst  there"),
    (p.Action("red", 15, "bob", STAMP, "waves"), f"ACTION red 15 bob {STAMP_TEXT} waves"),
    (p.Joined("red", "bob"), "JOIN red bob"),
    (p.Left("red", "bob", "connection error: reset"), "PART red bob connection error: reset"),
    (p.Here("red", p.NOBODY), "HERE red *"),
    (p.Renamed("red", "bob", "rob"), "NICK red bob rob"),
    (p.RoomCount(2, 2, "2 rooms"), "ROOMS 2 2 2 rooms"),
    (p.RoomCount(1, 300, "the biggest"), "ROOMS 1 300 the biggest"),
    (p.RoomEntry("red", 3), "ROOM red 3"),
    (p.Members("red", 1, 2, "2 without a nick yet"), "MEMBERS red 1 2 2 without a nick yet"),
    (p.Members("red", 0, 0), "MEMBERS red 0 0"),
    (p.Member("red", "bob"), "MEMBER red bob"),
    (p.Info("  /list   the rooms"), "INFO   /list   the rooms"),
    (p.Info(""), "INFO"),
    (p.Error("a line was not valid UTF-8"), "ERROR a line was not valid UTF-8"),
    (p.Bye("goodbye"), "BYE goodbye"),
    (p.Ping("t42"), "PING t42"),
    (p.GameState("red", "g1", "tictactoe", ("ann", "bob"), "X to move"),
     "GAME red g1 tictactoe ann,bob X to move"),
    (p.GameState("red", "g2", "hangman", ("ann",), "_ _ _"), "GAME red g2 hangman ann _ _ _"),
    (p.GameState("red", "g3", "hangman", (), ""), "GAME red g3 hangman *"),
    (p.Turn("red", "g1", "-"), "TURN red g1 -"),
    (p.Board("red", "g1", 3), "BOARD red g1 3"),
    (p.BoardRow("red", "g1", " X | O |  "), "ROW red g1  X | O |  "),
    (p.GameNote("red", "g1", "bob played 5"), "GNOTE red g1 bob played 5"),
    (p.GameOver("red", "g1", "bob wins"), "GAMEOVER red g1 bob wins"),
    (p.RoomTopic("red", "bob", STAMP, p.TOPIC_CHANGED, "the plan: ship it"),
     f"TOPIC red bob {STAMP_TEXT} changed the plan: ship it"),
    (p.RoomTopic("red", "bob", STAMP, p.TOPIC_CHANGED), f"TOPIC red bob {STAMP_TEXT} changed"),
    (p.RoomEntry("red", 3, "the  plan"), "ROOM red 3 the  plan"),
]
# Counted blocks: one value encodes to several lines and the ServerDecoder
# assembles them back into one value.
BLOCK_CASES = [
    (p.HistoryPage("red", p.CAUGHT_UP, (p.Past("red", 5, p.NOTICE, "bob", p.NOBODY, STAMP,
                                                "bob joined"),), 3, "3 earlier ones"),
     ["HISTORY red 1 3 missed 3 earlier ones",
      f"ENTRY red 5 notice bob * {STAMP_TEXT} bob joined"]),
    (p.RoomList((("red", 3), ("blue", 1)), 2, "2 rooms"),
     ["ROOMS 2 2 2 rooms", "ROOM red 3", "ROOM blue 1"]),
    (p.RoomList((), 0, "no rooms yet"), ["ROOMS 0 0 no rooms yet"]),
    (p.RoomList((("red", 3), ("blue", 1)), 2, "2 rooms", topics=("", "the plan")),
     ["ROOMS 2 2 2 rooms", "ROOM red 3", "ROOM blue 1 the plan"]),
    (p.MemberList("red", ("ann", "bob"), 1, "1 without a nick yet"),
     ["MEMBERS red 2 1 1 without a nick yet", "MEMBER red ann", "MEMBER red bob"]),
    (p.MemberList("red", ("ann", "bob", "cy"), 0, notes=(("bob", "away 5 min: lunch"),)),
     ["MEMBERS red 3 0", "MEMBER red ann", "MEMBER red bob away 5 min: lunch", "MEMBER red cy"]),
    (p.BoardView("red", "g1", (" X | O ", "", "last: 5")),
     ["BOARD red g1 3", "ROW red g1  X | O ", "ROW red g1", "ROW red g1 last: 5"]),
]
BLOCK_IDS = [type(msg).__name__ + f"-{i}" for i, (msg, _) in enumerate(BLOCK_CASES)]


@pytest.mark.parametrize("msg, lines", BLOCK_CASES, ids=BLOCK_IDS)
def test_encode_block(msg, lines):
    assert p.encode(msg) == "".join(line + "\n" for line in lines).encode()


@pytest.mark.parametrize("split", ["whole", "byte by byte"])
@pytest.mark.parametrize("msg, lines", BLOCK_CASES, ids=BLOCK_IDS)
def test_server_decoder_assembles_blocks(msg, lines, split):
    data = p.encode(msg) + b"INFO after\nIN"
    decoder = p.ServerDecoder()
    pieces = [data] if split == "whole" else [data[i:i + 1] for i in range(len(data))]
    got = [item for piece in pieces for item in decoder.feed(piece)]
    assert got == [msg, p.Info("after")]
    assert decoder.lines.pending == 2


def test_server_decoder_ends_a_block_cut_short():
    decoder = p.ServerDecoder()
    got = decoder.feed(b"MEMBERS red 3 0\nMEMBER red ann\nINFO hi\nMEMBER red bob\n")
    assert got == [p.MemberList("red", ("ann",)), p.Info("hi"), p.Member("red", "bob")]


def test_server_decoder_reports_bad_lines_as_values():
    decoder = p.ServerDecoder()
    got = decoder.feed(b"SSH-2.0-OpenSSH_9.2\n\xff\nMSG red 4 bob notatime hi\nINFO ok\n")
    assert isinstance(got[0], p.Unparsed) and got[0].line == "SSH-2.0-OpenSSH_9.2"
    assert isinstance(got[1], BadLine)
    assert isinstance(got[2], p.Unparsed) and "timestamp" in got[2].reason
    assert got[3] == p.Info("ok")


SERVER_IDS = [line.split(" ")[0] + f"-{i}" for i, (_, line) in enumerate(SERVER_CASES)]


def test_server_cases_cover_every_keyword():
    assert {type(msg) for msg, _ in SERVER_CASES} == set(p.KEYWORDS.values())


@pytest.mark.parametrize("msg, line", SERVER_CASES, ids=SERVER_IDS)
def test_encode_server_message(msg, line):
    assert p.encode(msg) == line.encode() + b"\n"


@pytest.mark.parametrize("msg, line", SERVER_CASES, ids=SERVER_IDS)
def test_parse_server_line(msg, line):
    assert p.parse_server_line(line) == msg


@pytest.mark.parametrize("feed", FEEDS.values(), ids=FEEDS.keys())
@pytest.mark.parametrize("msg, line", SERVER_CASES, ids=SERVER_IDS)
def test_server_message_through_the_decoder(feed, msg, line):
    out, decoder = feed(p.encode(msg) + b"PING after\nPI")
    assert [p.parse_server_line(item) for item in out] == [msg, p.Ping("after")]
    assert decoder.pending == 2


BAD_SERVER_LINES = {
    "empty": "",
    "unknown keyword": "NOPE red bob",
    "keyword is case-sensitive": "hello parlor/1 hi",
    "keyword alone": "HELLO",
    "reply without code": "REPLY nick",
    "reply code not a number": "REPLY nick two taken",
    "negative number": "ROOM red -1",
    "non-ascii digit": "REPLY nick ² taken",
    "count missing": "ROOMS",
    "join without nick": "JOIN red",
    "msg without nick": "MSG red",
    "board without count": "BOARD red g1",
    "msg without a timestamp": "MSG red bob hello there",
    "timestamp without milliseconds": "MSG red bob 2025-12-01T10:31:05Z hi",
    "impossible date": "MSG red bob 2025-13-01T10:31:05.000Z hi",
    "members without the unnamed count": "MEMBERS red 2",
}


@pytest.mark.parametrize("line", BAD_SERVER_LINES.values(), ids=BAD_SERVER_LINES.keys())
def test_parse_server_line_rejects(line):
    with pytest.raises(p.ProtocolError):
        p.parse_server_line(line)


def test_protocol_error_shows_the_bad_input():
    with pytest.raises(p.ProtocolError, match="'NOPE'"):
        p.parse_server_line("NOPE x")


# ------------------------------------------------------------------ names
@pytest.mark.parametrize("name, ok", [
    ("red", True), ("Room_2-b", True), ("x" * p.MAX_ROOM, True), ("x" * (p.MAX_ROOM + 1), False),
    ("", False), ("a b", False), ("café", False), ("a\n", False), ("#red", False),
])
def test_room_names(name, ok):
    assert p.is_valid_name(name, p.MAX_ROOM) is ok
    assert (p.room_problem(name) is None) is ok


# ------------------------------------------------------------------ properties
CHUNKS = st.one_of(
    st.binary(max_size=12),
    st.sampled_from([b"\n", b"\r\n", b"\r", b"\xc3", b"\xa9", b"\xff", b"x" * 7, "é".encode()]),
)


@st.composite
def streams_and_splits(draw):
    data = b"".join(draw(st.lists(CHUNKS, max_size=30)))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=10)))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
    return data, pieces


@settings(max_examples=300, deadline=None)
@given(streams_and_splits(), st.sampled_from([4, 9, 16, p.MAX_LINE]))
def test_any_split_decodes_like_the_whole(stream, max_line):
    data, pieces = stream
    whole = LineDecoder(max_line)
    expected = whole.feed(data)
    split = LineDecoder(max_line)
    got = [item for piece in pieces for item in split.feed(piece)]
    assert got == expected
    assert split.pending == whole.pending


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=20), st.sampled_from([4, 16, p.MAX_LINE]))
def test_feed_never_raises_and_respects_the_limit(pieces, max_line):
    decoder = LineDecoder(max_line)
    for piece in pieces:
        for item in decoder.feed(piece):
            assert isinstance(item, (str, BadLine))
            if isinstance(item, str):
                assert "\n" not in item
                assert len(item.encode("utf-8")) < max_line
        assert decoder.pending < max_line


TOKEN = st.text(st.characters(blacklist_characters=" \n", blacklist_categories=("Cs",)), min_size=1)
TEXT = st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)))
NICK = st.from_regex(r"[A-Za-z0-9_-]{1,16}", fullmatch=True)


@st.composite
def server_messages(draw):
    cls = draw(st.sampled_from(sorted(p.KEYWORDS.values(), key=lambda c: c.__name__)))
    spec = [(f.name, f.type) for f in cls.__dataclass_fields__.values()]
    values = []
    for i, (_, typ) in enumerate(spec):
        if typ == "int":
            values.append(draw(st.integers(0, 10**9)))
        elif typ == "Timestamp":
            values.append(draw(st.integers(0, 4 * 10**12)) / 1000)  # whole milliseconds
        elif typ == "Nicks":
            values.append(tuple(draw(st.lists(NICK, max_size=4))))
        else:
            values.append(draw(TEXT if i == len(spec) - 1 else TOKEN))
    return cls(*values)


@settings(max_examples=300, deadline=None)
@given(server_messages())
def test_encode_parse_round_trip(msg):
    data = p.encode(msg)
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert p.parse_server_line(data[:-1].decode("utf-8")) == msg


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_server_line_raises_only_protocol_error(line):
    try:
        p.parse_server_line(line)
    except p.ProtocolError:
        pass


def test_parse_client_line_takes_ignore_as_a_local_command():
    assert p.parse_client_line("/ignore Bob", local=True) == p.Ignore("Bob")
    assert p.parse_client_line("/unignore", local=True) == p.Unignore()


def test_room_list_without_topics_equals_one_with_none_set():
    assert p.RoomList((("red", 1),), 1, topics=("",)) == p.RoomList((("red", 1),), 1)
    assert p.RoomList((("red", 1),), 1, topics=("x",)).topic(0) == "x"
    assert p.RoomList((("red", 1),), 1).topic(0) == ""


def test_longest_topic_line_fits():
    topic = "\U0001F600" * p.MAX_TOPIC  # four bytes a character
    line = p.RoomTopic("r" * p.MAX_ROOM, "n" * p.MAX_NICK, STAMP, p.TOPIC_CHANGED, topic)
    assert len(p.encode(line)) <= p.MAX_LINE


def test_parse_client_line_lowers_ascii_only():
    assert p.parse_client_line("/NICK bob") == p.Nick("bob")
    assert p.parse_client_line("/nic\u212a bob") == p.UnknownCommand("nic\u212a", "bob")  # no 'k'


def test_protocol_a_password_is_never_in_a_repr():
    assert "sesame" not in repr(p.Pass("sesame"))
    assert "sesame" not in repr(p.parse_client_line("/pass sesame"))
