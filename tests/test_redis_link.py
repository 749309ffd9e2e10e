"""The non-blocking Redis link (chat.server.redis_link) in a real selector, against a
real redis-server and a port where nothing listens: it never blocks, says when it is
down and up, and tries again with a backoff that doubles.
"""
from __future__ import annotations

import selectors
import time

from chat.server import redis_link
from chat.server.redis_link import RedisLink
from redis_harness import free_port, redis_server  # noqa: F401 (a fixture)

DEADLINE = 5.0


def run_until(selector, link, condition) -> None:
    """Turn the selector (as the server's loop does) until `condition()`, or fail."""
    end = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < end, "the link did not get there in time"
        for key, mask in selector.select(0.05):
            key.data(key.fileobj, mask)
        link.due(time.monotonic())


def test_redis_link_commands_and_replies_in_order(redis_server):
    selector, events, replies = selectors.DefaultSelector(), [], []
    link = RedisLink("127.0.0.1", redis_server.port, 0, selector,
                     lambda: events.append("up"), events.append)
    link.connect()
    run_until(selector, link, lambda: link.up)
    for i in range(100):
        link.send(replies.append, b"ECHO", f"reply {i}")
    run_until(selector, link, lambda: len(replies) == 100)
    assert replies == [f"reply {i}" for i in range(100)] and events == ["up"]
    link.close()


def test_redis_link_down_backs_off_doubling_then_comes_up(redis_server, monkeypatch):
    monkeypatch.setattr(redis_link, "BACKOFF_MIN", 0.01)
    redis_server.stop()
    selector, events = selectors.DefaultSelector(), []
    link = RedisLink("127.0.0.1", redis_server.port, 0, selector,
                     lambda: events.append("up"), events.append)
    waits = []
    link.connect()
    for _ in range(4):  # refused, each time after twice the wait
        run_until(selector, link, lambda: link.retry_at is not None)
        waits.append(link.retry_at - time.monotonic())
        run_until(selector, link, lambda: link.retry_at is None)
    assert all("cannot connect to Redis" in e for e in events)
    assert waits[1] >= 1.5 * waits[0] and waits[3] >= 1.5 * waits[2]
    redis_server.start()
    run_until(selector, link, lambda: link.up)
    assert events[-1] == "up"
    link.close()


def test_redis_link_lost_redis_is_said_once_and_pending_callbacks_are_dropped(redis_server):
    selector, events, replies = selectors.DefaultSelector(), [], []
    link = RedisLink("127.0.0.1", redis_server.port, 0, selector,
                     lambda: events.append("up"), events.append)
    link.connect()
    run_until(selector, link, lambda: link.up)
    link.send(replies.append, b"BLPOP", "never", 0)  # a reply that will not come
    redis_server.stop()
    run_until(selector, link, lambda: len(events) == 2)
    assert "closed the connection" in events[1] or "lost Redis" in events[1]
    assert replies == [] and not link.up
    link.send(replies.append, b"PING")  # while down: nothing is queued
    assert replies == []
