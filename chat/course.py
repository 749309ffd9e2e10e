"""The course protocol (seed 004), sans I/O: its commands, codes and sentences, and
the reading of a course server's unframed sends, for both sides (chat.server.course,
chat.client.course).  The one module that spells the course's wire words, as
chat.protocol is for Parlor's.  Must not import socket, selectors or curses.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

MAX_MESSAGE = 1024  # bytes of one message, either way: what one recv(1024) takes
LIST, JOIN, NICK, WHO, LOGOUT = "/list", "/join", "/nick", "/who", "/logout"
COMMANDS = frozenset({LIST, JOIN, NICK, WHO, LOGOUT})
OK, BAD, TAKEN = "0", "1", "2"
NEW_ROOM = "You have joined a new room."
USERS = "Users in this room:"
_NAME = re.compile(r"[A-Za-z0-9]+\Z")


def is_name(name: str, limit: int) -> bool:
    """A room or nick name as the course allows: ASCII letters and digits (here also at
    most `limit` characters)."""
    return 0 < len(name) <= limit and _NAME.match(name) is not None


def parse_command(text: str) -> tuple[str | None, str]:
    """(the course command, its argument) of one message, or (None, text) for chat."""
    word, _, rest = text.partition(" ")
    word = word.lower()
    return (word, rest.strip()) if word in COMMANDS else (None, text)


def command(word: str, arg: str = "") -> str:
    """A command as a course client sends it (no newline)."""
    return f"{word} {arg}" if arg else word


# ---------------------------------------------------------------- the server's sentences
def joined(nick: str) -> str:
    return f"{nick} has joined the room."


def people(count: int) -> str:
    return f"There are {count} people in the room."


def left(nick: str) -> str:
    return f"{nick} has left the room."


def dropped(nick: str) -> str:
    return f"{nick} has been disconnected."


def said(nick: str, text: str) -> str:
    return f"{nick}> {text}"


def clip(text: str) -> bytes:
    """`text` as one send: UTF-8, cut (at a character) to MAX_MESSAGE bytes."""
    return cut(text, MAX_MESSAGE).encode("utf-8")


def cut(text: str, limit: int) -> str:
    """`text` cut at a character to at most `limit` bytes of UTF-8."""
    data = text.encode("utf-8", "replace")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def split_reads(data: bytes) -> list[str]:
    """What one read from a course client holds: one message (no newline), or several
    that ended with newlines; trailing whitespace stripped, empty ones dropped."""
    text = data.decode("utf-8", "replace")
    return [part.rstrip() for part in text.split("\n") if part.strip()]


# ---------------------------------------------------------------- reading a course server
@dataclass(frozen=True, slots=True)
class Code:
    """An answer code alone: 0 done, 1 badly formatted, 2 taken."""
    code: int


@dataclass(frozen=True, slots=True)
class Joined:
    nick: str


@dataclass(frozen=True, slots=True)
class Left:
    nick: str
    dropped: bool


@dataclass(frozen=True, slots=True)
class People:
    count: int


@dataclass(frozen=True, slots=True)
class NewRoom:
    pass


@dataclass(frozen=True, slots=True)
class Users:
    """The head of a /who answer: each nick follows, as its own send."""


@dataclass(frozen=True, slots=True)
class Said:
    nick: str
    text: str


@dataclass(frozen=True, slots=True)
class Word:
    """A send of one word of letters and digits: a room name, a nick or a count."""
    text: str


@dataclass(frozen=True, slots=True)
class Other:
    """A send that is none of the above, kept as it came."""
    text: str


CourseEvent = Code | Joined | Left | People | NewRoom | Users | Said | Word | Other

# Sentences of the course server end thus: a read that holds several (it sent them
# without a pause) is cut after each ending.
_ENDINGS = re.compile(r"(?<= has joined the room\.)|(?<= has left the room\.)"
                      r"|(?<= has been disconnected\.)|(?<= people in the room\.)"
                      r"|(?<= person in the room\.)|(?<=You have joined a new room\.)"
                      r"|(?<=Users in this room:)")
_SENTENCES = [
    (re.compile(r"(\S+) has joined the room\.\Z"), lambda m: Joined(m[1])),
    (re.compile(r"(\S+) has left the room\.\Z"), lambda m: Left(m[1], False)),
    (re.compile(r"(\S+) has been disconnected\.\Z"), lambda m: Left(m[1], True)),
    (re.compile(r"There (?:are|is) (\d+) (?:people|person) in the room\.\Z"),
     lambda m: People(int(m[1]))),
    (re.compile(re.escape(NEW_ROOM) + r"\Z"), lambda m: NewRoom()),
    (re.compile(re.escape(USERS) + r"\Z"), lambda m: Users()),
    (re.compile(r"([^\s>]+)> (.*)\Z", re.S), lambda m: Said(m[1], m[2])),
    (re.compile(r"[A-Za-z0-9]+\Z"), lambda m: Word(m[0])),
]


_CHAT = re.compile(r"[^\s>]+> ")


def read_server(text: str, code_wanted: bool = False) -> list[CourseEvent]:
    """One read from a course server as the sends it holds.  `code_wanted`: an answer
    code is due, and a digit 0-2 that begins the read is it (the course server sends
    `0` and the join notice without a pause, so they often come as one read)."""
    events: list[CourseEvent] = []
    if code_wanted and text[:1] in (OK, BAD, TAKEN):
        events.append(Code(int(text[0])))
        text = text[1:]
    if _CHAT.match(text):  # (what someone says is theirs, sentences and all)
        return [*events, _sentence(text)]
    for part in _ENDINGS.split(text):
        if part.strip():
            events.append(_sentence(part.strip()))
    return events


def _sentence(text: str) -> CourseEvent:
    for pattern, build in _SENTENCES:
        match = pattern.match(text)
        if match:
            return build(match)
    return Other(text)
