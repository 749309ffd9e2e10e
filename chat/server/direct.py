"""Private messages, actions and away, sans I/O: what one person says to another in a
room (/msg, /r), about themselves (/me), and whether they are there (/away, /back).
A private message is seen by its two ends only: named by their sessions' keys, never
by nick (a nick changes hands).  Must not import socket, selectors, select, curses or
threading.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chat import protocol as p
from chat.server.history import History
from chat.width import sanitize

if TYPE_CHECKING:
    from chat.server.state import Outbox, Room, Session

MAX_AWAY = 160  # bytes of an away reason (it rides on every /who's MEMBER line)
YOU = "you"  # what the clients show for your own nick in a private message: nobody's nick
TELL_USAGE = f"usage: {p.typed(p.Tell, 'NICK TEXT')} (also /w, /tell)"
AWAY_USAGE = (f"usage: {p.typed(p.Away, 'REASON')}; {p.typed(p.Away)} alone or "
              f"{p.typed(p.Back)} when you are back")


def end_key(token: str) -> str:
    """The name a session goes by in the store as a private message's end: from its
    token, which only that session's client knows ("" for none: nobody)."""
    return hashlib.blake2b(token.encode(), digest_size=9).hexdigest() if token else ""


@dataclass(slots=True)
class Absence:
    """Away since `since` (server time) because of `reason`; `told`: the keys of those
    whose private message was answered with it already (once a conversation)."""
    reason: str
    since: float
    told: set[str] = field(default_factory=set)


def how_long(seconds: float) -> str:
    """'a moment', '5 min', '2 h 5 min', '3 days': how long someone has been away."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "a moment"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days = minutes // (24 * 60)
    return "1 day" if days == 1 else f"{days} days"


@dataclass(eq=False, slots=True)
class Elsewhere:
    """Someone in `room` on another server (several servers: chat.server.redis_bus), as
    a private message's end: by their server and their session's key, as the room's
    nick claims say; or, `far_room`, in that room (its key), not this server's `room`.
    (Their away and their dropped connection are that server's.)"""
    node: str
    key: str
    nick: str
    room: Room | None
    far_room: str = ""
    held_until: None = None
    away: None = None
    last_from: object = None


class Direct:
    """The commands /msg (/w, /tell), /r, /me, /away and /back.  `chat_text(session,
    typed)` is the state's: the text as relayed, and why the session may not say it (not
    in a room, no nick, too long) or None; `live(session)`: still connected, or held;
    `keep(session)` writes a session to the store again (its away with it)."""

    def __init__(self, history: History, clock: Callable[[], float],
                 chat_text: Callable[[Session, str], tuple[str, str | None]],
                 live: Callable[[Session], bool], keep: Callable[[Session], None],
                 reach: Callable[[str], Session | None] = lambda nick: None,
                 where: Callable[[str, str], tuple[str, str, str] | None] = lambda r, n: None,
                 find: Callable[[str], tuple[str, str, str, str] | None] = lambda nick: None
                 ) -> None:
        self.history, self.clock = history, clock
        self._chat_text, self._live, self._keep = chat_text, live, keep
        self._reach = reach  # a logged-in user by their account's nick, in any room
        self._where = where  # (room key, nick): who holds it on another server
        self._find = find  # a logged-in user by their account's nick, on another server
        self._away: dict[int, Session] = {}  # session id -> a session away (for /who)
        self.handlers = {p.Tell: self.on_tell, p.TellBack: self.on_tell_back, p.Me: self.on_me,
                         p.Away: self.on_away, p.Back: self.on_back}

    # -------------------------------------------------------------- private messages
    def on_tell(self, session: Session, msg: p.Tell, out: Outbox) -> None:
        nick, text = msg.nick, msg.text
        if not nick or not text:
            out.to(session.id, p.reply(msg, 1, TELL_USAGE))
            return
        problem = p.nick_problem(nick)
        if problem:
            out.to(session.id, p.reply(msg, 1, f"{sanitize(problem)}; {TELL_USAGE}"))
            return
        room = session.room
        target = room.nicks.get(nick.casefold()) if room is not None else None
        if target is None and room is not None:
            target = self._reach(nick) or self._elsewhere(room, nick) or self._far_user(nick)
        if room is not None and session.nick is not None and target is None:
            out.to(session.id, p.reply(msg, 1, f"there is no {nick} in {room.name}: a private "
                                               "message goes to someone in your room, or to "
                                               "a logged-in user in any room"))
            return
        self._tell(session, target, text, msg, out)

    def on_tell_back(self, session: Session, msg: p.TellBack, out: Outbox) -> None:
        last = session.last_from
        if last is None:
            out.to(session.id, p.reply(msg, 1, "nobody has sent you a private message yet; "
                                               f"{TELL_USAGE}"))
            return
        if not msg.text:
            out.to(session.id, p.reply(msg, 1, f"usage: {p.typed(p.TellBack, 'TEXT')} "
                                               f"(answers {last.nick or 'the last one'})"))
            return
        here = session.room
        if isinstance(last, Elsewhere):  # still theirs, that nick, there?
            now = self._far_in(last.far_room, last.nick) if last.far_room else \
                self._elsewhere(here, last.nick) if last.room is here else None
            last = now if now is not None and now.key == last.key else None
            if last is None:
                where = f" in {here.name}" if here is not None else ""
                out.to(session.id, p.reply(msg, 1, f"the last one who sent you a private "
                                                   f"message is no longer here{where}"))
                return
            self._tell(session, last, msg.text, msg, out)
            return
        # (across rooms when one end is a logged-in user, whom /msg reaches anywhere)
        elsewhere = last.room is not here and self._reach(last.nick or "") is not last \
            and self._reach(session.nick or "") is not session
        if not self._live(last) or here is None or last.room is None or last.nick is None \
                or elsewhere:
            where = f" in {here.name}" if here is not None else ""
            out.to(session.id, p.reply(msg, 1, f"the last one who sent you a private message "
                                               f"is no longer here{where}"))
            return
        self._tell(session, last, msg.text, msg, out)

    def _elsewhere(self, room: Room | None, nick: str) -> Elsewhere | None:
        found = self._where(room.name.casefold(), nick) if room is not None else None
        return Elsewhere(*found, room) if found is not None else None

    def _far_in(self, room_key: str, nick: str) -> Elsewhere | None:
        """`nick` in the room `room_key` on another server."""
        found = self._where(room_key, nick)
        return Elsewhere(*found, None, room_key) if found is not None else None

    def _far_user(self, nick: str) -> Elsewhere | None:
        found = self._find(nick)
        return Elsewhere(*found[:3], None, found[3]) if found is not None else None

    def heard(self, room: Room | None, key: str, node: str, sender_key: str,
              nick: str, sender_room: str = "") -> int | None:
        """A private message from `nick` on the server `node` (in the room
        `sender_room`, if not `room`) came for the session of key `key` in `room`: its
        id (None: not here now), whose /r answers them."""
        for session in room.nicks.values() if room is not None else ():
            if session.key == key:
                session.last_from = Elsewhere(node, sender_key, nick, room, sender_room)
                return session.id
        return None

    def _tell(self, session: Session, target: Session | Elsewhere | None, text: str,
              msg: object, out: Outbox) -> None:
        """Send `text` from `session` to `target` (in the room, or logged in anywhere):
        to them two only, as a private message in the sender's room."""
        shown, problem = self._chat_text(session, text)
        if problem is None and target is session:
            problem = "that is you: a private message goes to someone else in the room"
        if problem:
            out.to(session.id, p.reply(msg, 1, problem))
            return
        room, stamp = session.room, int(self.clock() * 1000) / 1000
        entry_id = self.history.said(room.name.casefold(), session.nick, stamp, shown, p.PRIVATE,
                                     to=target.nick, ends=f"{session.key} {target.key}")
        line = p.Private(room.name, entry_id, session.nick, target.nick, stamp, shown)
        out.to(session.id, line)
        target.last_from = session
        if target.held_until is not None:
            left = max(int(target.held_until - self.clock()), 1)
            out.to(session.id, p.reply(msg, 0, f"sent, but {target.nick} lost the connection: "
                                               f"they see it if they are back within {left} s"))
            return
        if isinstance(target, Elsewhere):
            out.to_elsewhere(target.node, target.key, session, line, target.far_room)
            return
        out.to(target.id, line)
        away = target.away
        if away is not None and session.key not in away.told:
            away.told.add(session.key)
            out.to(session.id, p.reply(msg, 0, f"sent, but {target.nick} is away "
                                               f"({how_long(stamp - away.since)}): {away.reason}"))

    # -------------------------------------------------------------- actions
    def on_me(self, session: Session, msg: p.Me, out: Outbox) -> None:
        if not msg.text:
            out.to(session.id, p.reply(msg, 1, f"usage: {p.typed(p.Me, 'TEXT')}, for example "
                                               f"{p.typed(p.Me, 'waves')}"))
            return
        shown, problem = self._chat_text(session, msg.text)
        if problem:
            out.to(session.id, p.reply(msg, 1, problem))
            return
        room, stamp = session.room, int(self.clock() * 1000) / 1000
        entry_id = self.history.said(room.name.casefold(), session.nick, stamp, shown, p.ACTION)
        out.to_room(room, p.Action(room.name, entry_id, session.nick, stamp, shown))

    # -------------------------------------------------------------- away
    def on_away(self, session: Session, msg: p.Away, out: Outbox) -> None:
        reason = " ".join(sanitize(msg.reason).split())
        if not reason:
            self.on_back(session, p.Back(), out, msg)
            return
        size = len(reason.encode("utf-8", "replace"))
        if size > MAX_AWAY:
            out.to(session.id, p.reply(msg, 1, f"that reason is {size} bytes; the limit is "
                                               f"{MAX_AWAY}. {AWAY_USAGE}"))
            return
        self.set_away(session, reason, self.clock())
        out.to(session.id, p.reply(msg, 0, f"you are away: {reason}. {p.typed(p.Back)} (or "
                                           f"{p.typed(p.Away)} alone) when you are back"))

    def on_back(self, session: Session, msg: p.Back, out: Outbox, asked: object = None) -> None:
        asked = asked or msg
        if msg.extra:
            out.to(session.id, p.reply(asked, 1, f"{p.typed(p.Back)} takes nothing after it; "
                                                 f"{AWAY_USAGE}"))
            return
        away, session.away = session.away, None
        self._away.pop(session.id, None)
        self._keep(session)
        if away is None:
            out.to(session.id, p.reply(asked, 0, f"you are not away; {AWAY_USAGE}"))
        else:
            out.to(session.id, p.reply(asked, 0, f"welcome back: you were away "
                                                 f"{how_long(self.clock() - away.since)}"))

    def set_away(self, session: Session, reason: str, since: float) -> None:
        session.away = Absence(reason, since)
        self._away[session.id] = session
        self._keep(session)

    def forget(self, session: Session) -> None:
        """The session is over."""
        self._away.pop(session.id, None)

    def notes(self, room: Room) -> tuple[tuple[str, str], ...]:
        """What /who says beside the nicks of those away in `room`: 'away 5 min: lunch'
        (from the few away, not from everyone in a room of a thousand)."""
        now = self.clock()
        return tuple((s.nick, f"away {how_long(now - s.away.since)}: {s.away.reason}")
                     for s in self._away.values() if s.room is room and s.nick is not None)
