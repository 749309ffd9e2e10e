"""The Redis client and store against a real redis-server (tests/redis_harness.py): what
the contract tests (tests/test_store.py) cannot show: two servers sharing one Redis,
Redis down and back, a bad address.
"""
from __future__ import annotations

import pytest

from chat.server import redis_store
from chat.server.redis_client import RedisClient, RedisDownError, parse_url
from chat.server.redis_store import open_redis_store
from chat.server.resp import ReplyError
from chat.server.store import StoreOpenError
from redis_harness import free_port, redis_server  # noqa: F401 (a fixture)

T0 = 1_800_000_000.0


@pytest.mark.parametrize("url, parsed", [
    ("redis://127.0.0.1:6380/2", ("127.0.0.1", 6380, 2)),
    ("redis://localhost", ("localhost", 6379, 0)),
    ("redis://[::1]:7000/", ("::1", 7000, 0)),
])
def test_redis_parse_url(url, parsed):
    assert parse_url(url) == parsed


@pytest.mark.parametrize("url", ["http://x:1/0", "redis://", "redis://h:port/0", "redis://h/db"])
def test_redis_parse_url_refuses_with_a_sentence(url):
    with pytest.raises(ValueError, match="bad Redis address .*redis://HOST:PORT/DB|numbers"):
        parse_url(url)


def test_redis_client_calls_and_pipelines(redis_server):
    client = RedisClient(redis_server.url)
    assert client.call(b"PING") == "PONG"
    assert client.pipeline([(b"SET", "k", "v"), (b"GET", "k"), (b"INCR", "n")]) == ["OK", "v", 1]
    refused = client.call(b"INCR", "k")  # not a number: an error reply is a value
    assert isinstance(refused, ReplyError) and "not an integer" in refused
    assert client.call(b"GET", "k") == "v"  # and the connection goes on
    client.close()


def test_redis_client_down_is_a_sentence_then_it_connects_again(redis_server):
    client = RedisClient(redis_server.url)
    assert client.call(b"SET", "k", "v") == "OK"
    redis_server.stop()
    with pytest.raises(RedisDownError, match=f"127.0.0.1:{redis_server.port}"):
        client.call(b"GET", "k")
    redis_server.start()  # (the append-only file keeps what was set)
    assert client.call(b"GET", "k") == "v"
    client.close()


def test_redis_store_open_without_redis_is_a_sentence():
    with pytest.raises(StoreOpenError, match="start redis-server there, or leave out --redis"):
        open_redis_store(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(StoreOpenError, match="bad Redis address"):
        open_redis_store("redis:/nowhere")


def test_redis_store_two_servers_share_history_ids_and_tables(redis_server):
    a, b = open_redis_store(redis_server.url), open_redis_store(redis_server.url)
    said = [a.add("#a", "say", "ann", T0, "from a"), b.add("#a", "say", "bob", T0, "from b"),
            a.add("#a", "say", "ann", T0, "a again")]
    assert len({e.id for e in said}) == 3
    a.put("topic", "#a", '"set on a"')
    assert a.flush() and b.flush()
    assert sorted(b.recent("#a", 10)) == sorted(said) == sorted(a.recent("#a", 10))
    assert b.items("topic") == {"#a": '"set on a"'}
    a.close(), b.close()


def test_redis_store_keeps_what_it_could_not_write_until_redis_is_back(redis_server, monkeypatch):
    monkeypatch.setattr(redis_store, "RETRY_EVERY", 0.0)
    store = open_redis_store(redis_server.url)
    first = store.add("#a", "say", "ann", T0, "before")
    assert store.flush()
    redis_server.stop()
    later = store.add("#a", "say", "ann", T0 + 1, "while Redis was down")
    store.put("score", "ann", "3")
    assert store.flush() is False
    assert f"Redis at 127.0.0.1:{redis_server.port}" in store.problem
    assert store.recent("#a", 10) == [later]  # what is buffered still shows
    redis_server.start()
    assert store.flush() is True and store.problem is None
    other = open_redis_store(redis_server.url)
    assert other.recent("#a", 10) == [first, later]
    assert other.items("score") == {"ann": "3"}
    store.close(), other.close()


def test_redis_store_ids_given_past_the_block_move_the_counter_on(redis_server, monkeypatch):
    """Redis down for more than a block of ids: what this node gave out stays unique."""
    monkeypatch.setattr(redis_store, "RETRY_EVERY", 0.0)
    store = open_redis_store(redis_server.url)
    redis_server.stop()
    given = [store.add("#a", "say", "ann", T0, str(i)).id for i in range(redis_store.BLOCK + 5)]
    assert store.flush() is False
    redis_server.start()
    assert store.flush()
    other = open_redis_store(redis_server.url)
    assert other.add("#a", "say", "bob", T0, "next").id > max(given)
    store.close(), other.close()


def test_redis_store_a_refused_write_is_a_problem_not_a_crash(redis_server):
    store = open_redis_store(redis_server.url)
    RedisClient(redis_server.url).call(b"SET", "parlor:table:score", "not a hash")
    store.put("score", "ann", "3")
    assert store.flush() is False
    assert "WRONGTYPE" in store.problem
    store.close()


def test_redis_store_two_nodes_pruning_at_once_delete_the_excess_once(redis_server):
    """Node A counted 15 too many; node B pruned them meanwhile; A's delete then takes
    nothing more (by rank it would have taken 15 of the 10 to keep)."""
    a = open_redis_store(redis_server.url, max_messages=10, max_days=None)
    b = open_redis_store(redis_server.url, max_messages=10, max_days=None)
    kept = [a.add("#a", "say", "ann", T0 + i, str(i)) for i in range(25)][-10:]
    assert a.flush()
    assert b.prune(T0) == 15
    assert a._delete_oldest("#a", 15) == 0  # (the race, its two halves in turn)
    assert b.recent("#a", 50) == kept
    a.close(), b.close()
