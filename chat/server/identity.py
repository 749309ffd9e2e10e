"""Who is who, sans I/O: the account commands (/register, /login, /password,
/unregister) and the rule they give nicks: a registered nick is its logged-in
owner's in every room, and with `require_login` only logged-in users pick a nick.
The state hands itself in; accounts are chat.server.accounts'.  Must not import
socket, selectors, select, curses or threading.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from chat import protocol as p
from chat.server.accounts import Accounts, LoginThrottle, password_problem
from chat.width import sanitize

if TYPE_CHECKING:
    from chat.server.state import ChatState, Outbox, Session

log = logging.getLogger("parlor.server")

LOGIN_USAGE = f"usage: {p.typed(p.Login, 'NICK ' + p.PASSWORD_ARG)}"
REGISTER_USAGE = f"usage: {p.typed(p.Register, p.PASSWORD_ARG)} (your nick becomes your account)"
WRONG = p.LOGIN_WRONG  # the same whether or not the account exists
BUSY = "the server is checking many passwords just now: try again in a few seconds"
REQUIRED = (f"this server lets only logged-in users pick a nick: {p.typed(p.Login, 'NICK ' + p.PASSWORD_ARG)}, "
            f"or {p.typed(p.Nick, 'NAME')} in the lobby and then {p.typed(p.Register, p.PASSWORD_ARG)}")


def host_of(addr: str) -> str:
    """'127.0.0.1' of '127.0.0.1:5555' (and '::1' of '::1:5555'): what delays count by."""
    return addr.rpartition(":")[0] or addr


class Identity:
    def __init__(self, state: ChatState, require_login: bool = False) -> None:
        self.state = state
        self.accounts = Accounts(state.history)
        self.throttle = LoginThrottle()
        self.require_login = require_login
        self.handlers = {p.Register: self.on_register, p.Login: self.on_login,
                         p.NewPassword: self.on_new_password, p.Unregister: self.on_unregister}

    # -------------------------------------------------------------- the rule for nicks
    def nick_refusal(self, session: Session, nick: str, wish: bool = False) -> tuple[int, str] | None:
        """Why `session` may not be `nick` (a REPLY's code and sentence); None: it may.
        `wish`: a nick asked for in the lobby, which is only taken in a room."""
        if self.accounts.exists(nick.casefold()) and session.account != nick.casefold():
            return 2, f"nick {nick!r} is registered; {p.typed(p.Login)} to use it"
        if self.require_login and session.account is None and not wish:
            return 1, REQUIRED
        return None

    def account_nick(self, session: Session) -> str | None:
        account = self.accounts.get(session.account) if session.account else None
        return account.nick if account is not None else None

    # -------------------------------------------------------------- the commands
    def on_register(self, session: Session, msg: p.Register, out: Outbox) -> None:
        nick = session.nick or session.wanted_nick
        problem = self._register_problem(session, nick, msg.secret)
        if problem:
            out.to(session.id, p.reply(msg, problem[0], problem[1]))
            return
        if not self._may_hash(session, msg, out):
            return
        self.accounts.register(nick, msg.secret)
        session.account = nick.casefold()
        log.info("register #%d %s", session.id, nick)
        out.to(session.id, p.reply(msg, 0, f"your account is {nick} now: nobody else can be "
                                           f"{nick} here; next time, "
                                           f"{p.typed(p.Login, nick + ' ' + p.PASSWORD_ARG)}"))
        self.state.take_account_nick(session, nick, out)  # (asked for, in a room: now it is)
        self.state.keep(session)

    def _register_problem(self, session: Session, nick: str | None,
                          secret: str) -> tuple[int, str] | None:
        if session.account is not None:
            return 1, (f"you are logged in as {self.account_nick(session)} already; "
                       f"{p.typed(p.NewPassword, 'NEW')} changes its password")
        if nick is None:
            return 1, f"pick a nick first ({p.typed(p.Nick, 'NAME')}); {REGISTER_USAGE}"
        if not secret:
            return 1, REGISTER_USAGE
        problem = password_problem(secret)
        if problem:
            return 1, f"{problem}; {REGISTER_USAGE}"
        if self.accounts.exists(nick.casefold()):
            return 2, f"nick {nick!r} is registered already; {p.typed(p.Login)} if it is yours"
        other = next((s for s in self.state.sessions.values() if s is not session
                      and s.nick is not None and s.nick.casefold() == nick.casefold()), None)
        if other is not None:
            return 1, (f"someone else is {nick} in {other.room.name} now: register a nick "
                       "nobody is using")
        return None

    def on_login(self, session: Session, msg: p.Login, out: Outbox) -> None:
        nick, secret = msg.nick, msg.secret
        problem = p.nick_problem(nick) if nick else None
        if not nick or not secret or problem:
            out.to(session.id, p.reply(msg, 1, f"{sanitize(problem)}; {LOGIN_USAGE}"
                                               if problem else LOGIN_USAGE))
            return
        if not self._check(session, nick.casefold(), secret, msg, out):
            return
        session.account = nick.casefold()
        nick = self.account_nick(session)
        log.info("login #%d %s", session.id, nick)
        out.to(session.id, p.reply(msg, 0, f"you are logged in as {nick}"))
        self.state.take_account_nick(session, nick, out)
        self.state.keep(session)

    def _check(self, session: Session, nick_key: str, secret: str, msg: object,
               out: Outbox) -> bool:
        """Whether `secret` is the account's password; a failure is said (WRONG, or how
        long to wait) and slows the next attempt from this address and for this nick."""
        host, now = host_of(session.addr), self.state.clock()
        wait = self.throttle.wait(host, nick_key, now)
        if wait > 0:
            out.to(session.id, p.reply(msg, 1, f"too many wrong passwords: try again in "
                                               f"{max(int(wait + 0.999), 1)} s"))
            return False
        if not self._may_hash(session, msg, out):
            return False
        if self.accounts.check(nick_key, secret):
            self.throttle.succeeded(host, nick_key)
            return True
        self.throttle.failed(host, nick_key, now)
        log.info("wrong password #%d from %s", session.id, host)
        out.to(session.id, p.reply(msg, 1, WRONG))
        return False

    def _may_hash(self, session: Session, msg: object, out: Outbox) -> bool:
        if self.throttle.may_hash(host_of(session.addr), self.state.clock()):
            return True
        out.to(session.id, p.reply(msg, 1, BUSY))
        return False

    def on_new_password(self, session: Session, msg: p.NewPassword, out: Outbox) -> None:
        if session.account is None:
            out.to(session.id, p.reply(msg, 1, f"log in first ({LOGIN_USAGE})"))
            return
        problem = password_problem(msg.secret) if msg.secret else "a new password is needed"
        if problem:
            out.to(session.id, p.reply(msg, 1, f"{problem}; usage: "
                                               f"{p.typed(p.NewPassword, 'NEW')}"))
            return
        if not self._may_hash(session, msg, out):
            return
        self.accounts.change(session.account, msg.secret)
        log.info("password changed #%d %s", session.id, session.account)
        out.to(session.id, p.reply(msg, 0, "your password is changed"))

    def on_unregister(self, session: Session, msg: p.Unregister, out: Outbox) -> None:
        account = session.account
        if account is None:
            out.to(session.id, p.reply(msg, 1, "you are not logged in: there is no account to drop"))
            return
        if not msg.secret:
            out.to(session.id, p.reply(msg, 1, f"usage: {p.typed(p.Unregister, p.PASSWORD_ARG)} "
                                               "(your password, to be sure)"))
            return
        if not self._check(session, account, msg.secret, msg, out):
            return
        nick = self.account_nick(session)
        self.accounts.drop(account)
        for other in self.state.sessions.values():
            if other.account == account:
                other.account = None
                self.state.keep(other)
        self.state.on_unregistered(account)
        log.info("unregister #%d %s", session.id, nick)
        out.to(session.id, p.reply(msg, 0, f"the account {nick} is gone: anyone may be {nick} now"))
