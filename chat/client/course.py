"""`client.py --course`: the client core talking to a course server (seed 004), sans
I/O.  CourseAdapter turns the course server's unframed reads into Parlor's typed
server messages and the core's commands into course sends, one at a time (each
waits for its answer); CourseCore is the client core with it in between, so both
views work unchanged.  Must not import socket, selectors, select, curses or threading.
"""
from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable

from chat import course as c
from chat import protocol as p
from chat.client.core import INFO, ClientCore
from chat.width import sanitize

SEND_GAP = 0.05  # seconds between two sends, so that the course server reads each alone
ANSWER_WAIT = 5.0  # seconds an answer may take before the next command goes anyway
WHO_QUIET = 0.3  # seconds after the last nick of a /who answer that end it (it has no count)
PROTOCOL = "course"  # (what the HELLO the core is given names)
MENU = ("This is a course server: /list shows the rooms, /join ROOM enters one, then "
        "/nick NAME picks your name there (names are letters and digits); in the room, /who "
        "lists who is in it and /quit logs out.")
LOBBY, NAMING, IN_ROOM = "lobby", "naming", "room"
_COUNT = re.compile(r"(\d+)(.*)\Z")


class CourseAdapter:
    """One connection to a course server.  `submit` a client message, `take` what may
    be sent now, `feed` what was read, `tick` the clock; each leaves the Parlor
    messages the core is to hear in `heard` (`drain` takes them)."""

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self.wall = wall  # stamps the chat messages (the course server does not)
        self.room: str | None = None
        self.nick: str | None = None
        self.want_nick: str | None = None  # asked for in the lobby: sent after /join
        self.queue: deque[p.ClientMessage] = deque()
        self.urgent = b""  # /logout: past the queue
        self.awaiting: p.ClientMessage | None = None  # the command whose answer is due
        self.answer_by = 0.0
        self.last_sent = float("-inf")
        self.rooms: list[str] | None = None  # a /list answer being read
        self.rooms_left: int | None = None  # its names still to come (None: its count)
        self.users: list[str] | None = None  # a /who answer being read
        self.users_until = 0.0
        self.heard: list[p.ServerMessage] = []
        self._ids = 0

    @property
    def where(self) -> str:
        return LOBBY if self.room is None else NAMING if self.nick is None else IN_ROOM

    def drain(self) -> list[p.ServerMessage]:
        heard, self.heard = self.heard, []
        return heard

    # -------------------------------------------------------------- the core's commands
    def submit(self, msg: p.ClientMessage) -> None:
        if isinstance(msg, p.Quit):
            self.queue.clear()
            self.urgent = c.LOGOUT.encode("utf-8")
        else:
            self.queue.append(msg)

    def next_at(self) -> float | None:
        """When `take` or `tick` next has something to do (None: nothing waits)."""
        times = [self.users_until if self.users is not None else None,
                 self.answer_by if self.awaiting is not None else None]
        if self.queue and self.awaiting is None:
            times.append(self.last_sent + SEND_GAP)
        return min((t for t in times if t is not None), default=None)

    def take(self, now: float) -> bytes:
        """The one send that may go now (b"" for none): the next command once the one
        before is answered and SEND_GAP has passed; what the course cannot carry is
        answered here."""
        if self.urgent:
            data, self.urgent = self.urgent, b""
            self.last_sent = now
            return data
        while self.queue and self.awaiting is None and now >= self.last_sent + SEND_GAP:
            text = self._course_text(self.queue.popleft())
            if text is not None:
                self.last_sent, self.answer_by = now, now + ANSWER_WAIT
                return text.encode("utf-8", "replace")
        return b""

    def _course_text(self, msg: p.ClientMessage) -> str | None:
        """`msg` as a course send (the answer it waits for noted), or None: answered here."""
        where, handler = self.where, _OUTGOING.get(type(msg))
        if handler is not None:
            return handler(self, msg, where)
        name = p.command_name(msg)
        self._refuse(msg, f"a course server has no /{name}: it knows /list, /join, /nick, "
                          "/who and /logout (/quit)")
        return None

    def _awaits(self, msg: p.ClientMessage, text: str) -> str:
        self.awaiting = msg
        return text

    def _refuse(self, msg: object, text: str) -> None:
        self.heard.append(p.reply(msg, 1, text))

    def _out_list(self, msg: p.ListRooms, where: str) -> str | None:
        if where != LOBBY:
            self._refuse(msg, "a course server lists its rooms in the lobby only")
            return None
        self.rooms, self.rooms_left = [], None
        return self._awaits(msg, c.LIST)

    def _out_join(self, msg: p.Join, where: str) -> str | None:
        if where != LOBBY:
            self._refuse(msg, "a course server has no way to change rooms: /quit, then "
                              "connect again")
            return None
        return self._awaits(msg, c.command(c.JOIN, msg.room))

    def _out_nick(self, msg: p.Nick, where: str) -> str | None:
        if where == LOBBY:
            self.want_nick = msg.nick
            self.heard.append(p.reply(msg, 0, f"you will be {msg.nick} in the room you join next"))
            return None
        if where == IN_ROOM:
            self._refuse(msg, "a course server keeps your nick for as long as you are in "
                              "the room")
            return None
        return self._awaits(msg, c.command(c.NICK, msg.nick))

    def _out_who(self, msg: p.Who, where: str) -> str | None:
        if where != IN_ROOM or msg.room not in ("", self.room):
            self._refuse(msg, "a course server lists your own room only, once you have a nick "
                              "there")
            return None
        return self._awaits(msg, c.WHO)

    def _out_say(self, msg: p.Say, where: str) -> str | None:
        if where != IN_ROOM:
            self.heard.append(p.Error("pick a nick first: /nick NAME" if where == NAMING
                                      else "you are in the lobby: /join ROOM first"))
            return None
        if c.parse_command(msg.text)[0] is not None:
            self.heard.append(p.Error(f"a course server would take {msg.text!r} as its "
                                      "command; it was not sent"))
            return None
        self._heard_chat(self.nick, msg.text)  # (the course server echoes nothing)
        return msg.text

    def _out_history(self, msg: p.History | p.Missed, where: str) -> None:
        self._refuse(msg, "a course server keeps no history")

    def _out_help(self, msg: p.Help, where: str) -> None:
        self.heard.append(p.Info(MENU))

    # -------------------------------------------------------------- the server's sends
    def feed(self, data: bytes, now: float) -> None:
        """One read from the course server."""
        text = sanitize(data.decode("utf-8", "replace").replace("\n", " ").replace("\r", " "))
        wanted = isinstance(self.awaiting, (p.Join, p.Nick))
        for event in c.read_server(text, code_wanted=wanted):
            if self.users is not None and not isinstance(event, c.Word):
                self._end_users()
            handler = _INCOMING.get(type(event))
            handler(self, event, now)

    def tick(self, now: float) -> None:
        """The clock: a /who answer ends when it goes quiet; an answer that does not
        come in time is given up, and the next command may go."""
        if self.users is not None and now >= self.users_until:
            self._end_users()
        if self.awaiting is not None and now >= self.answer_by:
            if self.rooms:  # (the names that came are what there is)
                self._end_rooms()
                return
            name = p.typed(type(self.awaiting))
            self.heard.append(p.Error(f"the course server did not answer {name} within "
                                      f"{ANSWER_WAIT:g} s"))
            self.awaiting, self.rooms = None, None

    def _on_code(self, event: c.Code, now: float) -> None:
        msg, self.awaiting = self.awaiting, None
        if isinstance(msg, p.Join):
            self._joined(msg, event.code)
        else:
            self._named(msg, event.code)

    def _joined(self, msg: p.Join, code: int) -> None:
        if code:
            self._refuse(msg, f"{msg.room!r} is not a room name the course server takes "
                              "(letters and digits only)")
            return
        self.room = msg.room
        self.heard += [p.Here(msg.room, p.NOBODY),
                       p.reply(msg, 0, f"you joined {msg.room}; pick a nick with /nick NAME")]
        if self.want_nick:
            self.queue.appendleft(p.Nick(self.want_nick))
            self.want_nick = None

    def _named(self, msg: p.Nick, code: int) -> None:
        if code == 0:
            self.nick = msg.nick
            self.heard += [p.reply(msg, 0, f"you are now {msg.nick} in {self.room}"),
                           p.Here(self.room, msg.nick)]
            self.queue.appendleft(p.Who())  # who is here (a Parlor server tells on joining)
        elif code == 2:
            self.heard.append(p.reply(msg, 2, f"nick {msg.nick!r} is taken in {self.room}, "
                                              "pick another"))
        else:
            self._refuse(msg, f"{msg.nick!r} is not a nick the course server takes "
                              "(letters and digits only)")

    def _on_word(self, event: c.Word, now: float) -> None:
        if self.users is not None:
            self.users.append(event.text)
            self.users_until = now + WHO_QUIET
        elif self.rooms is not None:
            self._on_room_word(event.text)
        else:
            self._on_other(c.Other(event.text), now)

    def _on_room_word(self, word: str) -> None:
        if self.rooms_left is None:
            count = _COUNT.match(word)
            if count is None:  # (no count: the names are what there is)
                self.rooms_left = 1
            else:
                self.rooms_left, word = int(count[1]), count[2]
            if not word and not self.rooms_left:
                self._end_rooms()
            if not word:
                return
        self.rooms.append(word)
        self.rooms_left -= 1
        if self.rooms_left <= 0:
            self._end_rooms()

    def _end_rooms(self) -> None:
        rooms, self.rooms, self.awaiting = self.rooms, None, None
        self.heard.append(p.RoomList(tuple((name, 0) for name in rooms), len(rooms),
                                     "no rooms yet"))

    def _on_users(self, event: c.Users, now: float) -> None:
        self.users, self.users_until = [], now + WHO_QUIET

    def _end_users(self) -> None:
        """The /who answer is over (the next command may go: not sooner, or the
        server's next nick and its answer to that could come as one read)."""
        users, self.users = self.users, None
        if isinstance(self.awaiting, p.Who):
            self.awaiting = None
        self.heard.append(p.MemberList(self.room or p.NOBODY, tuple(users)))

    def _on_joined(self, event: c.Joined, now: float) -> None:
        if self.room is not None:
            self.heard.append(p.Joined(self.room, event.nick))

    def _on_left(self, event: c.Left, now: float) -> None:
        if self.room is not None:
            self.heard.append(p.Left(self.room, event.nick,
                                     "disconnected" if event.dropped else p.LEFT))

    def _on_people(self, event: c.People, now: float) -> None:
        self.heard.append(p.Info(f"There are {event.count} people in {self.room}."))

    def _on_new_room(self, event: c.NewRoom, now: float) -> None:
        self.heard.append(p.Info(f"{self.room} is a new room: you are the first here."))

    def _on_said(self, event: c.Said, now: float) -> None:
        self._heard_chat(event.nick, event.text)

    def _heard_chat(self, nick: str, text: str) -> None:
        if self.room is None:
            self.heard.append(p.Info(f"{nick}> {text}"))
            return
        self._ids += 1
        self.heard.append(p.Chat(self.room, self._ids, nick, self.wall(), c.cut(text, p.MAX_TEXT)))

    def _on_other(self, event: c.Other, now: float) -> None:
        self.heard.append(p.Info(c.cut(event.text, p.MAX_TEXT)))


_OUTGOING = {
    p.ListRooms: CourseAdapter._out_list, p.Join: CourseAdapter._out_join,
    p.Nick: CourseAdapter._out_nick, p.Who: CourseAdapter._out_who,
    p.Say: CourseAdapter._out_say, p.History: CourseAdapter._out_history,
    p.Missed: CourseAdapter._out_history, p.Help: CourseAdapter._out_help,
}
_INCOMING = {
    c.Code: CourseAdapter._on_code, c.Word: CourseAdapter._on_word,
    c.Users: CourseAdapter._on_users, c.Joined: CourseAdapter._on_joined,
    c.Left: CourseAdapter._on_left, c.People: CourseAdapter._on_people,
    c.NewRoom: CourseAdapter._on_new_room, c.Said: CourseAdapter._on_said,
    c.Other: CourseAdapter._on_other,
}


class CourseCore(ClientCore):
    """The client core, for a course server: what the views give it and take from it
    goes through a CourseAdapter; everything else is the core's own."""

    def __init__(self, *args, wall: Callable[[], float] = time.time, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.wall = wall
        self.course = CourseAdapter(wall)

    def connection_made(self, encryption: str = "") -> None:
        super().connection_made(encryption)
        self.course = CourseAdapter(self.wall)
        self._hear([p.Hello(PROTOCOL, MENU)])  # (no greeting: the course server sends none)
        if not self.want_room:
            self._add(INFO, MENU)

    def receive_data(self, data: bytes) -> None:
        self.course.feed(data, self.clock())
        self._hear(self.course.drain())

    def data_to_send(self, now: float) -> bytes:
        for line in super().data_to_send(now).decode("utf-8").splitlines():
            self.course.submit(p.parse_client_line(line))
        data = self.course.take(now)
        self._hear(self.course.drain())
        return data

    def next_send_at(self) -> float | None:
        times = [super().next_send_at(), self.course.next_at()]
        return min((t for t in times if t is not None), default=None)

    def wake_at(self, now: float) -> float | None:
        if self._entries:  # (the greeting is made here, not read: a view must wake to show it)
            return now
        times = [super().wake_at(now), self.course.next_at()]
        return min((t for t in times if t is not None), default=None)

    def tick(self, now: float) -> None:
        self.course.tick(now)
        self._hear(self.course.drain())
        super().tick(now)

    def _hear(self, messages: list[p.ServerMessage]) -> None:
        if messages:
            super().receive_data(b"".join(p.encode(msg) for msg in messages))

    def _show_rooms(self, msg: p.RoomList) -> None:
        """A course server gives room names, not how many are in each."""
        if not msg.rooms:
            self._add(INFO, "No rooms yet: /join NAME creates one.")
            return
        for room, _ in msg.rooms:
            self._remember_room(room)
        listing = ", ".join(sanitize(room) for room, _ in msg.rooms)
        self._add(INFO, f"Rooms: {listing}. /join ROOM to enter one.")
