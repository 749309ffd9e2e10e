"""The load generator: worker processes that each own a share of the clients.

Every chat line carries `SENDER SEQ SEND_TIME_NS pad`; every receiver checks each
line it gets (right room, right sender nick, sender really in that room, each
sequence number once and in order) in `Tally`, which has no sockets so a test can
feed it lines.  A worker runs one selectors loop for its clients.  The parent
(bench/fanout.py) starts the workers, samples the server's /proc between "go" and
"everything arrived", then lets the workers hang up.

Deliveries are counted the IRC way so both servers are comparable: a delivery is
a copy of a message received by another member of the room (N-1 per message in
a room of N).  Parlor also sends every message back to its sender; those echoes
are checked the same way (each once, in order) but counted apart, not as deliveries.
"""
from __future__ import annotations

import errno
import selectors
import socket
import time
import traceback
from array import array
from dataclasses import dataclass

from bench.adapters import ADAPTERS, is_registered

READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
RECV_SIZE = 1 << 18
PAD = b"lorem-ipsum-dolor-sit-amet"  # makes a chat text of about 55 bytes
REGISTER_TIMEOUT = 60.0
QUICKACK = getattr(socket, "TCP_QUICKACK", 12)  # (12: its number on Linux)
CONNECT_CONCURRENCY = 5  # per worker: unregistered connections at a time


@dataclass
class Plan:
    """One fan-out run: `rooms` x `per_room` clients, `msgs` messages each."""
    adapter: str
    host: str
    port: int
    rooms: int
    per_room: int
    msgs: int
    rate: float | None = None  # messages/s per client; None: as fast as the server takes them
    window: int = 32  # max-rate: messages a client may have in flight (sent, not yet seen back)
    workers: int = 2
    rcvbuf: int = 4 << 20  # ngircd drops a client whose 32 KiB send queue overflows
    stall: float = 10.0  # give up after this long without progress; the rest counts as lost
    quickack: bool = False  # ACK every read at once (TCP_QUICKACK), not after the kernel's delay

    @property
    def clients(self) -> int:
        return self.rooms * self.per_room

    def local_ids(self, worker: int) -> range:
        # Round-robin, so every room has members in every worker.
        return range(worker, self.clients, self.workers)


class Client:
    __slots__ = ("id", "room", "room_name", "sock", "tail", "out", "sent", "got", "expected",
                 "seen", "last", "greeted", "registered", "closed", "writing", "reg_line")

    def __init__(self, cid: int, room: int, adapter) -> None:
        self.id, self.room = cid, room
        self.room_name = adapter.room(room)
        self.reg_line = adapter.registered_line(room, cid)
        self.sock: socket.socket | None = None
        self.tail = b""
        self.out = bytearray()
        self.sent = self.got = self.expected = 0
        self.seen: dict[int, bytearray] = {}  # sender -> one byte per sequence number
        self.last: dict[int, int] = {}  # sender -> highest sequence number seen
        self.greeted = adapter.name != "parlor"  # Parlor: send nothing before HELLO
        self.registered = self.closed = self.writing = False


class Tally:
    """Receive accounting for the clients of one worker (no I/O)."""

    def __init__(self, adapter, per_room: int, clients: int, msgs: int) -> None:
        self.adapter, self.per_room, self.clients, self.msgs = adapter, per_room, clients, msgs
        self.nicks = [adapter.nick(i) for i in range(clients)]
        self.delivered = self.echoed = self.dup = self.reordered = 0
        self.misrouted = self.garbled = self.registered = 0
        self.errors: list[str] = []  # the first few error lines the server sent
        self.latency = array("q")  # ns, deliveries only
        self.acked: dict[int, int] = {}  # observed sender -> 1 + highest seq seen by a local client
        self.last_delivery_ns = 0

    def feed(self, c: Client, data: bytes, now: int) -> None:
        """Account for `data` received by client `c` at `now` (monotonic ns).  One long
        loop on purpose: it runs for every line the servers send, so the generator
        must not be the bottleneck."""
        if c.tail:
            data = c.tail + data
        lines = data.split(b"\n")
        c.tail = lines.pop()
        parse, msgs, per_room, nicks = self.adapter.parse_chat, self.msgs, self.per_room, self.nicks
        echoes, acked, latency = self.adapter.echoes, self.acked, self.latency
        got = c.got
        for line in lines:
            if line[-1:] == b"\r":
                line = line[:-1]
            chat = parse(line)
            if chat is None:
                self._other(c, line)
                continue
            room, nick, text = chat
            fields = text.split(b" ", 3)
            try:
                sid, seq, sent_ns = int(fields[0]), int(fields[1]), int(fields[2])
            except (ValueError, IndexError):
                self.garbled += 1
                continue
            if (not 0 <= sid < self.clients or not 0 <= seq < msgs or sid // per_room != c.room
                    or room != c.room_name or nick != nicks[sid] or (sid == c.id and not echoes)):
                self.misrouted += 1
                continue
            seen = c.seen.get(sid)
            if seen is None:
                seen = c.seen[sid] = bytearray(msgs)
            if seen[seq]:
                self.dup += 1
                continue
            seen[seq] = 1
            got += 1
            if seq < c.last.get(sid, -1):
                self.reordered += 1
            else:
                c.last[sid] = seq
            if sid == c.id:
                self.echoed += 1
            else:
                self.delivered += 1
                latency.append(now - sent_ns)
            high = acked.get(sid)
            if high is not None and seq >= high:
                acked[sid] = seq + 1
        if got != c.got:
            c.got = got
            self.last_delivery_ns = now

    def _other(self, c: Client, line: bytes) -> None:
        adapter = self.adapter
        if not c.greeted and line.startswith(b"HELLO "):
            c.greeted = True
            c.out += adapter.register(c.room, c.id)
        elif not c.registered and is_registered(adapter, line, c.reg_line):
            c.registered = True
            self.registered += 1
        elif line.startswith((b"ERROR", b"BYE ")) and len(self.errors) < 5:
            self.errors.append(line.decode("utf-8", "replace")[:200])
        pong = adapter.pong(line)
        if pong:
            c.out += pong


# ------------------------------------------------------------------ sockets
def open_socket(plan_host: str, port: int, rcvbuf: int | None) -> socket.socket:
    """A non-blocking TCP socket with its connect started (TCP_NODELAY, big receive buffer)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: window scale
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    err = sock.connect_ex((plan_host, port))
    if err not in (0, errno.EINPROGRESS):
        sock.close()
        raise OSError(err, f"connect to {plan_host}:{port}")
    return sock


def flush(sel: selectors.BaseSelector, c: Client) -> None:
    """Send what `c` has queued; watch for writability only while some is left."""
    if c.out and not c.closed:
        try:
            sent = c.sock.send(c.out)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            c.closed = True
            return
        del c.out[:sent]
    want = bool(c.out) and not c.closed
    if want != c.writing:
        c.writing = want
        sel.modify(c.sock, READ | WRITE if want else READ, c)


def on_readable(c: Client, tally: Tally, quickack: bool = False) -> None:
    """One recv for `c`, accounted at the time it returned; end of file closes `c`.
    `quickack`: the ACK goes at once (Linux clears TCP_QUICKACK after a while, so it
    is set again at every read): a server that leaves Nagle's algorithm on (ngircd)
    then shows its own latency, not the 40 ms of a delayed ACK it waits for."""
    try:
        data = c.sock.recv(RECV_SIZE)
        if quickack and data:
            c.sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
    except (BlockingIOError, InterruptedError):
        return
    except OSError:
        data = b""
    if not data:
        c.closed = True
        return
    tally.feed(c, data, time.monotonic_ns())


def pump(sel: selectors.BaseSelector, tally: Tally, timeout: float,
         quickack: bool = False) -> list[Client]:
    """One selector turn: read what is readable, send what is pending. Returns the clients
    that hit end of file."""
    gone = []
    for key, mask in sel.select(timeout):
        c = key.data
        if mask & WRITE:
            flush(sel, c)
        if mask & READ and not c.closed:
            on_readable(c, tally, quickack)
            if c.out and not c.closed:
                flush(sel, c)
        if c.closed:
            gone.append(c)
    for c in gone:
        sel.unregister(c.sock)
    return gone


# ------------------------------------------------------------------ fan-out
def fanout_worker(plan: Plan, worker: int, ready, go, release, results) -> None:
    """Entry point of one worker process (see module docstring)."""
    adapter = ADAPTERS[plan.adapter]
    sel = selectors.DefaultSelector()
    clients = [Client(cid, cid // plan.per_room, adapter) for cid in plan.local_ids(worker)]
    try:
        tally = Tally(adapter, plan.per_room, plan.clients, plan.msgs)
        connect_and_register(plan, sel, clients, tally, adapter)
        _prepare_accounting(plan, clients, tally, adapter)
        ready.wait(REGISTER_TIMEOUT)
        go.wait()
        stats = run_fanout(plan, sel, clients, tally, adapter)
        results.put(stats)
        release.wait()
    except Exception:  # tell the parent rather than leave it waiting
        ready.abort()
        results.put({"worker": worker, "error": traceback.format_exc()})
    finally:
        for c in clients:
            if c.sock is not None:
                c.sock.close()
        sel.close()


def register_clients(host: str, port: int, rcvbuf: int | None, clients: list[Client], sel,
                     tally: Tally, adapter, concurrency: int, timeout: float = REGISTER_TIMEOUT) -> int:
    """Connect and register `clients`, at most `concurrency` unregistered at a time
    (ngircd listens with a backlog of 10: a bigger connect burst has SYNs dropped and
    retried a second later, which would time the kernel, not the server).
    Returns how many the server hung up on meanwhile."""
    waiting, opened, dropped = list(reversed(clients)), 0, 0
    end = time.monotonic() + timeout
    while tally.registered + dropped < len(clients):
        while waiting and opened - tally.registered - dropped < concurrency:
            c = waiting.pop()
            c.sock = open_socket(host, port, rcvbuf)
            if c.greeted:  # IRC: register at once; Parlor waits for HELLO
                c.out += adapter.register(c.room, c.id)
            c.writing = True
            sel.register(c.sock, READ | WRITE, c)
            opened += 1
        dropped += len(pump(sel, tally, 1.0))
        if time.monotonic() > end:
            raise RuntimeError(f"only {tally.registered} of {len(clients)} clients registered in "
                               f"{timeout:g} s; the server said {tally.errors}")
    return dropped


def connect_and_register(plan: Plan, sel, clients: list[Client], tally: Tally, adapter) -> None:
    dropped = register_clients(plan.host, plan.port, plan.rcvbuf, clients, sel, tally, adapter,
                               CONNECT_CONCURRENCY)
    if dropped:
        raise RuntimeError(f"the server hung up on {dropped} clients while they registered; "
                           f"it said {tally.errors}")


def _prepare_accounting(plan: Plan, clients: list[Client], tally: Tally, adapter) -> None:
    """Expected counts per client, and which senders this worker can see (for the window)."""
    local_rooms: dict[int, int] = {}
    for c in clients:
        local_rooms[c.room] = local_rooms.get(c.room, 0) + 1
        c.expected = (plan.per_room - 1 + adapter.echoes) * plan.msgs
    for c in clients:
        if adapter.echoes or local_rooms[c.room] > 1:
            tally.acked[c.id] = 0


def run_fanout(plan: Plan, sel, clients: list[Client], tally: Tally, adapter) -> dict:
    schedule = _paced_schedule(plan, clients) if plan.rate else None
    start = time.monotonic_ns()
    expected = sum(c.expected for c in clients)
    last_progress, last_got, step = start, -1, 0
    stall_ns = int(plan.stall * 1e9)
    while True:
        got = tally.delivered + tally.echoed
        now = time.monotonic_ns()
        if got != last_got:
            last_got, last_progress = got, now
        sending = any(c.sent < plan.msgs for c in clients if not c.closed)
        if got >= expected and not sending:
            break
        if now - last_progress > stall_ns and (schedule is None or step >= len(schedule)):
            break
        if schedule is None:
            _top_up(plan, sel, clients, tally, adapter)
            timeout = 0.5
        else:
            step = _send_due(plan, sel, schedule, step, now, adapter)
            timeout = 0.5 if step >= len(schedule) else max(schedule[step][0] - now, 0) / 1e9
        pump(sel, tally, timeout, plan.quickack)
    return _fanout_stats(plan, clients, tally, start)


def _message(c: Client, seq: int, now: int, adapter) -> bytes:
    return adapter.say(c.room_name, b"%d %d %d %s" % (c.id, seq, now, PAD))


def _top_up(plan: Plan, sel, clients: list[Client], tally: Tally, adapter) -> None:
    """Max rate: refill each sender's window once half of it has been seen arrive."""
    acked, low = tally.acked, plan.window // 2
    for c in clients:
        if c.sent >= plan.msgs or c.closed:
            continue
        high = acked.get(c.id)
        in_flight = 0 if high is None else c.sent - high
        if in_flight > low:
            continue
        count = min(plan.window - in_flight, plan.msgs - c.sent)
        now = time.monotonic_ns()
        c.out += b"".join(_message(c, seq, now, adapter) for seq in range(c.sent, c.sent + count))
        c.sent += count
        flush(sel, c)


def _paced_schedule(plan: Plan, clients: list[Client]) -> list[tuple[int, Client]]:
    """Send times: each client every 1/rate s, clients spread evenly over the period."""
    period = 1e9 / plan.rate
    start = time.monotonic_ns() + 20_000_000
    times = []
    for c in clients:
        offset = period * c.id / plan.clients
        times += [(int(start + offset + k * period), c) for k in range(plan.msgs)]
    times.sort(key=lambda item: item[0])
    return times


def _send_due(plan: Plan, sel, schedule, step: int, now: int, adapter) -> int:
    touched = set()
    while step < len(schedule) and schedule[step][0] <= now:
        c = schedule[step][1]
        if not c.closed:
            c.out += _message(c, c.sent, time.monotonic_ns(), adapter)
            c.sent += 1
            touched.add(c)
        step += 1
    for c in touched:
        flush(sel, c)
    return step


def _fanout_stats(plan: Plan, clients: list[Client], tally: Tally, start: int) -> dict:
    echoes = ADAPTERS[plan.adapter].echoes
    per_client_others = (plan.per_room - 1) * plan.msgs
    return {
        "delivered": tally.delivered, "echoed": tally.echoed,
        "expected_deliveries": per_client_others * len(clients),
        "expected_echoes": plan.msgs * len(clients) if echoes else 0,
        "duplicated": tally.dup, "reordered": tally.reordered, "misrouted": tally.misrouted,
        "garbled": tally.garbled, "sent": sum(c.sent for c in clients),
        "disconnected": sum(c.closed for c in clients), "errors": tally.errors,
        "latency": tally.latency.tobytes(), "start_ns": start,
        "last_delivery_ns": tally.last_delivery_ns,
    }
