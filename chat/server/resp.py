"""RESP, the Redis wire format, sans I/O: commands encoded to bytes, replies parsed from
bytes fed in any pieces (the same shape as chat.protocol's LineDecoder).

`hiredis.Reader` (the optional extra `parlor[redis]`) does the parsing when it is
installed; a parser of our own, in plain Python, when it is not.  What Redis sends
that is not RESP is a value (BadReply), never an exception.  Must not import socket,
selectors, select, curses or threading.
"""
from __future__ import annotations

from typing import Any, NamedTuple

try:
    import hiredis
except ImportError:  # the default install: no dependency
    hiredis = None

CRLF = b"\r\n"
INCOMPLETE = False  # what a reader's gets() says while a reply is not whole yet
MAX_BULK = 512 * 1024 * 1024  # Redis's own limit on one string


class ReplyError(str):
    """An error reply from Redis ("ERR ...", "WRONGTYPE ..."): a value, as hiredis gives it."""


class BadReply(NamedTuple):
    """Redis (or what answered as Redis) sent what is not RESP: the link is broken."""
    reason: str


class _Broken(Exception):
    """Inside the pure parser only: the bytes are not RESP (turned into BadReply)."""


def command(*args: str | bytes | int | float) -> bytes:
    """One command as RESP: an array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode("utf-8")
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class PyReader:
    """hiredis.Reader's interface (feed, gets) in plain Python: bulk strings come back
    decoded as UTF-8 (bad bytes replaced), errors as ReplyError, nil as None."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0

    def feed(self, data: bytes) -> None:
        self._buf += data

    def gets(self) -> Any:
        """The next whole reply, or INCOMPLETE (False) if it is not all here yet."""
        try:
            value, end = self._parse(self._pos)
        except IndexError:  # (raised by _line/_parse when the bytes run out)
            return INCOMPLETE
        self._pos = end
        if self._pos > 65536 and self._pos * 2 > len(self._buf):
            del self._buf[:self._pos]
            self._pos = 0
        return value

    def _line(self, pos: int) -> tuple[bytes, int]:
        end = self._buf.find(CRLF, pos)
        if end < 0:
            raise IndexError("incomplete")
        return bytes(self._buf[pos:end]), end + 2

    def _parse(self, pos: int) -> tuple[Any, int]:
        if pos >= len(self._buf):
            raise IndexError("incomplete")
        kind = self._buf[pos]
        line, pos = self._line(pos + 1)
        handler = _KINDS.get(kind)
        if handler is None:
            raise _Broken(f"a reply starting with {bytes([kind])!r}")
        return handler(self, line, pos)

    def _simple(self, line: bytes, pos: int) -> tuple[Any, int]:
        return line.decode("utf-8", "replace"), pos

    def _error(self, line: bytes, pos: int) -> tuple[Any, int]:
        return ReplyError(line.decode("utf-8", "replace")), pos

    def _integer(self, line: bytes, pos: int) -> tuple[Any, int]:
        return _number(line), pos

    def _bulk(self, line: bytes, pos: int) -> tuple[Any, int]:
        size = _number(line)
        if size < 0:
            return None, pos
        if size > MAX_BULK:
            raise _Broken(f"a string of {size} bytes")
        if pos + size + 2 > len(self._buf):
            raise IndexError("incomplete")
        if self._buf[pos + size:pos + size + 2] != CRLF:
            raise _Broken("a string not ended by CRLF")
        return bytes(self._buf[pos:pos + size]).decode("utf-8", "replace"), pos + size + 2

    def _array(self, line: bytes, pos: int) -> tuple[Any, int]:
        size = _number(line)
        if size < 0:
            return None, pos
        items = []
        for _ in range(size):
            item, pos = self._parse(pos)
            items.append(item)
        return items, pos


def _number(line: bytes) -> int:
    try:
        return int(line)
    except ValueError:
        raise _Broken(f"{line[:40]!r} where a number belongs") from None


_KINDS = {ord("+"): PyReader._simple, ord("-"): PyReader._error, ord(":"): PyReader._integer,
          ord("$"): PyReader._bulk, ord("*"): PyReader._array}


class Replies:
    """Replies from the bytes fed in: `feed(data)`, then `next()` until it says
    INCOMPLETE.  After a BadReply it stays broken (every next() repeats it)."""

    def __init__(self, use_hiredis: bool = True) -> None:
        if use_hiredis and hiredis is not None:
            self._reader = hiredis.Reader(replyError=ReplyError, encoding="utf-8",
                                          errors="replace")
            self._bad: tuple[type, ...] = (hiredis.ProtocolError,)
        else:
            self._reader = PyReader()
            self._bad = (_Broken,)
        self.broken: BadReply | None = None

    @property
    def fast(self) -> bool:
        """Parsed by hiredis (in C), not in Python."""
        return not isinstance(self._reader, PyReader)

    def feed(self, data: bytes) -> None:
        if self.broken is None:
            self._reader.feed(data)

    def next(self) -> Any:
        """The next reply, INCOMPLETE (False) when none is whole, or a BadReply."""
        if self.broken is not None:
            return self.broken
        try:
            return self._reader.gets()
        except self._bad as exc:
            self.broken = BadReply(f"Redis sent what is not RESP: {exc}")
            return self.broken
