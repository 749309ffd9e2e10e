"""Parlor's wire protocol, sans I/O: the line codec and the typed messages.

Owns framing (newline-delimited UTF-8, MAX_LINE bytes per line including the
delimiter), every wire keyword, and encode/parse in both directions.  The grammar
is written down in PROTOCOL.md.  Must not import socket, selectors or curses.
"""
from __future__ import annotations

import re
from operator import attrgetter
from dataclasses import dataclass, fields

PROTOCOL = "parlor/1"
MAX_LINE = 1024
# Chat text must leave room for the longest "MSG <room> <nick> " prefix the server
# adds when it relays it, so the relayed line still fits in MAX_LINE.
MAX_TEXT = 960

NAME_CHARS = "ASCII letters (A-Z, a-z), digits, '-' and '_'"
_NAME_RE = re.compile(r"[A-Za-z0-9_-]+\Z")
MAX_ROOM = 32
MAX_NICK = 16


class ProtocolError(ValueError):
    """A line from the server that does not follow the grammar."""


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line the peer sent that could not be decoded; `reason` is a sentence."""
    reason: str


class LineDecoder:
    """Bytes in, complete lines out.  Feed it whatever recv() returned.

    `feed` returns decoded lines (str, without the delimiter) and BadLine values for
    lines over the limit or not UTF-8.  An over-long line is reported once, as soon
    as it passes the limit, and the rest of it is discarded up to the next newline.
    """
    __slots__ = ("max_line", "_tail", "_discarding")

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.max_line = max_line
        self._tail = b""
        self._discarding = False

    @property
    def pending(self) -> int:
        """Bytes held back waiting for a newline."""
        return len(self._tail)

    def feed(self, data: bytes) -> list[str | BadLine]:
        if self._tail:
            data = self._tail + data
        parts = data.split(b"\n")
        tail = parts.pop()
        out: list[str | BadLine] = []
        for raw in parts:
            if self._discarding:
                self._discarding = False
                continue
            out.append(self._decode(raw))
        if self._discarding:
            tail = b""
        elif len(tail) >= self.max_line:
            out.append(self._too_long())
            self._discarding = True
            tail = b""
        self._tail = tail
        return out

    def _decode(self, raw: bytes) -> str | BadLine:
        if len(raw) >= self.max_line:
            return self._too_long()
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return BadLine(f"a line was not valid UTF-8 (bad byte at position {exc.start}); it was ignored")

    def _too_long(self) -> BadLine:
        return BadLine(f"a line was longer than {self.max_line} bytes; it was ignored")


# ---------------------------------------------------------------- client -> server

@dataclass(frozen=True, slots=True)
class Command:
    """`/name args`: `name` is lower-cased, `args` is the rest of the line, stripped."""
    name: str
    args: str = ""


@dataclass(frozen=True, slots=True)
class Say:
    """A chat line."""
    text: str


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def parse_client_line(line: str) -> Command | Say:
    """A line starting with one '/' is a command; '//text' is the chat text '/text'."""
    if line.startswith("//"):
        return Say(line[1:])
    if line.startswith("/"):
        name, _, args = line[1:].partition(" ")
        # ASCII-only lower-casing: str.lower() maps the Kelvin sign to 'k', so a
        # look-alike name would otherwise run a real command.
        return Command(name.translate(_ASCII_LOWER), args.strip())
    return Say(line)


def encode_client(msg: Command | Say) -> bytes:
    if isinstance(msg, Command):
        line = f"/{msg.name} {msg.args}" if msg.args else f"/{msg.name}"
    elif msg.text.startswith("/"):
        line = "/" + msg.text
    else:
        line = msg.text
    return line.encode("utf-8") + b"\n"


def is_valid_name(name: str, limit: int) -> bool:
    return 0 < len(name) <= limit and _NAME_RE.match(name) is not None


def name_problem(name: str, what: str, limit: int) -> str | None:
    """Why `name` is not a valid room or nick name, as a sentence; None if it is."""
    if not name:
        return f"a {what} name is needed"
    if len(name) > limit:
        return f"{what} name {name[:limit]!r}... is too long: at most {limit} characters"
    if _NAME_RE.match(name) is None:
        return f"{what} name {name!r} may only use {NAME_CHARS}"
    return None


# ---------------------------------------------------------------- server -> client
# Every server line starts with a keyword naming its type.  The last field of each
# type is free text (it may hold spaces or be empty); the others are single tokens.

@dataclass(frozen=True, slots=True)
class Hello:
    protocol: str
    text: str


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to a command: code 0 = done, 1 = refused (bad request), 2 = name taken."""
    command: str
    code: int
    text: str


@dataclass(frozen=True, slots=True)
class Chat:
    room: str
    nick: str
    text: str


@dataclass(frozen=True, slots=True)
class Joined:
    room: str
    nick: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class Left:
    room: str
    nick: str
    reason: str


@dataclass(frozen=True, slots=True)
class Here:
    """Where the client now is: sent whenever its room or nick changes (`*` = none)."""
    room: str
    nick: str
    text: str = ""


NOBODY = "*"  # the room or nick field of Here when there is none


@dataclass(frozen=True, slots=True)
class Renamed:
    room: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class RoomCount:
    """Starts a /list answer: `count` RoomEntry lines follow."""
    count: int
    text: str = ""


@dataclass(frozen=True, slots=True)
class RoomEntry:
    room: str
    members: int
    text: str = ""


@dataclass(frozen=True, slots=True)
class Members:
    """Starts a member list of `room`: `count` Member lines follow."""
    room: str
    count: int
    text: str = ""


@dataclass(frozen=True, slots=True)
class Member:
    room: str
    nick: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class Info:
    text: str


@dataclass(frozen=True, slots=True)
class Error:
    text: str


@dataclass(frozen=True, slots=True)
class Bye:
    text: str


@dataclass(frozen=True, slots=True)
class Ping:
    """Are you there?  Any line answers; clients send `/pong TOKEN`."""
    token: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class GameState:
    """A game in `room` started or changed; `text` is its one-line status."""
    room: str
    game_id: str
    game: str
    text: str


@dataclass(frozen=True, slots=True)
class Turn:
    """Whose move it is in a game (`*` when nobody's or anybody's); `text`: the moves it has."""
    room: str
    game_id: str
    nick: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class Board:
    """Starts a game board: `count` BoardRow lines follow."""
    room: str
    game_id: str
    count: int
    text: str = ""


@dataclass(frozen=True, slots=True)
class BoardRow:
    room: str
    game_id: str
    text: str


@dataclass(frozen=True, slots=True)
class GameNote:
    """Something happened in a game of `room`: a move, a challenge, an end."""
    room: str
    game_id: str
    text: str


@dataclass(frozen=True, slots=True)
class GameOver:
    room: str
    game_id: str
    text: str


# The one table between wire keywords and types.
KEYWORDS: dict[str, type] = {
    "HELLO": Hello, "REPLY": Reply, "MSG": Chat, "JOIN": Joined, "PART": Left,
    "NICK": Renamed, "HERE": Here, "ROOMS": RoomCount, "ROOM": RoomEntry, "MEMBERS": Members,
    "MEMBER": Member, "INFO": Info, "ERROR": Error, "BYE": Bye, "PING": Ping,
    "GAME": GameState, "TURN": Turn, "BOARD": Board, "ROW": BoardRow,
    "GNOTE": GameNote, "GAMEOVER": GameOver,
}
_KEYWORD_OF = {cls: kw for kw, cls in KEYWORDS.items()}
_FIELDS = {cls: tuple((f.name, f.type) for f in fields(cls)) for cls in KEYWORDS.values()}

ServerMessage = (Hello | Reply | Chat | Joined | Left | Here | Renamed | RoomCount | RoomEntry
                 | Members | Member | Info | Error | Bye | Ping | GameState | Turn | Board
                 | BoardRow | GameNote | GameOver)


def _field_getter(cls: type):
    names = [name for name, _ in _FIELDS[cls]]
    if len(names) == 1:
        return lambda msg, name=names[0]: (getattr(msg, name),)
    return attrgetter(*names)


_GETTERS = {cls: (kw, _field_getter(cls)) for kw, cls in KEYWORDS.items()}


def encode(msg: ServerMessage) -> bytes:
    """One server message as one wire line (with its newline)."""
    keyword, getter = _GETTERS[type(msg)]
    values = getter(msg)
    if values[-1] == "":
        values = values[:-1]  # an empty trailing text leaves no dangling space
    line = " ".join([keyword, *map(str, values)]) + "\n"
    return line.encode("utf-8")


def parse_server_line(line: str) -> ServerMessage:
    """Parse one server line; raises ProtocolError if it does not follow the grammar."""
    keyword, _, rest = line.partition(" ")
    cls = KEYWORDS.get(keyword)
    if cls is None:
        raise ProtocolError(f"unknown message type {keyword!r}")
    spec = _FIELDS[cls]
    values = rest.split(" ", len(spec) - 1) if len(spec) > 1 else [rest]
    if len(values) < len(spec) - 1 or (len(spec) > 1 and not rest):
        raise ProtocolError(f"{keyword} needs {len(spec)} fields: {line!r}")
    values += [""] * (len(spec) - len(values))
    return cls(*(_convert(v, typ, keyword) for v, (_, typ) in zip(values, spec)))


def _convert(value: str, typ: str, keyword: str) -> object:
    if typ == "int":
        if not (value.isascii() and value.isdigit()):  # int() rejects '²', which isdigit() allows
            raise ProtocolError(f"{keyword} needs a number, got {value!r}")
        return int(value)
    return value
