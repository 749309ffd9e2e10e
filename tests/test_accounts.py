"""Accounts, sans I/O: hashing, the login throttle, and the account commands in
ChatState (register, login, nick protection in every room, /who's mark,
--require-login, /password, /unregister).  No sockets, threads or sleeps: the
clock is a variable.
"""
from __future__ import annotations

import gc

import json

import pytest

from chat import protocol as p
from chat.server import accounts as a
from chat.server.memory_store import MemoryStore
from chat.server.state import ChatState, Outbox

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _no_garbage_left():
    """Each state here is a cycle (its handlers are its bound methods): collected now,
    not in a later test, whose in-process server would count the pause as its work."""
    yield
    gc.collect()


# ------------------------------------------------------------------ hashing
@pytest.mark.parametrize("secret", ["with  inner spaces", "pässwörd ünïcödé 🔑", "x" * 1000])
def test_accounts_hash_matches_only_its_password(secret):
    record = a.hash_password(secret)
    assert a.password_matches(secret, record)
    assert not a.password_matches(secret + "!", record)
    assert secret not in json.dumps(record)
    assert record["cost"] == list(a.SCRYPT) and len(bytes.fromhex(record["salt"])) == 16


def test_accounts_hash_salts_each_record_and_normalises_unicode():
    first, second = a.hash_password("café au lait"), a.hash_password("café au lait")
    assert first["salt"] != second["salt"] and first["hash"] != second["hash"]
    assert a.password_matches("cafe\u0301 au lait", first)  # é typed as e + combining accent


def test_accounts_hash_kept_parameters_are_used_to_check():
    record = a.hash_password(PASSWORD)
    old = dict(record, cost=[2 ** 10, 8, 1])
    old["hash"] = a._derive(PASSWORD, bytes.fromhex(record["salt"]), (2 ** 10, 8, 1)).hex()
    assert a.password_matches(PASSWORD, old)  # a record made with other costs still checks


# ------------------------------------------------------------------ the throttle
def test_throttle_failures_double_the_wait_per_address_and_per_account():
    throttle = a.LoginThrottle()
    assert throttle.wait("10.0.0.1", "alice", 100.0) == 0
    throttle.failed("10.0.0.1", "alice", 100.0)
    assert throttle.wait("10.0.0.1", "bob", 100.0) == 1.0  # the address waits
    assert throttle.wait("10.0.0.2", "alice", 100.0) == 1.0  # and so does the account
    assert throttle.wait("10.0.0.2", "bob", 100.0) == 0
    throttle.failed("10.0.0.1", "alice", 101.0)
    assert throttle.wait("10.0.0.1", "alice", 101.0) == 2.0
    for now in range(102, 120):
        throttle.failed("10.0.0.1", "alice", float(now))
    assert throttle.wait("10.0.0.1", "alice", 119.0) == a.MAX_DELAY
    throttle.succeeded("10.0.0.1", "alice")
    assert throttle.wait("10.0.0.1", "alice", 120.0) == 0


def guesses_per_minute(minutes: int) -> list[int]:
    """A guesser on one address, trying again the moment the throttle allows (and
    sending nothing meanwhile): how many passwords are checked each minute."""
    throttle, now, counts = a.LoginThrottle(), 0.0, [0] * minutes
    while now < minutes * 60:
        wait = throttle.wait("10.0.0.1", f"victim{int(now) % 7}", now)
        if wait == 0 and throttle.may_hash("10.0.0.1", now):
            counts[int(now // 60)] += 1
            throttle.failed("10.0.0.1", f"victim{int(now) % 7}", now)
        now += 0.05
    return counts


def test_throttle_one_address_gets_few_guesses_a_minute():
    counts = guesses_per_minute(10)
    assert counts[0] <= 7, counts  # 1, 2, 4, 8, 16, 32 s apart
    assert all(count <= 1 for count in counts[2:]), counts  # then one a minute


def test_throttle_hash_budget_per_address_and_for_the_server():
    throttle = a.LoginThrottle()
    assert all(throttle.may_hash("10.0.0.1", 0.0) for _ in range(a.ADDRESS_BURST))
    assert not throttle.may_hash("10.0.0.1", 0.0)
    assert throttle.may_hash("10.0.0.2", 0.0)
    assert throttle.may_hash("10.0.0.1", 1 / a.ADDRESS_RATE)  # refilled
    for host in range(3, 6):  # three more addresses spend the server's budget
        while throttle.may_hash(f"10.0.0.{host}", 6.0):
            pass
    assert not throttle.may_hash("10.0.0.9", 6.0)


# ------------------------------------------------------------------ the commands
class Server:
    """A ChatState on a store it can be rebuilt from (a restart), with a clock."""

    def __init__(self, require_login: bool = False, grace: float = 0,
                 admins: tuple[str, ...] = ()) -> None:
        self.now, self.grace, self.admins = 1764585065.0, grace, frozenset(admins)
        self.store = MemoryStore()
        self.require_login = require_login
        self.state = self._build()
        self._next = 1

    def _build(self) -> ChatState:
        return ChatState(clock=lambda: self.now, store=self.store, grace=self.grace,
                         require_login=self.require_login, admins=self.admins)

    def restart(self) -> None:
        self.state.history.commit()
        self.state = self._build()

    def connect(self, host: str = "127.0.0.1") -> int:
        sid, self._next = self._next, self._next + 1
        self.state.connect(sid, f"{host}:{40000 + sid}", Outbox())
        return sid

    def send(self, sid: int, line: str) -> Outbox:
        """What `line` from `sid` makes the state send (rooms expanded)."""
        out = Outbox()
        self.state.handle(sid, line, out)
        out.sends = self.state.deliveries(out)
        return out

    def say(self, sid: int, line: str) -> list[p.ServerMessage]:
        return [msg for targets, msg in self.send(sid, line).sends if sid in targets]

    def reply(self, sid: int, line: str) -> p.Reply:
        replies = [m for m in self.say(sid, line) if isinstance(m, p.Reply)]
        assert replies, f"no reply to {line!r}"
        return replies[-1]


def registered(server: Server, nick: str = "alice", room: str = "general") -> int:
    sid = server.connect()
    server.say(sid, f"/join {room}")
    assert server.reply(sid, f"/nick {nick}").code == 0
    assert server.reply(sid, f"/register {PASSWORD}").code == 0
    return sid


def test_register_protects_the_nick_in_every_room():
    server = Server()
    registered(server)
    other = server.connect()
    server.say(other, "/join elsewhere")
    refused = server.reply(other, "/nick Alice")
    assert (refused.code, refused.text) == (2, "nick 'Alice' is registered; /login to use it")
    assert server.reply(other, "/nick bob").code == 0


def test_register_keeps_no_password_in_the_store():
    server = Server()
    registered(server)
    server.state.history.commit()
    kept = json.dumps(server.store.items(a.TABLE)) + json.dumps(server.store.items("session"))
    assert "alice" in kept and PASSWORD not in kept


def test_login_takes_the_nick_and_who_marks_it():
    server = Server()
    registered(server)
    sid = server.connect()
    server.say(sid, "/join general")
    server.say(sid, "/nick guest")
    answer = server.say(sid, f"/login ALICE {PASSWORD}")
    assert p.Reply("login", 0, "you are logged in as alice") in answer
    assert p.Here("general", "alice") not in answer  # alice is taken here by the other session
    server.say(sid, "/join lounge")
    who = [m for m in server.say(sid, "/who") if isinstance(m, p.MemberList)][0]
    assert who.nicks == ("alice",) and dict(who.notes) == {"alice": "logged in; owner"}


def test_login_in_the_lobby_brings_the_nick_into_the_room():
    server = Server()
    registered(server)
    server.restart()  # accounts are in the store
    sid = server.connect()
    assert server.reply(sid, f"/login alice {PASSWORD}").code == 0
    assert p.Here("lounge", "alice") in server.say(sid, "/join lounge")


def test_login_wrong_password_and_unknown_account_read_the_same_and_are_slowed():
    server = Server()
    registered(server)
    sid = server.connect()
    wrong = server.reply(sid, "/login alice not the password")
    server.now += 1.0  # the first failure's wait
    unknown = server.reply(sid, "/login nobody not the password")
    assert wrong == unknown == p.Reply("login", 1, "wrong nick or password")
    too_soon = server.reply(sid, f"/login alice {PASSWORD}")
    assert too_soon == p.Reply("login", 1, "too many wrong passwords: try again in 2 s")
    server.now += 2.0
    assert server.reply(sid, f"/login alice {PASSWORD}").code == 0


def test_login_bad_arguments_are_refused_with_the_usage():
    server = Server()
    sid = server.connect()
    for line in ("/login", "/login alice", "/login al!ce some password"):
        reply = server.reply(sid, line)
        assert reply.code == 1 and "usage: /login NICK PASSWORD" in reply.text, reply


def test_register_refusals():
    server = Server()
    sid = server.connect()
    assert "pick a nick first" in server.reply(sid, f"/register {PASSWORD}").text
    server.say(sid, "/join general")
    server.say(sid, "/nick alice")
    assert "at least 8 characters" in server.reply(sid, "/register short").text
    assert server.reply(sid, "/register").text.startswith("usage: /register PASSWORD")
    other = server.connect()
    server.say(other, "/join lounge")
    server.say(other, "/nick bob")
    server.say(sid, "/nick bob")  # taken here? no: bob is in another room
    assert "someone else is bob in lounge" in server.reply(sid, f"/register {PASSWORD}").text
    server.say(sid, "/nick alice")
    assert server.reply(sid, f"/register {PASSWORD}").code == 0
    assert "logged in as alice already" in server.reply(sid, f"/register {PASSWORD}").text


def test_password_changes_it_and_unregister_frees_the_nick():
    server = Server()
    sid = registered(server)
    assert "log in first" in server.reply(server.connect(), "/password a new password").text
    assert server.reply(sid, "/password a new password").code == 0
    other = server.connect()
    assert server.reply(other, f"/login alice {PASSWORD}").code == 1
    server.now += 5
    assert server.reply(other, "/login alice a new password").code == 0
    server.now += 5
    assert server.reply(sid, f"/unregister {PASSWORD}").code == 1  # the old one
    server.now += 5
    assert server.reply(sid, "/unregister a new password").code == 0
    guest = server.connect()
    server.say(guest, "/join lounge")
    assert server.reply(guest, "/nick alice").code == 0


def test_require_login_lets_only_logged_in_users_pick_a_nick():
    server = Server(require_login=True)
    sid = server.connect()
    server.say(sid, "/join general")
    refused = server.reply(sid, "/nick bob")
    assert refused.code == 1 and "only logged-in users" in refused.text
    server.say(sid, "/leave")
    assert server.reply(sid, "/nick bob").code == 0  # a wish, in the lobby
    assert server.reply(sid, f"/register {PASSWORD}").code == 0
    assert p.Here("general", "bob") in server.say(sid, "/join general")
    other = server.connect()  # a wish carried into a room, refused there, then registered
    server.say(other, "/nick carol")
    server.say(other, "/join general")
    assert server.state.sessions[other].nick is None
    assert p.Here("general", "carol") in server.say(other, f"/register {PASSWORD}")


def test_login_survives_a_restart_with_the_session():
    server = Server(grace=60)
    sid = registered(server)
    token = server.state.sessions[sid].token
    server.state.disconnect(sid, "disconnected", Outbox(), hold=True)
    server.restart()
    back = server.connect()
    server.say(back, f"/resume {token}")
    resumed = server.state.tokens[token]
    assert server.state.sessions[resumed.id] is resumed and resumed.held_until is None
    assert (resumed.nick, resumed.account) == ("alice", "alice")


def test_secret_commands_never_show_their_password_in_a_repr():
    for line in (f"/register {PASSWORD}", f"/login alice {PASSWORD}",
                 f"/password {PASSWORD}", f"/unregister {PASSWORD}"):
        msg = p.parse_client_line(line)
        assert PASSWORD not in repr(msg) and p.is_secret_line(line)
    assert not p.is_secret_line("/logout") and not p.is_secret_line("hello /login")


def test_msg_reaches_a_logged_in_user_in_any_room_and_r_answers_back():
    server = Server()
    alice = registered(server, room="general")
    guest = server.connect()
    server.say(guest, "/join lounge")
    server.say(guest, "/nick bob")
    out = server.send(guest, "/msg alice hello from the lounge")
    private = [msg for targets, msg in out.sends if alice in targets]
    assert [(m.room, m.nick, m.to, m.text) for m in private] == \
        [("lounge", "bob", "alice", "hello from the lounge")]
    back = server.send(alice, "/r hi bob")
    assert [m.text for targets, m in back.sends if guest in targets
            and isinstance(m, p.Private)] == ["hi bob"]
    other = server.connect()  # a guest is reached in their own room only
    server.say(other, "/join attic")
    server.say(other, "/nick carol")
    refused = server.reply(alice, "/msg carol psst")
    assert refused.code == 1 and "there is no carol in general" in refused.text


def test_register_and_login_with_a_password_of_1000_characters():
    server = Server()
    long_one = "pass word é" + "x" * 989  # spaces, Unicode, 1,000 characters
    assert len(long_one) == 1000 and len(f"/login alice {long_one}\n".encode()) <= p.MAX_LINE
    sid = server.connect()
    server.say(sid, "/nick alice")
    assert server.reply(sid, f"/register {long_one}").code == 0
    other = server.connect()
    assert server.reply(other, f"/login alice {long_one[:-1]}").code == 1
    server.now += 1
    assert server.reply(other, f"/login alice {long_one}").code == 0


# ------------------------------------------------------------------ the client core
def test_client_core_login_goes_only_where_it_may_and_again_on_each_connection():
    from chat.client import core as c
    hello = "HELLO parlor/4 hi\r\nSESSION tok 120 keep it\r\n"
    core = c.ClientCore("192.168.1.5:5220")
    core.connection_made()
    core.receive_data(hello.encode())
    core.data_to_send(0.0)
    core.submit(f"/login alice {PASSWORD}")  # not encrypted, not this machine: not sent
    assert core.data_to_send(1.0) == b"" and core.login is None
    core.secret_ok = True
    core.submit(f"/login alice {PASSWORD}")
    assert core.data_to_send(2.0) == f"/login alice {PASSWORD}\n".encode()
    core.connection_lost("reset")
    core.connection_made()
    core.receive_data(hello.encode())
    assert core.data_to_send(3.0).startswith(f"/login alice {PASSWORD}\n".encode())
    core.receive_data(b"REPLY login 1 too many wrong passwords: try again in 4 s\r\n")
    core.connection_lost("reset")
    core.connection_made()
    core.receive_data(hello.encode())  # told to wait: it logs in again next time
    assert core.data_to_send(3.5).startswith(f"/login alice {PASSWORD}\n".encode())
    core.receive_data(b"REPLY login 1 wrong nick or password\r\n")
    core.connection_lost("reset")
    core.connection_made()
    core.receive_data(hello.encode())
    assert b"/login" not in core.data_to_send(4.0)  # a refused password is not tried again


def test_login_takes_back_the_nick_its_own_dropped_session_holds():
    server = Server(grace=60)
    dropped = registered(server)
    server.state.disconnect(dropped, "disconnected", Outbox(), hold=True)  # held: alice waits
    guest = server.connect()
    server.say(guest, "/join general")
    assert server.reply(guest, "/nick alice").code == 2  # (registered, and held)
    again = server.connect()  # the same person, a new client, without the token
    assert server.reply(again, f"/login alice {PASSWORD}").code == 0
    assert p.Here("general", "alice") in server.say(again, "/join general")
    assert dropped not in server.state.sessions  # the held one is over


def test_accounts_a_damaged_record_in_the_store_is_skipped_not_a_crash():
    store = MemoryStore()
    good = json.dumps({"as": "Ann", "hashed": a.hash_password("a long enough password")})
    store.put(a.TABLE, "ann", good)
    store.put(a.TABLE, "bob", "{not json")
    store.put(a.TABLE, "dee", json.dumps({"as": "dee"}))  # (no hash)
    store.flush()
    accounts = a.Accounts(store)
    assert accounts.exists("ann") and accounts.check("ann", "a long enough password")
    assert not accounts.exists("bob") and not accounts.exists("dee")
