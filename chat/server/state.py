"""The server's state and behaviour, sans I/O: sessions, rooms, nicks, commands.

`ChatState.handle(session_id, line, out)` is everything the server does with one
line from a client; what to send (and whom to drop) is collected in an `Outbox`.
Must not import socket, selectors, select, curses or threading.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from chat import protocol as p
from chat.width import sanitize

log = logging.getLogger("parlor.server")

GREETING = ("Welcome to Parlor. Type /list to see the rooms, /join ROOM to enter one, "
            "then /nick NAME to pick your name. /help lists every command.")


@dataclass(eq=False, slots=True)
class Session:
    id: int
    addr: str
    room: Room | None = None
    nick: str | None = None
    wanted_nick: str | None = None  # carried into the next room joined


@dataclass(eq=False, slots=True)
class Room:
    name: str
    sessions: dict[int, Session] = field(default_factory=dict)
    nicks: dict[str, Session] = field(default_factory=dict)  # casefolded nick -> session

    def member_nicks(self) -> list[str]:
        return sorted((s.nick for s in self.nicks.values()), key=str.casefold)


class Outbox:
    """What one step of the state machine wants done: messages to send, sessions to drop."""
    __slots__ = ("sends", "closes")

    def __init__(self) -> None:
        self.sends: list[tuple[Iterable[int], p.ServerMessage]] = []
        self.closes: list[int] = []

    def to(self, session_id: int, *messages: p.ServerMessage) -> None:
        for msg in messages:
            self.sends.append(((session_id,), msg))

    def to_room(self, room: Room, msg: p.ServerMessage) -> None:
        self.sends.append((tuple(room.sessions), msg))

    def close(self, session_id: int) -> None:
        self.closes.append(session_id)


def key(name: str) -> str:
    return name.casefold()


Handler = Callable[[Session, str, Outbox], None]  # a command: (session, args, out)


class ChatState:
    """All sessions and rooms.  Hooks let the game host (#4) join in without this
    module knowing any game: `on_leave_hooks` run whenever a nick leaves a room."""

    def __init__(self) -> None:
        self.sessions: dict[int, Session] = {}
        self.rooms: dict[str, Room] = {}
        self.commands: dict[str, Handler] = {
            "list": self._on_list, "join": self._on_join, "nick": self._on_nick,
            "who": self._on_who, "leave": self._on_leave, "part": self._on_leave,
            "quit": self._on_quit, "q": self._on_quit, "logout": self._on_quit,
            "help": self._on_help, "pong": self._on_pong,
        }
        self.help_lines: list[str] = list(HELP)
        self.on_leave_hooks: list[Callable[[Session, Room, str, Outbox], None]] = []
        # For commands that are not in `commands` (the game host's `/5`): each
        # resolver returns a handler for (session, name), or None.
        self.command_resolvers: list[Callable[[Session, str], Handler | None]] = []
        self.reserved_nicks: set[str] = set()  # casefolded nicks nobody may pick ("bot")

    # -------------------------------------------------------------- lifecycle
    def connect(self, session_id: int, addr: str, out: Outbox) -> None:
        self.sessions[session_id] = Session(session_id, addr)
        log.info("connect #%d from %s", session_id, addr)
        out.to(session_id, p.Hello(p.PROTOCOL, GREETING))

    def disconnect(self, session_id: int, reason: str, out: Outbox) -> None:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return
        log.info("disconnect #%d%s (%s)", session_id,
                 f" {session.nick}" if session.nick else "", reason)
        self._leave_room(session, reason, out)

    def shutdown(self, reason: str, out: Outbox) -> None:
        for session_id in list(self.sessions):
            out.to(session_id, p.Bye(reason))
            out.close(session_id)

    # -------------------------------------------------------------- input
    def handle(self, session_id: int, line: str | p.BadLine, out: Outbox) -> None:
        session = self.sessions[session_id]
        if isinstance(line, p.BadLine):
            out.to(session_id, p.Error(line.reason))
            return
        msg = p.parse_client_line(line)
        if isinstance(msg, p.Say):
            self._on_say(session, msg.text, out)
            return
        handler = self.commands.get(msg.name) or self._resolve(session, msg.name)
        if handler is None:
            name = msg.name if p.is_valid_name(msg.name, 20) else "unknown"
            out.to(session_id, p.Reply(name, 1, f"there is no command /{sanitize(msg.name[:20])}; "
                                                 "/help lists the commands"))
            return
        handler(session, msg.args, out)

    def _resolve(self, session: Session, name: str) -> Handler | None:
        for resolver in self.command_resolvers:
            handler = resolver(session, name)
            if handler is not None:
                return handler
        return None

    def _on_say(self, session: Session, text: str, out: Outbox) -> None:
        if not text.strip():
            return  # a blank line is a no-op, in the lobby too
        shown = sanitize(text)
        problem = self._say_problem(session, text, shown)
        if problem:
            out.to(session.id, p.Error(problem))
        else:
            out.to_room(session.room, p.Chat(session.room.name, session.nick, shown))

    @staticmethod
    def _say_problem(session: Session, text: str, shown: str) -> str | None:
        if session.room is None:
            return "you are in the lobby: /join ROOM first (/list shows the rooms)"
        if session.nick is None:
            return f"pick a nick before you talk in {session.room.name}: /nick NAME"
        # Measure what is relayed: sanitizing can grow the text (ESC -> '^['), and the
        # relayed MSG line must still fit in MAX_LINE.
        size = len(shown.encode("utf-8", "replace"))
        if size > p.MAX_TEXT:
            grown = "" if shown == text else " once its control characters are made visible"
            return f"your message is {size} bytes{grown}; the limit is {p.MAX_TEXT}. It was not sent"
        return None

    # -------------------------------------------------------------- commands
    def _on_list(self, session: Session, args: str, out: Outbox) -> None:
        rooms = sorted(self.rooms.values(), key=lambda r: key(r.name))
        out.to(session.id, p.RoomCount(len(rooms), _plural(len(rooms), "room")))
        for room in rooms:
            out.to(session.id, p.RoomEntry(room.name, len(room.sessions)))

    def _on_join(self, session: Session, args: str, out: Outbox) -> None:
        name = args[1:] if args.startswith("#") else args
        problem = p.name_problem(name, "room", p.MAX_ROOM)
        if problem:
            out.to(session.id, p.Reply("join", 1, sanitize(problem) + "; usage: /join ROOM"))
            return
        if session.room is not None and key(session.room.name) == key(name):
            out.to(session.id, p.Reply("join", 0, f"you are already in {session.room.name}"))
            return
        self._leave_room(session, "left", out)
        room = self.rooms.get(key(name))
        if room is None:
            room = self.rooms[key(name)] = Room(name)
        room.sessions[session.id] = session
        session.room = room
        log.info("join #%d %s", session.id, room.name)
        out.to(session.id, p.Here(room.name, p.NOBODY))
        self._enter_with_wanted_nick(session, room, out)

    def _enter_with_wanted_nick(self, session: Session, room: Room, out: Outbox) -> None:
        wanted = session.wanted_nick
        if wanted and key(wanted) not in room.nicks:
            out.to(session.id, p.Reply("join", 0, f"you joined {room.name} as {wanted}"))
            self._set_nick(session, wanted, out)
        else:
            taken = f"; {wanted} is taken here" if wanted else ""
            out.to(session.id, p.Reply("join", 0, f"you joined {room.name}{taken}; "
                                                  "pick a nick with /nick NAME"))
        self._send_members(session, room, out)

    def _on_nick(self, session: Session, args: str, out: Outbox) -> None:
        room = session.room
        problem = p.name_problem(args, "nick", p.MAX_NICK)
        if problem is None and key(args) in self.reserved_nicks:
            problem = f"{args!r} is reserved"
        if problem:
            out.to(session.id, p.Reply("nick", 1, sanitize(problem)))
        elif room is None:
            session.wanted_nick = args
            out.to(session.id, p.Reply("nick", 0, f"you will be {args} in the room you join next"))
        elif session.nick == args:
            out.to(session.id, p.Reply("nick", 0, f"you are already {args} in {room.name}"))
        elif room.nicks.get(key(args), session) is not session:
            out.to(session.id, p.Reply("nick", 2, f"nick {args!r} is taken in {room.name}, "
                                                  "pick another"))
        else:
            out.to(session.id, p.Reply("nick", 0, f"you are now {args} in {room.name}"))
            self._set_nick(session, args, out)

    def _set_nick(self, session: Session, nick: str, out: Outbox) -> None:
        room, old = session.room, session.nick
        if old is not None:
            del room.nicks[key(old)]
        room.nicks[key(nick)] = session
        session.nick = session.wanted_nick = nick
        out.to(session.id, p.Here(room.name, nick))
        log.info("nick #%d %s -> %s in %s", session.id, old or "-", nick, room.name)
        if old is None:
            out.to_room(room, p.Joined(room.name, nick))
        else:
            out.to_room(room, p.Renamed(room.name, old, nick))

    def _on_who(self, session: Session, args: str, out: Outbox) -> None:
        if not args:
            room, problem = session.room, "you are in the lobby: /who ROOM, or /join ROOM first"
        else:
            # Validate before echoing: the name comes back in the reply, which must fit a line.
            name = args[1:] if args.startswith("#") else args
            problem = p.name_problem(name, "room", p.MAX_ROOM)
            room = None if problem else self.rooms.get(key(name))
            problem = problem or f"there is no room {name!r}"
        if room is None:
            out.to(session.id, p.Reply("who", 1, sanitize(problem)))
            return
        self._send_members(session, room, out)

    def _send_members(self, session: Session, room: Room, out: Outbox) -> None:
        nicks = room.member_nicks()
        unnamed = len(room.sessions) - len(nicks)
        note = f"{unnamed} without a nick yet" if unnamed else ""
        out.to(session.id, p.Members(room.name, len(nicks), note))
        for nick in nicks:
            out.to(session.id, p.Member(room.name, nick))

    def _on_leave(self, session: Session, args: str, out: Outbox) -> None:
        room = session.room
        if room is None:
            out.to(session.id, p.Reply("leave", 1, "you are not in a room"))
            return
        self._leave_room(session, "left", out)
        out.to(session.id, p.Reply("leave", 0, f"you left {room.name} and are back in the lobby"))

    def _leave_room(self, session: Session, reason: str, out: Outbox) -> None:
        room = session.room
        if room is None:
            return
        for hook in self.on_leave_hooks:
            hook(session, room, reason, out)
        del room.sessions[session.id]
        session.room = None
        if session.nick is not None:
            del room.nicks[key(session.nick)]
            out.to_room(room, p.Left(room.name, session.nick, reason))
            session.nick = None
        out.to(session.id, p.Here(p.NOBODY, p.NOBODY))
        if not room.sessions:
            del self.rooms[key(room.name)]

    def _on_quit(self, session: Session, args: str, out: Outbox) -> None:
        out.to(session.id, p.Bye("goodbye"))
        out.close(session.id)

    def _on_help(self, session: Session, args: str, out: Outbox) -> None:
        for line in self.help_lines:
            out.to(session.id, p.Info(line))

    def _on_pong(self, session: Session, args: str, out: Outbox) -> None:
        """Keepalive answer; any line already proves the peer is alive."""


HELP = [
    "Commands (a line not starting with / is a chat message; //text sends /text):",
    "  /list              the rooms and how many are in each",
    "  /join ROOM         enter ROOM (created if new), leaving the room you are in",
    "  /nick NAME         pick your name in this room",
    "  /who [ROOM]        who is in your room (or in ROOM)",
    "  /leave             back to the lobby",
    "  /quit              disconnect (also /q, /logout)",
    "  /help              this list",
]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
