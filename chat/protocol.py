"""Parlor's wire protocol, sans I/O: the line codec and the typed messages.

Owns framing (newline-delimited UTF-8, MAX_LINE bytes per line including the
delimiter), every wire keyword, and encode/parse in both directions.  The grammar
is written down in PROTOCOL.md.  Must not import socket, selectors or curses.
"""
from __future__ import annotations

import calendar
import re
import time
from operator import attrgetter
from dataclasses import dataclass, fields

PROTOCOL = "parlor/4"
MAX_LINE = 1024
NAME_CHARS = "ASCII letters (A-Z, a-z), digits, '-' and '_'"
_NAME_RE = re.compile(r"[A-Za-z0-9_-]+\Z")
MAX_ROOM = 32
MAX_NICK = 16
_STAMP = len("2026-12-01T10:31:05.123Z")
MAX_ID = 10**15 - 1  # message ids are at most 15 digits
# Chat text must leave room for the longest prefix the server puts before it (a
# history ENTRY, with room, id, kind, nick, recipient and time), so every line
# that carries it still fits in MAX_LINE: 900 (the test checks each line type).
MAX_TEXT = 900


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
# A line starting with one '/' is a command, any other line is chat (Say).  Each
# command is a type; COMMANDS is the one table of command names and aliases.  A
# type with one field takes the rest of the line; one with none ignores it.

@dataclass(frozen=True, slots=True)
class Say:
    """A chat line."""
    text: str


@dataclass(frozen=True, slots=True)
class ListRooms:
    """`/list [WORD]`: the rooms, or those whose name has WORD in it."""
    pattern: str = ""


@dataclass(frozen=True, slots=True)
class Join:
    """`/join ROOM [KEY]`: KEY for a room whose owner set one (/key)."""
    room: str = ""

    @property
    def name(self) -> str:
        return self.room.partition(" ")[0]

    @property
    def key(self) -> str:
        return self.room.partition(" ")[2].strip()


@dataclass(frozen=True, slots=True)
class Nick:
    nick: str = ""


@dataclass(frozen=True, slots=True)
class Who:
    room: str = ""


@dataclass(frozen=True, slots=True)
class Leave:
    pass


@dataclass(frozen=True, slots=True)
class Quit:
    pass


@dataclass(frozen=True, slots=True)
class Help:
    pass


@dataclass(frozen=True, slots=True)
class Pong:
    token: str = ""


@dataclass(frozen=True, slots=True)
class StartGame:
    """`/game [NAME [REST]]`: no name lists the games; REST is a nick, 'bot' or a setup."""
    args: str = ""

    @property
    def name(self) -> str:
        return self.args.partition(" ")[0]

    @property
    def rest(self) -> str:
        return self.args.partition(" ")[2]


@dataclass(frozen=True, slots=True)
class ListGames:
    pass


@dataclass(frozen=True, slots=True)
class Accept:
    nick: str = ""


@dataclass(frozen=True, slots=True)
class Decline:
    nick: str = ""


@dataclass(frozen=True, slots=True)
class Move:
    """`/move TEXT`; `/N` (digits only) is Move('N ...', digits=True): a move in a room only."""
    text: str = ""
    digits: bool = False


@dataclass(frozen=True, slots=True)
class Resign:
    game: str = ""


@dataclass(frozen=True, slots=True)
class Rematch:
    pass


@dataclass(frozen=True, slots=True)
class History:
    """`/history [N [BEFORE]]`: N more messages of your room before message id BEFORE
    (clients send it; without it, before the oldest this connection was sent)."""
    args: str = ""

    @property
    def count(self) -> str:
        return self.args.partition(" ")[0]

    @property
    def before(self) -> str:
        return self.args.partition(" ")[2].strip()


@dataclass(frozen=True, slots=True)
class Missed:
    """`/missed ID`: what was said in your room after message id ID (a reconnect's catch-up)."""
    after: str = ""


@dataclass(frozen=True, slots=True)
class Resume:
    """`/resume TOKEN`: take back the session (room, nick, game seats) a dropped
    connection had, by the token its SESSION line gave."""
    token: str = ""


@dataclass(frozen=True, slots=True)
class Topic:
    """`/topic [TEXT]`: with TEXT, set your room's topic (TOPIC_DELETE removes it);
    without, ask what it is."""
    text: str = ""


TOPIC_DELETE = "-delete"  # `/topic -delete`: the room has no topic any more
MAX_TOPIC = 200  # characters of a topic, once sanitised (at most 800 bytes: it fits a line)


@dataclass(frozen=True, slots=True)
class Tell:
    """`/msg NICK TEXT`: TEXT to NICK in your room, seen by the two of you only."""
    args: str = ""

    @property
    def nick(self) -> str:
        return self.args.partition(" ")[0]

    @property
    def text(self) -> str:
        return self.args.partition(" ")[2].strip()


@dataclass(frozen=True, slots=True)
class TellBack:
    """`/r TEXT`: a private message to the last person who sent you one."""
    text: str = ""


@dataclass(frozen=True, slots=True)
class Me:
    """`/me TEXT`: an action, shown `* nick TEXT`."""
    text: str = ""


@dataclass(frozen=True, slots=True)
class Away:
    """`/away [REASON]`: with a reason you are away; without one you are back."""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Back:
    """`/back`: you are back (as `/away` alone); it takes nothing after it."""
    extra: str = ""


@dataclass(frozen=True, slots=True)
class Pass:
    """`/pass PASSWORD`: the server's password (--password-file), before anything else."""
    secret: str = ""

    def __repr__(self) -> str:  # (never in a log line or a traceback)
        return "Pass(secret=<hidden>)"


class _Secret:
    """A command that carries a password: its repr hides it (never in a log line or a
    traceback), and is_secret_line knows its lines (never in an input history)."""
    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<hidden>)"


@dataclass(frozen=True, slots=True, repr=False)
class Register(_Secret):
    """`/register PASSWORD`: your nick (or the one you asked for) becomes your account."""
    secret: str = ""


@dataclass(frozen=True, slots=True, repr=False)
class Login(_Secret):
    """`/login NICK PASSWORD` (the password is the rest of the line, spaces and all)."""
    args: str = ""

    @property
    def nick(self) -> str:
        return self.args.partition(" ")[0]

    @property
    def secret(self) -> str:
        return self.args.partition(" ")[2].strip()


@dataclass(frozen=True, slots=True, repr=False)
class NewPassword(_Secret):
    """`/password NEW`: a logged-in user's new password."""
    secret: str = ""


@dataclass(frozen=True, slots=True, repr=False)
class Unregister(_Secret):
    """`/unregister PASSWORD`: drop your account (the password confirms it)."""
    secret: str = ""


@dataclass(frozen=True, slots=True)
class Claim:
    """`/claim`: own your room, which has no owner."""
    pass


@dataclass(frozen=True, slots=True)
class Op:
    """`/op NICK`: the room's owner makes NICK (logged in, in the room) an op."""
    nick: str = ""


@dataclass(frozen=True, slots=True)
class Deop:
    nick: str = ""


@dataclass(frozen=True, slots=True)
class Kick:
    """`/kick NICK [REASON]`: remove NICK from the room (they may come back)."""
    args: str = ""

    @property
    def nick(self) -> str:
        return self.args.partition(" ")[0]

    @property
    def reason(self) -> str:
        return self.args.partition(" ")[2].strip()


@dataclass(frozen=True, slots=True)
class Ban:
    """`/ban NICK`: remove NICK and keep them out (their account, or a guest's address)."""
    nick: str = ""


@dataclass(frozen=True, slots=True)
class Unban:
    nick: str = ""


@dataclass(frozen=True, slots=True)
class RoomKey:
    """`/key KEY`: joining the room takes `/join ROOM KEY`; KEY_DELETE removes it."""
    key: str = ""


KEY_DELETE = "-delete"
PASSWORD_ARG = "PASSWORD"  # how a usage sentence names a password argument
# The REPLY login text of a wrong password (or nick): a client stops logging in by
# itself then, not when it was only told to wait.
LOGIN_WRONG = "wrong nick or password"
NICK_ARG, ROOM_ARG = "NICK", "ROOM"  # ... and a nick's, a room's


@dataclass(frozen=True, slots=True)
class Invite:
    """`/invite NICK`: NICK may join your room while it is invite-only."""
    nick: str = ""


@dataclass(frozen=True, slots=True)
class Mode:
    """`/mode ROOM [invite|open]`: ROOM's mode (invite-only or open), or set it."""
    args: str = ""

    @property
    def room(self) -> str:
        return self.args.partition(" ")[0]

    @property
    def mode(self) -> str:
        return self.args.partition(" ")[2].strip()


MODE_INVITE, MODE_OPEN = "invite", "open"


@dataclass(frozen=True, slots=True)
class Shutdown:
    """`/shutdown REASON`: a server operator (--admin) stops the server."""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class UnknownCommand:
    """A command no table knows: `name` as typed (ASCII lower-cased)."""
    name: str
    args: str = ""


# The one table of command names: the first name of each type is the one it is
# sent and answered (REPLY) under; the others are aliases.
COMMANDS: dict[str, type] = {
    "list": ListRooms, "join": Join, "nick": Nick, "who": Who,
    "leave": Leave, "part": Leave, "quit": Quit, "q": Quit, "logout": Quit, "exit": Quit,
    "help": Help, "pong": Pong, "game": StartGame, "games": ListGames,
    "accept": Accept, "decline": Decline, "move": Move, "m": Move, "guess": Move,
    "resign": Resign, "rematch": Rematch, "history": History, "missed": Missed,
    "resume": Resume, "topic": Topic, "msg": Tell, "w": Tell, "tell": Tell, "r": TellBack,
    "me": Me, "away": Away, "back": Back, "pass": Pass,
    "register": Register, "login": Login, "password": NewPassword, "unregister": Unregister,
    "claim": Claim, "op": Op, "deop": Deop, "kick": Kick, "ban": Ban, "unban": Unban,
    "key": RoomKey, "invite": Invite, "mode": Mode, "shutdown": Shutdown,
}
ClientMessage = (Say | ListRooms | Join | Nick | Who | Leave | Quit | Help | Pong | StartGame
                 | ListGames | Accept | Decline | Move | Resign | Rematch | History | Missed
                 | Resume | Topic | Tell | TellBack | Me | Away | Back | Pass | Register
                 | Login | NewPassword | Unregister | Claim | Op | Deop | Kick | Ban | Unban
                 | RoomKey | Invite | Mode | Shutdown | UnknownCommand)


# Commands a client carries out itself, never sent: same grammar, their own table.
@dataclass(frozen=True, slots=True)
class ClearPane:
    pass


@dataclass(frozen=True, slots=True)
class SetBell:
    """`/bell [on|off]`: empty asks what it is."""
    value: str = ""


@dataclass(frozen=True, slots=True)
class Reconnect:
    pass


@dataclass(frozen=True, slots=True)
class Cancel:
    pass


@dataclass(frozen=True, slots=True)
class Ignore:
    """`/ignore [NICK]`: hide NICK's messages on this side; empty lists who is hidden."""
    nick: str = ""


@dataclass(frozen=True, slots=True)
class Unignore:
    nick: str = ""


LOCAL_COMMANDS: dict[str, type] = {
    "clear": ClearPane, "bell": SetBell, "reconnect": Reconnect, "cancel": Cancel,
    "ignore": Ignore, "unignore": Unignore,
}
LocalCommand = ClearPane | SetBell | Reconnect | Cancel | Ignore | Unignore

_SECRET_COMMANDS = (Pass, Register, Login, NewPassword, Unregister)
_NAME_OF: dict[type, str] = {}
for _name, _cls in [*COMMANDS.items(), *LOCAL_COMMANDS.items()]:
    _NAME_OF.setdefault(_cls, _name)
_ARITY = {cls: len(fields(cls)) for cls in _NAME_OF}

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def command_name(msg_or_type: object) -> str:
    """The name a command is sent and answered under: 'join' for Join (or Join('x'))."""
    cls = msg_or_type if isinstance(msg_or_type, type) else type(msg_or_type)
    if cls is UnknownCommand:
        name = msg_or_type.name
        return name if is_valid_name(name, 20) else "unknown"
    return _NAME_OF[cls]


def names_of(cls: type) -> list[str]:
    """Every name (aliases too) that means the command `cls`, as typed: ['/move', '/m', ...]."""
    return [f"/{name}" for table in (COMMANDS, LOCAL_COMMANDS) for name, c in table.items()
            if c is cls]


def typed(cls: type, args: str = "") -> str:
    """A command as a user types it, for sentences: typed(Move, 'g2 e') is '/move g2 e'."""
    return f"/{_NAME_OF[cls]} {args}" if args else f"/{_NAME_OF[cls]}"


def completions() -> list[str]:
    """One '/name' per command a user types, sent or local, for completing it."""
    return [f"/{name}" for cls, name in _NAME_OF.items() if cls is not Pong]


def parse_client_line(line: str, local: bool = False) -> ClientMessage | LocalCommand:
    """A line a client sent.  `local`: also the client's own commands (what a user typed)."""
    if line.startswith("//"):
        return Say(line[1:])
    if not line.startswith("/"):
        return Say(line)
    name, _, args = line[1:].partition(" ")
    # ASCII-only lower-casing: str.lower() maps the Kelvin sign to 'k', so a
    # look-alike name would otherwise run a real command.
    name, args = name.translate(_ASCII_LOWER), args.strip()
    cls = COMMANDS.get(name) or (LOCAL_COMMANDS.get(name) if local else None)
    if cls is not None:
        return cls(args) if _ARITY[cls] else cls()
    if name.isascii() and name.isdigit():
        return Move(f"{name} {args}".strip(), digits=True)
    return UnknownCommand(name, args)


def is_password_line(line: str) -> bool:
    """Whether a client line is `/pass ...` (cheap: the server looks at every line)."""
    return line[:5].translate(_ASCII_LOWER) == "/pass" and line[5:6] in ("", " ")


def is_secret_line(line: str) -> bool:
    """Whether a client line carries a password (/pass, /register, /login, /password,
    /unregister): kept out of input histories and logs."""
    if line[:1] != "/":
        return False
    name = line[1:].partition(" ")[0].translate(_ASCII_LOWER)
    return COMMANDS.get(name) in _SECRET_COMMANDS


def is_command(line: str) -> bool:
    """Whether a client line is a command rather than chat (cheap: no parsing)."""
    return line[:1] == "/" and line[:2] != "//"


def encode_client(msg: ClientMessage) -> bytes:
    """One client message as one wire line (with its newline)."""
    if isinstance(msg, Say):
        line = "/" + msg.text if msg.text.startswith("/") else msg.text
    elif isinstance(msg, Move) and msg.digits:
        line = "/" + msg.text
    elif isinstance(msg, UnknownCommand):
        line = f"/{msg.name} {msg.args}".rstrip(" ")
    else:
        args = getattr(msg, fields(msg)[0].name) if _ARITY[type(msg)] else ""
        line = f"/{_NAME_OF[type(msg)]} {args}".rstrip(" ")
    return line.encode("utf-8", "replace") + b"\n"


def is_valid_name(name: str, limit: int) -> bool:
    return 0 < len(name) <= limit and _NAME_RE.match(name) is not None


def room_problem(name: str) -> str | None:
    """Why `name` is not a valid room name, as a sentence; None if it is."""
    return name_problem(name, "room", MAX_ROOM)


def nick_problem(name: str) -> str | None:
    """Why `name` is not a valid nick, as a sentence; None if it is."""
    return name_problem(name, "nick", MAX_NICK)


def name_problem(name: str, what: str, limit: int) -> str | None:
    """Why `name` is not a valid room or nick name, as a sentence; None if it is."""
    if not name:
        return f"a {what} name is needed"
    if len(name) > limit:  # the whole name, unless it would swamp the sentence
        shown = repr(name) if len(name) <= 3 * limit else f"{name[:3 * limit]!r}..."
        return f"{what} name {shown} is too long: at most {limit} characters"
    if _NAME_RE.match(name) is None:
        return f"{what} name {name!r} may only use {NAME_CHARS}"
    return None


# ---------------------------------------------------------------- server -> client
# Every server line starts with a keyword naming its type.  The last field of each
# type is free text (it may hold spaces or be empty); the others are single tokens.
# Field types the codec converts: int, Timestamp (ISO 8601 UTC on the wire, seconds
# since the epoch in Python), Nicks (comma-separated on the wire, `*` for none).

Timestamp = float
Nicks = tuple
NOBODY = "*"  # a room or nick field that names none
LEFT = "left"  # the PART reason of someone who left by choice (/leave, /join elsewhere)
QUIT = "quit"  # the PART reason of someone who said /quit


@dataclass(frozen=True, slots=True)
class Hello:
    protocol: str
    text: str


@dataclass(frozen=True, slots=True)
class SessionToken:
    """This connection's session: a client that loses the connection may come back
    within `grace` seconds with `/resume TOKEN` and have its room, nick and seats back."""
    token: str
    grace: int
    text: str = ""


BACK = "is back"  # a JOIN's text when a dropped member resumed their session


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to a command: code 0 = done, 1 = refused (bad request), 2 = name taken."""
    command: str
    code: int
    text: str

    def answers(self, cls: type) -> bool:
        """Whether this is the answer to a command of type `cls` (Join, Nick, ...)."""
        return self.command == _NAME_OF.get(cls)


def reply(msg: object, code: int, text: str) -> Reply:
    """The answer to the command `msg` (or to a command of type `msg`)."""
    return Reply(command_name(msg), code, text)


@dataclass(frozen=True, slots=True)
class Chat:
    """A chat message, numbered (`id` orders it in its room: history and catch-up
    name messages by it) and stamped by the server with when it was said."""
    room: str
    id: int
    nick: str
    time: Timestamp
    text: str


@dataclass(frozen=True, slots=True)
class Private:
    """A private message from `nick` to `to` in `room`, numbered and stamped as Chat;
    sent to the two of them only."""
    room: str
    id: int
    nick: str
    to: str
    time: Timestamp
    text: str


@dataclass(frozen=True, slots=True)
class Action:
    """`/me`: `nick` does `text` (shown `* nick text`), numbered and stamped as Chat."""
    room: str
    id: int
    nick: str
    time: Timestamp
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

    @property
    def by_choice(self) -> bool:
        return self.reason == LEFT


@dataclass(frozen=True, slots=True)
class Here:
    """Where the client now is: sent whenever its room or nick changes (`*` = none)."""
    room: str
    nick: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class Renamed:
    room: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class RoomCount:
    """The first line of a RoomList: `count` RoomEntry lines follow, of `total` rooms
    that match (a long list is cut)."""
    count: int
    total: int
    text: str = ""


@dataclass(frozen=True, slots=True)
class RoomEntry:
    room: str
    members: int
    text: str = ""


@dataclass(frozen=True, slots=True)
class Members:
    """The first line of a MemberList: `count` Member lines follow; `unnamed` more
    people are in the room without a nick yet."""
    room: str
    count: int
    unnamed: int
    text: str = ""


@dataclass(frozen=True, slots=True)
class Member:
    room: str
    nick: str
    text: str = ""


# Why a TOPIC line was sent: on joining (or coming back), because someone changed
# it (the whole room gets it), or in answer to `/topic`.
TOPIC_ON_JOIN, TOPIC_CHANGED, TOPIC_ASKED = "join", "changed", "asked"


@dataclass(frozen=True, slots=True)
class RoomTopic:
    """ROOM's topic, set by `nick` at `time`; an empty text: it has none (it was removed)."""
    room: str
    nick: str
    time: Timestamp
    why: str
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
class PasswordWanted:
    """This server lets in only clients that give its password (`/pass PASSWORD`)."""
    text: str


@dataclass(frozen=True, slots=True)
class Ping:
    """Are you there?  Any line answers; clients send `/pong TOKEN`."""
    token: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class GameState:
    """A game in `room` started or changed: its players (a room game's grow as people
    join in) and `text`, its one-line status."""
    room: str
    game_id: str
    game: str
    players: Nicks
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
    """The first line of a BoardView: `count` BoardRow lines follow."""
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


# What a stored entry is (ENTRY's KIND) and why a history block was sent (HISTORY's WHY).
SAY, ACTION, NOTICE, PRIVATE = "say", "action", "notice", "private"
ON_JOIN, PAGE, CAUGHT_UP = "join", "page", "missed"


@dataclass(frozen=True, slots=True)
class HistoryStart:
    """The first line of a HistoryPage: `count` ENTRY lines follow, oldest first.
    `older`: for `join` and `page`, 1 if the room keeps older ones still (ask /history);
    for `missed`, how many missed ones were left out (older than those sent)."""
    room: str
    count: int
    older: int
    why: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class Past:
    """One stored entry of a room's history (`*` for no nick / no recipient)."""
    room: str
    id: int
    kind: str
    nick: str
    to: str
    time: Timestamp
    text: str


# ------------------------------------------------------------------ counted blocks
# On the wire a list is a counted block: a first line saying how many lines follow.
# The codec encodes each block from one value and the ServerDecoder assembles it
# back into one, so neither side counts lines.

# A decoder keeps at most MAX_ITEMS of a block (a server that announces a billion
# rows gets the first ones); `more` counts what it left out.  Never on the wire.
MAX_ITEMS = {"rooms": 2000, "nicks": 2000, "rows": 64, "entries": 500}


@dataclass(frozen=True, slots=True)
class RoomList:
    """The answer to /list: (name, members) for each room shown, of `total` that match;
    `topics`: each room's topic, in the same order ("" for none; () when none has one)."""
    rooms: tuple[tuple[str, int], ...]
    total: int
    text: str = ""
    more: int = 0
    topics: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.topics and not any(self.topics):
            object.__setattr__(self, "topics", ())

    def topic(self, i: int) -> str:
        """The topic of the i-th room shown ("" for none)."""
        return self.topics[i] if i < len(self.topics) else ""


@dataclass(frozen=True, slots=True)
class MemberList:
    """The nicks in `room`, and how many more are there without one."""
    room: str
    nicks: tuple[str, ...]
    unnamed: int = 0
    text: str = ""
    more: int = 0
    notes: tuple[tuple[str, str], ...] = ()  # (nick, note) for those with one: who is away


@dataclass(frozen=True, slots=True)
class BoardView:
    """A game's board as text, row by row."""
    room: str
    game_id: str
    rows: tuple[str, ...]
    more: int = 0


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Stored entries of `room`, oldest first, sent because of `why` (ON_JOIN, PAGE,
    CAUGHT_UP); `older` as in HistoryStart."""
    room: str
    why: str
    entries: tuple[Past, ...]
    older: int = 0
    text: str = ""
    more: int = 0


def _room_list_lines(msg: RoomList, items: bool = True) -> list:
    return [RoomCount(len(msg.rooms), msg.total, msg.text),
            *(RoomEntry(n, c, msg.topic(i)) for i, (n, c) in enumerate(msg.rooms) if items)]


def _member_list_lines(msg: MemberList, items: bool = True) -> list:
    return [Members(msg.room, len(msg.nicks), msg.unnamed, msg.text),
            *(Member(msg.room, nick) for nick in msg.nicks if items)]


def _board_lines(msg: BoardView, items: bool = True) -> list:
    return [Board(msg.room, msg.game_id, len(msg.rows)),
            *(BoardRow(msg.room, msg.game_id, row) for row in msg.rows if items)]


# A block's item lines written out by hand, as their line encoders would (an empty
# trailing text leaves no space): a /who of a full room is a thousand of them.
def _room_items(msg: RoomList) -> str:
    keyword = _KEYWORD_OF[RoomEntry]
    if msg.topics:
        return "".join([f"{keyword} {name} {count} {topic}\n" if topic else
                        f"{keyword} {name} {count}\n"
                        for (name, count), topic in zip(msg.rooms, msg.topics)])
    return "".join([f"{keyword} {name} {count}\n" for name, count in msg.rooms])


def _member_items(msg: MemberList) -> str:
    prefix = f"{_KEYWORD_OF[Member]} {msg.room} "
    if not msg.notes:
        return "".join([f"{prefix}{nick}\n" for nick in msg.nicks])
    notes = dict(msg.notes)
    return "".join([f"{prefix}{nick} {notes[nick]}\n" if notes.get(nick) else f"{prefix}{nick}\n"
                    for nick in msg.nicks])


def _board_items(msg: BoardView) -> str:
    prefix = f"{_KEYWORD_OF[BoardRow]} {msg.room} {msg.game_id}"
    return "".join([f"{prefix} {row}\n" if row else f"{prefix}\n" for row in msg.rows])


_ITEM_LINES = {RoomList: _room_items, MemberList: _member_items, BoardView: _board_items}


def _history_lines(msg: HistoryPage, items: bool = True) -> list:
    return [HistoryStart(msg.room, len(msg.entries), msg.older, msg.why, msg.text),
            *(msg.entries if items else ())]


# (first line type, item line type, value -> lines, (first line, items, more) -> value,
#  the most items a decoder keeps)
BLOCKS = {
    RoomList: (RoomCount, RoomEntry, _room_list_lines,
               lambda head, items, more: RoomList(tuple((i.room, i.members) for i in items),
                                                  head.total, head.text, more,
                                                  tuple(i.text for i in items)),
               MAX_ITEMS["rooms"]),
    MemberList: (Members, Member, _member_list_lines,
                 lambda head, items, more: MemberList(
                     head.room, tuple(i.nick for i in items), head.unnamed, head.text, more,
                     tuple((i.nick, i.text) for i in items if i.text)),
                 MAX_ITEMS["nicks"]),
    BoardView: (Board, BoardRow, _board_lines,
                lambda head, items, more: BoardView(head.room, head.game_id,
                                                    tuple(i.text for i in items), more),
                MAX_ITEMS["rows"]),
    HistoryPage: (HistoryStart, Past, _history_lines,
                  lambda head, items, more: HistoryPage(head.room, head.why, tuple(items),
                                                        head.older, head.text, more),
                  MAX_ITEMS["entries"]),
}
_BLOCK_OF_HEAD = {head: (item, build, limit) for head, item, _, build, limit in BLOCKS.values()}

# The one table between wire keywords and line types.
KEYWORDS: dict[str, type] = {
    "HELLO": Hello, "REPLY": Reply, "MSG": Chat, "JOIN": Joined, "PART": Left,
    "NICK": Renamed, "HERE": Here, "ROOMS": RoomCount, "ROOM": RoomEntry, "MEMBERS": Members,
    "MEMBER": Member, "INFO": Info, "ERROR": Error, "BYE": Bye, "PING": Ping,
    "GAME": GameState, "TURN": Turn, "BOARD": Board, "ROW": BoardRow,
    "GNOTE": GameNote, "GAMEOVER": GameOver, "HISTORY": HistoryStart, "ENTRY": Past,
    "SESSION": SessionToken, "TOPIC": RoomTopic, "PRIVATE": Private, "ACTION": Action,
    "PASSWORD": PasswordWanted,
}
_FIELDS = {cls: tuple((f.name, f.type) for f in fields(cls)) for cls in KEYWORDS.values()}

ServerLine = (Hello | Reply | Chat | Joined | Left | Here | Renamed | RoomCount | RoomEntry
              | Members | Member | Info | Error | Bye | Ping | GameState | Turn | Board
              | BoardRow | GameNote | GameOver | HistoryStart | Past | SessionToken | RoomTopic
              | Private | Action | PasswordWanted)
ServerMessage = ServerLine | RoomList | MemberList | BoardView | HistoryPage


def format_time(t: float) -> str:
    """`2026-12-01T10:31:05.123Z`: a Timestamp as it is written on the wire."""
    if t == _last_stamp[0]:  # the fan-out stamps many lines within one millisecond
        return _last_stamp[1]
    whole, ms = divmod(round(t * 1000), 1000)
    if whole != _last_second[0]:
        _last_second[:] = [whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))]
    text = _last_second[1] + _MILLIS[ms]
    _last_stamp[:] = [t, text]
    return text


_last_second: list = [None, ""]
_last_stamp: list = [None, ""]
_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))


def parse_time(text: str) -> float:
    """A wire timestamp back to seconds since the epoch; raises ValueError."""
    if not (text.endswith("Z") and len(text) == 24 and text[19] == "."):
        raise ValueError(f"not a timestamp: {text!r}")
    second = text[:19]
    if second != _parsed_second[0]:  # a burst of lines shares its seconds (strptime: 17 us)
        _parsed_second[:] = [second, calendar.timegm(time.strptime(second, "%Y-%m-%dT%H:%M:%S"))]
    return (_parsed_second[1] * 1000 + int(text[20:23])) / 1000  # the float nearest the ms


_parsed_second: list = [None, 0]


_FORMAT = {"Timestamp": format_time, "Nicks": lambda nicks: ",".join(nicks) or NOBODY}
_PARSE = {"int": int, "Timestamp": parse_time,
          "Nicks": lambda text: () if text == NOBODY else tuple(text.split(","))}


def _line_encoder(cls: type):
    """A function that writes one message of `cls` as its wire line."""
    keyword, spec = _KEYWORD_OF[cls], _FIELDS[cls]
    names = [name for name, _ in spec]
    formats = [(i, _FORMAT[typ]) for i, (_, typ) in enumerate(spec) if typ in _FORMAT]
    get = (lambda msg, name=names[0]: (getattr(msg, name),)) if len(names) == 1 \
        else attrgetter(*names)

    def encode_line(msg) -> bytes:
        values = get(msg)
        if formats:
            values = list(values)
            for i, convert in formats:
                values[i] = convert(values[i])
        if values[-1] == "":
            values = values[:-1]  # an empty trailing text leaves no dangling space
        return (" ".join([keyword, *map(str, values)]) + "\n").encode("utf-8")
    return encode_line


def _encode_chat(msg: Chat) -> bytes:
    """MSG, written out by hand: it is the fan-out's hot path."""
    if msg.text:
        return (f"MSG {msg.room} {msg.id} {msg.nick} {format_time(msg.time)} {msg.text}\n"
                .encode("utf-8"))
    return f"MSG {msg.room} {msg.id} {msg.nick} {format_time(msg.time)}\n".encode("utf-8")


def _encode_block(msg) -> bytes:
    items = _ITEM_LINES.get(type(msg))
    if items is None:  # (a history page: its ENTRY lines are messages already)
        return b"".join(map(encode, BLOCKS[type(msg)][2](msg)))
    head = BLOCKS[type(msg)][2](msg, items=False)[0]
    return encode(head) + items(msg).encode("utf-8")


_KEYWORD_OF = {cls: kw for kw, cls in KEYWORDS.items()}
_ENCODERS = {**{cls: _line_encoder(cls) for cls in KEYWORDS.values()}, Chat: _encode_chat,
             **{cls: _encode_block for cls in BLOCKS}}


def encode(msg: ServerMessage) -> bytes:
    """One server message as wire lines (with their newlines): one line, or a block."""
    return _ENCODERS[type(msg)](msg)


def parse_server_line(line: str) -> ServerLine:
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
    if typ == "int" and not (value.isascii() and value.isdigit()):
        # int() takes '²', which isdigit() allows, and ' 5', which is not one token
        raise ProtocolError(f"{keyword} needs a number, got {value!r}")
    convert = _PARSE.get(typ)
    if convert is None:
        return value
    try:
        return convert(value)
    except ValueError as exc:
        raise ProtocolError(f"{keyword}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Unparsed:
    """A server line that does not follow the grammar: shown as it is, or (before the
    greeting) the sign that the peer is not a Parlor server."""
    line: str
    reason: str


class ServerDecoder:
    """A client's side of the codec: bytes in, server messages out, counted blocks
    assembled into one value (RoomList, MemberList, BoardView).  A block cut short
    by another line ends there with what it had."""
    __slots__ = ("lines", "_block", "_more")

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self.lines = LineDecoder(max_line)
        self._block: tuple[type, int, object, list] | None = None  # item type, left, head, items
        self._more = 0  # items of this block past its limit, counted and dropped

    def feed(self, data: bytes) -> list[ServerMessage | BadLine | Unparsed]:
        out: list = []
        for item in self.lines.feed(data):
            if isinstance(item, BadLine):
                out.append(item)
                continue
            try:
                msg = parse_server_line(item)
            except ProtocolError as exc:
                out.append(Unparsed(item, str(exc)))
                continue
            self._take(msg, out)
        return out

    def _take(self, msg: ServerLine, out: list) -> None:
        if self._block is not None:
            item_type, left, head, items = self._block
            if type(msg) is item_type:
                if len(items) < _BLOCK_OF_HEAD[type(head)][2]:
                    items.append(msg)
                else:
                    self._more += 1
                if left == 1:
                    self._finish(out)
                else:
                    self._block = (item_type, left - 1, head, items)
                return
            self._finish(out)
        block = _BLOCK_OF_HEAD.get(type(msg))
        if block is None:
            out.append(msg)
            return
        self._block, self._more = (block[0], msg.count, msg, []), 0
        if msg.count == 0:
            self._finish(out)

    def _finish(self, out: list) -> None:
        _, _, head, items = self._block
        self._block = None
        out.append(_BLOCK_OF_HEAD[type(head)][1](head, items, self._more))
