"""The server's state and behaviour, sans I/O: sessions, rooms, nicks, commands.

`ChatState.handle(session_id, line, out)` is everything the server does with one
line from a client; what to send (to sessions, or to rooms by name: the shell
expands a room into its connections) and whom to drop is collected in an `Outbox`.
Collaborators (the game host, the history store; later a broker) are handed in
when it is built.  Must not import socket, selectors, select, curses or threading.
"""
from __future__ import annotations

import heapq
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from chat import protocol as p
from chat.server.direct import YOU, Absence, Direct, Elsewhere, end_key
from chat.server.history import REPLAY, History
from chat.server.identity import Identity
from chat.server.limits import GRACE
from chat.server.memory_store import MemoryStore
from chat.server.moderation import Moderation
from chat.server.presence import Alone, Presence, node_table
from chat.server.store import Store
from chat.server.topics import Kept, Topics, topic_problem
from chat.width import sanitize

log = logging.getLogger("parlor.server")

LIST_LIMIT = 200  # rooms in one /list answer; more are left out, and counted
REPLACED = "you connected again: this connection is replaced by the new one"
SESSIONS = "session"  # the store's table of kept sessions
RESUMABLE = "resumable"  # several servers: which server keeps a session, by its token
GREETING = ("Welcome to Parlor. Type /list to see the rooms, /join ROOM to enter one, "
            "then /nick NAME to pick your name. /help lists every command.")


@dataclass(eq=False, slots=True)
class Session:
    id: int
    addr: str
    room: Room | None = None
    nick: str | None = None
    wanted_nick: str | None = None  # carried into the next room joined
    token: str = ""  # what /resume names this session by
    held_until: float | None = None  # dropped: kept (room, nick, seats) until then
    away: Absence | None = None
    last_from: Session | Elsewhere | None = None  # who last sent it a private message (/r)
    account: str | None = None  # the account it is logged in to (casefolded nick)

    @property
    def key(self) -> str:
        """Who this session is to the store, as a private message's end."""
        return end_key(self.token)


@dataclass(eq=False, slots=True)
class Room:
    name: str
    sessions: dict[int, Session] = field(default_factory=dict)  # change with add/remove
    nicks: dict[str, Session] = field(default_factory=dict)  # casefolded nick -> session
    _ids: tuple[int, ...] | None = None  # the session ids, kept for the fan-out

    def add(self, session: Session) -> None:
        self.sessions[session.id] = session
        self._ids = None

    def remove(self, session: Session) -> None:
        del self.sessions[session.id]
        self._ids = None

    def ids(self) -> tuple[int, ...]:
        """The members' session ids (a tuple: the fan-out loops over it for every line)."""
        if self._ids is None:
            self._ids = tuple(self.sessions)
        return self._ids

    def member_nicks(self) -> list[str]:
        return sorted((s.nick for s in self.nicks.values()), key=str.casefold)


class Outbox:
    """What one step of the state machine wants done: messages to send, sessions to
    drop.  A send's target is a tuple of session ids, or a room's key (a str): the
    room's members when the shell delivers it."""
    __slots__ = ("sends", "closes", "adoptions", "stop")

    def __init__(self) -> None:
        self.sends: list[tuple[tuple[int, ...] | str, p.ServerMessage]] = []
        self.closes: list[int] = []
        # (connection, session): the connection now serves that session, under its id;
        # a connection that served it before is told REPLACED and closed.  Done first.
        self.adoptions: list[tuple[int, int]] = []
        self.stop: str | None = None  # a server operator's /shutdown: the reason

    def to(self, session_id: int, *messages: p.ServerMessage) -> None:
        for msg in messages:
            self.sends.append(((session_id,), msg))

    def to_elsewhere(self, node: str, key: str, sender: Session, msg: p.ServerMessage,
                     room_key: str = "") -> None:
        """To the session of key `key` on the server `node` (several servers), in the
        sender's room or, `room_key`, in that one, from `sender` here (so that its /r
        answers): only the bus carries it."""
        self.sends.append(((node, key, sender.key, sender.nick, room_key), msg))

    def to_room(self, room: Room, msg: p.ServerMessage) -> None:
        self.sends.append((key(room.name), msg))

    # Several servers: only the bus carries these (chat.server.redis_bus).
    def forward(self, room_key: str, node: str, session_key: str, nick: str, text: str,
                sender_node: str = "") -> None:
        """A game act (far_games) of the session `session_key`, `nick`, of the server
        `sender_node` ("": this one), to the server `node`, which runs the game."""
        self.sends.append((("!", room_key, node, sender_node, session_key, nick), text))

    @staticmethod
    def far(room_key: str, node: str, session_key: str) -> tuple[str, str, str, str]:
        """The target for a send to the session `session_key` in the room on the server
        `node`: what a game there hears back from a game run here."""
        return ("#", room_key, node, session_key)

    def close(self, session_id: int) -> None:
        self.closes.append(session_id)


def key(name: str) -> str:
    return name.casefold()


def collapse_spaces(text: str) -> str:
    """`text` with every run of whitespace (str.isspace: space, no-break, em,
    ideographic...) made one space and none at either end, so nobody can pad a
    line until a terminal's wrap starts a row with a fake `[room] nick:`."""
    return " ".join(text.split())  # (0.27 us a line: no faster test for "nothing to do")


class RoomGames(Protocol):
    """What ChatState asks of a game host (chat.server.games.GameHost)."""
    handles: frozenset[type]  # the command types it carries out
    reserved_nicks: frozenset[str]  # casefolded nicks nobody may pick ("bot")
    help_lines: list[str]

    def handle(self, session: Session, msg: object, out: Outbox) -> None: ...
    def nick_problem(self, session: Session) -> str | None: ...
    def on_renamed(self, session: Session, old: str, out: Outbox) -> None: ...
    def on_leave(self, session: Session, room: Room, reason: str, out: Outbox) -> None: ...
    def on_join(self, session: Session, room: Room, out: Outbox) -> None: ...
    def on_seat(self, session: Session, room: Room, out: Outbox) -> None: ...
    def on_far(self, room_key: str, node: str, far_key: str, nick: str, text: str,
               out: Outbox) -> None: ...
    def node_gone(self, node: str, freed: list[tuple[str, str, str]], out: Outbox) -> None: ...
    def attach(self, history: History, rooms: dict[str, Room],
               tokens: dict[str, Session], presence: Presence | None = None) -> None: ...


class NoGames:
    """A server without games."""
    handles: frozenset[type] = frozenset()
    reserved_nicks: frozenset[str] = frozenset()
    help_lines: list[str] = []

    def handle(self, session: Session, msg: object, out: Outbox) -> None:
        raise TypeError(f"no game command is handled here: {msg!r}")

    def nick_problem(self, session: Session) -> str | None:
        return None

    def on_renamed(self, session: Session, old: str, out: Outbox) -> None:
        pass

    def on_leave(self, session: Session, room: Room, reason: str, out: Outbox) -> None:
        pass

    def on_join(self, session: Session, room: Room, out: Outbox) -> None:
        pass

    def on_seat(self, session: Session, room: Room, out: Outbox) -> None:
        pass

    def on_far(self, room_key: str, node: str, far_key: str, nick: str, text: str,
               out: Outbox) -> None:
        pass

    def node_gone(self, node: str, freed: list[tuple[str, str, str]], out: Outbox) -> None:
        pass

    def attach(self, history: History, rooms: dict[str, Room],
               tokens: dict[str, Session], presence: Presence | None = None) -> None:
        pass


Handler = Callable[[Session, object, Outbox], None]  # a command: (session, message, out)


class ChatState:
    """All sessions and rooms.  `games` carries out the game commands and hears of
    every nick change and every leave; `store` keeps the rooms' history (in memory
    when none is given), of which a join is sent the last `replay` messages;
    `clock` stamps chat messages (wall time)."""

    def __init__(self, games: RoomGames | None = None,
                 clock: Callable[[], float] = time.time, store: Store | None = None,
                 replay: int = REPLAY, grace: float = GRACE,
                 require_login: bool = False, admins: frozenset[str] = frozenset(),
                 presence: Presence | None = None) -> None:
        self.sessions: dict[int, Session] = {}
        self.presence = presence or Alone()  # the nicks held on other servers
        self.tokens: dict[str, Session] = {}
        self.grace = grace
        self._held: dict[int, Session] = {}  # session id -> a session waiting for /resume
        self._stopping = False
        self.rooms: dict[str, Room] = {}
        self.games = games or NoGames()
        self.clock = clock
        self.history = History(store if store is not None else MemoryStore(), clock, replay)
        self.topics = Topics(self.history)  # (its puts are then flushed with the turn)
        self.help_lines = [*HELP, *self.games.help_lines]
        self.direct = Direct(self.history, clock, self._chat_text,
                             lambda s: self.sessions.get(s.id) is s, self.keep, self._reach,
                             self.presence.where, self._find)
        self.identity = Identity(self, require_login)
        self.moderation = Moderation(self, frozenset(a.casefold() for a in admins))
        self._handlers: dict[type, Handler] = {
            p.Say: self._on_say, p.ListRooms: self._on_list, p.Join: self._on_join,
            p.Nick: self._on_nick, p.Who: self._on_who, p.Leave: self._on_leave,
            p.Quit: self._on_quit, p.Help: self._on_help, p.Pong: self._on_pong,
            p.History: self._on_history, p.Missed: self._on_missed, p.Resume: self._on_resume,
            p.Topic: self._on_topic,
            p.UnknownCommand: self._on_unknown, **self.direct.handlers,
            **self.identity.handlers, **self.moderation.handlers,
            **{cls: self.games.handle for cls in self.games.handles},
        }
        self._restore()

    def heard(self, room_key: str, key: str, node: str, sender_key: str, nick: str,
              sender_room: str = "") -> int | None:
        """A private message from another server came for the session of key `key` in
        the room (from `sender_room`, if another): its id, or None if it is not here
        now (Direct.heard)."""
        return self.direct.heard(self.rooms.get(room_key), key, node, sender_key, nick,
                                 sender_room)

    def game_act(self, room_key: str, node: str, far_key: str, nick: str, text: str) -> Outbox:
        """A game act forwarded from another server (GameHost.on_far): what to do."""
        out = Outbox()
        self.games.on_far(room_key, node, far_key, nick, text, out)
        return out

    def session_in(self, room_key: str, session_key: str) -> int | None:
        """The id of the session here of key `session_key` in the room, if it is there."""
        room = self.rooms.get(room_key)
        return next((s.id for s in room.sessions.values() if s.key == session_key), None) \
            if room is not None else None

    def node_gone(self, node: str, freed: list[tuple[str, str, str]]) -> list:
        """The server `node` is gone and its nicks were freed (room key, room, nick):
        the sends its games' ends make."""
        out = Outbox()
        self.games.node_gone(node, freed, out)
        return out.sends

    def room_members(self, room_key: str) -> Iterable[int]:
        """The session ids a send to the room `room_key` reaches now."""
        room = self.rooms.get(room_key)
        return room.ids() if room is not None else ()

    def deliveries(self, out: Outbox) -> list[tuple[tuple[int, ...], p.ServerMessage]]:
        """`out`'s sends with each room expanded into its members as of now: what the
        shell does with them (inlined there, on its hot path)."""
        return [(tuple(self.room_members(targets)) if isinstance(targets, str) else targets, msg)
                for targets, msg in out.sends]

    # -------------------------------------------------------------- lifecycle
    def connect(self, session_id: int, addr: str, out: Outbox) -> None:
        session = self.sessions[session_id] = Session(session_id, addr)
        session.token = secrets.token_urlsafe(18)
        self.tokens[session.token] = session
        log.info("connect #%d from %s", session_id, addr)
        out.to(session_id, p.Hello(p.PROTOCOL, GREETING))
        out.to(session_id, self._session_line(session))

    # -------------------------------------------------------------- kept sessions
    # Every session with a room and a nick is in the store (table "session", by token),
    # so that after a restart, or a kill -9, its client can /resume it within the grace.
    def keep(self, session: Session) -> None:
        if session.room is not None and session.nick is not None:
            away = session.away
            self.history.put(SESSIONS, session.token, json.dumps(
                {"in": session.room.name, "as": session.nick,
                 **({"absent": [away.reason, away.since]} if away else {}),
                 **({"account": session.account} if session.account else {})}))
        else:
            self.history.put(SESSIONS, session.token, None)
        if self.presence.node:  # (several servers: which one keeps it, for a /resume)
            self.history.put(RESUMABLE, session.token, self.presence.node
                             if session.room is not None and session.nick else None)

    def _restore(self) -> None:
        """The sessions the store kept, held for the grace from now (under ids below
        zero: the connections' ids are positive)."""
        until = self.clock() + self.grace
        for number, (token, value) in enumerate(self.history.items(SESSIONS).items(), 1):
            kept = json.loads(value)
            name, nick = kept["in"], kept["as"]
            room = self.rooms.setdefault(key(name), Room(name))
            if self.grace <= 0 or key(nick) in room.nicks or \
                    self.presence.claim(key(name), name, nick, end_key(token)) is not None:
                self.history.put(SESSIONS, token, None)  # (taken meanwhile, on another server)
                continue
            session = Session(-number, "", room, nick, nick, token, until)
            room.nicks[key(nick)] = self.sessions[session.id] = self.tokens[token] = session
            self._held[session.id] = session
            if "absent" in kept:
                self.direct.set_away(session, *kept["absent"])
            if self.identity.accounts.exists(kept.get("account", "")):
                session.account = kept["account"]
        for room_key in [k for k, room in self.rooms.items() if not room.nicks]:
            del self.rooms[room_key]
        self.games.attach(self.history, self.rooms, self.tokens, self.presence)
        if self._held:
            log.info("%d sessions wait %g s for their clients to come back", len(self._held),
                     self.grace)

    def _session_line(self, session: Session) -> p.SessionToken:
        grace = int(self.grace)
        return p.SessionToken(session.token, grace, f"if the connection drops, /resume "
                                                    f"{session.token} within {grace} s")

    def disconnect(self, session_id: int, reason: str, out: Outbox, hold: bool = False) -> None:
        """The connection ended.  `hold`: it dropped (the peer did not say goodbye):
        a session in a room, with a nick, keeps them and its game seats for the grace
        time, for /resume."""
        session = self.sessions.get(session_id)
        if session is None or session.held_until is not None:
            return
        log.info("disconnect #%d%s (%s)", session_id,
                 f" {session.nick}" if session.nick else "", reason)
        hold = hold or self._stopping
        if hold and self.grace > 0 and session.room is not None and session.nick is not None:
            self._hold(session, reason, out)
            return
        del self.sessions[session_id]
        self.tokens.pop(session.token, None)
        self.direct.forget(session)
        self._leave_room(session, reason, out)

    def _hold(self, session: Session, reason: str, out: Outbox) -> None:
        room = session.room
        session.held_until = self.clock() + self.grace
        self._held[session.id] = session
        room.remove(session)  # nothing is sent to it; its nick stays taken
        if not self._stopping:
            self.history.noted(key(room.name), session.nick, f"{session.nick} lost the connection")
        out.to_room(room, p.Left(room.name, session.nick,
                                 f"{reason}; their nick and games wait {int(self.grace)} s "
                                 "for them to come back"))
        if not self._stopping:
            self.games.on_seat(session, room, out)

    @property
    def holds(self) -> bool:
        """Some sessions wait for their connection to come back."""
        return bool(self._held)

    def expire(self, out: Outbox) -> None:
        """Sessions held past their grace leave their rooms now (games forfeited)."""
        now = self.clock()
        self.identity.throttle.forget_idle(now)
        for session in [s for s in self._held.values() if s.held_until <= now]:
            self._end_held(session, "did not come back in time", out)

    def _end_held(self, session: Session, reason: str, out: Outbox) -> None:
        del self.sessions[session.id], self._held[session.id]
        self.tokens.pop(session.token, None)
        self.direct.forget(session)
        session.held_until = None
        session.room.add(session)  # (so that leaving is what it always is)
        self._leave_room(session, reason, out)

    def commit(self) -> Outbox | None:
        """Write what this turn kept to the store: call it before any of the turn's
        output is sent.  When keeping history starts or stops working, every room is
        told (the Outbox to deliver); else None."""
        news = self.history.commit()
        if news is None:
            return None
        out = Outbox()
        for room in self.rooms.values():
            out.to_room(room, p.Info(news))
        return out

    def shutdown(self, reason: str, out: Outbox) -> None:
        """Goodbye to everyone; their sessions are kept, for /resume after the restart."""
        self._stopping = True
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
        if isinstance(msg, p.Move) and msg.digits and session.room is None:
            name, _, args = msg.text.partition(" ")  # `/5` is a move in a room only
            msg = p.UnknownCommand(name, args)
        handler = self._handlers.get(type(msg), self._on_unknown)
        handler(session, msg, out)

    def _on_unknown(self, session: Session, msg: object, out: Outbox) -> None:
        name = msg.name if isinstance(msg, p.UnknownCommand) else p.command_name(msg)
        out.to(session.id, p.reply(msg, 1, f"there is no command /{sanitize(name[:20])}; "
                                           "/help lists the commands"))

    def say(self, session_id: int, text: str, out: Outbox) -> None:
        """A chat line that is not a command (it does not start with '/'): `handle`'s
        Say without the parsing, for the shell's hot path."""
        self._say(self.sessions[session_id], text, out)

    def _on_say(self, session: Session, msg: p.Say, out: Outbox) -> None:
        self._say(session, msg.text, out)

    def _say(self, session: Session, text: str, out: Outbox) -> None:
        if not text.strip():
            return  # a blank line is a no-op, in the lobby too
        shown, problem = self._chat_text(session, text)
        if problem:
            out.to(session.id, p.Error(problem))
        else:
            room, nick = session.room, session.nick
            stamp = self._stamp()
            entry_id = self.history.said(key(room.name), nick, stamp, shown)
            out.to_room(room, p.Chat(room.name, entry_id, nick, stamp, shown))

    def _stamp(self) -> float:
        """Now, to the millisecond, as on the wire."""
        return int(self.clock() * 1000) / 1000

    def _chat_text(self, session: Session, text: str) -> tuple[str, str | None]:
        """Chat text as it is relayed, and why `session` may not say it (None: it may)."""
        shown = collapse_spaces(sanitize(text))
        return shown, self._say_problem(session, text, shown)

    @staticmethod
    def _say_problem(session: Session, text: str, shown: str) -> str | None:
        if session.room is None:
            return "you are in the lobby: /join ROOM first (/list shows the rooms)"
        if session.nick is None:
            return f"pick a nick before you talk in {session.room.name}: /nick NAME"
        # Measure what is relayed: sanitizing can grow the text (ESC -> '^['), and the
        # relayed MSG line must still fit in MAX_LINE.  (Four bytes a character at most.)
        if len(shown) * 4 <= p.MAX_TEXT:
            return None
        size = len(shown.encode("utf-8", "replace"))
        if size > p.MAX_TEXT:
            grown = ("" if size <= len(text.encode("utf-8", "replace"))
                     else " once its control characters are made visible")
            return f"your message is {size} bytes{grown}; the limit is {p.MAX_TEXT}. It was not sent"
        return None

    # -------------------------------------------------------------- commands
    def _on_list(self, session: Session, msg: p.ListRooms, out: Outbox) -> None:
        """The rooms (with WORD: those whose name has it), the LIST_LIMIT biggest when
        there are more: a long answer is cut and says how to narrow it, never left to
        overrun the asker's output limit."""
        word = key(msg.pattern)
        rooms = [(r.name, len(r.sessions)) for r in self.rooms.values()
                 if not word or word in key(r.name)]
        if elsewhere := self.presence.rooms():
            rooms = self._with_rooms_elsewhere(rooms, elsewhere, word)
        shown = rooms if len(rooms) <= LIST_LIMIT else \
            heapq.nlargest(LIST_LIMIT, rooms, key=lambda r: r[1])
        shown.sort(key=lambda r: key(r[0]))
        text = _plural(len(rooms), "room")
        if not rooms:
            said = msg.pattern[:p.MAX_ROOM]  # no room name is longer: nor is the echo
            text = f"no room has {said!r} in its name" if word else "no rooms yet"
        elif len(shown) < len(rooms):
            text = (f"the {len(shown)} biggest of {text}; "
                    "/list WORD shows those with WORD in their name")
        out.to(session.id, p.RoomList(tuple(shown), len(rooms), sanitize(text),
                                      topics=self.topics.texts([key(r[0]) for r in shown])))

    @staticmethod
    def _with_rooms_elsewhere(rooms: list[tuple[str, int]], elsewhere: dict[str, tuple[str, int]],
                              word: str) -> list[tuple[str, int]]:
        """(name, count) of the rooms here, with those on other servers counted in."""
        merged = {key(name): [name, count] for name, count in rooms}
        for room_key, (name, count) in elsewhere.items():
            if not word or word in room_key:
                merged.setdefault(room_key, [name, 0])[1] += count
        return [(name, count) for name, count in merged.values()]

    def _on_join(self, session: Session, msg: p.Join, out: Outbox) -> None:
        name = msg.name[1:] if msg.name.startswith("#") else msg.name
        problem = p.room_problem(name)
        if not problem and msg.key and not self.moderation.has_key(key(name)):
            # (a second word is a key only where there is one: else a name with a space)
            problem = f"{p.room_problem(msg.room)} (a word after it is a key, and {name} has none)"
        if problem:
            out.to(session.id, p.reply(msg, 1, sanitize(problem) + "; usage: /join ROOM"))
            return
        if session.room is not None and key(session.room.name) == key(name):
            out.to(session.id, p.reply(msg, 0, f"you are already in {session.room.name}"))
            return
        refusal = self.moderation.join_refusal(session, key(name), name, msg.key)
        if refusal:
            out.to(session.id, p.reply(msg, 1, refusal))
            return
        self._leave_room(session, p.LEFT, out)
        room = self.rooms.get(key(name))
        created = room is None
        if room is None:
            room = self.rooms[key(name)] = Room(name)
        room.add(session)
        session.room = room
        log.info("join #%d %s", session.id, room.name)
        out.to(session.id, p.Here(room.name, p.NOBODY))
        past = self.history.on_join(session.id, key(room.name), room.name, session.key)
        if past.entries:
            out.to(session.id, past)
        self._send_topic(session, room, p.TOPIC_ON_JOIN, out)
        self.moderation.on_joined(session, room, created, out)
        self._enter_with_wanted_nick(session, room, out)
        self.games.on_join(session, room, out)

    def _enter_with_wanted_nick(self, session: Session, room: Room, out: Outbox) -> None:
        wanted = session.wanted_nick
        refusal = self.identity.nick_refusal(session, wanted) if wanted else None
        if wanted and not refusal:
            self._free_own(session, room, wanted, out)
        if refusal:
            out.to(session.id, p.reply(p.Join, 0, f"you joined {room.name}; {refusal[1]}"))
        elif wanted and key(wanted) not in room.nicks and \
                self.presence.claim(key(room.name), room.name, wanted, session.key) is None:
            out.to(session.id, p.reply(p.Join, 0, f"you joined {room.name} as {wanted}"))
            self._set_nick(session, wanted, out)
        else:
            taken = f"; {wanted} is taken here" if wanted else ""
            out.to(session.id, p.reply(p.Join, 0, f"you joined {room.name}{taken}; "
                                                  "pick a nick with /nick NAME"))
        self._send_members(session, room, out)

    def _on_nick(self, session: Session, msg: p.Nick, out: Outbox) -> None:
        room, args, old = session.room, msg.nick, session.nick
        problem = p.nick_problem(args)
        if problem is None and key(args) in self.games.reserved_nicks | {YOU}:
            problem = f"{args!r} is reserved"
        if old is not None and not problem:
            problem = self.games.nick_problem(session)
        refusal = None if problem else \
            self.identity.nick_refusal(session, args, wish=room is None)
        if problem:
            out.to(session.id, p.reply(msg, 1, sanitize(problem)))
        elif refusal:
            out.to(session.id, p.reply(msg, *refusal))
        elif room is None:
            session.wanted_nick = args
            out.to(session.id, p.reply(msg, 0, f"you will be {args} in the room you join next"))
        elif session.nick == args:
            out.to(session.id, p.reply(msg, 0, f"you are already {args} in {room.name}"))
        elif not self._free_own(session, room, args, out) and \
                room.nicks.get(key(args), session) is not session:
            holder = room.nicks[key(args)]
            why = (f"is held for someone who lost the connection (for "
                   f"{max(int(holder.held_until - self.clock()), 1)} s more)"
                   if holder.held_until is not None else "is taken")
            out.to(session.id, p.reply(msg, 2, f"nick {args!r} {why} in {room.name}, "
                                                  "pick another"))
        elif (elsewhere := self.presence.claim(key(room.name), room.name, args, session.key)):
            out.to(session.id, p.reply(msg, 2, elsewhere))
        else:
            out.to(session.id, p.reply(msg, 0, f"you are now {args} in {room.name}"))
            self._set_nick(session, args, out)
            if old is not None:
                self.games.on_renamed(session, old, out)

    def _set_nick(self, session: Session, nick: str, out: Outbox) -> None:
        room, old = session.room, session.nick
        if old is not None:
            del room.nicks[key(old)]
            if key(old) != key(nick):
                self.presence.release(key(room.name), old, session.key)
        room.nicks[key(nick)] = session
        session.nick = session.wanted_nick = nick
        self.keep(session)
        out.to(session.id, p.Here(room.name, nick))
        log.info("nick #%d %s -> %s in %s", session.id, old or "-", nick, room.name)
        if old is None:
            out.to_room(room, p.Joined(room.name, nick))
            self.history.noted(key(room.name), nick, f"{nick} joined")
        else:
            out.to_room(room, p.Renamed(room.name, old, nick))
            self.history.noted(key(room.name), nick, f"{old} is now {nick}")

    def take_account_nick(self, session: Session, nick: str, out: Outbox) -> None:
        """Just logged in as `nick`: be it in the room (in the lobby: in the next one)."""
        room, old = session.room, session.nick
        session.wanted_nick = nick  # (for the next room joined, if not this one)
        if room is None or old == nick:
            return
        self._free_own(session, room, nick, out)
        holder = room.nicks.get(key(nick))
        problem = self.games.nick_problem(session) if old is not None else None
        if holder is not None and holder is not session:
            problem = f"{nick} is in use in {room.name} by another of your connections"
        if problem:
            out.to(session.id, p.Info(f"You are still {old or 'without a nick'} here: "
                                      f"{sanitize(problem)}."))
            return
        self._set_nick(session, nick, out)
        if old is not None:
            self.games.on_renamed(session, old, out)

    def _free_own(self, session: Session, room: Room, nick: str, out: Outbox) -> bool:
        """A logged-in user asking for their account's nick, which a dropped session
        of theirs holds in `room`: that one is over (they are back, on this
        connection).  Whether it was."""
        holder = room.nicks.get(key(nick))
        if holder is None or holder.held_until is None or session.account is None \
                or holder.account != session.account or key(nick) != session.account:
            return False
        self._end_held(holder, "came back on another connection", out)
        return True

    def _find(self, nick: str) -> tuple[str, str, str, str] | None:
        """The logged-in user who is `nick` on another server, in some room (node,
        session key, nick, room key); `exists` reads their account again from the
        shared store, so one registered on another server after this one started counts."""
        if not self.identity.accounts.exists(key(nick)):
            return None
        return self.presence.find(nick)

    def _reach(self, nick: str) -> Session | None:
        """The logged-in user who is `nick`, their account's nick, in some room."""
        if not self.identity.accounts.exists(key(nick)):
            return None
        return next((s for s in self.sessions.values() if s.account == key(nick)
                     and s.nick is not None and key(s.nick) == key(nick)), None)

    def on_unregistered(self, account: str) -> None:
        """The account `account` is gone (what it owned is no longer owned)."""
        self.moderation.on_unregistered(account)

    def remove_from_room(self, session: Session, reason: str, out: Outbox) -> None:
        """Put `session` out of its room (kicked, banned): to the lobby, or, held for
        a connection that dropped, ended."""
        if session.held_until is not None:
            self._end_held(session, reason, out)
        else:
            self._leave_room(session, reason, out)

    @property
    def hashing_time(self) -> float:
        """Seconds spent hashing passwords, ever: the shell leaves them out of a line's
        cost (the login throttle bounds them, not the work budget)."""
        return self.identity.accounts.spent

    def _on_who(self, session: Session, msg: p.Who, out: Outbox) -> None:
        args = msg.room
        if not args:
            room, problem = session.room, "you are in the lobby: /who ROOM, or /join ROOM first"
        else:
            # Validate before echoing: the name comes back in the reply, which must fit a line.
            name = args[1:] if args.startswith("#") else args
            problem = p.room_problem(name)
            room = None if problem else self.rooms.get(key(name))
            if room is None and not problem and self.presence.others(key(name)):
                room = Room(name)  # (its members are all on other servers)
            problem = problem or f"there is no room {name!r}"
        if room is None:
            out.to(session.id, p.reply(msg, 1, sanitize(problem)))
            return
        self._send_members(session, room, out)

    def _send_members(self, session: Session, room: Room, out: Outbox) -> None:
        nicks = room.member_nicks()
        if others := self.presence.others(key(room.name)):
            nicks = sorted([*nicks, *others], key=str.casefold)
        unnamed = sum(1 for s in room.sessions.values() if s.nick is None)  # (held ones have nicks)
        note = f"{unnamed} without a nick yet" if unnamed else ""
        notes = self._member_notes(room)
        out.to(session.id, p.MemberList(room.name, tuple(nicks), unnamed, note, notes=notes))

    def _member_notes(self, room: Room) -> tuple[tuple[str, str], ...]:
        """What /who says beside a nick: 'logged in', and away for how long and why."""
        away = dict(self.direct.notes(room))
        marks = {s.nick: "; ".join(filter(None, (
                     "logged in" if s.account == key(s.nick) else
                     f"logged in as {self.identity.account_nick(s)}",
                     self.moderation.mark(s, key(room.name)))))
                 for s in room.nicks.values() if s.account is not None}
        return tuple((nick, "; ".join(filter(None, (marks.get(nick), away.get(nick)))))
                     for nick in sorted(marks.keys() | away.keys(), key=str.casefold))

    def _on_leave(self, session: Session, msg: p.Leave, out: Outbox) -> None:
        room = session.room
        if room is None:
            out.to(session.id, p.reply(msg, 1, "you are not in a room"))
            return
        self._leave_room(session, p.LEFT, out)
        out.to(session.id, p.reply(msg, 0, f"you left {room.name} and are back in the lobby"))

    def _leave_room(self, session: Session, reason: str, out: Outbox, told: bool = True) -> None:
        """`told`: the room hears PART now (else it heard of it when the session was held)."""
        room = session.room
        if room is None:
            return
        self.games.on_leave(session, room, reason, out)
        self.history.forget(session.id)
        room.remove(session)
        session.room = None
        if session.nick is not None:
            del room.nicks[key(session.nick)]
            self.presence.release(key(room.name), session.nick, session.key)
            if told:
                out.to_room(room, p.Left(room.name, session.nick, reason))
            gone = "" if reason == p.LEFT else f" ({reason})"
            self.history.noted(key(room.name), session.nick, f"{session.nick} left{gone}")
            session.nick = None
            self.keep(session)
        out.to(session.id, p.Here(p.NOBODY, p.NOBODY))
        if not room.sessions and not room.nicks:  # (a held nick keeps its room)
            del self.rooms[key(room.name)]

    def _on_history(self, session: Session, msg: p.History, out: Outbox) -> None:
        self._from_history(session, msg, out, self.history.page)

    def _on_missed(self, session: Session, msg: p.Missed, out: Outbox) -> None:
        self._from_history(session, msg, out, self.history.missed)

    def _from_history(self, session: Session, msg: object, out: Outbox, ask) -> None:
        room = session.room
        if room is None:
            out.to(session.id, p.reply(msg, 1, "you are in the lobby: /join ROOM first"))
            return
        answer = ask(session.id, key(room.name), room.name, session.key, msg)
        if isinstance(answer, str):
            out.to(session.id, p.reply(msg, 1, answer))
        else:
            out.to(session.id, answer)

    def _on_resume(self, session: Session, msg: p.Resume, out: Outbox) -> None:
        """Become the session `msg.token` names: this connection takes its id, room,
        nick and seats (a connection still serving it is replaced)."""
        old = self.tokens.get(msg.token) if msg.token else None
        if old is None or old is session:
            if session.room is None and self._resume_elsewhere(session, msg, out):
                return
            out.to(session.id, p.reply(msg, 1, "that session is over (it ended longer ago "
                                               "than the server waits, or never was); "
                                               "join again with /join ROOM"))
            return
        if session.room is not None:
            out.to(session.id, p.reply(msg, 1, "leave your room first (/leave), then /resume"))
            return
        del self.sessions[session.id]
        self.tokens.pop(session.token, None)
        self.direct.forget(session)
        out.adoptions.append((session.id, old.id))
        back = self._held.pop(old.id, None) is not None
        old.held_until, room = None, old.room
        room.add(old)
        log.info("resume #%d as #%d %s in %s", session.id, old.id, old.nick, room.name)
        out.to(old.id, p.reply(msg, 0, f"welcome back: you are {old.nick} in {room.name}"),
               self._session_line(old), p.Here(room.name, old.nick))
        self._send_topic(old, room, p.TOPIC_ON_JOIN, out)
        if back:
            out.to_room(room, p.Joined(room.name, old.nick, p.BACK))
        self._send_members(old, room, out)
        if back:
            self.games.on_seat(old, room, out)

    def _resume_elsewhere(self, session: Session, msg: p.Resume, out: Outbox) -> bool:
        """Several servers: `msg.token` names a session another server kept, and that
        server is gone (stopped, or dead): this connection becomes it, in its room
        under its nick (its games ended with that server).  Whether it was one."""
        node = (self.history.fresh(RESUMABLE, [msg.token]) or {}).get(msg.token) \
            if self.presence.node and msg.token else None
        table = node_table(SESSIONS, node or "")
        kept = (self.history.fresh(table, [msg.token]) or {}).get(msg.token) \
            if node and node != self.presence.node else None
        try:
            kept = json.loads(kept) if kept is not None else None
            name, nick, token = str(kept["in"]), str(kept["as"]), msg.token
        except (ValueError, TypeError, LookupError):
            return False  # (none, or not one to trust)
        gone, room = self.presence.gone_since(node), self.rooms.get(key(name))
        if gone is not None and self.clock() - gone > self.grace:
            return False  # (its grace ran out with that server)
        problem = ("it waits on another server of this chat, which is still up: it is "
                   "yours there once you connect to it again") if gone is None \
            else f"{nick} is taken in {name} meanwhile" if room and key(nick) in room.nicks \
            else self.presence.claim(key(name), name, nick, end_key(token), gone=node)
        if problem:
            out.to(session.id, p.reply(msg, 1, f"that session cannot come back here: {problem}"))
            return True
        self.history.put(table, token, None)  # (it is this server's now)
        self.tokens.pop(session.token, None)
        session.token, self.tokens[token] = token, session
        if self.identity.accounts.exists(kept.get("account", "")):
            session.account = kept["account"]
        room = self.rooms.setdefault(key(name), Room(name))
        room.add(session)
        session.room, session.nick = room, nick
        room.nicks[key(nick)] = session
        self.keep(session)
        log.info("resume #%d %s in %s, from server %s", session.id, nick, name, node)
        out.to(session.id, p.reply(msg, 0, f"welcome back: you are {nick} in {name}"),
               self._session_line(session), p.Here(name, nick))
        self._send_topic(session, room, p.TOPIC_ON_JOIN, out)
        out.to_room(room, p.Joined(name, nick, p.BACK))
        self.games.node_gone(node, [(key(name), name, nick)], out)  # (as its reaper would)
        self._send_members(session, room, out)
        self.games.on_join(session, room, out)
        return True

    def _send_topic(self, session: Session, room: Room, why: str, out: Outbox) -> bool:
        """The room's topic to `session`, if it has one; whether it had."""
        line = self.topics.line(key(room.name), room.name, why)
        if line is not None:
            out.to(session.id, line)
        return line is not None

    def _on_topic(self, session: Session, msg: p.Topic, out: Outbox) -> None:
        """`/topic` shows the room's topic; `/topic TEXT` sets it (anyone in the room
        with a nick, for now), `/topic -delete` removes it; the room is told either way."""
        room = session.room
        if room is None:
            out.to(session.id, p.reply(msg, 1, "you are in the lobby: /join ROOM first; "
                                               "a topic belongs to a room"))
        elif not msg.text:
            if not self._send_topic(session, room, p.TOPIC_ASKED, out):
                out.to(session.id, p.reply(msg, 0, f"there is no topic in {room.name}; "
                                                   f"{p.typed(p.Topic, 'TEXT')} sets one"))
        elif session.nick is None:
            out.to(session.id, p.reply(msg, 1, "pick a nick before you set the topic: /nick NAME"))
        elif refusal := self.moderation.topic_refusal(session, room):
            out.to(session.id, p.reply(msg, 1, refusal))
        elif msg.text == p.TOPIC_DELETE:
            self._delete_topic(session, room, msg, out)
        else:
            self._set_topic(session, room, msg, out)

    def _set_topic(self, session: Session, room: Room, msg: p.Topic, out: Outbox) -> None:
        text = collapse_spaces(sanitize(msg.text))
        problem = topic_problem(text)
        if problem:
            out.to(session.id, p.reply(msg, 1, problem))
            return
        if self.topics.text_of(key(room.name)) == text:
            out.to(session.id, p.reply(msg, 0, f"that is the topic of {room.name} already"))
            return
        stamp = self._stamp()
        self.topics.set(key(room.name), Kept(room.name, text, session.nick, stamp),
                        live=lambda room_key: room_key in self.rooms)
        log.info("topic #%d %s set in %s", session.id, session.nick, room.name)
        self.history.noted(key(room.name), session.nick, f"{session.nick} set the topic: {text}")
        out.to_room(room, p.RoomTopic(room.name, session.nick, stamp, p.TOPIC_CHANGED, text))

    def _delete_topic(self, session: Session, room: Room, msg: p.Topic, out: Outbox) -> None:
        if self.topics.of(key(room.name)) is None:
            out.to(session.id, p.reply(msg, 0, f"there is no topic to remove in {room.name}"))
            return
        self.topics.delete(key(room.name))
        self.history.noted(key(room.name), session.nick, f"{session.nick} removed the topic")
        stamp = self._stamp()
        out.to_room(room, p.RoomTopic(room.name, session.nick, stamp, p.TOPIC_CHANGED))

    def _on_quit(self, session: Session, msg: p.Quit, out: Outbox) -> None:
        out.to(session.id, p.Bye("goodbye"))
        out.close(session.id)

    def _on_help(self, session: Session, msg: p.Help, out: Outbox) -> None:
        for line in self.help_lines:
            out.to(session.id, p.Info(line))

    def _on_pong(self, session: Session, msg: p.Pong, out: Outbox) -> None:
        """Keepalive answer; any line already proves the peer is alive."""


HELP = [
    "Commands (a line not starting with / is a chat message; //text sends /text):",
    "  /list [WORD]       the rooms and how many are in each (or those named *WORD*)",
    "  /join ROOM         enter ROOM (created if new), leaving the room you are in",
    "  /nick NAME         pick your name in this room",
    "  /who [ROOM]        who is in your room (or in ROOM), and who is away",
    "  /msg NICK TEXT     a private message to NICK in your room (also /w, /tell)",
    "  /r TEXT            answer the last one who sent you a private message",
    "  /me TEXT           an action, shown as * yournick TEXT",
    "  /away [REASON]     say you are away (alone, or /back: you are back)",
    "  /leave             back to the lobby",
    "  /history [N]       N older messages of this room (50 if you leave N out)",
    "  /topic [TEXT]      the room's topic; with TEXT, set it (/topic -delete removes it)",
    "  /register PASSWORD make your nick your account: only you can be it, in any room",
    "  /login NICK PASSWORD  log in to your account (client.py --login NICK asks for it)",
    "  /password NEW      change your password (/unregister PASSWORD drops the account)",
    "  /claim             own your room, if nobody does (the first logged-in joiner owns a new one)",
    "  /op NICK, /deop NICK   the owner makes NICK an op of the room, or no longer",
    "  /kick NICK [REASON]    owners and ops: put NICK out of the room (they may come back)",
    "  /ban NICK, /unban NICK keep NICK out (their account, or a guest's address), or let back",
    "  /key KEY           joining takes /join ROOM KEY (/key -delete removes it)",
    "  /mode ROOM invite|open, /invite NICK   only the invited may join, or anyone",
    "  /shutdown REASON   server operators (server.py --admin): stop the server",
    "  /quit              disconnect (also /q, /logout, /exit)",
    "  /help              this list",
]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
