"""RESP (chat.server.resp): one table of replies, parsed whole, byte by byte and with
trailing data, by both readers (hiredis's and ours); commands encoded.  Pure: no sockets.
"""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from chat.server import resp
from chat.server.resp import INCOMPLETE, BadReply, ReplyError, Replies

CASES = [
    (b"+OK\r\n", "OK"),
    (b"-ERR unknown command 'X'\r\n", ReplyError("ERR unknown command 'X'")),
    (b":0\r\n", 0),
    (b":-42\r\n", -42),
    (b"$5\r\nhello\r\n", "hello"),
    (b"$0\r\n\r\n", ""),
    (b"$-1\r\n", None),
    (b"$4\r\na\r\nb\r\n", "a\r\nb"),  # a bulk string may hold CRLF
    ("$7\r\n中文!\r\n".encode(), "中文!"),
    (b"$2\r\n\xff\xfe\r\n", "\ufffd\ufffd"),  # bad UTF-8 is replaced, never raised
    (b"*0\r\n", []),
    (b"*-1\r\n", None),
    (b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n:7\r\n", ["message", "ch", 7]),
    (b"*2\r\n*1\r\n+a\r\n-WRONGTYPE no\r\n", [["a"], ReplyError("WRONGTYPE no")]),
]
READERS = {"hiredis": True, "python": False}


@pytest.fixture(params=sorted(READERS))
def replies(request) -> Replies:
    made = Replies(use_hiredis=READERS[request.param])
    if request.param == "hiredis" and not made.fast:
        pytest.fail("hiredis is not installed: pip install -e '.[redis]'")
    return made


def drain(replies: Replies) -> list:
    got = []
    while (reply := replies.next()) is not INCOMPLETE:
        got.append(reply)
        if isinstance(reply, BadReply):
            break
    return got


@pytest.mark.parametrize("data, value", CASES)
def test_resp_reply_whole(replies, data, value):
    replies.feed(data)
    got = drain(replies)
    assert got == [value]
    assert type(got[0]) is type(value)


@pytest.mark.parametrize("data, value", CASES)
def test_resp_reply_byte_by_byte(replies, data, value):
    got = []
    for i in range(len(data)):
        replies.feed(data[i:i + 1])
        got += drain(replies)
        assert got == ([value] if i == len(data) - 1 else [])


@pytest.mark.parametrize("data, value", CASES)
def test_resp_reply_with_trailing_data(replies, data, value):
    replies.feed(data + b"+next\r\n$3\r\nab")
    assert drain(replies) == [value, "next"]
    replies.feed(b"c\r\n")
    assert drain(replies) == ["abc"]


def test_resp_integer_zero_is_not_incomplete(replies):
    replies.feed(b":0\r\n")
    assert replies.next() == 0 and replies.next() is INCOMPLETE


@pytest.mark.parametrize("data", [b"?what\r\n", b":12x\r\n", b"$3\r\nabcde\r\n", b"*x\r\n"])
def test_resp_not_resp_is_a_bad_reply_and_stays_broken(replies, data):
    replies.feed(b"+fine\r\n" + data)
    got = drain(replies)
    assert got[0] == "fine" and isinstance(got[-1], BadReply)  # (hiredis reads "abc" first)
    assert "not RESP" in got[-1].reason
    replies.feed(b"+OK\r\n")
    assert isinstance(replies.next(), BadReply)


def test_resp_command_is_an_array_of_bulk_strings():
    assert resp.command(b"SET", "k\u00e9", 12, b"\r\n") == \
        b"*4\r\n$3\r\nSET\r\n$3\r\nk\xc3\xa9\r\n$2\r\n12\r\n$2\r\n\r\n\r\n"


@given(st.lists(st.sampled_from(CASES), max_size=8), st.data())
def test_resp_any_split_parses_the_same(cases, data):
    stream = b"".join(c[0] for c in cases)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    for use_hiredis in READERS.values():
        replies, got, start = Replies(use_hiredis), [], 0
        for cut in [*cuts, len(stream)]:
            replies.feed(stream[start:cut])
            start = cut
            got += drain(replies)
        assert got == [c[1] for c in cases]


def test_resp_our_parser_reads_what_it_encodes():
    reader = resp.PyReader()
    reader.feed(resp.command(b"PUBLISH", "#room", "hi there"))
    assert reader.gets() == ["PUBLISH", "#room", "hi there"]
