"""The history store in Redis (server.py --redis URL): a shell, it does I/O through
chat.server.redis_client.  The same Store interface as SQLite's; several servers can
share one.

Keys, under a prefix (PREFIX): `id` (the id counter), `rooms` (a set of room keys),
`room:ROOM` (a sorted set: score the id, member the entry as JSON) and `table:TABLE` (a
hash).  add() takes ids from a block this store reserved (INCRBY, one round trip a
BLOCK entries, done in flush()), so it does no I/O; flush() is one MULTI/EXEC.  Reads
are a round trip each (a join's replay, a /history page), bounded by the client's
deadline; a failing Redis is tried again every RETRY_EVERY seconds, not every turn.

Handed a bus (chat.server.redis_bus: several servers as one), the store leaves the
numbering and the writing to the bus's COMMIT, which writes the same keys: entries get
a provisional id here and their final one there, in the room's one order; the tables
in `local_tables` (the kept sessions) are this node's own.
"""
from __future__ import annotations

import json
import logging
import time as clock

from chat.server.presence import node_table
from chat.server.redis_client import RedisClient, RedisDownError
from chat.server.resp import ReplyError
from chat.server.store import (MAX_DAYS, MAX_MESSAGES, MAX_READ, Entry, Pending,
                               StoreOpenError, can_see, check_entry, clamp)

log = logging.getLogger("parlor.server")

PREFIX = "parlor:"
BLOCK = 1000        # ids reserved at a time
RETRY_EVERY = 1.0   # seconds between attempts once Redis failed
DAY = 86400.0
SCAN = 500          # entries fetched at a time when a read must skip hidden ones
RAISE_TO = ("if tonumber(redis.call('GET', KEYS[1]) or 0) < tonumber(ARGV[1]) then "
            "redis.call('SET', KEYS[1], ARGV[1]) end")  # a counter moves forward only


class RedisStore:
    """Entries per room in sorted sets, key/value tables in hashes, in Redis."""

    def __init__(self, client: RedisClient, prefix: str = PREFIX,
                 max_messages: int | None = MAX_MESSAGES,
                 max_days: float | None = MAX_DAYS, bus=None,
                 local_tables: frozenset[str] = frozenset()) -> None:
        self.client, self.prefix, self.bus = client, prefix, bus
        self._local = {t: node_table(t, bus.node) for t in local_tables} if bus is not None else {}
        self.max_messages, self.max_days = max_messages, max_days
        self.problem: str | None = None
        self._pending = Pending()
        self._retry_at = 0.0
        self._next, self._end = 1, 0   # ids left in the reserved block: _next.._end
        self._reserve()
        if self._next > self._end and bus is None:
            raise StoreOpenError(f"cannot use Redis at {client.host}:{client.port}: "
                                 f"{self.problem}; start redis-server there, or leave out --redis")

    # ------------------------------------------------------------------ talking to Redis
    def _pipe(self, commands: list[tuple]) -> list | None:
        """The replies, or None (and `problem` set) when Redis failed or refused."""
        if clock.monotonic() < self._retry_at:
            return None
        try:
            replies = self.client.pipeline(commands)
        except RedisDownError as exc:
            return self._failed(str(exc))
        done = replies[-1] if commands[0][0] == b"MULTI" and isinstance(replies[-1], list) else []
        refused = next((r for r in [*replies, *done] if isinstance(r, ReplyError)), None)
        if refused is not None:
            return self._failed(f"Redis refused a write: {refused}")
        return replies

    def _failed(self, problem: str) -> None:
        self.problem = problem
        self._retry_at = clock.monotonic() + RETRY_EVERY
        return None

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _reserve(self) -> None:
        if self.bus is not None:
            return
        got = self._pipe([(b"INCRBY", self._key("id"), BLOCK)])
        if got is not None:
            self._next, self._end = max(self._next, got[0] - BLOCK + 1), got[0]

    # ------------------------------------------------------------------ writing
    def add(self, room: str, kind: str, nick: str, time: float, text: str,
            to: str = "", ends: str = "") -> Entry:
        check_entry(kind, to, ends)
        # Past the block (Redis down long enough): count on; unique for this node, and
        # the counter is moved past it when Redis is back (see flush).
        if self.bus is not None:
            entry = Entry(self.bus.next_id(), room, kind, nick, time, text, to, ends)
            self._pending.add(entry)
            return entry
        entry = Entry(self._next, room, kind, nick, time, text, to, ends)
        self._next += 1
        self._pending.add(entry)
        return entry

    def put(self, table: str, key: str, value: str | None) -> None:
        self._pending.puts[(self._local.get(table, table), key)] = value

    def flush(self) -> bool:
        if self.bus is not None:
            return self._commit()
        if not self._pending and self._end - self._next >= BLOCK // 2:
            return True
        commands: list[tuple] = [(b"MULTI",)]
        rooms = {e.room for e in self._pending.entries}
        for entry in self._pending.entries:
            commands.append((b"ZADD", self._key("room", entry.room), entry.id,
                             json.dumps(entry, ensure_ascii=False)))
        if rooms:
            commands.append((b"SADD", self._key("rooms"), *rooms))
        for (table, key), value in self._pending.puts.items():
            commands.append((b"HDEL", self._key("table", table), key) if value is None else
                            (b"HSET", self._key("table", table), key, value))
        if self._next > self._end:  # ids were given past the block: the counter follows
            commands.append((b"EVAL", RAISE_TO, 1, self._key("id"), self._next - 1))
        commands.append((b"EXEC",))
        if len(commands) > 2 and self._pipe(commands) is None:
            return False
        self._pending.clear()
        if self._end - self._next < BLOCK // 2:
            self._reserve()
        self.problem = None
        return True

    # ------------------------------------------------------------------ reading
    def recent(self, room: str, limit: int, viewer: str = "") -> list[Entry]:
        return self._newest(room, 0, float("inf"), clamp(limit), viewer, count=False)[0]

    def before(self, room: str, before_id: int, limit: int, viewer: str = "") -> list[Entry]:
        return self._newest(room, 0, before_id, clamp(limit), viewer, count=False)[0]

    def since(self, room: str, after_id: int, limit: int,
              viewer: str = "") -> tuple[list[Entry], int]:
        return self._newest(room, after_id, float("inf"), clamp(limit), viewer, count=True)

    def _newest(self, room: str, after_id: int, before_id: float, limit: int, viewer: str,
                count: bool) -> tuple[list[Entry], int]:
        """The buffer's newest first, then Redis's (all older than the buffer's), read
        newest first SCAN at a time, skipping what the viewer may not see."""
        got, more = self._pending.newest(room, viewer, after_id, before_id, limit)
        top = got[0].id if got else before_id
        older: list[Entry] = []
        while len(older) < limit - len(got) or count:
            page = self._page(room, after_id, top)
            if not page:
                break
            for entry in page:
                if can_see(entry, viewer):
                    if len(older) < limit - len(got):
                        older.append(entry)
                    else:
                        more += 1
            top = page[-1].id
            if len(page) < SCAN:
                break
        older.reverse()
        return older + got, more

    def _page(self, room: str, after_id: int, before_id: float) -> list[Entry]:
        """Up to SCAN written entries with after_id < id < before_id, newest first."""
        high = "+inf" if before_id == float("inf") else f"({int(before_id)}"
        got = self._pipe([(b"ZREVRANGEBYSCORE", self._key("room", room), high, f"({after_id}",
                           b"LIMIT", 0, SCAN)])
        entries = [_entry(member) for member in got[0]] if got is not None else []
        return [e for e in entries if e is not None]

    def _commit(self) -> bool:
        if not self._pending and not self.bus.pending:
            return True
        if clock.monotonic() < self._retry_at:
            return False
        problem = self.bus.commit(self._pending)
        if problem:
            self._failed(problem)
            return False
        self.problem = None
        return True

    def items(self, table: str) -> dict[str, str]:
        table = self._local.get(table, table)
        got = self._pipe([(b"HGETALL", self._key("table", table))])
        flat = got[0] if got is not None else []
        return self._pending.merged(table, dict(zip(flat[::2], flat[1::2])))

    def fresh(self, table: str, keys: list[str]) -> dict[str, str | None] | None:
        if self.bus is None or not keys:
            return None  # (one node alone with Redis: it is the only writer)
        table = self._local.get(table, table)
        got = self._pipe([(b"HMGET", self._key("table", table), *keys)])
        if got is None or not isinstance(got[0], list) or len(got[0]) != len(keys):
            return None
        now = {k: v if isinstance(v, str) else None for k, v in zip(keys, got[0])}
        for k in keys:
            if (table, k) in self._pending.puts:
                now[k] = self._pending.puts[(table, k)]
        return now

    def last_id(self) -> int:
        if self.bus is None:
            return self._next - 1
        got = self._pipe([(b"GET", self._key("id"))])  # (other nodes number entries too)
        return int(got[0] or 0) if got is not None else self.bus.last_id

    # ------------------------------------------------------------------ retention
    def prune(self, now: float, batch: int = 500) -> int:
        """Written entries beyond retention, as MemoryStore does it: from each room's
        oldest up to its first young one, then each room's oldest beyond max_messages."""
        got = self._pipe([(b"SMEMBERS", self._key("rooms"))])
        rooms = sorted(got[0]) if got is not None else []
        gone = 0
        for counting in (False, True):
            for room in rooms:
                cut = min(self._excess(room, now, counting), batch - gone)
                if cut > 0:
                    gone += self._delete_oldest(room, cut)
        return gone

    def _delete_oldest(self, room: str, count: int) -> int:
        """Delete the room's `count` oldest entries, by the id of the last of them: so
        two nodes pruning at once delete them once, never twice as many."""
        key = self._key("room", room)
        got = self._pipe([(b"ZRANGE", key, count - 1, count - 1, b"WITHSCORES")])
        if not got or len(got[0]) != 2:
            return 0
        removed = self._pipe([(b"ZREMRANGEBYSCORE", key, "-inf", got[0][1])])
        return removed[0] if removed is not None else 0

    def _excess(self, room: str, now: float, counting: bool) -> int:
        if counting:
            if self.max_messages is None:
                return 0
            got = self._pipe([(b"ZCARD", self._key("room", room))])
            return 0 if got is None else got[0] - self.max_messages
        if self.max_days is None:
            return 0
        got = self._pipe([(b"ZRANGE", self._key("room", room), 0, MAX_READ - 1)])
        cutoff, old = now - self.max_days * DAY, 0
        for member in got[0] if got is not None else []:
            entry = _entry(member)
            if entry is not None and entry.time >= cutoff:
                break
            old += 1
        return old

    def close(self) -> None:
        if self._pending:
            self._retry_at = 0.0
            self.flush()
        self.client.close()


def _entry(member: object) -> Entry | None:
    """An entry as kept in a room's sorted set; None (and a log line) for what is not
    one: Redis is shared, and a node never fails on what it finds there."""
    try:
        entry = Entry(*json.loads(member))
    except (TypeError, ValueError):
        entry = None
    if entry is None or not isinstance(entry.id, int) or not all(
            isinstance(v, str) for v in entry[1:4] + entry[5:]) or \
            not isinstance(entry.time, (int, float)):
        log.warning("skipped what is not a history entry in Redis: %r", str(member)[:80])
        return None
    return entry


def open_redis_store(url: str, prefix: str = PREFIX, max_messages: int | None = MAX_MESSAGES,
                     max_days: float | None = MAX_DAYS, bus=None,
                     local_tables: frozenset[str] = frozenset()) -> RedisStore:
    """A store in the Redis at `url`; StoreOpenError with a sentence if it cannot be used."""
    try:
        client = RedisClient(url)
    except ValueError as exc:
        raise StoreOpenError(str(exc)) from None
    store = RedisStore(client, prefix, max_messages, max_days, bus, local_tables)
    if bus is not None and store._pipe([(b"PING",)]) is None:
        raise StoreOpenError(f"cannot use Redis at {client.host}:{client.port}: "
                             f"{store.problem}; start redis-server there, or leave out --redis")
    return store
