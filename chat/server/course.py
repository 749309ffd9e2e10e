"""One course-protocol connection, sans I/O: what a course client's messages are as
the lines ChatState takes, what the state's messages are as course sends, and the
queue that spaces those sends.  The state never knows the connection is a course
one.  Must not import socket, selectors, select, curses or threading.
"""
from __future__ import annotations

import math
import re
from collections import deque

from chat import course
from chat import protocol as p

GAP = 0.05  # default --compat-gap: seconds between two sends to one course client
LOBBY, NAMING, IN_ROOM = "lobby", "naming", "room"  # where the connection is, as the course sees it


def parlor_line(msg: p.ClientMessage) -> str:
    """A client message as the line ChatState.handle takes (no newline)."""
    return p.encode_client(msg).decode("utf-8")[:-1]


def reworded(text: str) -> str:
    """A limit's sentence for a course client: it sends messages, not lines."""
    return re.sub(r"\blines\b", "messages", re.sub(r"\bline\b", "message", text))


class CourseSession:
    """A course client's view of its session: it follows the state's HERE lines (room
    and nick) and the room's comings and goings, to say what the course says."""

    def __init__(self) -> None:
        self.room: str | None = None
        self.nick: str | None = None
        self.members: dict[str, str] = {}  # casefolded -> nick: who is in my room, with a nick
        self.who_asked = 0  # /who answers (member lists) still to come
        self.leaving = False  # it said /logout: the goodbye is not for its eyes

    @property
    def where(self) -> str:
        return LOBBY if self.room is None else NAMING if self.nick is None else IN_ROOM

    # -------------------------------------------------------------- course -> state
    def command(self, text: str) -> tuple[str | None, list[str]]:
        """One course message: (the line for ChatState.handle, or None; what to answer
        here, without the state)."""
        word, arg = course.parse_command(text)
        if word == course.LOGOUT:
            self.leaving = True
            return parlor_line(p.Quit()), []
        where = self.where
        if where == IN_ROOM:
            if word == course.WHO and not arg:
                self.who_asked += 1
                return parlor_line(p.Who()), []
            return parlor_line(p.Say(text)), []  # (anything else is said: /nick too)
        if where == LOBBY and word == course.LIST:
            return parlor_line(p.ListRooms()), []
        if where == LOBBY and word == course.JOIN and course.is_name(arg, p.MAX_ROOM):
            return parlor_line(p.Join(arg)), []
        if where == NAMING and word == course.NICK and course.is_name(arg, p.MAX_NICK):
            return parlor_line(p.Nick(arg)), []
        if where == NAMING and word == course.WHO and not arg:
            self.who_asked += 1
            return parlor_line(p.Who()), []
        return None, [course.BAD]

    # -------------------------------------------------------------- state -> course
    def sends(self, msg: p.ServerMessage) -> list[str]:
        """What the course client is sent for `msg`, each its own send ([] for what
        the course has no way to say)."""
        handler = _SENDS.get(type(msg))
        return handler(self, msg) if handler is not None else []

    def _room_news(self, texts: list[str]) -> list[str]:
        """Room events reach a course client once it has a nick: before, it waits for
        the answer to /nick, and anything else would be read as that answer."""
        return texts if self.where == IN_ROOM else []

    def _on_here(self, msg: p.Here) -> list[str]:
        room = None if msg.room == p.NOBODY else msg.room
        if room != self.room:
            self.members = {}
        self.room, self.nick = room, None if msg.nick == p.NOBODY else msg.nick
        return []

    def _on_reply(self, msg: p.Reply) -> list[str]:
        if msg.answers(p.Join) or msg.answers(p.Nick):
            return [str(min(msg.code, 2))]
        if msg.answers(p.Who):
            self.who_asked = max(self.who_asked - 1, 0)
            return [course.BAD]
        return []

    def _on_rooms(self, msg: p.RoomList) -> list[str]:
        return [str(len(msg.rooms)), *(name for name, _ in msg.rooms)]

    def _on_members(self, msg: p.MemberList) -> list[str]:
        if msg.room == self.room:
            self.members = {n.casefold(): n for n in msg.nicks}
        if not self.who_asked:
            return []  # (the state lists the room on every join: the course does not)
        self.who_asked -= 1
        return [course.USERS, *msg.nicks]

    def _on_joined(self, msg: p.Joined) -> list[str]:
        self.members[msg.nick.casefold()] = msg.nick
        if msg.nick == self.nick and len(self.members) == 1:
            return [course.NEW_ROOM]
        return self._room_news([course.joined(msg.nick), course.people(len(self.members))])

    def _on_left(self, msg: p.Left) -> list[str]:
        if self.members.pop(msg.nick.casefold(), None) is None:
            return []  # (told already: a held nick that has now expired)
        gone = course.left if msg.reason in (p.LEFT, p.QUIT) else course.dropped
        return self._room_news([gone(msg.nick)])

    def _on_renamed(self, msg: p.Renamed) -> list[str]:
        self.members.pop(msg.old.casefold(), None)
        self.members[msg.new.casefold()] = msg.new
        return self._room_news([f"{msg.old} is now known as {msg.new}."])

    def _on_chat(self, msg: p.Chat) -> list[str]:
        return [] if msg.nick == self.nick else self._room_news([course.said(msg.nick, msg.text)])

    def _on_action(self, msg: p.Action) -> list[str]:
        return [] if msg.nick == self.nick else self._room_news([f"* {msg.nick} {msg.text}"])

    def _on_private(self, msg: p.Private) -> list[str]:
        if msg.nick == self.nick:
            return []
        return self._room_news([course.said(f"{msg.nick} (to you only)", msg.text)])

    def _on_topic(self, msg: p.RoomTopic) -> list[str]:
        if msg.why != p.TOPIC_CHANGED:
            return []
        text = f"set the topic: {msg.text}" if msg.text else "removed the topic"
        return self._room_news([f"{msg.nick} {text}"])

    def _on_text(self, msg: p.Info | p.Error | p.GameNote | p.GameOver) -> list[str]:
        return self._room_news([reworded(msg.text)])

    def _on_bye(self, msg: p.Bye) -> list[str]:
        return [] if self.leaving else [f"Disconnected by the server: {reworded(msg.text)}."]


_SENDS = {
    p.Here: CourseSession._on_here, p.Reply: CourseSession._on_reply,
    p.RoomList: CourseSession._on_rooms, p.MemberList: CourseSession._on_members,
    p.Joined: CourseSession._on_joined, p.Left: CourseSession._on_left,
    p.Renamed: CourseSession._on_renamed, p.Chat: CourseSession._on_chat,
    p.Action: CourseSession._on_action, p.Private: CourseSession._on_private,
    p.RoomTopic: CourseSession._on_topic, p.Info: CourseSession._on_text,
    p.Error: CourseSession._on_text, p.GameNote: CourseSession._on_text,
    p.GameOver: CourseSession._on_text, p.Bye: CourseSession._on_bye,
}


class Spacer:
    """A course connection's sends, spaced: the next one may go `gap` seconds after
    the one before has left entirely (`sent`), so that a client reading one answer
    a recv never gets two.  Driven by the loop's clock and timers; `size` is the
    bytes waiting, for the slow-reader limit."""
    __slots__ = ("gap", "queue", "size", "free_at")

    def __init__(self, gap: float = GAP) -> None:
        self.gap = gap
        self.queue: deque[bytes] = deque()
        self.size = 0
        self.free_at = -math.inf

    def __len__(self) -> int:
        return len(self.queue)

    def push(self, text: str) -> None:
        data = course.clip(text)
        self.queue.append(data)
        self.size += len(data)

    def due(self) -> float | None:
        """When the next send may go (None: none waits)."""
        return self.free_at if self.queue else None

    def take(self, now: float) -> bytes | None:
        """The next send, if one waits and its time has come."""
        if not self.queue or now < self.free_at:
            return None
        data = self.queue.popleft()
        self.size -= len(data)
        self.free_at = math.inf  # until the loop says it has left
        return data

    def sent(self, now: float) -> None:
        """The send taken last has left the socket entirely at `now`."""
        self.free_at = now + self.gap

    def clear(self) -> None:
        self.queue.clear()
        self.size = 0
