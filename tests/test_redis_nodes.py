"""Real server.py processes with --redis, against a real redis-server
(tests/redis_harness.py): what one node keeps, another (or the next) finds.
"""
from __future__ import annotations

from pathlib import Path

from chat import protocol as p
from chat.server.redis_client import RedisClient
from chat.server.resp import ReplyError
from conftest import Peer
from redis_harness import redis_server  # noqa: F401 (a fixture)


def joined(address, room: str, nick: str) -> Peer:
    peer = Peer(address)
    assert isinstance(peer.next(), p.Hello)
    peer.session = peer.next()
    peer.enter(room, nick)
    return peer


def test_redis_history_outlives_the_server_process(spawn, redis_server):
    first = spawn.server("--redis", redis_server.url)
    ann = joined(first.address, "lounge", "ann")
    ann.say("kept in Redis")
    ann.close()
    first.stop()
    second = spawn.server("--redis", redis_server.url)
    bob = Peer(second.address)
    bob.send("/join lounge")
    assert bob.expect(p.Past).text == "kept in Redis"
    bob.close()


def test_redis_server_without_redis_says_so_and_exits(spawn):
    from redis_harness import free_port
    child = spawn.process("server.py", "--port", "0", "--redis", f"redis://127.0.0.1:{free_port()}/0")
    assert child.wait() == 1
    assert "start redis-server there, or leave out --redis" in child.stderr.expect("cannot start")


def two_nodes(spawn, redis, *extra: str):
    return [spawn.server("--redis", redis.url, *extra) for _ in range(2)]


def chat_in(peer: Peer, count: int) -> list[tuple[int, str, str]]:
    """The next `count` chat messages the peer sees, as (id, nick, text)."""
    got = []
    while len(got) < count:
        msg = peer.expect(p.Chat)
        got.append((msg.id, msg.nick, msg.text))
    return got


def test_redis_nodes_every_member_sees_one_order(spawn, redis_server):
    a, b = two_nodes(spawn, redis_server)
    members = [joined(a.address, "lounge", "ann"), joined(b.address, "lounge", "bob"),
               joined(a.address, "lounge", "cid"), joined(b.address, "lounge", "dee")]
    members[0].expect(lambda m: isinstance(m, p.Joined) and m.nick == "dee")
    for i in range(15):  # all four talk at once, from both nodes
        for peer in members:
            peer.send(f"{peer.session.token[:4]} {i}")
    seen = [chat_in(peer, 60) for peer in members]
    assert seen[1] == seen[0] and seen[2] == seen[0] and seen[3] == seen[0]
    ids = [entry[0] for entry in seen[0]]
    assert ids == sorted(set(ids))  # numbered in the order shown, none twice
    for peer in members:  # each sender's own lines in the order it sent them
        mine = [text for _, _, text in seen[0] if text.startswith(peer.session.token[:4])]
        assert mine == [f"{peer.session.token[:4]} {i}" for i in range(15)]


def test_redis_nodes_history_agrees_with_what_was_shown(spawn, redis_server):
    a, b = two_nodes(spawn, redis_server)
    ann, bob = joined(a.address, "lounge", "ann"), joined(b.address, "lounge", "bob")
    ann.expect(lambda m: isinstance(m, p.Joined) and m.nick == "bob")
    for i in range(5):
        ann.send(f"a{i}")
        bob.send(f"b{i}")
    shown = chat_in(ann, 10)
    cid = Peer(b.address)
    cid.send("/join lounge")
    replay = [cid.expect(p.Past) for _ in range(10)]
    assert [(e.id, e.nick, e.text) for e in replay] == shown


def test_redis_nodes_a_nick_is_one_persons_across_nodes(spawn, redis_server):
    a, b = two_nodes(spawn, redis_server)
    ann = joined(a.address, "lounge", "ann")
    other = Peer(b.address)
    other.send("/join lounge")
    other.expect(p.Members)
    other.send("/nick ANN")
    reply = other.expect(p.Reply)
    assert reply.code == 2 and "taken in lounge (on another server)" in reply.text
    other.send("/who")
    members = other.expect(p.Members)
    assert [other.next().nick for _ in range(members.count)] == ["ann"]
    ann.send("/nick anna")  # let go of it: now it is free on the other node
    ann.expect(p.Renamed)
    other.send("/nick ann")
    assert other.expect(p.Reply).code == 0
    ann.expect(lambda m: isinstance(m, p.Joined) and m.nick == "ann")


def test_redis_nodes_a_killed_nodes_users_leave_within_ten_seconds(spawn, redis_server):
    import time
    a, b = two_nodes(spawn, redis_server)
    joined(a.address, "lounge", "ann")
    bob = joined(b.address, "lounge", "bob")
    a.popen.kill()
    killed = time.monotonic()
    left = bob.expect(lambda m: isinstance(m, p.Left) and m.nick == "ann", timeout=15)
    assert time.monotonic() - killed < 10.5
    assert "their server stopped answering" in left.reason
    bob.send("/nick ann")  # ann's nick is free again
    assert bob.expect(p.Reply).code == 0


def test_redis_restarted_pauses_chat_then_nothing_is_lost_or_shown_twice(spawn, redis_server):
    a, b = two_nodes(spawn, redis_server)
    ann, bob = joined(a.address, "lounge", "ann"), joined(b.address, "lounge", "bob")
    ann.expect(lambda m: isinstance(m, p.Joined) and m.nick == "bob")
    ann.say("before")
    bob.expect(lambda m: isinstance(m, p.Chat) and m.text == "before")
    redis_server.stop()
    for peer in (ann, bob):
        assert "reconnecting to the message bus" in peer.expect(p.Info).text
    ann.send("while it was away")
    bob.send("me too")
    redis_server.start()
    for peer in (ann, bob):
        assert "the message bus is back" in peer.expect(p.Info).text
        got = {text for _, _, text in chat_in(peer, 2)}
        assert got == {"while it was away", "me too"}
    bob.say("after")
    ann.expect(lambda m: isinstance(m, p.Chat) and m.text == "after")
    for peer in (ann, bob):
        texts = [m.text for m in peer.seen if isinstance(m, p.Chat)]
        assert sorted(texts) == sorted(set(texts))  # none twice
        assert texts[-1] == "after"


def test_redis_nodes_option_starts_them_on_one_port(spawn, redis_server):
    server = spawn.server("--redis", redis_server.url, "--nodes", "3")
    children = Path(f"/proc/{server.popen.pid}/task/{server.popen.pid}/children").read_text().split()
    assert len(children) == 2
    peers = [joined(server.address, "lounge", f"n{i}") for i in range(12)]
    peers[0].expect(lambda m: isinstance(m, p.Joined) and m.nick == "n11")
    peers[-1].say("to all")
    for peer in peers[:-1]:
        peer.expect(lambda m: isinstance(m, p.Chat) and m.text == "to all")
    redis = RedisClient(redis_server.url)
    assert len(redis.call(b"SMEMBERS", "parlor:nodes")) == 3
    assert len(redis.call(b"KEYS", "parlor:claims:*")) >= 2  # the kernel spread them
    server.popen.terminate()
    assert server.wait() == 0
    for child in children:
        assert not Path(f"/proc/{child}").exists() or \
            Path(f"/proc/{child}/stat").read_text().split()[2] == "Z"


def test_redis_nodes_never_fail_on_what_they_find_in_redis(spawn, redis_server):
    a, b = two_nodes(spawn, redis_server)
    ann, bob = joined(a.address, "lounge", "ann"), joined(b.address, "lounge", "bob")
    ann.expect(lambda m: isinstance(m, p.Joined) and m.nick == "bob")
    redis = RedisClient(redis_server.url)
    for fields in (["junk", "1"], ["line", "INFO from elsewhere", "to", "x y,z"],
                   ["to", "no line"], ["line", "INFO odd", "to", "nobody 1,2"]):
        assert not isinstance(redis.call(b"XADD", "parlor:bus:lounge", "*", *fields), ReplyError)
    redis.call(b"ZADD", "parlor:room:lounge", 1, "not json", 2, '["a", 1]', 3, "[1,2,3,4,5,6,7,8]")
    bob.send("/history 20")
    page = bob.expect(p.HistoryStart)  # a page, of the entries that are entries
    assert [bob.next().text for _ in range(page.count)] == ["ann joined", "bob joined"]
    ann.say("still here")
    assert bob.expect(p.Chat).text == "still here"
    assert a.popen.poll() is None and b.popen.poll() is None


def test_redis_node_restarted_under_its_name_keeps_its_users_and_their_nicks(spawn, redis_server):
    a = spawn.server("--redis", redis_server.url, "--node", "A")
    b = spawn.server("--redis", redis_server.url)
    token = joined(a.address, "lounge", "ann").session.token
    a.popen.kill()
    a.wait()
    again = spawn.server("--redis", redis_server.url, "--node", "A")
    ann = Peer(again.address)
    ann.expect(p.SessionToken)
    ann.send(f"/resume {token}")
    reply = ann.expect(p.Reply)
    assert reply.code == 0 and "you are ann in lounge" in reply.text
    other = Peer(b.address)
    other.send("/join lounge")
    other.expect(p.Members)
    other.send("/nick ann")
    assert other.expect(p.Reply).code == 2  # still hers


def test_redis_node_back_after_its_users_nick_was_taken_does_not_restore_it(spawn, redis_server):
    a = spawn.server("--redis", redis_server.url, "--node", "A")
    b = spawn.server("--redis", redis_server.url)
    token = joined(a.address, "lounge", "ann").session.token
    bob = joined(b.address, "lounge", "bob")
    a.popen.kill()
    bob.expect(lambda m: isinstance(m, p.Left) and m.nick == "ann", timeout=15)
    bob.send("/nick ann")  # free now: bob takes it
    assert bob.expect(p.Reply).code == 0
    again = spawn.server("--redis", redis_server.url, "--node", "A")
    ann = Peer(again.address)
    ann.expect(p.SessionToken)
    ann.send(f"/resume {token}")
    assert ann.expect(p.Reply).code == 1  # her kept session is over: the nick is bob's
    bob.send("/who")
    members = bob.expect(p.Members)
    assert [bob.next().nick for _ in range(members.count)] == ["ann"]  # bob, once


def test_redis_nodes_list_and_who_see_the_rooms_of_every_node(spawn, redis_server):
    a, b = two_nodes(spawn, redis_server)
    joined(a.address, "lounge", "ann"), joined(a.address, "attic", "cid")
    bob = joined(b.address, "lounge", "bob")
    bob.send("/list")
    rooms = bob.expect(p.RoomCount)
    listed = [bob.next() for _ in range(rooms.count)]
    assert [(m.room, m.members) for m in listed] == [("attic", 1), ("lounge", 2)]
    bob.send("/who attic")  # nobody of it on bob's node
    members = bob.expect(p.Members)
    assert [bob.next().nick for _ in range(members.count)] == ["cid"]


def test_redis_a_room_joined_while_redis_was_away_shows_what_comes_after_not_its_past(
        spawn, redis_server):
    a, b = two_nodes(spawn, redis_server)
    ann = joined(a.address, "attic", "ann")
    for i in range(3):
        ann.say(f"old {i}")
    redis_server.stop()
    bob = Peer(b.address)
    bob.send("/join attic")  # node B starts reading attic while Redis is away
    bob.expect(p.Members)
    ann.expect(lambda m: isinstance(m, p.Info) and m.text.startswith("chat is paused"))
    redis_server.start()
    ann.expect(lambda m: isinstance(m, p.Info) and m.text.startswith("the message bus is back"))
    bob.expect(lambda m: isinstance(m, p.Info) and m.text.startswith("the message bus is back"))
    ann.say("new")
    assert bob.expect(p.Chat).text == "new"  # not "old 0"


def test_redis_nodes_a_private_message_reaches_only_its_two_ends_across_nodes(spawn, redis_server):
    a, b = two_nodes(spawn, redis_server)
    ann, cid = joined(a.address, "lounge", "ann"), joined(a.address, "lounge", "cid")
    bob, dee = joined(b.address, "lounge", "bob"), joined(b.address, "lounge", "dee")
    ann.expect(lambda m: isinstance(m, p.Joined) and m.nick == "dee")
    ann.send("before")
    ann.send("/msg bob psst")  # bob is on the other node
    ann.send("after")
    for peer in (ann, bob):  # the two ends: in the room's one order
        said = peer.lines_until(lambda m: isinstance(m, p.Chat) and m.text == "after")
        got = [(m.nick, m.text) for m in said if isinstance(m, (p.Chat, p.Private))]
        assert got[-3:] == [("ann", "before"), ("ann", "psst"), ("ann", "after")]
        assert next(m for m in said if isinstance(m, p.Private)).to == "bob"
    for peer in (cid, dee):  # nobody else, on either node
        said = peer.lines_until(lambda m: isinstance(m, p.Chat) and m.text == "after")
        assert not any(isinstance(m, p.Private) for m in said)
    bob.send("/r back at you")  # /r answers across nodes too
    for peer in (bob, ann):
        back = peer.expect(p.Private)
        assert (back.nick, back.to, back.text) == ("bob", "ann", "back at you")
    dee.send("/msg ann hi")  # from the other side, with /msg
    assert ann.expect(p.Private).text == "hi"
    bob.send("/msg nobody hi")  # nobody of that nick on any node
    assert "there is no nobody in lounge" in bob.expect(p.Reply).text
    ann.send("/leave")
    ann.expect(lambda m: isinstance(m, p.Reply) or isinstance(m, p.Left))
    bob.expect(lambda m: isinstance(m, p.Left) and m.nick == "ann")
    bob.send("/r still there?")  # ann left: her nick is no longer hers there
    assert "no longer here" in bob.expect(p.Reply).text


def test_redis_nodes_topic_and_joins_on_any_node_show_the_current_topic(spawn, redis_server):
    a, b = two_nodes(spawn, redis_server)
    ann, bob = joined(a.address, "lounge", "ann"), joined(b.address, "lounge", "bob")
    ann.expect(lambda m: isinstance(m, p.Joined) and m.nick == "bob")
    ann.send("/topic quiz at nine")
    assert bob.expect(p.RoomTopic).text == "quiz at nine"  # told as it changes
    bob.send("/topic")  # asked on the other node: the topic now, not what it began with
    asked = bob.expect(lambda m: isinstance(m, (p.RoomTopic, p.Reply)))
    assert isinstance(asked, p.RoomTopic) and (asked.nick, asked.text) == ("ann", "quiz at nine")
    cid = Peer(b.address)
    cid.send("/join lounge")  # a join on the other node shows it too
    assert cid.expect(p.RoomTopic).text == "quiz at nine"
    cid.send("/list")
    assert cid.expect(p.RoomEntry).text == "quiz at nine"
    bob.send("/topic quiz at ten")  # set over there, seen here
    assert ann.expect(lambda m: isinstance(m, p.RoomTopic) and m.why == p.TOPIC_CHANGED
                      and m.nick == "bob").text == "quiz at ten"
    ann.send("/topic")
    assert ann.expect(lambda m: isinstance(m, (p.RoomTopic, p.Reply))).text == "quiz at ten"
    ann.send("/topic -delete")  # removed here: gone over there
    bob.expect(lambda m: isinstance(m, p.RoomTopic) and m.nick == "ann" and not m.text)
    cid.close()
    dee = Peer(b.address)
    dee.send("/join lounge")
    dee.expect(p.Members)
    dee.send("/topic")
    assert "there is no topic in lounge" in dee.expect(p.Reply).text
    dee.close()


def test_redis_nodes_a_private_message_reaches_a_logged_in_user_in_another_room_elsewhere(
        spawn, redis_server):
    a, b = two_nodes(spawn, redis_server)
    ann = joined(a.address, "lounge", "ann")  # a guest
    bob, dee = joined(b.address, "den", "bob"), joined(b.address, "den", "dee")
    bob.send("/register a long enough password")  # (after node A read the accounts)
    assert bob.expect(lambda m: isinstance(m, p.Reply) and m.command == "register").code == 0
    ann.send("/msg bob psst")  # bob is in another room, on the other node
    got = bob.expect(p.Private)
    assert (got.room, got.nick, got.to, got.text) == ("lounge", "ann", "bob", "psst")
    assert ann.expect(p.Private).text == "psst"  # (her own copy)
    bob.send("/r back at you")  # /r answers her, in her room, on her node
    back = ann.expect(p.Private)
    assert (back.nick, back.to, back.text) == ("bob", "ann", "back at you")
    dee.send("/msg nobody hi")  # (a line after them: dee saw neither)
    said = dee.lines_until(lambda m: isinstance(m, p.Reply) and m.command == "msg")
    assert not any(isinstance(m, p.Private) for m in said)
    ann.send("/msg dee hi")  # dee is no logged-in user: only in your room
    assert "there is no dee in lounge" in ann.expect(p.Reply).text


def test_redis_nodes_a_session_resumes_on_another_node_once_its_node_is_gone(spawn, redis_server):
    a, b = two_nodes(spawn, redis_server)
    ann, bob = joined(a.address, "lounge", "ann"), joined(b.address, "lounge", "bob")
    ann.expect(lambda m: isinstance(m, p.Joined) and m.nick == "bob")
    token = ann.session.token
    ann.send("/game tictactoe bob")  # run by node A
    bob.expect(lambda m: isinstance(m, p.GameNote) and "challenges bob" in m.text)
    bob.send("/accept")
    ann.expect(lambda m: isinstance(m, p.Turn) and m.nick == "ann")
    ann.close()  # dropped: node A keeps her session, and her seat, for /resume
    bob.expect(lambda m: isinstance(m, p.Left) and m.nick == "ann")
    again = Peer(b.address)  # her client comes back through the balancer: to node B
    again.send(f"/resume {token}")
    refused = again.expect(p.Reply)  # A is up and keeps it: it is hers there
    assert refused.code == 1 and "another server of this chat, which is still up" in refused.text
    a.popen.terminate()  # A stops (a restart, say): her session is node B's to take back
    a.popen.wait()
    again.send(f"/resume {token}")
    back = again.expect(p.Reply)
    assert (back.code, back.text) == (0, "welcome back: you are ann in lounge")
    assert again.expect(p.Here).nick == "ann"
    assert bob.expect(lambda m: isinstance(m, p.Joined) and m.nick == "ann").text == p.BACK
    assert bob.expect(p.GameOver).text == "ann forfeited: bob wins"  # (it ended with A)
    again.send("here again")
    assert bob.expect(p.Chat).text == "here again"
    bob.send("/who")  # once, on node B now, whatever A's reaper does
    members = bob.expect(p.Members)
    assert sorted(bob.next().nick for _ in range(members.count)) == ["ann", "bob"]


def test_redis_nodes_an_account_registered_on_one_node_is_known_on_the_other(spawn, redis_server):
    """Accounts live in Redis: one registered on node B after node A started protects
    its nick on A and logs in there."""
    a, b = two_nodes(spawn, redis_server)
    bob = joined(b.address, "den", "bob")
    bob.send("/register a long enough password")
    assert bob.expect(lambda m: isinstance(m, p.Reply) and m.command == "register").code == 0
    bob.send("/nick robert")  # (bob, the nick, is free for a moment: the account keeps it)
    assert bob.expect(lambda m: isinstance(m, p.Reply) and m.command == "nick").code == 0
    eve = joined(a.address, "lounge", "eve")
    eve.send("/nick bob")
    refused = eve.expect(lambda m: isinstance(m, p.Reply) and m.command == "nick")
    assert refused.code != 0 and "registered" in refused.text
    ann = joined(a.address, "lounge", "ann")
    ann.send("/login bob a long enough password")
    assert ann.expect(lambda m: isinstance(m, p.Reply) and m.command == "login").code == 0
    ann.close()
