"""Several servers as one through Redis (server.py --redis): room traffic, nick claims
and node heartbeats.  A shell: it does I/O (chat.server.redis_link in the loop for
reading, chat.server.redis_client for the rest).  The design is in PROTOCOL.md,
"Several servers".

One order per room: a room's lines are never delivered where they are made.  Each
loop turn's room lines, and its new history entries, go to Redis in ONE script
(COMMIT) that numbers the entries from the shared counter, writes them to the rooms'
history and appends every line, with its entry's final number written in, to the
room's stream (`bus:ROOM`).  Every node reads the streams of the rooms it has members
in (XREAD, from the last id it delivered) and delivers what comes back, so all see
one order, the history's ids agree with it, and after Redis was away a node resumes
from its last id: nothing acknowledged is lost, nothing is shown twice.
"""
from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from chat import protocol as p
from chat.server.redis_client import RedisClient, RedisDownError
from chat.server.presence import GONE
from chat.server.redis_link import RedisLink
from chat.server.resp import ReplyError
from chat.server.store import MAX_PENDING, Entry, Pending

log = logging.getLogger("parlor.server")

PREFIX = "parlor:"
STREAM_MAX = 10_000        # entries (a turn's lines each) kept in a room's stream (about)
PROVISIONAL = 9 * 10**14   # ids below the 15-digit limit that only live within one turn
BEAT = 2.0                 # seconds between a node's heartbeats
NODE_TTL = 8.0             # a node silent this long is gone: its users leave their rooms
GONE_KEPT = 86400          # seconds a gone node's time of going is kept (for /resume)
PAUSED = "chat is paused: reconnecting to the message bus (Redis); what you say is sent when it is back"
RESUMED = "the message bus is back: chat goes on"
NO_CLAIM = ("cannot check that nick with the other servers now (the message bus is down); "
            "try again in a moment")

# ARGV: prefix, batch token, entry count, then (provisional id, room, entry JSON after
# its id) each, line count, then (room, line, offset, provisional id or "", to) each,
# put count, then (table, key, value or "", delete "1"/"0") each.  A batch runs once:
# a retry after a lost reply changes nothing.  Returns the counter's value.
COMMIT = """
local prefix = ARGV[1]
if redis.call('SET', prefix .. 'batch:' .. ARGV[2], 1, 'NX', 'EX', 600) == false then
  return tonumber(redis.call('GET', prefix .. 'id') or 0)
end
local function chunked(command, key, items)  -- (Lua's unpack() has a limit)
  for at = 1, #items, 1000 do
    redis.call(command, key, unpack(items, at, math.min(at + 999, #items)))
  end
end
local n, i, final = tonumber(ARGV[3]), 4, {}
local first = n > 0 and redis.call('INCRBY', prefix .. 'id', n) - n or 0
local rooms, names = {}, {}
for k = 1, n do
  local id, room = first + k, ARGV[i + 1]
  final[ARGV[i]] = id
  local items = rooms[room]
  if not items then items = {}; rooms[room] = items; names[#names + 1] = room end
  items[#items + 1] = id
  items[#items + 1] = '[' .. id .. ',' .. ARGV[i + 2]
  i = i + 3
end
for room, items in pairs(rooms) do chunked('ZADD', prefix .. 'room:' .. room, items) end
if #names > 0 then chunked('SADD', prefix .. 'rooms', names) end
-- A room's lines, in order, become one stream entry per run of lines with the same
-- recipients: one XADD a room a turn, however many lines (XADD is most of the cost).
local lines, streams, order = tonumber(ARGV[i]), {}, {}
i = i + 1
for _ = 1, lines do
  local room, line, at, prov, to = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3],
                                   ARGV[i + 4]
  if prov ~= '' and final[prov] then
    line = string.sub(line, 1, at) .. final[prov] .. string.sub(line, at + #prov + 1)
  end
  local runs = streams[room]
  if not runs then runs = {}; streams[room] = runs; order[#order + 1] = room end
  local run = runs[#runs]
  if not run or run.to ~= to then run = {to = to}; runs[#runs + 1] = run end
  run[#run + 1] = line
  i = i + 5
end
for _, room in ipairs(order) do
  for _, run in ipairs(streams[room]) do
    redis.call('XADD', prefix .. 'bus:' .. room, 'MAXLEN', '~', %d, '*',
               'line', table.concat(run, '\\n'), 'to', run.to)
  end
end
local puts = tonumber(ARGV[i]); i = i + 1
for _ = 1, puts do
  if ARGV[i + 3] == '1' then redis.call('HDEL', prefix .. 'table:' .. ARGV[i], ARGV[i + 1])
  else redis.call('HSET', prefix .. 'table:' .. ARGV[i], ARGV[i + 1], ARGV[i + 2]) end
  i = i + 4
end
return first + n
""" % STREAM_MAX

# KEYS: the room's nicks, the node's claims, the nick's rooms.  ARGV: nick key, owner
# ("NODE KEY"), nick, claim field, claim value, room key, a gone node whose claim is
# taken over ("": none).  1: it is the owner's now; 0: someone else's.  (The nick's
# rooms, `at:NICK`, are where /msg finds a logged-in user in another room.)
CLAIM = """
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held and string.sub(held, 1, #ARGV[2] + 1) ~= ARGV[2] .. ' ' and
    (ARGV[7] == '' or string.sub(held, 1, #ARGV[7] + 1) ~= ARGV[7] .. ' ') then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. ARGV[3])
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
redis.call('SADD', KEYS[3], ARGV[6])
return 1
"""
RELEASE = """
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held and string.sub(held, 1, #ARGV[2] + 1) == ARGV[2] .. ' ' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('SREM', KEYS[3], ARGV[4])
end
redis.call('HDEL', KEYS[2], ARGV[3])
return 1
"""
# KEYS: an open challenge's seat (ARGV: the nick taking it), or a player in a room
# (ARGV: the duel they play).  "": it is theirs now; else who (what) has it.  (Kept
# a day at most: a game's node lets go of it when the game ends, or its reaper does.)
HOLD = """
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then return held end
redis.call('SET', KEYS[1], ARGV[1], 'EX', 86400)
return ''
"""
LET_GO = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""
# A node whose heartbeat key is gone: only one node reaps it (SREM says who); its
# claims are freed and returned (room key, room, nick, ...) for the Left lines.
REAP = """
local prefix, dead = ARGV[1], ARGV[2]
if redis.call('EXISTS', prefix .. 'node:' .. dead) == 1 then return {} end
if redis.call('SREM', prefix .. 'nodes', dead) == 0 then return {} end
redis.call('SET', prefix .. 'gone:' .. dead, ARGV[3], 'NX', 'EX', %d)
local claims = redis.call('HGETALL', prefix .. 'claims:' .. dead)
local gone = {}
for i = 1, #claims, 2 do
  local room_key, nick_key = string.match(claims[i], '^(.*) ([^ ]*)$')
  local room, nick = string.match(claims[i + 1], '^(.*) ([^ ]*)$')
  local held = redis.call('HGET', prefix .. 'nicks:' .. room_key, nick_key)
  if held and string.sub(held, 1, #dead + 1) == dead .. ' ' then
    redis.call('HDEL', prefix .. 'nicks:' .. room_key, nick_key)
    redis.call('SREM', prefix .. 'at:' .. nick_key, room_key)
    table.insert(gone, room_key); table.insert(gone, room); table.insert(gone, nick)
  end
end
redis.call('DEL', prefix .. 'claims:' .. dead)
return gone
""" % GONE_KEPT


def id_slot(msg: object) -> tuple[bytes, int] | None:
    """A message that carries a provisional id, as its line and the id's offset in it
    (COMMIT writes the final id there); None for any other.  (A provisional id has 15
    digits and no room name, nick or keyword is all digits and that long.)"""
    entry_id = getattr(msg, "id", None)
    if entry_id.__class__ is not int or entry_id <= PROVISIONAL:
        return None
    line = p.encode(msg)
    return line, line.index(b" %d " % entry_id) + 1


class RedisBus:
    """This node's side of the cluster.  `deliver(room_key, data, session_ids)` is the
    loop's: `session_ids` None for the room's members here, else those sessions."""

    def __init__(self, url: str, node: str | None = None, prefix: str = PREFIX) -> None:
        self.client = RedisClient(url)
        self.node = node or secrets.token_hex(4)
        self.prefix = prefix
        self.link: RedisLink | None = None
        self.deliver: Callable[[str, bytes, tuple[int, ...] | None], None] | None = None
        self.tell_all: Callable[[str], None] | None = None
        # (room key, key, sender's node, sender's key, sender's nick[, sender's room key]):
        # the session here a private message from another node is for (None: none),
        # which /r answers then
        self.heard: Callable[..., int | None] | None = None
        self.acts = self.reach = self.gone = None  # the games' (see attach)
        self.last_id = 0
        self.paused = False
        self._lines: list[tuple[str, bytes, int, str, str]] = []
        self._provisional = PROVISIONAL
        self._last: dict[str, str] = {}  # room key -> the last stream id delivered
        self._guessed: set[str] = set()  # rooms whose _last is a time (Redis was away)
        self._reading = False
        self._link_id: int | None = None
        self._next_beat = 0.0
        self._up_since: float | None = None  # the link is up since (monotonic time)
        self._releases: list[tuple[str, str, str]] = []  # to retry while Redis is away
        self._tried: tuple | None = None  # the batch last sent: (token, entries, lines, puts)

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    # ------------------------------------------------------------------ wiring
    def attach(self, selector, deliver, tell_all, heard=None, acts=None, reach=None,
               gone=None) -> None:
        """Start reading in the loop's selector (the loop calls this once).  Games:
        `acts(room key, node, key, nick, text)` does a game act forwarded here (the
        loop applies what it makes), `reach(room key, key)` is the session here of that
        key, `gone(node, freed)` the sends a dead node's games' ends make."""
        self.deliver, self.tell_all, self.heard = deliver, tell_all, heard
        self.acts, self.reach, self.gone = acts, reach, gone
        link = self.link = RedisLink(self.client.host, self.client.port, self.client.db,
                                     selector, self._on_up, self._on_down)
        link.connect()

    def close(self) -> None:
        try:
            self.client.pipeline([(b"DEL", self._key("node", self.node)),
                                  (b"SET", self._key("gone", self.node), f"{time.time():.3f}",
                                   b"EX", GONE_KEPT)])
        except RedisDownError:
            pass
        if self.link is not None:
            self.link.close()
        self.client.close()

    # ------------------------------------------------------------------ writing
    def next_id(self) -> int:
        """A provisional id for a new entry: COMMIT gives it its final one."""
        self._provisional += 1
        return self._provisional

    def publish(self, targets: str | tuple[int, ...], msg: object) -> bool:
        """Queue a line for COMMIT: to a room (its key), or, when it carries a
        provisional id (a private message), to sessions of this node or to one of
        another (Outbox.to_elsewhere).  False: not the bus's."""
        slot = id_slot(msg)
        room_key = targets if targets.__class__ is str else None
        if room_key is None and slot is None:
            return self._publish_game(targets, msg)
        if slot is None:
            line, at, prov = p.encode(msg), 0, ""
        else:
            (line, at), prov = slot, str(msg.id)
        if room_key is not None:
            to = ""
        elif targets[0].__class__ is str:  # (node, key, sender's key, sender's nick, room)
            node, key, sender_key, nick, far_room = targets
            to = f"{node} @{key} {self.node} {sender_key} {nick}"
            if far_room:  # in another room: its stream, and where the sender is, for /r
                room_key, to = far_room, f"{to} {msg.room.casefold()}"
        else:
            to = f"{self.node} {','.join(map(str, targets))}"
        self._lines.append((room_key or getattr(msg, "room", "").casefold(), line, at, prov, to))
        if len(self._lines) > MAX_PENDING:
            del self._lines[0]
        return True

    def _publish_game(self, targets: tuple, msg: object) -> bool:
        """A game act for the node that runs the game (Outbox.forward), or a line for a
        session of another node from a game run here (Outbox.far); False: neither."""
        kind = targets[0] if targets else None
        if kind == "!":
            _, room_key, node, sender, key, nick = targets
            line, to = msg.encode("utf-8"), f"{node} !{sender or self.node} {key} {nick}"
        elif kind == "#":
            _, room_key, node, key = targets
            line, to = p.encode(msg), f"{node} #{key}"
        else:
            return False
        self._lines.append((room_key, line, 0, "", to))
        if len(self._lines) > MAX_PENDING:
            del self._lines[0]
        return True

    @property
    def pending(self) -> bool:
        return bool(self._lines)

    def commit(self, pending: Pending) -> str | None:
        """Everything queued, and the store's `pending`, in one script; None when done
        (what was written leaves `pending` and the queue), else why not (all stays).
        A batch whose reply was lost is sent again as it was, under its token, before
        anything newer: so it is written once, whether it was or not."""
        if self._tried is not None:
            problem = self._run(*self._tried)
            if problem:
                return problem
            self._forget(pending, *self._tried[1:])
        self._tried = (secrets.token_hex(8), list(pending.entries), list(self._lines),
                       dict(pending.puts))
        problem = self._run(*self._tried)
        if problem:
            return problem
        self._forget(pending, *self._tried[1:])
        return None

    def _run(self, token: str, entries: list[Entry], lines: list, puts: dict) -> str | None:
        args: list[Any] = [self.prefix, token, len(entries)]
        for e in entries:
            args += [e.id, e.room, json.dumps(e[1:], ensure_ascii=False)[1:]]
        args.append(len(lines))
        for room_key, line, at, prov, to in lines:
            args += [room_key, line.rstrip(b"\n"), at, prov, to]
        args.append(len(puts))
        for (table, key), value in puts.items():
            args += [table, key, value or "", "1" if value is None else "0"]
        try:
            got = self.client.call(b"EVAL", COMMIT, 0, *args)
        except RedisDownError as exc:
            return str(exc)
        if isinstance(got, ReplyError):
            log.error("Redis refused a commit: %s", got)
            return f"Redis refused a write: {got}"
        self.last_id = got
        return None

    def _forget(self, pending: Pending, entries: list[Entry], lines: list, puts: dict) -> None:
        """What a batch wrote leaves the queues (the oldest ones; a put only if it was
        not changed since)."""
        self._tried = None
        written = set(entries)
        while pending.entries and pending.entries[0] in written:
            pending.entries.popleft()
        sent = len(lines)
        if self._lines[:sent] == lines:
            del self._lines[:sent]
        for where, value in puts.items():
            if where in pending.puts and pending.puts[where] == value:
                del pending.puts[where]

    # ------------------------------------------------------------------ reading
    def watch(self, room_keys: Iterable[str]) -> None:
        """Read the streams of these rooms (those with members here) from now on."""
        wanted = set(room_keys)
        if wanted == self._last.keys():
            return
        for gone in self._last.keys() - wanted:
            del self._last[gone]
            self._guessed.discard(gone)
        for new in wanted - self._last.keys():
            self._last[new] = self._top(new)
        self._reread()

    def _top(self, room_key: str) -> str:
        """The id of the room's last stream entry ("0-0": none).  With Redis away, an
        id of now (Redis's ids are its clock's milliseconds): what is appended after
        it comes back is read, not the room's past."""
        try:
            got = self.client.call(b"XREVRANGE", self._key("bus", room_key), "+", "-", b"COUNT", 1)
        except RedisDownError:
            self._guessed.add(room_key)
            return f"{int(time.time() * 1000)}-0"
        return got[0][0] if isinstance(got, list) and got and _pair(got[0]) and \
            isinstance(got[0][0], str) else "0-0"

    def _reread(self) -> None:
        """Make the XREAD waiting in Redis return, so the next one names the rooms now."""
        if self._reading and self._link_id is not None:
            try:
                self.client.call(b"CLIENT", b"UNBLOCK", self._link_id)
            except RedisDownError:
                pass
        elif not self._reading:
            self._read()

    def _read(self) -> None:
        link = self.link
        if link is None or not link.up or not self._last or self._reading:
            return
        rooms = list(self._last)
        self._reading = True
        link.send(self._on_read, b"XREAD", b"COUNT", 1000, b"BLOCK", 0, b"STREAMS",
                  *[self._key("bus", r) for r in rooms], *[self._last[r] for r in rooms])

    def _on_read(self, reply: Any) -> None:
        self._reading = False
        if isinstance(reply, list):
            cut = len(self._key("bus", ""))
            for stream, items in filter(_pair, reply):  # (Redis is shared: check the shape)
                room_key = stream[cut:] if isinstance(stream, str) else None
                if room_key not in self._last or not isinstance(items, list):
                    continue
                for stream_id, fields in filter(_pair, items):
                    if isinstance(stream_id, str) and isinstance(fields, list):
                        self._last[room_key] = stream_id
                        self._guessed.discard(room_key)
                        self._deliver(room_key, dict(zip(fields[::2], fields[1::2])))
        elif isinstance(reply, ReplyError):
            log.error("Redis refused to read the rooms' streams: %s", reply)
        self._read()

    def _deliver(self, room_key: str, fields: dict[str, str]) -> None:
        line, to = fields.get("line"), fields.get("to", "")
        if not isinstance(line, str) or not isinstance(to, str):
            return  # (what Redis holds under our keys is not ours to trust blindly)
        data = line.encode("utf-8") + b"\n"
        if not to:
            self.deliver(room_key, data, None)
            return
        node, _, ids = to.partition(" ")
        if node != self.node:
            return
        if ids[:1] in ("!", "#"):
            self._deliver_game(room_key, line, ids, data)
            return
        if ids.startswith("@"):  # one session here, by its key, from another node
            parts = ids[1:].split(" ")
            if len(parts) in (4, 5) and self.heard is not None:
                session_id = self.heard(room_key, *parts)
                if session_id is not None:
                    self.deliver(room_key, data, (session_id,))
            return
        self.deliver(room_key, data, tuple(int(i) for i in ids.split(",") if i.isdigit()))

    def _deliver_game(self, room_key: str, line: str, ids: str, data: bytes) -> None:
        parts = ids[1:].split(" ")
        if ids[0] == "!" and len(parts) == 3 and self.acts is not None:
            for text in line.split("\n"):  # (a run of acts is one entry)
                self.acts(room_key, *parts, text)
        elif ids[0] == "#" and len(parts) == 1 and self.reach is not None:
            session_id = self.reach(room_key, parts[0])
            if session_id is not None:
                self.deliver(room_key, data, (session_id,))

    def _on_up(self) -> None:
        self._up_since = time.monotonic()
        self._next_beat = 0.0  # say at once that this node lives
        self.link.send(self._on_link_id, b"CLIENT", b"ID")
        for room_key, last in list(self._last.items()):
            if room_key in self._guessed:
                continue  # (its id is a time, not one it read: nothing to compare)
            top = self._top(room_key)  # Redis lost the stream (no persistence): start anew
            if _stream_id(top) < _stream_id(last):
                self._last[room_key] = "0-0"
        self._read()
        if self.paused:
            self.paused = False
            log.info("the message bus is back")
            self.tell_all(RESUMED)

    def _on_link_id(self, reply: Any) -> None:
        self._link_id = reply if isinstance(reply, int) else None

    def _on_down(self, reason: str) -> None:
        self._reading, self._link_id, self._up_since = False, None, None
        if not self.paused:
            self.paused = True
            log.warning("the message bus is down: %s", reason)
            self.tell_all(PAUSED)

    # ------------------------------------------------------------------ heartbeats
    def next_wake(self) -> float:
        """When tick() has something to do (monotonic time)."""
        retry = self.link.retry_at if self.link is not None else None
        return self._next_beat if retry is None else min(retry, self._next_beat)

    def tick(self, now: float) -> list[tuple[str, p.ServerMessage]]:
        """Connect again when due; every BEAT, say this node lives and reap the dead:
        the Left lines to publish for their users."""
        if self.link is not None:
            self.link.due(now)
        if now < self._next_beat:
            return []
        self._next_beat = now + BEAT
        try:
            return self._beat()
        except RedisDownError:
            return []

    def _beat(self) -> list[tuple[str, p.ServerMessage]]:
        node_key = self._key("node", self.node)
        replies = self.client.pipeline([(b"SET", node_key, 1, b"PX", int(NODE_TTL * 1000)),
                                        (b"SADD", self._key("nodes"), self.node),
                                        (b"SMEMBERS", self._key("nodes"))])
        self._retry_releases()
        gone = []
        # Only a node that has been up a whole NODE_TTL may judge the others: after
        # Redis was away, every heartbeat key may have run out, the nodes' too.
        if self._up_since is None or time.monotonic() - self._up_since < NODE_TTL:
            return gone
        for other in replies[2] if isinstance(replies[2], list) else []:
            if other == self.node or not isinstance(other, str):
                continue
            freed = self.client.call(b"EVAL", REAP, 0, self.prefix, other, f"{time.time():.3f}")
            freed = [f for f in freed if isinstance(f, str)] if isinstance(freed, list) else []
            if freed:
                log.info("node %s is gone: %d nicks freed", other, len(freed) // 3)
            for i in range(0, len(freed) - 2, 3):
                gone.append((freed[i], p.Left(freed[i + 1], freed[i + 2], GONE)))
            if freed and self.gone is not None:
                gone.extend(self.gone(other, [tuple(freed[i:i + 3])
                                              for i in range(0, len(freed) - 2, 3)]))
        return gone

    # ------------------------------------------------------------------ presence
    def claim(self, room_key: str, room: str, nick: str, owner: str,
              gone: str = "") -> str | None:
        owner = f"{self.node} {owner}"
        try:
            got = self.client.call(b"EVAL", CLAIM, 3, self._key("nicks", room_key),
                                   self._key("claims", self.node), self._key("at", nick.casefold()),
                                   nick.casefold(), owner, nick, f"{room_key} {nick.casefold()}",
                                   f"{room} {nick}", room_key, gone)
        except RedisDownError:
            return NO_CLAIM
        if got == 1:
            return None
        return f"nick {nick!r} is taken in {room} (on another server), pick another"

    def release(self, room_key: str, nick: str, owner: str) -> None:
        try:
            self._release(room_key, nick, owner)
        except RedisDownError:
            self._releases.append((room_key, nick, owner))

    def _release(self, room_key: str, nick: str, owner: str) -> None:
        self.client.call(b"EVAL", RELEASE, 3, self._key("nicks", room_key),
                         self._key("claims", self.node), self._key("at", nick.casefold()),
                         nick.casefold(), f"{self.node} {owner}", f"{room_key} {nick.casefold()}",
                         room_key)

    def _retry_releases(self) -> None:
        while self._releases:
            self._release(*self._releases[0])
            self._releases.pop(0)

    def rooms(self) -> dict[str, tuple[str, int]]:
        """The rooms with nicks on the other live nodes, and how many (/list)."""
        try:
            nodes = self.client.call(b"SMEMBERS", self._key("nodes"))
            nodes = [n for n in nodes if isinstance(n, str) and n != self.node] \
                if isinstance(nodes, list) else []
            claims = self.client.pipeline([(b"HGETALL", self._key("claims", n)) for n in nodes])
        except RedisDownError:
            return {}
        counts: dict[str, list] = {}
        for got in claims:
            _room_counts(got if isinstance(got, list) else [], counts)
        return {room_key: (name, n) for room_key, (name, n) in counts.items()}

    def find(self, nick: str) -> tuple[str, str, str, str] | None:
        """Someone of nick `nick` in any room on another node: (node, session key, nick,
        room key); None: nobody there."""
        try:
            rooms = self.client.call(b"SMEMBERS", self._key("at", nick.casefold()))
        except RedisDownError:
            return None
        for room_key in sorted(rooms) if isinstance(rooms, list) else ():
            found = self.where(room_key, nick) if isinstance(room_key, str) else None
            if found is not None:
                return (*found, room_key)
        return None

    def where(self, room_key: str, nick: str) -> tuple[str, str, str] | None:
        try:
            held = self.client.call(b"HGET", self._key("nicks", room_key), nick.casefold())
        except RedisDownError:
            return None
        parts = held.split(" ") if isinstance(held, str) else []
        if len(parts) != 3 or parts[0] == self.node or not all(parts):
            return None  # (nobody's, this node's own, or not ours to trust)
        return parts[0], parts[1], parts[2]

    def gone_since(self, node: str) -> float | None:
        try:
            alive, since = self.client.pipeline([(b"EXISTS", self._key("node", node)),
                                                 (b"GET", self._key("gone", node))])
        except RedisDownError:
            return None  # (it may be up: nothing of it is taken over)
        if alive != 0:
            return None
        try:  # (its heartbeat ran out, and nobody has reaped it yet: just now)
            return float(since) if isinstance(since, str) else time.time()
        except ValueError:
            return time.time()

    def game_id(self) -> str | None:
        try:
            got = self.client.call(b"INCR", self._key("game_ids"))
        except RedisDownError:
            return None
        return f"g{got}" if isinstance(got, int) else None

    def claim_seat(self, game_id: str, nick: str) -> str | None:
        return self._hold(self._key("seat", game_id), nick)

    def claim_player(self, room_key: str, nick: str, game_id: str) -> str | None:
        return self._hold(self._key("playing", room_key, nick.casefold()), game_id)

    def release_player(self, room_key: str, nick: str, game_id: str) -> None:
        try:
            self.client.call(b"EVAL", LET_GO, 1, self._key("playing", room_key, nick.casefold()),
                             game_id)
        except RedisDownError:
            pass  # (it runs out in a day)

    def _hold(self, key: str, value: str) -> str | None:
        try:
            got = self.client.call(b"EVAL", HOLD, 1, key, value)
        except RedisDownError:
            return ""
        if got == "":
            return None
        return got if isinstance(got, str) and not isinstance(got, ReplyError) else ""

    def others(self, room_key: str) -> list[str]:
        try:
            held = self.client.call(b"HVALS", self._key("nicks", room_key))
        except RedisDownError:
            return []
        mine = self.node + " "
        return [v.rsplit(" ", 1)[1] for v in held if isinstance(v, str) and " " in v
                and not v.startswith(mine)] if isinstance(held, list) else []


def _room_counts(claims: list, counts: dict[str, list]) -> None:
    """Count into `counts` (room key -> [name, nicks]) a node's claims, fields and
    values ("ROOMKEY NICKKEY", "ROOM NICK") as HGETALL gives them."""
    for field, value in zip(claims[::2], claims[1::2]):
        if isinstance(field, str) and isinstance(value, str) and " " in field and " " in value:
            counts.setdefault(field.rsplit(" ", 1)[0], [value.rsplit(" ", 1)[0], 0])[1] += 1


def _pair(item: object) -> bool:
    return isinstance(item, list) and len(item) == 2


def _stream_id(text: str) -> tuple[int, int]:
    ms, _, seq = text.partition("-")
    return (int(ms), int(seq or 0)) if ms.isdigit() and (seq or "0").isdigit() else (0, 0)
