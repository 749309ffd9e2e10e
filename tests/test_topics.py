"""Room topics: the state alone (pure), then a real server over loopback, then the
real server.py with a real --db file across a restart."""
from __future__ import annotations

import pytest

from chat import protocol as p
from chat.server.memory_store import MemoryStore
from chat.server.state import ChatState
from chat.server.topics import MAX_KEPT, TABLE, Kept, Topics
from conftest import Peer, make_room
from test_state import NOW, Chat, inbox, of, reply

STAMP = int((NOW + 0.0004) * 1000) / 1000  # the Chat helper's clock, to the millisecond


def topic_lines(out, sid: int) -> list[p.RoomTopic]:
    return of(out, sid, p.RoomTopic)


# ------------------------------------------------------------------ the state alone
def test_topics_set_is_announced_to_the_room_and_shown_on_asking():
    chat = Chat()
    ann, bob = chat.connect(), chat.connect()
    chat.enter(ann, "red", "ann")
    chat.enter(bob, "red", "bob")
    out = chat.say(ann, "/topic  ship   it\tfriday ")
    changed = p.RoomTopic("red", "ann", STAMP, p.TOPIC_CHANGED, "ship it friday")
    assert topic_lines(out, ann) == [changed] and topic_lines(out, bob) == [changed]
    assert of(out, ann, p.Reply) == []  # the TOPIC line is the answer
    asked = chat.say(bob, "/topic")
    assert inbox(asked, bob) == [p.RoomTopic("red", "ann", STAMP, p.TOPIC_ASKED,
                                             "ship it friday")]
    assert inbox(asked, ann) == []


def test_topics_are_shown_on_join_after_the_history_and_before_the_reply():
    chat = Chat()
    ann, bob = chat.connect(), chat.connect()
    chat.enter(ann, "red", "ann")
    chat.say(ann, "hello")
    chat.say(ann, "/topic the plan")
    out = chat.say(bob, "/join red")
    kinds = [type(m) for m in inbox(out, bob)]
    assert kinds[:4] == [p.Here, p.HistoryPage, p.RoomTopic, p.Reply]
    (line,) = topic_lines(out, bob)
    assert (line.why, line.nick, line.text) == (p.TOPIC_ON_JOIN, "ann", "the plan")


def test_topics_none_is_a_sentence_and_nothing_on_join():
    chat = Chat()
    ann = chat.connect()
    out = chat.say(ann, "/join red")
    assert topic_lines(out, ann) == []
    r = reply(chat.say(ann, "/topic"), ann)
    assert r.code == 0 and r.text == "there is no topic in red; /topic TEXT sets one"


@pytest.mark.parametrize("line, words", [
    ("/topic " + "x" * (p.MAX_TOPIC + 1), f"at most {p.MAX_TOPIC} characters"),
    ("/topic -clear", "no option '-clear'"),
])
def test_topics_bad_text_is_a_sentence_with_the_usage(line, words):
    chat = Chat()
    ann = chat.connect()
    chat.enter(ann, "red", "ann")
    out = chat.say(ann, line)
    r = reply(out, ann)
    assert r.code == 1 and words in r.text and "usage: /topic TEXT sets it" in r.text
    assert topic_lines(out, ann) == [] and chat.state.topics.of("red") is None


def test_topics_longest_is_taken_whole():
    chat = Chat()
    ann = chat.connect()
    chat.enter(ann, "red", "ann")
    (line,) = topic_lines(chat.say(ann, "/topic " + "\U0001F600" * p.MAX_TOPIC), ann)
    assert len(line.text) == p.MAX_TOPIC


def test_topics_are_sanitised():
    chat = Chat()
    ann = chat.connect()
    chat.enter(ann, "red", "ann")
    (line,) = topic_lines(chat.say(ann, "/topic \x1b[2Jboo \u202egnirts"), ann)
    assert line.text == "^[[2Jboo <U+202E>gnirts"


@pytest.mark.parametrize("where, words", [("lobby", "you are in the lobby"),
                                          ("no nick", "pick a nick before")])
def test_topics_setting_needs_a_room_and_a_nick(where, words):
    chat = Chat()
    ann = chat.connect()
    if where == "no nick":
        chat.say(ann, "/join red")
    r = reply(chat.say(ann, "/topic hello"), ann)
    assert r.code == 1 and words in r.text


def test_topics_delete_removes_it_and_tells_the_room():
    chat = Chat()
    ann, bob = chat.connect(), chat.connect()
    chat.enter(ann, "red", "ann")
    chat.enter(bob, "red", "bob")
    chat.say(ann, "/topic the plan")
    out = chat.say(bob, "/topic -delete")
    assert topic_lines(out, ann) == [p.RoomTopic("red", "bob", STAMP, p.TOPIC_CHANGED, "")]
    assert chat.state.topics.of("red") is None
    assert reply(chat.say(bob, "/topic -delete"), bob).text == "there is no topic to remove in red"


def test_topics_the_same_again_is_not_news():
    chat = Chat()
    ann, bob = chat.connect(), chat.connect()
    chat.enter(ann, "red", "ann")
    chat.enter(bob, "red", "bob")
    chat.say(ann, "/topic the plan")
    out = chat.say(ann, "/topic the plan")
    assert topic_lines(out, bob) == [] and "already" in reply(out, ann).text


def test_topics_an_emptied_room_keeps_its_topic_for_when_it_is_made_again():
    chat = Chat()
    ann, bob = chat.connect(), chat.connect()
    chat.enter(ann, "Red", "ann")
    chat.say(ann, "/topic the plan")
    chat.say(ann, "/leave")
    assert "red" not in chat.state.rooms
    out = chat.say(bob, "/join RED")
    (line,) = topic_lines(out, bob)
    assert (line.room, line.text) == ("RED", "the plan")  # under the name it has now


def test_topics_beside_each_room_in_list():
    chat = Chat()
    ann, bob = chat.connect(), chat.connect()
    chat.enter(ann, "red", "ann")
    chat.enter(bob, "blue", "bob")
    chat.say(ann, "/topic the plan")
    (listing,) = of(chat.say(bob, "/list"), bob, p.RoomList)
    assert listing.rooms == (("blue", 1), ("red", 1)) and listing.topics == ("", "the plan")


def test_topics_a_change_is_kept_in_the_rooms_history():
    chat = Chat()
    ann = chat.connect()
    chat.enter(ann, "red", "ann")
    chat.say(ann, "/topic the plan")
    texts = [e.text for e in chat.state.history.store.recent("red", 10)]
    assert texts[-1] == "ann set the topic: the plan"


def test_topics_are_read_back_from_the_store():
    store = MemoryStore()
    first = ChatState(store=store, clock=lambda: NOW)
    first.topics.set("red", Kept("Red", "the plan", "ann", NOW), live=lambda k: False)
    again = ChatState(store=store, clock=lambda: NOW)
    assert again.topics.of("red") == Kept("Red", "the plan", "ann", NOW)
    again.topics.delete("red")
    assert store.items(TABLE) == {}


def test_topics_past_the_most_kept_the_oldest_idle_one_goes():
    store = MemoryStore()
    topics = Topics(store)
    for i in range(MAX_KEPT):
        topics.set(f"r{i}", Kept(f"r{i}", "t", "ann", float(i)), live=lambda k: k == "r0")
    topics.set("new", Kept("new", "t", "ann", 1e9), live=lambda k: k == "r0")
    assert len(topics) == MAX_KEPT and len(store.items(TABLE)) == MAX_KEPT
    assert topics.of("r0") is not None and topics.of("r1") is None  # r0 is in use


# ------------------------------------------------------------------ over real sockets
def test_topics_server_set_announce_ask_and_list(start_server, connect):
    server = start_server()
    ann, bob = make_room(connect, server, "general", "ann", "bob")
    ann.send("/topic  release  on friday ")
    for peer in (ann, bob):
        line = peer.expect(p.RoomTopic)
        assert (line.room, line.nick, line.why, line.text) == \
            ("general", "ann", p.TOPIC_CHANGED, "release on friday")
    bob.send("/topic")
    assert bob.expect(p.RoomTopic).why == p.TOPIC_ASKED
    carol = connect(server)
    carol.send("/list")
    carol.expect(p.RoomCount)
    assert carol.next() == p.RoomEntry("general", 2, "release on friday")
    carol.send("/join general")
    got = carol.lines_until(p.Members)
    assert [m.text for m in got if isinstance(m, p.RoomTopic)] == ["release on friday"]
    ann.send("/topic " + "y" * 201)
    r = ann.expect(p.Reply)
    assert r.code == 1 and "at most 200 characters" in r.text


def test_topics_survive_a_restart_of_server_py_with_its_db(spawn, tmp_path):
    db = str(tmp_path / "topics.db")
    first = spawn.server("--db", db)
    ann = Peer(first.address)
    ann.expect(p.SessionToken)
    ann.enter("general", "ann")
    ann.send("/topic kept across restarts")
    set_line = ann.expect(p.RoomTopic)
    ann.close()
    first.popen.terminate()
    assert first.wait() == 0
    again = spawn.server("--db", db)
    bob = Peer(again.address)
    bob.expect(p.SessionToken)
    bob.send("/join general")
    got = bob.lines_until(p.Members)
    (line,) = [m for m in got if isinstance(m, p.RoomTopic)]
    assert (line.nick, line.time, line.text) == ("ann", set_line.time, "kept across restarts")
    bob.close()


class SharedTables(MemoryStore):
    """A store other servers write too (as Redis is to several): `fresh` reads what
    they wrote, which this server's cache has not seen; None: cannot be read now."""

    def __init__(self) -> None:
        super().__init__()
        self.elsewhere: dict[str, str | None] = {}
        self.down = False

    def fresh(self, table, keys):
        if self.down:
            return None
        return {k: self.elsewhere.get(k, self.items(table).get(k)) for k in keys}


def test_topics_set_or_removed_by_another_server_are_what_is_shown_here():
    store = SharedTables()
    topics = Topics(store)
    assert topics.of("red") is None
    store.elsewhere["red"] = '{"room": "Red", "text": "quiz", "by": "bob", "at": 5.0}'
    assert topics.line("red", "red", p.TOPIC_ASKED) == p.RoomTopic("red", "bob", 5.0,
                                                                   p.TOPIC_ASKED, "quiz")
    assert topics.texts(["blue", "red"]) == ("", "quiz")
    store.down = True  # cannot read now: what it last read stands
    assert topics.text_of("red") == "quiz"
    store.down = False
    store.elsewhere["red"] = None  # removed over there
    assert topics.of("red") is None and topics.texts(["red"]) == ("",)
    store.elsewhere["red"] = '{"room": 7}'  # not a topic: none, and no crash
    assert topics.of("red") is None
