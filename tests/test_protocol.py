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
    "command": ("/join red", p.Command("join", "red"), True),
    "command without args": ("/who", p.Command("who"), True),
    "name lower-cased": ("/JOIN red", p.Command("join", "red"), False),
    "mixed case name": ("/NiCk Bob", p.Command("nick", "Bob"), False),
    "args stripped": ("/nick   bob  ", p.Command("nick", "bob"), False),
    "args keep inner spaces": ("/who a b", p.Command("who", "a b"), True),
    "double slash is text": ("//text", p.Say("/text"), True),
    "triple slash": ("///x", p.Say("//x"), True),
    "bare slash": ("/", p.Command(""), True),
    "leading space is text": (" /join x", p.Say(" /join x"), True),
    "empty": ("", p.Say(""), True),
}


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


# ------------------------------------------------------------------ server messages
# One table for both directions: encode(msg) == line, parse_server_line(line) == msg.
SERVER_CASES = [
    (p.Hello("parlor/1", "Welcome to Parlor."), "HELLO parlor/1 Welcome to Parlor."),
    (p.Reply("nick", 2, "nick 'bob' is taken in red"), "REPLY nick 2 nick 'bob' is taken in red"),
    (p.Reply("list", 0, ""), "REPLY list 0"),
    (p.Chat("red", "bob", "hi  there "), "MSG red bob hi  there "),
    (p.Chat("red", "bob", ""), "MSG red bob"),
    (p.Chat("red", "bob", " leading"), "MSG red bob  leading"),
    (p.Joined("red", "bob"), "JOIN red bob"),
    (p.Left("red", "bob", "connection error: reset"), "PART red bob connection error: reset"),
    (p.Here("red", p.NOBODY), "HERE red *"),
    (p.Renamed("red", "bob", "rob"), "NICK red bob rob"),
    (p.RoomCount(2, "2 rooms"), "ROOMS 2 2 rooms"),
    (p.RoomEntry("red", 3), "ROOM red 3"),
    (p.Members("red", 1, "1 without a nick yet"), "MEMBERS red 1 1 without a nick yet"),
    (p.Member("red", "bob"), "MEMBER red bob"),
    (p.Info("  /list   the rooms"), "INFO   /list   the rooms"),
    (p.Info(""), "INFO"),
    (p.Error("a line was not valid UTF-8"), "ERROR a line was not valid UTF-8"),
    (p.Bye("goodbye"), "BYE goodbye"),
    (p.Ping("t42"), "PING t42"),
    (p.GameState("red", "g1", "tictactoe", "X to move"), "GAME red g1 tictactoe X to move"),
    (p.Turn("red", "g1", "-"), "TURN red g1 -"),
    (p.Board("red", "g1", 3), "BOARD red g1 3"),
    (p.BoardRow("red", "g1", " X | O |  "), "ROW red g1  X | O |  "),
    (p.GameNote("red", "g1", "bob played 5"), "GNOTE red g1 bob played 5"),
    (p.GameOver("red", "g1", "bob wins"), "GAMEOVER red g1 bob wins"),
]
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
    assert (p.name_problem(name, "room", p.MAX_ROOM) is None) is ok


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


@st.composite
def server_messages(draw):
    cls = draw(st.sampled_from(sorted(p.KEYWORDS.values(), key=lambda c: c.__name__)))
    spec = [(f.name, f.type) for f in cls.__dataclass_fields__.values()]
    values = []
    for i, (_, typ) in enumerate(spec):
        if typ == "int":
            values.append(draw(st.integers(0, 10**9)))
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


def test_parse_client_line_lowers_ascii_only():
    assert p.parse_client_line("/NICK bob") == p.Command("nick", "bob")
    assert p.parse_client_line("/nic\u212a bob").name != "nick"  # the Kelvin sign is no 'k'
