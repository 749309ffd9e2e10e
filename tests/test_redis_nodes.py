"""Real server.py processes with --redis, against a real redis-server
(tests/redis_harness.py): what one node keeps, another (or the next) finds.
"""
from __future__ import annotations

from chat import protocol as p
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
