"""Private messages, /me and away over real loopback sockets: the in-process server
for the commands, refusals and limits, the real server.py with a real --db file for
privacy across a restart.
"""
from __future__ import annotations

from chat import protocol as p
from chat.server.limits import Limits
from conftest import Peer, make_room


def private_entries(got) -> list[tuple[str, str, str]]:
    return [(m.nick, m.to, m.text) for m in got if isinstance(m, p.Past) and m.kind == p.PRIVATE]


def history(peer: Peer) -> list:
    """/history 200 and everything up to the end of its block."""
    peer.send("/history 200")
    head = peer.expect(p.HistoryStart)
    return [peer.next() for _ in range(head.count)]


def test_direct_server_a_private_message_reaches_the_two_ends_only(start_server, connect):
    server = start_server()
    ann, bob, cy = make_room(connect, server, "red", "ann", "bob", "cy")
    ann.send("/msg bob psst")
    sent = ann.expect(p.Private)
    assert bob.expect(p.Private) == sent
    assert (sent.room, sent.nick, sent.to, sent.text) == ("red", "ann", "bob", "psst")
    ann.say("after it")
    got = cy.lines_until(lambda m: isinstance(m, p.Chat) and m.text == "after it")
    assert not any(isinstance(m, p.Private) for m in got)
    bob.send("/r back to you")
    assert ann.expect(p.Private).text == "back to you"
    assert private_entries(history(cy)) == []
    assert private_entries(history(bob)) == [("ann", "bob", "psst"), ("bob", "ann", "back to you")]


def test_direct_server_refusals_are_replies_to_the_sender(start_server, connect):
    server = start_server()
    ann, bob = make_room(connect, server, "red", "ann", "bob")
    for line, says in (("/msg", "usage: /msg NICK TEXT"), ("/msg dan hi", "there is no dan"),
                       ("/w bob", "usage: /msg NICK TEXT"), ("/me", "usage: /me TEXT"),
                       ("/back now", "/back takes nothing"), ("/r hi", "nobody has sent you")):
        ann.send(line)
        reply = ann.expect(p.Reply)
        assert reply.code == 1 and says in reply.text, (line, reply)
    ann.say("done")
    got = bob.lines_until(lambda m: isinstance(m, p.Chat) and m.text == "done")
    assert [type(m) for m in got] == [p.Chat]


def test_direct_server_me_is_an_action_replayed_as_one(start_server, connect):
    server = start_server()
    ann, bob = make_room(connect, server, "red", "ann", "bob")
    ann.send("/me waves")
    action = bob.expect(p.Action)
    assert (action.nick, action.text) == ("ann", "waves")
    cy = connect(server)
    cy.send("/join red")
    got = cy.lines_until(p.Members)
    assert [(m.kind, m.nick, m.text) for m in got if isinstance(m, p.Past)] == [
        (p.ACTION, "ann", "waves")]


def test_direct_server_away_in_who_and_answered_once(start_server, connect):
    server = start_server()
    ann, bob = make_room(connect, server, "red", "ann", "bob")
    bob.send("/away gone fishing")
    assert bob.expect(p.Reply).text.startswith("you are away: gone fishing.")
    ann.send("/who")
    head = ann.expect(p.Members)
    members = [ann.next() for _ in range(head.count)]
    assert [(m.nick, m.text) for m in members] == [("ann", ""), ("bob", "away a moment: gone fishing")]
    ann.send("/msg bob you there?")
    ann.expect(p.Private)
    assert ann.expect(p.Reply).text == "sent, but bob is away (a moment): gone fishing"
    ann.send("/msg bob hello?")
    ann.expect(p.Private)
    ann.say("no second answer")  # (the next line after the message is ann's own chat)
    assert [type(m) for m in ann.seen[-2:]] == [p.Private, p.Chat]
    assert [m.text for m in bob.lines_until(lambda m: isinstance(m, p.Chat))
            if isinstance(m, p.Private)] == ["you there?", "hello?"]


def test_direct_server_private_messages_count_against_the_flood_limit(start_server, connect):
    server = start_server(Limits(max_rate=5, burst=10, max_queue=40))
    ann, bob = make_room(connect, server, "red", "ann", "bob")
    ann.send("".join(f"/msg bob flood {i}\n" for i in range(200)).encode())
    bye = ann.expect(p.Bye)
    assert "flooding" in bye.text
    got = bob.lines_until(lambda m: isinstance(m, p.Left) and m.nick == "ann")
    relayed = [m.text for m in got if isinstance(m, p.Private)]
    assert 5 <= len(relayed) < 200 and relayed == [f"flood {i}" for i in range(len(relayed))]


def test_direct_server_privacy_across_a_drop_a_resume_and_a_new_bob(start_server, connect):
    server = start_server(grace=30)
    ann, bob = make_room(connect, server, "red", "ann", "bob")
    ann.say("seen by all")
    last = bob.expect(lambda m: isinstance(m, p.Chat) and m.text == "seen by all")
    token = bob.session.token
    bob.close(reset=True)
    ann.expect(p.Left)
    ann.send("/msg bob while you were gone")
    ann.expect(p.Private)
    assert "lost the connection" in ann.expect(p.Reply).text
    back = connect(server)
    back.send(f"/resume {token}")
    assert back.expect(p.Reply).code == 0
    back.send(f"/missed {last.id}")
    head = back.expect(p.HistoryStart)
    got = [back.next() for _ in range(head.count)]
    assert private_entries(got) == [("ann", "bob", "while you were gone")]
    back.send("/quit")
    back.expect_closed()
    ann.expect(lambda m: isinstance(m, p.Left) and m.nick == "bob")
    other = connect(server)  # someone else, under the nick now free
    other.send("/nick bob")
    other.send("/join red")
    got = other.lines_until(p.Members)
    assert [m.text for m in got if isinstance(m, p.Past)] == ["seen by all"]
    assert private_entries(history(other)) == []


def test_direct_server_a_restart_keeps_private_messages_to_their_ends(spawn, tmp_path):
    db = str(tmp_path / "history.db")
    first = spawn.server("--db", db)
    ann, bob, cy = Peer(first.address), Peer(first.address), Peer(first.address)
    tokens = {}
    for peer, nick in ((ann, "ann"), (bob, "bob"), (cy, "cy")):
        peer.expect(p.Hello)
        tokens[nick] = peer.expect(p.SessionToken).token
        peer.enter("red", nick)
    ann.send("/msg bob kept in the file")
    bob.expect(p.Private)
    first.stop()
    second = spawn.server("--db", db)
    for nick in ("bob", "cy"):
        peer = Peer(second.address)
        peer.send(f"/resume {tokens[nick]}")
        assert peer.expect(p.Reply).code == 0
        expected = [("ann", "bob", "kept in the file")] if nick == "bob" else []
        assert private_entries(history(peer)) == expected, nick
