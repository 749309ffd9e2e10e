"""The rooms' history, sans I/O: ChatState with a store, fed lines; what a join,
/history and /missed send back, and what a failing store makes members see.
"""
from __future__ import annotations

import pytest

from chat import protocol as p
from chat.server.history import MAX_PAGE
from chat.server.memory_store import MemoryStore
from chat.server.state import ChatState, Outbox

NOW = 1764585065.123


class Room:
    """A ChatState with a store, and helpers that return what one session got."""

    def __init__(self, store=None, replay: int = 5) -> None:
        self.store = store if store is not None else MemoryStore()
        self.state = ChatState(clock=lambda: NOW, store=self.store, replay=replay)
        self._next = 1

    def connect(self) -> int:
        sid, self._next = self._next, self._next + 1
        self.state.connect(sid, f"127.0.0.1:{40000 + sid}", Outbox())
        return sid

    def say(self, sid: int, line: str) -> list[p.ServerMessage]:
        out = Outbox()
        self.state.handle(sid, line, out)
        self.state.commit()
        return [msg for targets, msg in self.state.deliveries(out) if sid in targets]

    def enter(self, sid: int, room: str, nick: str) -> list[p.ServerMessage]:
        got = self.say(sid, f"/join {room}")
        return got + self.say(sid, f"/nick {nick}")


def pages(msgs) -> list[p.HistoryPage]:
    return [m for m in msgs if isinstance(m, p.HistoryPage)]


def texts(page: p.HistoryPage, kind: str = p.SAY) -> list[str]:
    return [e.text for e in page.entries if e.kind == kind]


def chat_ids(msgs) -> list[int]:
    return [m.id for m in msgs if isinstance(m, p.Chat)]


@pytest.fixture
def room() -> Room:
    return Room()


def test_history_a_new_room_sends_no_history(room):
    assert pages(room.enter(room.connect(), "red", "ann")) == []


def test_history_join_shows_the_last_messages_oldest_first(room):
    ann = room.connect()
    room.enter(ann, "red", "ann")
    for i in range(8):
        room.say(ann, f"line {i}")
    (page,) = pages(room.enter(room.connect(), "red", "bob"))
    assert page.why == p.ON_JOIN and page.room == "red"
    assert [e.text for e in page.entries] == [f"line {i}" for i in range(3, 8)]  # replay=5
    assert page.older == 1  # more is kept: /history fetches it
    assert all(e.nick == "ann" and e.time == pytest.approx(NOW, abs=1e-3) for e in page.entries)


def test_history_join_comes_before_the_room_hears_the_newcomer(room):
    ann, bob = room.connect(), room.connect()
    room.enter(ann, "red", "ann")
    room.say(ann, "hello")
    got = room.enter(bob, "red", "bob")
    kinds = [type(m) for m in got]
    assert kinds.index(p.HistoryPage) < kinds.index(p.Joined)


def test_history_ids_on_the_wire_are_the_stored_ones(room):
    ann = room.connect()
    room.enter(ann, "red", "ann")
    sent = chat_ids(room.say(ann, "one") + room.say(ann, "two"))
    (page,) = pages(room.enter(room.connect(), "red", "bob"))
    assert [e.id for e in page.entries if e.kind == p.SAY] == sent
    assert sent[0] < sent[1]


def test_history_keeps_notices_of_joins_leaves_and_renames(room):
    ann, bob = room.connect(), room.connect()
    room.enter(ann, "red", "ann")
    room.enter(bob, "red", "bob")
    room.say(bob, "/nick rob")
    room.say(bob, "/leave")
    cy = room.connect()
    assert pages(room.enter(cy, "red", "cy")) == []  # a join replays what was said only
    (page,) = pages(room.say(cy, "/history 10"))
    assert texts(page, p.NOTICE)[-4:] == ["bob joined", "bob is now rob", "rob left", "cy joined"]


def test_history_rooms_are_apart_and_names_are_caseless(room):
    ann, bob = room.connect(), room.connect()
    room.enter(ann, "red", "ann")
    room.enter(bob, "blue", "bob")
    room.say(ann, "in red")
    room.say(bob, "in blue")
    room.say(ann, "/leave")
    room.say(bob, "/leave")  # both rooms are gone; their history is not
    (page,) = pages(room.enter(room.connect(), "RED", "cy"))
    assert texts(page) == ["in red"] and page.room == "RED"


def test_history_pages_back_to_the_beginning_without_gaps_or_repeats(room):
    ann, bob = room.connect(), room.connect()
    room.enter(ann, "red", "ann")
    said = [chat_ids(room.say(ann, f"m{i}"))[0] for i in range(23)]
    (page,) = pages(room.enter(bob, "red", "bob"))
    seen = [e.id for e in page.entries if e.kind == p.SAY]
    while True:
        (older,) = pages(room.say(bob, "/history 4"))
        assert older.why == p.PAGE
        if not older.entries:
            assert "nothing older" in older.text
            break
        seen = [e.id for e in older.entries if e.kind == p.SAY] + seen
    assert seen == said


def test_history_page_before_a_given_id(room):
    ann = room.connect()
    room.enter(ann, "red", "ann")
    ids = [chat_ids(room.say(ann, f"m{i}"))[0] for i in range(10)]
    (page,) = pages(room.say(ann, f"/history 3 {ids[6]}"))
    assert [e.id for e in page.entries] == ids[3:6] and page.older == 1


@pytest.mark.parametrize("args", ["0", "-1", "x", "1e3", str(MAX_PAGE + 1), "9" * 40, "²",
                                  "3 notanid", "3 -5"])
def test_history_bad_counts_get_a_sentence(room, args):
    ann = room.connect()
    room.enter(ann, "red", "ann")
    (answer,) = room.say(ann, f"/history {args}")
    assert isinstance(answer, p.Reply) and answer.code == 1 and "usage: /history" in answer.text


def test_history_in_the_lobby_gets_a_sentence(room):
    for line in ("/history", "/missed 3"):
        (answer,) = room.say(room.connect(), line)
        assert answer.code == 1 and "lobby" in answer.text


def test_history_missed_returns_exactly_what_came_after(room):
    ann, bob = room.connect(), room.connect()
    room.enter(ann, "red", "ann")
    room.enter(bob, "red", "bob")
    last_seen = chat_ids(room.say(bob, "before the drop"))[0]
    missed = [chat_ids(room.say(ann, f"while away {i}"))[0] for i in range(4)]
    (page,) = pages(room.say(bob, f"/missed {last_seen}"))
    assert page.why == p.CAUGHT_UP and page.older == 0
    assert [e.id for e in page.entries if e.kind == p.SAY] == missed


def test_history_missed_more_than_a_page_sends_the_newest_and_counts_the_rest(room):
    ann = room.connect()
    room.enter(ann, "red", "ann")
    last_seen = chat_ids(room.say(ann, "start"))[0]
    for i in range(MAX_PAGE + 30):
        room.say(ann, f"m{i}")
    (page,) = pages(room.say(ann, f"/missed {last_seen}"))
    assert len(page.entries) == MAX_PAGE and page.entries[-1].text == f"m{MAX_PAGE + 29}"
    assert page.older == 30 and "30 earlier" in page.text


@pytest.mark.parametrize("args", ["", "x", "-1", "1.5"])
def test_history_missed_bad_ids_get_a_sentence(room, args):
    ann = room.connect()
    room.enter(ann, "red", "ann")
    (answer,) = room.say(ann, f"/missed {args}".rstrip())
    assert answer.code == 1 and "usage: /missed" in answer.text


def test_history_missed_an_id_from_the_future_gets_a_sentence(room):
    ann = room.connect()
    room.enter(ann, "red", "ann")
    (answer,) = room.say(ann, "/missed 99999")
    assert answer.code == 1 and "no message 99999" in answer.text


class FailingStore(MemoryStore):
    """A store whose flush fails while `broken` (the SQLite failures are tested for real
    in test_sqlite_store.py; here only what the state makes of one)."""
    broken = False

    def flush(self) -> bool:
        self.problem = "the history database /x.db is read-only" if self.broken else None
        return not self.broken


def test_history_a_failing_store_is_told_once_and_its_recovery_too():
    store = FailingStore()
    room = Room(store)
    ann = room.connect()
    room.enter(ann, "red", "ann")
    store.broken = True
    out = Outbox()
    room.state.handle(ann, "hello", out)
    news = room.state.commit()
    assert news is not None
    (msg,) = [m for _, m in room.state.deliveries(news)]
    assert isinstance(msg, p.Info) and "not being kept" in msg.text
    room.state.handle(ann, "again", Outbox())
    assert room.state.commit() is None  # said once, not at every line
    store.broken = False
    room.state.handle(ann, "fine now", Outbox())
    news = room.state.commit()
    (msg,) = [m for _, m in room.state.deliveries(news)]
    assert "kept again" in msg.text
    assert room.state.commit() is None


def test_history_missed_leaves_out_my_own_comings_and_goings(room):
    ann, bob = room.connect(), room.connect()
    room.enter(ann, "red", "ann")
    room.enter(bob, "red", "bob")
    last_seen = chat_ids(room.say(ann, "seen by bob"))[0]
    room.say(bob, "/leave")
    room.say(ann, "while bob was away")
    room.enter(bob, "red", "bob")
    (page,) = pages(room.say(bob, f"/missed {last_seen}"))
    assert [e.text for e in page.entries] == ["while bob was away"]
