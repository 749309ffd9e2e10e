"""Private messages, /me and away in the server's state, sans I/O: who is sent what,
what is refused and how, and what the history gives back to whom, after nick changes,
leaves, drops, resumes and a restart.  No sockets, threads or sleeps.
"""
from __future__ import annotations

import pytest

from chat import protocol as p
from chat.server.direct import MAX_AWAY, how_long
from chat.server.memory_store import MemoryStore
from chat.server.state import ChatState, Outbox
from test_sessions import Clock
from test_state import check_wire, delivered, inbox, of


class Room:
    """A ChatState with sessions named by their first nick: `say('ann', line)`."""

    def __init__(self, grace: float = 120, store: MemoryStore | None = None,
                 clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.store = store or MemoryStore()
        self.state = ChatState(clock=self.clock, grace=grace, store=self.store)
        self.ids: dict[str, int] = {}
        self.tokens: dict[str, str] = {}
        self._next = 1

    def connect(self, name: str) -> int:
        sid, self._next = self._next, self._next + 1
        out = Outbox()
        self.state.connect(sid, "127.0.0.1:1", out)
        (token,) = [m for _, m in out.sends if isinstance(m, p.SessionToken)]
        self.ids[name], self.tokens[name] = sid, token.token
        return sid

    def enter(self, name: str, room: str = "red", nick: str | None = None) -> Outbox:
        if name not in self.ids:
            self.connect(name)
        join = self.say(name, f"/join {room}")
        self.say(name, f"/nick {nick or name}")
        return join

    def say(self, name: str, line: str) -> Outbox:
        out = Outbox()
        self.state.handle(self.ids[name], line, out)
        check_wire(delivered(self.state, out))
        return out

    def got(self, out: Outbox, name: str) -> list:
        return inbox(out, self.ids[name])

    def drop(self, name: str) -> Outbox:
        out = Outbox()
        self.state.disconnect(self.ids[name], "connection reset", out, hold=True)
        delivered(self.state, out)
        return out

    def quit(self, name: str) -> None:
        self.state.disconnect(self.ids.pop(name), "quit", Outbox())

    def history(self, name: str, line: str = "/history 200 999999") -> list[p.Past]:
        (page,) = of(self.say(name, line), self.ids[name], p.HistoryPage)
        return list(page.entries)


def private(entries) -> list[tuple[str, str, str]]:
    return [(e.nick, e.to, e.text) for e in entries if e.kind == p.PRIVATE]


def answer(out: Outbox, sid: int) -> p.Reply:
    (r,) = of(out, sid, p.Reply)
    return r


def restarted(before: Room, names: tuple[str, ...]) -> Room:
    """A new state on the same store after `before` stopped, each of `names` resumed."""
    before.state.shutdown("restarting", Outbox())
    for sid in list(before.state.sessions):
        before.state.disconnect(sid, "server stopping", Outbox())
    after = Room(store=before.store, clock=before.clock)
    for name in names:
        after.connect(name)
        after.say(name, f"/resume {before.tokens[name]}")
        after.ids[name] = after.state.tokens[before.tokens[name]].id
        after.tokens[name] = before.tokens[name]
    return after


@pytest.fixture
def room() -> Room:
    r = Room()
    for name in ("ann", "bob", "cy"):
        r.enter(name)
    return r


# ------------------------------------------------------------------ /msg
@pytest.mark.parametrize("command", ["/msg", "/w", "/tell", "/MSG"])
def test_direct_msg_reaches_its_two_ends_only(room, command):
    out = room.say("ann", f"{command} Bob  psst,   bob ")
    (to_ann,) = room.got(out, "ann")
    assert to_ann == p.Private("red", to_ann.id, "ann", "bob", room.clock.now, "psst, bob")
    assert room.got(out, "bob") == [to_ann] and to_ann.id > 0
    assert room.got(out, "cy") == []


@pytest.mark.parametrize("line, says", [
    ("/msg", "usage: /msg NICK TEXT (also /w, /tell)"),
    ("/msg bob", "usage: /msg NICK TEXT (also /w, /tell)"),
    ("/msg bob    ", "usage: /msg NICK TEXT (also /w, /tell)"),
    ("/msg b\u00f6b hi", "may only use"),
    ("/msg " + "b" * 40 + " hi", "is too long: at most 16 characters; usage: /msg NICK TEXT"),
    ("/msg dan hi", "there is no dan in red: a private message goes to someone in your room, "
                    "or to a logged-in user in any room"),
    ("/msg ann hi", "that is you"),
    ("/msg bob " + "x" * (p.MAX_TEXT + 1), f"the limit is {p.MAX_TEXT}"),
    ("/r", "nobody has sent you a private message yet"),
    ("/r hi", "nobody has sent you a private message yet"),
])
def test_direct_msg_refusals_are_sentences_to_the_sender_alone(room, line, says):
    out = room.say("ann", line)
    (refusal,) = room.got(out, "ann")
    assert refusal.code == 1 and says in refusal.text, refusal
    assert room.got(out, "bob") == room.got(out, "cy") == []


def test_direct_msg_from_the_lobby_or_without_a_nick_is_refused():
    r = Room()
    r.enter("bob")
    r.connect("ann")
    assert "lobby" in answer(r.say("ann", "/msg bob hi"), r.ids["ann"]).text
    r.say("ann", "/join red")
    out = r.say("ann", "/msg bob hi")
    assert "pick a nick" in answer(out, r.ids["ann"]).text and r.got(out, "bob") == []


def test_direct_msg_text_is_sanitised(room):
    out = room.say("ann", "/msg bob \x1b[2Jhi\u202e there")
    (line,) = room.got(out, "bob")
    assert line.text == "^[[2Jhi<U+202E> there"


def test_direct_you_is_no_ones_nick(room):
    out = room.say("cy", "/nick You")
    assert answer(out, room.ids["cy"]).code == 1


# ------------------------------------------------------------------ /r
def test_direct_r_answers_the_last_sender_and_follows_a_rename(room):
    room.say("ann", "/msg bob one")
    room.say("cy", "/msg bob two")
    out = room.say("bob", "/r to cy")
    assert [m.to for m in room.got(out, "bob")] == ["cy"] and room.got(out, "ann") == []
    room.say("cy", "/nick cyd")
    out = room.say("bob", "/r again")
    assert [(m.to, m.text) for m in room.got(out, "cy")] == [("cyd", "again")]


def test_direct_r_to_someone_gone_is_a_sentence_and_reaches_nobody(room):
    room.say("ann", "/msg bob one")
    room.say("ann", "/leave")
    room.connect("ann2")
    room.enter("ann2", nick="ann")  # someone else under the same nick
    out = room.say("bob", "/r still there?")
    assert "no longer here in red" in answer(out, room.ids["bob"]).text
    assert room.got(out, "ann2") == []


def test_direct_r_without_text_says_whom_it_would_answer(room):
    room.say("cy", "/msg bob x")
    assert answer(room.say("bob", "/r"), room.ids["bob"]).text == "usage: /r TEXT (answers cy)"


# ------------------------------------------------------------------ privacy in the history
def test_direct_history_gives_a_private_message_to_its_ends_only(room):
    room.say("ann", "hello all")
    room.say("ann", "/msg bob secret")
    assert private(room.history("ann")) == private(room.history("bob")) == [
        ("ann", "bob", "secret")]
    assert private(room.history("cy")) == []
    assert [e.text for e in room.history("cy") if e.kind == p.SAY] == ["hello all"]
    room.connect("dan")
    join = room.enter("dan")
    (replay,) = of(join, room.ids["dan"], p.HistoryPage)
    assert [e.text for e in replay.entries] == ["hello all"]


def test_direct_a_join_replays_my_private_messages_to_me(room):
    room.say("ann", "/msg bob secret")
    room.say("bob", "/leave")
    join = room.enter("bob")
    (replay,) = of(join, room.ids["bob"], p.HistoryPage)
    assert private(replay.entries) == [("ann", "bob", "secret")]


def test_direct_a_nick_taken_after_a_rename_does_not_take_the_messages(room):
    room.say("ann", "/msg bob secret")
    room.say("bob", "/nick rob")
    room.say("cy", "/nick bob")
    assert private(room.history("cy")) == []
    assert private(room.history("bob")) == [("ann", "bob", "secret")]  # rob, who was bob
    out = room.say("ann", "/msg bob for the new bob")
    assert [m.text for m in room.got(out, "cy")] == ["for the new bob"]
    assert room.got(out, "bob") == []


def test_direct_a_nick_taken_after_a_leave_or_a_quit_does_not_take_the_messages(room):
    room.say("ann", "hi all")  # (so that the join's replay is sent)
    room.say("ann", "/msg bob secret")
    room.say("bob", "/msg ann reply")
    room.quit("bob")
    room.say("cy", "/leave")
    join = room.enter("cy", nick="bob")
    (replay,) = of(join, room.ids["cy"], p.HistoryPage)
    assert private(replay.entries) == [] and private(room.history("cy")) == []
    first = room.history("ann")[0].id
    (missed,) = of(room.say("cy", f"/missed {first - 1}"), room.ids["cy"], p.HistoryPage)
    assert private(missed.entries) == []


def test_direct_a_drop_then_resume_catches_up_the_private_messages(room):
    seen = room.history("bob")[-1].id
    room.drop("bob")
    out = room.say("ann", "/msg bob while you were gone")
    assert "lost the connection" in answer(out, room.ids["ann"]).text
    assert [type(m) for m in room.got(out, "ann")] == [p.Private, p.Reply]
    back = room.connect("bob again")
    out = room.say("bob again", f"/resume {room.tokens['bob']}")
    assert answer(out, room.ids["bob"]).code == 0
    (missed,) = of(room.say("bob", f"/missed {seen}"), room.ids["bob"], p.HistoryPage)
    assert private(missed.entries) == [("ann", "bob", "while you were gone")]
    assert back != room.ids["bob"]


def test_direct_a_drop_without_resume_keeps_them_from_whoever_comes_back_as_bob():
    r = Room(grace=0)
    r.enter("ann")
    r.enter("bob")
    seen = r.history("bob")[-1].id
    r.say("ann", "/msg bob before the drop")
    r.drop("bob")  # no grace: gone at once; whoever joins again is someone new
    r.connect("bob2")
    r.enter("bob2", nick="bob")
    r.say("ann", "/msg bob to the new one")
    (missed,) = of(r.say("bob2", f"/missed {seen}"), r.ids["bob2"], p.HistoryPage)
    assert private(missed.entries) == [("ann", "bob", "to the new one")]
    assert private(r.history("bob2")) == [("ann", "bob", "to the new one")]
    assert [text for _, _, text in private(r.history("ann"))] == ["before the drop",
                                                                   "to the new one"]


def test_direct_a_restart_keeps_the_private_messages_to_their_ends():
    first = Room()
    for name in ("ann", "bob", "cy"):
        first.enter(name)
    first.say("ann", "/msg bob before the restart")
    again = restarted(first, ("bob", "cy"))
    assert private(again.history("bob")) == [("ann", "bob", "before the restart")]
    assert private(again.history("cy")) == []


# ------------------------------------------------------------------ /me
def test_direct_me_is_an_action_to_the_room_and_stored_as_one(room):
    out = room.say("ann", "/me  waves   at \x1b all")
    (action,) = room.got(out, "cy")
    assert isinstance(action, p.Action) and (action.nick, action.text) == ("ann", "waves at ^[ all")
    assert room.got(out, "ann") == [action]
    (stored,) = [e for e in room.history("cy") if e.id == action.id]
    assert (stored.kind, stored.nick, stored.text) == (p.ACTION, "ann", "waves at ^[ all")


@pytest.mark.parametrize("line, says", [("/me", "usage: /me TEXT, for example /me waves"),
                                        ("/me " + "x" * (p.MAX_TEXT + 1), "the limit is")])
def test_direct_me_refusals(room, line, says):
    out = room.say("ann", line)
    assert says in answer(out, room.ids["ann"]).text and room.got(out, "bob") == []


# ------------------------------------------------------------------ away
def who_notes(room: Room, name: str) -> dict[str, str]:
    (members,) = of(room.say(name, "/who"), room.ids[name], p.MemberList)
    return dict(members.notes)


def test_direct_away_shows_in_who_with_how_long_and_back_clears_it(room):
    out = room.say("bob", "/away  at   lunch")
    assert answer(out, room.ids["bob"]).text.startswith("you are away: at lunch.")
    assert room.got(out, "ann") == []
    room.clock.now += 12 * 60 + 5
    assert who_notes(room, "ann") == {"bob": "away 12 min: at lunch"}
    out = room.say("bob", "/back")
    assert answer(out, room.ids["bob"]).text == "welcome back: you were away 12 min"
    assert who_notes(room, "ann") == {}


def test_direct_away_alone_is_back(room):
    room.say("bob", "/away out")
    assert "welcome back" in answer(room.say("bob", "/away"), room.ids["bob"]).text
    assert "you are not away" in answer(room.say("bob", "/away"), room.ids["bob"]).text


@pytest.mark.parametrize("line, says", [
    ("/away " + "x" * (MAX_AWAY + 1), f"the limit is {MAX_AWAY}. usage: /away REASON"),
    ("/back from lunch", "/back takes nothing after it; usage: /away REASON"),
])
def test_direct_away_refusals(room, line, says):
    room.say("bob", "/away out")
    out = room.say("bob", line)
    assert answer(out, room.ids["bob"]).code == 1 and says in answer(out, room.ids["bob"]).text
    assert who_notes(room, "ann") == {"bob": "away a moment: out"}  # as it was


def test_direct_a_message_to_someone_away_is_answered_once_a_conversation(room):
    room.say("bob", "/away lunch")
    room.clock.now += 125
    first = room.say("ann", "/msg bob are you there?")
    assert [type(m) for m in room.got(first, "bob")] == [p.Private]  # delivered anyway
    assert answer(first, room.ids["ann"]) == p.Reply("msg", 0, "sent, but bob is away (2 min): lunch")
    assert of(room.say("ann", "/msg bob hello?"), room.ids["ann"], p.Reply) == []
    assert "is away" in answer(room.say("cy", "/msg bob hi"), room.ids["cy"]).text
    room.say("bob", "/back")
    room.say("bob", "/away again")
    assert "is away" in answer(room.say("ann", "/msg bob and now?"), room.ids["ann"]).text


def test_direct_away_survives_a_resume(room):
    room.say("bob", "/away brb")
    room.drop("bob")
    room.connect("bob again")
    room.say("bob again", f"/resume {room.tokens['bob']}")
    assert who_notes(room, "ann") == {"bob": "away a moment: brb"}


def test_direct_away_survives_a_restart_and_so_does_coming_back():
    first = Room()
    for name in ("ann", "bob"):
        first.enter(name)
    first.say("bob", "/away over the weekend")
    first.clock.now += 3600
    again = restarted(first, ("ann", "bob"))
    assert who_notes(again, "ann") == {"bob": "away 1 h: over the weekend"}
    again.say("bob", "/back")
    assert who_notes(restarted(again, ("ann", "bob")), "ann") == {}


@pytest.mark.parametrize("seconds, text", [(0, "a moment"), (59, "a moment"), (60, "1 min"),
                                           (3600, "1 h"), (3660 + 59, "1 h 1 min"),
                                           (86400, "1 day"), (3 * 86400 + 5, "3 days")])
def test_direct_how_long(seconds, text):
    assert how_long(seconds) == text


def test_direct_help_lists_the_new_commands(room):
    text = "\n".join(m.text for m in room.got(room.say("ann", "/help"), "ann"))
    for command in ("/msg NICK TEXT", "/r TEXT", "/me TEXT", "/away [REASON]"):
        assert command in text


class Faraway:
    """A presence (chat.server.presence) with nicks held on another server 'n2'."""
    node = "n1"

    def __init__(self) -> None:
        self.held: dict[tuple[str, str], tuple[str, str, str]] = {}

    def claim(self, room_key, room, nick, owner):
        return None

    def release(self, room_key, nick, owner):
        pass

    def others(self, room_key):
        return [nick for (r, _), (_, _, nick) in self.held.items() if r == room_key]

    def rooms(self):
        return {}

    def where(self, room_key, nick):
        return self.held.get((room_key, nick.casefold()))

    def find(self, nick):
        return None


def test_a_private_message_to_someone_on_another_server_goes_to_their_server_only():
    room, far = Room(), Faraway()
    room.state = ChatState(clock=room.clock, store=room.store, presence=far)
    room.enter("ann")
    room.enter("cid")
    far.held[("red", "bob")] = ("n2", "k2", "Bob")
    out = room.say("ann", "/msg BOB psst")
    (line,) = [m for _, m in out.sends if isinstance(m, p.Private)][:1]
    assert (line.nick, line.to, line.text) == ("ann", "Bob", "psst")
    ann_key = room.state.sessions[room.ids["ann"]].key
    assert [t for t, m in out.sends if m is line] == [(room.ids["ann"],),
                                                      ("n2", "k2", ann_key, "ann", "")]
    assert room.got(out, "cid") == []
    # bob answers from n2: the line is for ann's key; her /r then answers bob there
    assert room.state.heard("red", "nobody's key", "n2", "k2", "Bob") is None
    assert room.state.heard("red", ann_key, "n2", "k2", "Bob") == room.ids["ann"]
    out = room.say("ann", "/r back")
    assert [t for t, m in out.sends if isinstance(m, p.Private)] == [
        (room.ids["ann"],), ("n2", "k2", ann_key, "ann", "")]
    far.held[("red", "bob")] = ("n2", "k3", "Bob")  # bob left; someone else is Bob now
    out = room.say("ann", "/r still there?")
    assert "no longer here in red" in room.got(out, "ann")[0].text
    del far.held[("red", "bob")]
    assert "there is no bob in red" in room.got(room.say("ann", "/msg bob hi"), "ann")[0].text
