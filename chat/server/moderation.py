"""Room owners and moderation, sans I/O: who owns a room and who are its ops (by
account), whom it bans (an account, or a guest's address), its key and whether it
is invite-only, kept in the store's table TABLE by room so a restart keeps them;
and the commands /claim /op /deop /kick /ban /unban /key /invite /mode, and
/shutdown for the server's operators (--admin).  Every act is told to the room.
The state hands itself in.  Must not import socket, selectors, select, curses or
threading.
"""
from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chat import protocol as p
from chat.server.identity import host_of
from chat.width import sanitize

if TYPE_CHECKING:
    from chat.server.state import ChatState, Outbox, Room, Session

log = logging.getLogger("parlor.server")

TABLE = "rooms"
GUEST, OP, OWNER, ADMIN = range(4)  # what someone is in a room, in order of rights
RANKS = {OP: "an op", OWNER: "the owner", ADMIN: "a server operator"}
MAX_KEY = 32  # characters of a room's key
MAX_REASON = 200  # characters of a kick's reason


@dataclass(slots=True)
class Rules:
    """One room's: owner and ops (accounts), bans (accounts; guests' addresses with
    the nick they had), key, invite-only; and who is invited (not kept: accounts as
    'a:NICK', guests by session token as 't:TOKEN')."""
    name: str
    owner: str | None = None
    ops: set[str] = field(default_factory=set)
    bans: set[str] = field(default_factory=set)
    hosts: dict[str, str] = field(default_factory=dict)
    key: str = ""
    invite_only: bool = False
    invited: set[str] = field(default_factory=set)

    def is_empty(self) -> bool:
        return not (self.owner or self.ops or self.bans or self.hosts or self.key
                    or self.invite_only)

    def dump(self) -> str:
        return json.dumps({"name": self.name, "owner": self.owner, "ops": sorted(self.ops),
                           "bans": sorted(self.bans), "hosts": self.hosts, "secret": self.key,
                           "closed": self.invite_only})

    @classmethod
    def load(cls, text: str) -> Rules:
        kept = json.loads(text)
        return cls(kept["name"], kept["owner"], set(kept["ops"]), set(kept["bans"]),
                   dict(kept["hosts"]), kept["secret"], kept["closed"])


def _may_be(session: Session) -> set[str]:
    """The names an invitation to `session` may go by."""
    names = {f"t:{session.token}"}
    if session.account:
        names.add(f"a:{session.account}")
    return names


class Moderation:
    def __init__(self, state: ChatState, admins: frozenset[str] = frozenset()) -> None:
        self.state = state
        self.admins = admins  # casefolded accounts
        for admin in sorted(a for a in admins if not state.identity.accounts.exists(a)):
            log.warning("--admin %s: there is no such account yet; whoever registers it "
                        "first is a server operator", admin)
        self._rules: dict[str, Rules] = {room_key: Rules.load(value) for room_key, value
                                         in state.history.items(TABLE).items()}
        self.handlers = {
            p.Claim: self.on_claim, p.Op: self.on_op, p.Deop: self.on_deop, p.Kick: self.on_kick,
            p.Ban: self.on_ban, p.Unban: self.on_unban, p.RoomKey: self.on_key,
            p.Invite: self.on_invite, p.Mode: self.on_mode, p.Shutdown: self.on_shutdown,
        }

    # -------------------------------------------------------------- rights
    def rank(self, session: Session, room_key: str) -> int:
        account = session.account
        if account is None:
            return GUEST
        if account in self.admins:
            return ADMIN
        rules = self._rules.get(room_key)
        if rules is None:
            return GUEST
        return OWNER if rules.owner == account else OP if account in rules.ops else GUEST

    def owned(self, room_key: str) -> bool:
        rules = self._rules.get(room_key)
        return rules is not None and rules.owner is not None

    def has_key(self, room_key: str) -> bool:
        rules = self._rules.get(room_key)
        return rules is not None and bool(rules.key)

    def mark(self, session: Session, room_key: str) -> str:
        """What /who says of `session`'s rights in the room ('' for none)."""
        rank = self.rank(session, room_key)
        return {OP: "room op", OWNER: "owner", ADMIN: "server operator"}.get(rank, "")

    def _rules_of(self, room: Room) -> Rules:
        room_key = room.name.casefold()
        rules = self._rules.get(room_key)
        if rules is None:
            rules = self._rules[room_key] = Rules(room.name)
        return rules

    def _save(self, room_key: str) -> None:
        rules = self._rules.get(room_key)
        if rules is not None and rules.is_empty() and not rules.invited:
            del self._rules[room_key]
            self.state.history.put(TABLE, room_key, None)
        elif rules is not None:
            self.state.history.put(TABLE, room_key, None if rules.is_empty() else rules.dump())

    # -------------------------------------------------------------- joining
    def join_refusal(self, session: Session, room_key: str, name: str, given: str) -> str | None:
        """Why `session` may not join the room (a sentence); None: it may."""
        rules = self._rules.get(room_key)
        if rules is None or self.rank(session, room_key) >= OP:
            return None
        if session.account in rules.bans or (host_of(session.addr) in rules.hosts):
            return f"you are banned from {rules.name}"
        invited = bool(_may_be(session) & rules.invited)
        if rules.invite_only and not invited:
            return (f"{rules.name} is invite-only: ask its owner or an op to "
                    f"{p.typed(p.Invite, p.NICK_ARG)} you")
        if rules.key and not invited and not hmac.compare_digest(
                given.encode("utf-8", "replace"), rules.key.encode("utf-8", "replace")):
            return (f"that is not the key of {rules.name}" if given else
                    f"{rules.name} needs a key: {p.typed(p.Join, name + ' KEY')}")
        return None

    def on_joined(self, session: Session, room: Room, created: bool, out: Outbox) -> None:
        """The first logged-in user to join a new room owns it."""
        if created and session.account and not self.owned(room.name.casefold()):
            self._rules_of(room).owner = session.account
            self._save(room.name.casefold())
            log.info("owner #%d %s of %s", session.id, session.account, room.name)
            out.to(session.id, p.Info(f"You own {room.name}: you and your ops may /kick, /ban, "
                                      "/key, /invite and /mode here, and set the topic."))

    def topic_refusal(self, session: Session, room: Room) -> str | None:
        if self.owned(room.name.casefold()) and self.rank(session, room.name.casefold()) < OP:
            return f"only the owner and ops of {room.name} set its topic"
        return None

    # -------------------------------------------------------------- the commands
    def _acting(self, session: Session, msg: object, out: Outbox, need: int = OP) -> Room | None:
        """The room `session` acts on, if it has the rights there (else said why)."""
        room = session.room
        if room is None:
            problem = "you are in the lobby: /join ROOM first"
        elif session.nick is None:
            problem = "pick a nick first: /nick NAME"
        elif self.rank(session, room.name.casefold()) < need:
            who = "its owner" if need == OWNER else "its owner and ops"
            problem = f"only {who} may do that in {room.name}"
        else:
            return room
        out.to(session.id, p.reply(msg, 1, problem))
        return None

    def _target(self, session: Session, room: Room, nick: str, msg: object,
                out: Outbox, usage: str) -> Session | None:
        """The member `nick` names in the room, whom `session` outranks."""
        problem = p.nick_problem(nick) if nick else usage
        target = None if problem else room.nicks.get(nick.casefold())
        if not problem and target is None:
            problem = f"there is no {nick} in {room.name}"
        elif target is session:
            problem = "that is you"
        elif target is not None and self.rank(target, room.name.casefold()) >= \
                self.rank(session, room.name.casefold()):
            problem = (f"{nick} is {RANKS[self.rank(target, room.name.casefold())]} of "
                       f"{room.name}: you may not")
        if problem:
            out.to(session.id, p.reply(msg, 1, sanitize(problem)))
            return None
        return target

    def _tell(self, room: Room, session: Session, text: str, msg: object, out: Outbox) -> None:
        """An act is done: the room's rules are kept, and the room is told (the one
        who did it in the answer)."""
        self._save(room.name.casefold())
        out.to(session.id, p.reply(msg, 0, text))
        others = tuple(i for i in room.ids() if i != session.id)
        if others:
            out.sends.append((others, p.Info(text)))
        self.state.history.noted(room.name.casefold(), session.nick, text)

    def on_claim(self, session: Session, msg: p.Claim, out: Outbox) -> None:
        room = self._acting(session, msg, out, need=GUEST)
        if room is None:
            return
        if session.account is None:
            out.to(session.id, p.reply(msg, 1, "log in first: a room is owned by an account"))
        elif self.owned(room.name.casefold()):
            out.to(session.id, p.reply(msg, 1, f"{room.name} has an owner already"))
        else:
            self._rules_of(room).owner = session.account
            self._tell(room, session, f"{session.nick} owns {room.name} now", msg, out)

    def on_op(self, session: Session, msg: p.Op, out: Outbox, add: bool = True) -> None:
        room = self._acting(session, msg, out, need=OWNER)
        usage = f"usage: {p.typed(type(msg), p.NICK_ARG)}"
        target = room and self._target(session, room, msg.nick, msg, out, usage)
        if target is None:
            return
        if target.account is None:
            out.to(session.id, p.reply(msg, 1, f"{target.nick} is not logged in: ops are accounts"))
            return
        rules = self._rules_of(room)
        (rules.ops.add if add else rules.ops.discard)(target.account)
        self._save(room.name.casefold())
        done = "is an op" if add else "is no longer an op"
        self._tell(room, session, f"{target.nick} {done} of {room.name} (by {session.nick})",
                   msg, out)

    def on_deop(self, session: Session, msg: p.Deop, out: Outbox) -> None:
        self.on_op(session, msg, out, add=False)

    def on_kick(self, session: Session, msg: p.Kick, out: Outbox) -> None:
        room = self._acting(session, msg, out)
        usage = f"usage: {p.typed(p.Kick, 'NICK REASON')}"
        target = room and self._target(session, room, msg.nick, msg, out, usage)
        if target is None:
            return
        reason = " ".join(sanitize(msg.reason).split())[:MAX_REASON]
        self._remove(session, room, target, "removed", reason, msg, out)

    def _remove(self, session: Session, room: Room, target: Session, how: str, reason: str,
                msg: object, out: Outbox) -> None:
        said = f": {reason}" if reason else ""
        why, nick = f"{how} by {session.nick}{said}", target.nick
        log.info("%s #%d %s from %s by %s", how, target.id, nick, room.name, session.nick)
        out.to(target.id, p.Info(f"You were {how} from {room.name} by {session.nick}{said}."))
        self.state.remove_from_room(target, why, out)
        self._tell(room, session, f"{nick} was {why}", msg, out)

    def on_ban(self, session: Session, msg: p.Ban, out: Outbox) -> None:
        room = self._acting(session, msg, out)
        if room is None:
            return
        nick, room_key = msg.nick, room.name.casefold()
        absent = nick and not p.nick_problem(nick) and nick.casefold() not in room.nicks
        if absent and self.state.identity.accounts.exists(nick.casefold()):
            self._ban_account(session, room, nick, msg, out)
            return
        usage = f"usage: {p.typed(p.Ban, p.NICK_ARG)} (a member, or an account)"
        target = self._target(session, room, nick, msg, out, usage)
        if target is None:
            return
        rules = self._rules_of(room)
        if target.account:
            rules.bans.add(target.account)
        else:
            rules.hosts[host_of(target.addr)] = target.nick
        self._save(room_key)
        self._remove(session, room, target, "banned", "", msg, out)

    def _ban_account(self, session: Session, room: Room, nick: str, msg: object,
                     out: Outbox) -> None:
        rules, account = self._rules_of(room), nick.casefold()
        if account == rules.owner or account in self.admins or \
                (account in rules.ops and self.rank(session, room.name.casefold()) < OWNER):
            out.to(session.id, p.reply(msg, 1, f"{nick} may not be banned from {room.name} by you"))
            return
        rules.bans.add(account)
        rules.ops.discard(account)
        self._tell(room, session, f"{nick} was banned by {session.nick}", msg, out)

    def on_unban(self, session: Session, msg: p.Unban, out: Outbox) -> None:
        room = self._acting(session, msg, out)
        if room is None:
            return
        rules, nick = self._rules_of(room), msg.nick.casefold()
        hosts = [h for h, banned in rules.hosts.items() if banned.casefold() == nick]
        if not nick or (nick not in rules.bans and not hosts):
            out.to(session.id, p.reply(msg, 1, f"{sanitize(msg.nick[:p.MAX_NICK]) or 'nobody'} "
                                               f"is not banned from {room.name}; usage: "
                                               f"{p.typed(p.Unban, p.NICK_ARG)}"))
            return
        rules.bans.discard(nick)
        for host in hosts:
            del rules.hosts[host]
        self._tell(room, session, f"{msg.nick} may come back to {room.name} "
                                  f"(unbanned by {session.nick})", msg, out)

    def on_key(self, session: Session, msg: p.RoomKey, out: Outbox) -> None:
        room = self._acting(session, msg, out)
        if room is None:
            return
        rules, key = self._rules_of(room), msg.key
        if not key:
            out.to(session.id, p.reply(msg, 0, f"the key of {room.name} is {rules.key}" if
                                       rules.key else f"{room.name} has no key; "
                                       f"{p.typed(p.RoomKey, 'KEY')} sets one"))
            return
        if key == p.KEY_DELETE:
            rules.key = ""
            self._tell(room, session, f"{session.nick} removed the key of {room.name}", msg, out)
            return
        if len(key) > MAX_KEY or " " in key or not key.isprintable():
            out.to(session.id, p.reply(msg, 1, f"a key is one word of at most {MAX_KEY} "
                                               f"characters; {p.typed(p.RoomKey, 'KEY')}"))
            return
        rules.key = key
        self._tell(room, session, f"{session.nick} set a key on {room.name}: joining takes "
                                  f"{p.typed(p.Join, room.name + ' KEY')}", msg, out)

    def on_invite(self, session: Session, msg: p.Invite, out: Outbox) -> None:
        room = self._acting(session, msg, out)
        if room is None:
            return
        nick = msg.nick
        problem = p.nick_problem(nick) if nick else f"usage: {p.typed(p.Invite, p.NICK_ARG)}"
        guests = [] if problem else [s for s in self.state.sessions.values()
                                     if (s.nick or s.wanted_nick or "").casefold() == nick.casefold()]
        if not problem and self.state.identity.accounts.exists(nick.casefold()):
            name = f"a:{nick.casefold()}"
        elif guests:
            name = f"t:{guests[0].token}"
        else:
            problem = problem or f"there is nobody called {nick} here, and no such account"
        if problem:
            out.to(session.id, p.reply(msg, 1, sanitize(problem)))
            return
        self._rules_of(room).invited.add(name)
        for guest in guests:
            out.to(guest.id, p.Info(f"{session.nick} invites you to {room.name}: "
                                    f"{p.typed(p.Join, room.name)}"))
        self._tell(room, session, f"{nick} is invited to {room.name} (by {session.nick})", msg, out)

    def on_mode(self, session: Session, msg: p.Mode, out: Outbox) -> None:
        name, mode = msg.room.removeprefix("#"), msg.mode
        usage = f"usage: {p.typed(p.Mode, p.ROOM_ARG)} [{p.MODE_INVITE}|{p.MODE_OPEN}]"
        problem = p.room_problem(name) if name else usage
        room = None if problem else self.state.rooms.get(name.casefold())
        if not problem and room is None:
            problem = f"there is no room {name!r}"
        elif mode not in ("", p.MODE_INVITE, p.MODE_OPEN):
            problem = usage
        elif room is not None and mode and self.rank(session, name.casefold()) < OP:
            problem = f"only the owner and ops of {room.name} may change its mode"
        if problem:
            out.to(session.id, p.reply(msg, 1, sanitize(problem)))
            return
        rules = self._rules.get(name.casefold())
        closed = rules is not None and rules.invite_only
        if not mode:
            out.to(session.id, p.reply(msg, 0, f"{room.name} is "
                                               f"{'invite-only' if closed else 'open'}"))
            return
        rules = self._rules_of(room)
        rules.invite_only = mode == p.MODE_INVITE
        self._save(name.casefold())
        what = "invite-only" if rules.invite_only else "open to all"
        self._tell(room, session, f"{room.name} is {what} now (by {session.nick or session.account})",
                   msg, out)

    def on_shutdown(self, session: Session, msg: p.Shutdown, out: Outbox) -> None:
        if session.account not in self.admins:
            out.to(session.id, p.reply(msg, 1, "only a server operator (server.py --admin) "
                                               "may shut the server down"))
            return
        reason = " ".join(sanitize(msg.reason).split())[:MAX_REASON] or "no reason given"
        log.info("shutdown by #%d %s: %s", session.id, session.account, reason)
        out.to(session.id, p.reply(msg, 0, "shutting down"))
        out.stop = f"the server is shutting down ({reason}, said {session.account})"

    def on_unregistered(self, account: str) -> None:
        """The account is gone: it owns and ops nothing any more."""
        for room_key, rules in list(self._rules.items()):
            if rules.owner == account or account in rules.ops:
                rules.owner = None if rules.owner == account else rules.owner
                rules.ops.discard(account)
                self._save(room_key)
