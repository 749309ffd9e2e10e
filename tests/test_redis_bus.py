"""The bus (chat.server.redis_bus) without a loop, against a real redis-server: what
its COMMIT script writes, and that a batch whose reply was lost is written once.
"""
from __future__ import annotations

import pytest

from chat import protocol as p
from chat.server.redis_bus import PROVISIONAL, RedisBus, id_slot
from chat.server.redis_client import RedisClient, RedisDownError
from chat.server.redis_store import open_redis_store
from redis_harness import redis_server  # noqa: F401 (a fixture)

T0 = 1_800_000_000.0


def stream(redis, room_key: str) -> list[str]:
    got = RedisClient(redis.url).call(b"XRANGE", f"parlor:bus:{room_key}", "-", "+")
    return [dict(zip(f[::2], f[1::2]))["line"] for _, f in got]


def test_redis_bus_id_slot_points_at_a_provisional_id():
    prov = PROVISIONAL + 7
    text = f"{prov} {prov}"  # (the same digits later in the line are not the id)
    line, at = id_slot(p.Chat(str(prov)[:12], prov, "ann", T0, text))
    assert line.startswith(f"MSG {str(prov)[:12]} {prov} ann ".encode()) and \
        line[at:at + 15] == str(prov).encode() and at == 4 + 12 + 1
    assert id_slot(p.Chat("lounge", 123, "ann", T0, "a final id")) is None
    assert id_slot(p.Joined("lounge", "ann")) is None


def test_redis_bus_commit_numbers_entries_and_writes_their_lines(redis_server):
    bus = RedisBus(redis_server.url, "n1")
    store = open_redis_store(redis_server.url, bus=bus)
    entry = store.add("lounge", "say", "ann", T0, "hello")
    assert entry.id > PROVISIONAL
    assert bus.publish("lounge", p.Chat("lounge", entry.id, "ann", T0, "hello"))
    assert bus.publish("lounge", p.Joined("lounge", "bob"))
    assert not bus.publish((3,), p.Info("a line to one session is not the bus's"))
    assert store.flush()
    final = store.recent("lounge", 10)
    assert [(e.id < PROVISIONAL, e.text) for e in final] == [(True, "hello")]
    assert stream(redis_server, "lounge") == [(  # one entry: the turn's lines to the room
        p.encode(p.Chat("lounge", final[0].id, "ann", T0, "hello")) +
        p.encode(p.Joined("lounge", "bob"))).decode().rstrip("\n")]
    assert store.last_id() == final[0].id


def test_redis_bus_a_batch_whose_reply_was_lost_is_written_once(redis_server, monkeypatch):
    bus = RedisBus(redis_server.url, "n1")
    store = open_redis_store(redis_server.url, bus=bus)
    entry = store.add("lounge", "say", "ann", T0, "once")
    bus.publish("lounge", p.Chat("lounge", entry.id, "ann", T0, "once"))
    real = bus.client.call

    def lost(*args):  # Redis runs it, then the connection drops before the reply
        real(*args)
        raise RedisDownError("Redis at 127.0.0.1 closed the connection")

    monkeypatch.setattr(bus.client, "call", lost)
    assert store.flush() is False
    monkeypatch.setattr(bus.client, "call", real)
    later = store.add("lounge", "say", "ann", T0, "later")
    bus.publish("lounge", p.Chat("lounge", later.id, "ann", T0, "later"))
    store._retry_at = 0.0  # (no waiting out the retry pause in a test)
    assert store.flush()
    assert [e.text for e in store.recent("lounge", 10)] == ["once", "later"]
    assert [line.split(" ", 5)[-1] for line in stream(redis_server, "lounge")] == ["once", "later"]


def test_redis_bus_an_open_challenges_seat_is_one_nicks_across_nodes(redis_server):
    one, two = RedisBus(redis_server.url, "n1"), RedisBus(redis_server.url, "n2")
    assert one.claim_seat("g7", "bob") is None  # taken, in one script: no check-then-set
    assert two.claim_seat("g7", "cid") == "bob"  # the other node is told who has it
    assert one.claim_seat("g7", "bob") is None  # (the owner's node claims it again: still bob's)
    assert two.claim_seat("g8", "cid") is None
    assert one.claim_player("lounge", "bob", "g7") is None  # one duel at a time, everywhere
    assert two.claim_player("lounge", "BOB", "g9") == "g7"
    two.release_player("lounge", "bob", "g9")  # (not the one bob plays: a no-op)
    assert two.claim_player("lounge", "bob", "g9") == "g7"
    one.release_player("lounge", "bob", "g7")
    assert two.claim_player("lounge", "bob", "g9") is None
    ids = {one.game_id(), two.game_id(), one.game_id()}
    assert len(ids) == 3 and all(i.startswith("g") for i in ids)  # no two nodes give one id


def test_redis_bus_a_game_act_goes_to_the_node_that_runs_the_game(redis_server):
    bus = RedisBus(redis_server.url, "n1")
    store = open_redis_store(redis_server.url, bus=bus)
    assert bus.publish(("!", "lounge", "n2", "", "k1", "bob"), "do /move 5")
    assert bus.publish(("#", "lounge", "n2", "k1"), p.Info("not your turn"))
    assert store.flush()
    got = RedisClient(redis_server.url).call(b"XRANGE", "parlor:bus:lounge", "-", "+")
    assert [dict(zip(f[::2], f[1::2])) for _, f in got] == [
        {"line": "do /move 5", "to": "n2 !n1 k1 bob"},
        {"line": p.encode(p.Info("not your turn")).decode().rstrip("\n"), "to": "n2 #k1"}]
    acts, reached = [], []
    bus.acts = lambda *act: acts.append(act)
    bus.reach = lambda room_key, key: 4 if key == "k1" else None
    bus.deliver = lambda room_key, data, ids: reached.append((data, ids))
    bus.node = "n2"  # (read back as node n2 would)
    for _, fields in got:
        bus._deliver("lounge", dict(zip(fields[::2], fields[1::2])))
    assert acts == [("lounge", "n1", "k1", "bob", "do /move 5")]
    assert reached == [(p.encode(p.Info("not your turn")), (4,))]


def test_redis_bus_a_node_that_stops_is_gone_since_then(redis_server):
    import time
    one, two = RedisBus(redis_server.url, "n1"), RedisBus(redis_server.url, "n2")
    assert two.gone_since("n1") is not None  # (never up: as good as gone, now)
    one.tick(time.monotonic())  # its heartbeat
    assert two.gone_since("n1") is None  # up: its sessions are its own
    before = time.time()
    one.close()
    assert before - 0.01 <= two.gone_since("n1") <= time.time() + 0.01
