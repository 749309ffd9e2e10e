"""The server shell: one thread, one selectors loop, non-blocking sockets.

Owns sockets, per-connection input decoders and output buffers, the wake-up times
and shutdown; enforces the socket limits of chat.server.limits (line size, pending
output, client count) and carries out what each connection's chat.server.guard asks
(flood rate, work budget, ping and registration timeouts).  It measures what each
connection's lines cost (the time to handle them, and a share of the sends for
every copy queued) for the guard to charge, and bounds the work of one loop turn:
lines past TURN_WORK wait for the next turn, the least spent first.  All chat
behaviour is in chat.server.state; this module moves bytes.
"""
from __future__ import annotations

import errno
import gc
import heapq
import logging
import os
import selectors
import socket
import ssl
import time
from itertools import count
from typing import Sequence

from chat import course
from chat import protocol as p
from chat import tls
from chat.server.guard import (DISCONNECTED, Action, Caution, CutOff, Drop, Guard, HangUp,
                               Line, Probe, Refusal)
from chat.server.admission import Admission
from chat.server.course import GAP, CourseSession, Spacer
from chat.server.limits import WINDOWS_SPARE, Limits
from chat.server.password import PasswordGate
from chat.server.state import REPLACED, ChatState, Outbox
from chat.server.tls import Handshakes

try:
    import resource
except ImportError:  # Windows
    resource = None
try:
    from fcntl import ioctl
    from termios import TIOCOUTQ  # (on Linux, SIOCOUTQ: bytes sent but not yet acknowledged)
except ImportError:  # not Linux nor a Unix like it: the gap alone spaces course sends
    ioctl = TIOCOUTQ = None

log = logging.getLogger("parlor.server")

READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
RECV_SIZE = 65536
ACCEPT_PAUSE = 0.5  # seconds to stop accepting when the process is out of file descriptors
LINGER = 2.0        # seconds a closed connection's input is still read and discarded
HOUSEKEEPING = 1.0  # seconds between checks of lingering sockets and of the CPUs we may use
NEVER = float("inf")
TLS_HELLO = b"\x16\x03"  # how a TLS client's first bytes begin
PASSWORD_WANTED = "this server asks for a password before anything else"
# Seconds of handling one loop turn does before the lines left wait for the next turn
# (sooner than the guards would let them through: they are handled as soon as the
# loop is free), so a turn stays short and a light line waits for little.  Without a
# work budget (--max-work 0, as the benchmarks run) there is no such fairness to keep
# and a turn goes on to TURN_MAX, its sends batched.
TURN_WORK = 0.001
TURN_MAX = 0.05
# Seconds charged for each copy of a message queued for a connection, beyond the time
# measured: its share of the sends, done at the end of the turn (~0.3 us a copy here).
COPY_COST = 0.3e-6
CPU_CLOCK = 50e-6    # seconds of handling from which it is charged its CPU time, not the wall's
RANK_SLACK = 0.001   # seconds of work rank within which a fresh line need not wait
SETTLE_WORK = 0.001  # seconds of sends one settle does; the rest go in the next turn
FEW_WRITES = 64      # dirty connections that are always written in one go
COURSE_RECV = course.MAX_MESSAGE  # a course client's message: what one recv(1024) takes
SELECT_LINGER_CAP = WINDOWS_SPARE // 2  # lingering sockets at most on a select() selector
UNACKED_RECHECK = 0.01  # seconds between looks at a course send the peer has not acknowledged


GC_TIME = [0.0, 0.0]  # seconds the garbage collector has run in all; when it last began


def _time_collections(phase: str, info: dict) -> None:
    """gc's callback: a collection's pause is charged to nobody's work budget (it is
    the whole process's garbage, often not even the connection's whose line ran)."""
    if phase == "start":
        GC_TIME[1] = time.perf_counter()
    else:
        GC_TIME[0] += time.perf_counter() - GC_TIME[1]


if _time_collections not in gc.callbacks:
    gc.callbacks.append(_time_collections)


class Connection:
    __slots__ = ("sock", "id", "host", "decoder", "out", "out_size", "events", "guard", "wake",
                 "reading", "on_event", "tls", "locked", "course", "spacer")

    def __init__(self, sock: socket.socket, conn_id: int, limits: Limits, now: float) -> None:
        self.sock = sock
        self.id = conn_id
        self.decoder = p.LineDecoder(limits.max_line)
        self.out: list[bytes] = []
        self.out_size = 0
        self.events = READ     # what the selector watches for
        self.guard = Guard(limits, now)  # its flood limit, timers and closing state
        self.wake = NEVER      # the time of its live entry in Server._wakes
        self.reading = True    # the peer has not ended its input
        self.host = ""         # its address, without the port: what Admission counts
        self.on_event = None   # its selector callback
        self.tls = isinstance(sock, ssl.SSLSocket)
        self.locked = False    # the server has a password that it has not given yet
        self.course: CourseSession | None = None  # a course-protocol client (--compat-port)
        self.spacer: Spacer | None = None  # its sends, spaced (course clients only)


class Server:
    def __init__(self, state: ChatState, host: str = "127.0.0.1", port: int = 5220,
                 limits: Limits | None = None, spin_us: int = 0,
                 tls_context: ssl.SSLContext | None = None,
                 password: PasswordGate | None = None, compat_port: int | None = None,
                 compat_gap: float = GAP, bus=None, reuse_port: bool = False,
                 selector: selectors.BaseSelector | None = None) -> None:
        self.limits = limits or Limits()
        self._spin_setting = spin_us / 1e6
        self.spin = self._spin_now()
        self.state = state  # built and wired by chat.server.main
        self.admission = Admission(self.limits)
        self.password = password
        _raise_fd_limit(self.limits.max_clients + 64)
        self.listener = socket.create_server((host, port), backlog=1024, reuse_port=reuse_port)
        self.listener.setblocking(False)
        self.selector = selector or selectors.DefaultSelector()
        # A select()-based selector (Windows' only kind) watches a fixed number of
        # sockets: closing connections linger (to keep their BYE) only within the spare.
        self._linger_cap = SELECT_LINGER_CAP if isinstance(self.selector, selectors.SelectSelector) \
            else None
        self.selector.register(self.listener, READ, self._accept)
        # --compat-port: course-protocol clients, in the same rooms (chat.server.course).
        self.compat_gap = compat_gap
        self.compat = None
        if compat_port is not None:
            try:
                self.compat = socket.create_server((host, compat_port), backlog=1024)
            except OSError as exc:
                self.listener.close()
                self.selector.close()
                exc.port = compat_port  # (which of the two could not listen)
                raise
            self.compat.setblocking(False)
            self.selector.register(self.compat, READ, self._accept_course)
        self._releases: list[tuple[float, int]] = []  # heap of (when, conn id): course sends due
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.selector.register(self._wake_r, READ, self._on_wake)
        # With TLS, an accepted connection is in `handshakes` until its handshake is done.
        self.handshakes = None if tls_context is None else Handshakes(
            tls_context, self.selector, self.limits.handshake_timeout,
            done=lambda sock, host, addr: self._add(sock, host, addr),
            failed=self.admission.left)
        self.conns: dict[int, Connection] = {}
        self._next_id = 1
        self._dirty: set[Connection] = set()
        self._talkers: set[Connection] = set()  # connections whose lines this turn handled
        self._doomed: dict[Connection, str] = {}
        self._wakes: list[tuple[float, int]] = []  # heap of (when, conn id); stale ones skipped
        self._graceful: set[Connection] = set()  # said goodbye: linger when dropped
        self._lingering: dict[socket.socket, float] = {}  # closed ones still draining -> until
        self._stopping = False
        self.shutdown_reason = "the server is shutting down"
        self.now = time.monotonic()
        self._next_housekeeping = self.now
        self._accept_paused_until: float | None = None
        self._ping_count = 0
        self._turn_left = TURN_WORK  # what this loop turn may still spend handling lines
        self._copies = 0  # messages queued for a connection, ever (for COPY_COST)
        self._backlog: list[tuple[float, int, int]] = []  # heap of (rank, seq, conn id)
        self._backlogged: set[Connection] = set()  # whose held lines wait for a turn
        self._serving: Connection | None = None  # the one taken off the backlog now
        self._unwritten: list[Connection] = []  # dirty ones a bounded settle left, in order
        self._seq = count()
        self._slices = 1           # TURN_WORKs this loop turn has had
        self._settle_until = 0.0  # when this turn's sends stop (0: none done yet)
        self._spin_until = 0.0  # until then the loop polls instead of sleeping
        self._backlog_skipped = False  # the last turn's fresh lines left none for the backlog
        # Several servers as one (chat.server.redis_bus): room lines go out through it
        # and come back to be delivered here; None for a server on its own.
        self.bus = bus
        if bus is not None:
            bus.attach(self.selector, self._from_bus, self._tell_all, self.state.heard,
                       self._game_act, self.state.session_in, self.state.node_gone)

    @property
    def address(self) -> tuple[str, int]:
        return self.listener.getsockname()[:2]

    @property
    def wakeup_fd(self) -> int:
        """For signal.set_wakeup_fd: a signal wakes the loop (on Windows nothing else does)."""
        return self._wake_w.fileno()

    @property
    def compat_address(self) -> tuple[str, int] | None:
        """Where course-protocol clients connect (None: no --compat-port)."""
        return self.compat.getsockname()[:2] if self.compat is not None else None

    # -------------------------------------------------------------- the loop
    def serve_forever(self) -> None:
        try:
            while not self._stopping:
                self.turn()
            self._shutdown()
        finally:
            self._close_all()

    def turn(self) -> int:
        """One turn of the loop: wait for the sockets (or poll them, spinning), handle
        what they say, then the timers, the backlog and the sends.  How many were ready."""
        # Right after activity, poll instead of sleeping for `spin` seconds: the next
        # line of a conversation usually comes within that, and waking a sleeping
        # process on another CPU costs more than the line itself.
        work = self._backlog or self._dirty
        events = self.selector.select(0 if work or self.now < self._spin_until else self._timeout())
        self.now = time.monotonic()  # before anything is stamped with it
        if not events and not work and self.now < self._spin_until:
            return 0  # spinning: the timers wait for its end (--spin, 100 us)
        self._turn_left, self._slices, self._settle_until = TURN_WORK, 1, 0.0
        if self.handshakes is not None:
            self.handshakes.new_turn()
        for key, mask in events:
            key.data(key.fileobj, mask)
        if events:
            self._spin_until = self.now + self.spin
            self._settle()  # what fresh lines said goes out before held lines' work
        self._on_timers()
        if self._backlog:
            self._serve_backlog()
        self._settle()
        return len(events)

    def stop(self, reason: str | None = None) -> None:
        """Ask the loop to shut down; safe from a signal handler or another thread."""
        if reason:
            self.shutdown_reason = reason
        self._stopping = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass  # the wake-up pipe is full or closed: the loop is waking anyway

    def _on_wake(self, sock: socket.socket, mask: int) -> None:
        try:
            sock.recv(4096)
        except OSError:
            pass

    def _settle(self) -> None:
        """End of a loop turn: drop doomed connections, then one send per dirty one,
        for SETTLE_WORK at most in all of a loop turn's settles (a message to a full
        room is a thousand sends): the connections left go first next time."""
        if self.bus is not None:
            self.bus.watch(self.state.rooms)
        history = self.state.history
        if history.unsaved:  # (with a bus, what it was handed goes out on this too)
            self._commit()
        while self._doomed or self._dirty:
            while self._doomed:
                conn, reason = self._doomed.popitem()
                self._drop(conn, reason)  # (its room hears it: kept, so committed below)
            if history.unsaved:
                self._commit()
            dirty, self._dirty = self._dirty, set()
            talkers, self._talkers = self._talkers, set()
            if len(dirty) <= FEW_WRITES and not self._unwritten:
                # Those who sent this turn's lines get their echo last: everyone else's
                # copy goes out one send (~10 us on loopback) sooner.
                conns, send = self.conns, self._send
                for conn in dirty:
                    if conn not in talkers and conn.id in conns:
                        send(conn)
                for conn in talkers & dirty:
                    if conn.id in conns:
                        send(conn)
                continue
            if not self._settle_until:
                self._settle_until = time.perf_counter() + SETTLE_WORK
            stop = self._settle_until
            order = self._write_order(dirty, talkers)
            for i, conn in enumerate(order):
                if conn.id in self.conns:
                    self._send(conn)
                if i & 15 == 15 and time.perf_counter() > stop and i + 1 < len(order):
                    self._unwritten = order[i + 1:]
                    self._dirty.update(self._unwritten)
                    return

    def _write_order(self, dirty: set[Connection], talkers: set[Connection]) -> list[Connection]:
        """Many dirty connections (a full room's copies), in the order to write them:
        the talkers first (a small room's answer is not held up behind a big room's
        copies), then those a bounded settle left last time, then the rest."""
        left, self._unwritten = self._unwritten, []
        first = [c for c in talkers if c in dirty] + [c for c in left if c in dirty]
        seen = set(first)
        return first + [c for c in dirty if c not in seen]

    # -------------------------------------------------------------- timers
    def _timeout(self) -> float | None:
        """How long select may wait: until the next connection's wake-up or housekeeping."""
        waits = []
        if self._wakes:
            waits.append(self._wakes[0][0])
        if self._releases:
            waits.append(self._releases[0][0])
        if self.conns or self._lingering or self.state.holds:
            waits.append(self._next_housekeeping)
        if self._accept_paused_until is not None:
            waits.append(self._accept_paused_until)
        if self.handshakes and (deadline := self.handshakes.next_deadline()) is not None:
            waits.append(deadline)
        if self.bus is not None:
            waits.append(self.bus.next_wake())
        return max(0.0, min(waits) - time.monotonic()) if waits else None

    def _on_timers(self) -> None:
        wakes, now = self._wakes, self.now
        while wakes and wakes[0][0] <= now:
            when, conn_id = heapq.heappop(wakes)
            conn = self.conns.get(conn_id)
            if conn is not None and conn.wake == when:  # else a stale entry
                conn.wake = NEVER
                self._carry_out(conn, *conn.guard.tick(now))
        if self._releases:
            self._release_due(now)
        if self.handshakes:
            self.handshakes.expire(now)
        if self.bus is not None:
            self._bus_tick(now)
        if self._accept_paused_until is not None and now >= self._accept_paused_until:
            self._accept_paused_until = None
            self.selector.register(self.listener, READ, self._accept)
            if self.compat is not None:
                self.selector.register(self.compat, READ, self._accept_course)
        if (self.conns or self._lingering or self.state.holds) and now >= self._next_housekeeping:
            self._housekeeping()

    def _schedule(self, conn: Connection) -> None:
        """Wake for `conn` when its guard asks, if that is sooner than already planned
        (a doomed one is past asking: its guard would keep repeating the hang-up)."""
        when = conn.guard.next_wake()
        if when < conn.wake and conn not in self._doomed:
            conn.wake = when
            heapq.heappush(self._wakes, (when, conn.id))

    def _defer(self, conn: Connection) -> None:
        """Its lines wait for a later turn: the one that has spent least goes first."""
        if conn not in self._backlogged:
            self._backlogged.add(conn)
            heapq.heappush(self._backlog, (conn.guard.rank(self.now), next(self._seq), conn.id))

    def _serve_backlog(self) -> None:
        """Deferred lines, with what is left of the turn; at least one connection's if
        fresh lines left nothing of it twice running (so a turn is fresh lines' budget
        or the backlog's, plus one line, not both: a line arriving now waits less)."""
        backlog = self._backlog
        first = self._turn_left > 0 or self._backlog_skipped
        self._backlog_skipped = not first
        while backlog and (first or self._turn_left > 0):
            conn = self.conns.get(heapq.heappop(backlog)[2])
            if conn is None or conn not in self._backlogged:
                continue
            self._backlogged.discard(conn)
            if first:
                self._turn_left, first = max(self._turn_left, 1e-9), False
            self._serving = conn
            self._carry_out(conn, *conn.guard.tick(self.now))
        self._serving = None

    def _spin_now(self) -> float:
        """No spinning on a single CPU: there it only steals time from the clients."""
        return self._spin_setting if self._spin_setting and _cpus() > 1 else 0.0

    def _housekeeping(self) -> None:
        """Close the lingering sockets whose time is up; look at the CPUs again."""
        now = self.now
        self._next_housekeeping = now + HOUSEKEEPING
        self.spin = self._spin_now()  # the CPUs we may use can change while we run
        for sock in [s for s, until in self._lingering.items() if now >= until]:
            self._unlinger(sock)
        self.admission.forget_idle(now)
        if self.password is not None:
            self.password.forget_idle(now)
        out = Outbox()
        self.state.expire(out)
        self._apply(out)
        if self.state.history.failing:  # retried now and then, if nobody talks meanwhile
            self._commit()
        self.state.history.prune()

    # -------------------------------------------------------------- the guard's actions
    def _carry_out(self, conn: Connection, ready: Sequence[Line],
                   actions: Sequence[Action]) -> None:
        """Handle the lines the guard let through, then do what it asks (unless those
        lines closed the connection: then the rest is moot)."""
        if ready:
            self._consume(conn, ready)
            if conn.guard.closing:
                return
        for action in actions:
            _CARRIERS[type(action)](self, conn, action)
        guard = conn.guard
        if guard.ended and not guard.held and not guard.closing:
            self._close_soon(conn, DISCONNECTED)  # all it sent is handled: flush, then close
        self._schedule(conn)

    def _on_caution(self, conn: Connection, action: Caution) -> None:
        self._tell(conn, p.Error(action.text))

    def _on_probe(self, conn: Connection, action: Probe) -> None:
        if conn.course is not None:
            # A course client cannot answer a PING: TCP keepalive (set at accept, with
            # the same times) finds a dead one instead, and a silent one that has
            # spoken is let be.  One that never spoke still meets --register-timeout.
            if conn.guard.spoke:
                ready, actions = conn.guard.receive([], self.now)
                for later in actions:
                    _CARRIERS[type(later)](self, conn, later)
            return
        self._ping_count += 1
        self._queue(conn, p.encode(p.Ping(str(self._ping_count), action.text)))

    def _on_cut_off(self, conn: Connection, action: CutOff) -> None:
        """Tell it why, flush that, then close; its room hears the reason."""
        log.info("cutting off #%d: %s", conn.id, action.reason)
        self._tell(conn, p.Bye(action.told))
        self._close_soon(conn, action.reason)

    def _on_hang_up(self, conn: Connection, action: HangUp) -> None:
        """Drop a peer that is probably gone: one try to say why, then close."""
        self._tell(conn, p.Bye(action.reason), at_once=True)
        self._write(conn)
        self._doomed[conn] = action.reason

    def _on_drop(self, conn: Connection, action: Drop) -> None:
        self._doomed[conn] = action.reason

    def _tell(self, conn: Connection, msg: p.ServerMessage, at_once: bool = False) -> None:
        """One message of the loop's own (the guard's) to `conn`, in its protocol;
        `at_once`: past a course client's spacing (its last words, before a drop)."""
        if conn.course is None:
            self._queue(conn, p.encode(msg))
        elif at_once:
            for text in conn.course.sends(msg):
                self._queue(conn, course.clip(text))
        else:
            self._queue_course(conn, msg)

    # -------------------------------------------------------------- accept / read
    def _accept_course(self, listener: socket.socket, mask: int) -> None:
        self._accept(listener, mask, course_port=True)

    def _accept(self, listener: socket.socket, mask: int, course_port: bool = False) -> None:
        for _ in range(64):
            try:
                sock, addr = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._accept_failed(exc)
                return
            shaking = self.handshakes
            refusal = self.admission.admit(addr[0], self.now,
                                           len(self.conns) + len(shaking or ()))
            if shaking is not None and course_port:
                shaking = None  # (the course port is plain text)
            if refusal:
                log.info("turned away %s:%s: %s", addr[0], addr[1], refusal)
                _turn_away(sock, refusal, plain=shaking is None, course_port=course_port)
                continue
            if shaking is not None:
                shaking.start(sock, addr[0], f"{addr[0]}:{addr[1]}", self.now)
            else:
                self._add(sock, addr[0], f"{addr[0]}:{addr[1]}", course_port)

    def _accept_failed(self, exc: OSError) -> None:
        log.warning("accept failed: %s", exc.strerror or exc)
        if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM) and \
                self._accept_paused_until is None:
            # The listeners stay readable while we cannot accept: stop watching them a moment.
            self.selector.unregister(self.listener)
            if self.compat is not None:
                self.selector.unregister(self.compat)
            self._accept_paused_until = time.monotonic() + ACCEPT_PAUSE

    def _add(self, sock: socket.socket, host: str, addr: str, course_port: bool = False) -> None:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(sock, self._next_id, self.limits, self.now)
        conn.host = host
        if course_port:
            conn.course, conn.spacer = CourseSession(), Spacer(self.compat_gap)
            _keep_alive(sock, self.limits.ping_interval, self.limits.ping_timeout)
        self._schedule(conn)
        self._next_id += 1
        self.conns[conn.id] = conn
        conn.on_event = lambda _sock, mask, c=conn: self._on_event(c, mask)
        self.selector.register(sock, READ, conn.on_event)
        out = Outbox()
        self.state.connect(conn.id, addr, out)
        if self.password is not None and not course_port:
            conn.locked = True
            out.to(conn.id, p.PasswordWanted(PASSWORD_WANTED))
        self._apply(out)

    def _on_event(self, conn: Connection, mask: int) -> None:
        if mask & WRITE:
            self._write(conn)
        if mask & READ and conn.id in self.conns:
            self._read(conn)

    def _read(self, conn: Connection) -> None:
        try:
            data = tls.receive(conn.sock, RECV_SIZE) if conn.tls else \
                conn.sock.recv(COURSE_RECV if conn.course else RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._doomed[conn] = f"connection error: {tls.failure(exc, handshake=False)}"
            return
        if not data:
            if data is not None:
                self._end_of_input(conn)
            return
        if conn.guard.closing:
            return  # it said /quit, or is being cut off; what it sends now is moot
        if not conn.guard.spoke and not conn.tls and data[:2] == TLS_HELLO:
            log.info("#%d is a TLS client on this plain-text port: closed", conn.id)
            self._doomed[conn] = DISCONNECTED
            return
        lines = course.split_reads(data) if conn.course else conn.decoder.feed(data)
        if not lines:
            return
        self._talkers.add(conn)
        ready, actions = conn.guard.receive(lines, self.now)
        if actions or ready is not lines:
            self._carry_out(conn, ready, actions)
        elif len(lines) == 1 and lines[0].__class__ is str and lines[0][:1] != "/" \
                and conn.course is None and not conn.locked and not self._must_wait(conn):
            self._say_one(conn, lines[0])  # the hot path: one chat line, nothing held
        else:
            self._consume(conn, lines)  # nothing held, nothing to say

    def _end_of_input(self, conn: Connection) -> None:
        """The peer ended its input (`cat file | nc -N` half-closes): the lines the
        flood limit still holds are handled, in order, without the rate but within
        the work budget and the close grace, and what is queued is flushed before
        the close."""
        conn.reading = False
        if conn.guard.closing:  # it said /quit or is being cut off: nothing more to do
            self._doomed[conn] = DISCONNECTED
            return
        self._watch(conn, READ)  # (its end of input stays readable: no longer watched)
        conn.guard.end_input(self.now)
        self._carry_out(conn, *conn.guard.tick(self.now))

    def _consume(self, conn: Connection, lines: Sequence[Line], bounded: bool = True) -> None:
        """Handle lines the guard let through, up to a /quit, and charge their cost to
        its guard.  `bounded`: once the cost is past the connection's work budget or
        the turn's, the rest wait again.  A send to a room reaches its members as of
        delivery, so what earlier lines said is delivered before a command (which may
        move the sender: `hi` then `/leave`) is handled; chat lines move nobody, so a
        run of them shares one delivery."""
        if bounded and self._must_wait(conn):
            self._hold_back(conn, list(lines))
            return
        done, guard = 0, conn.guard
        while True:
            done = self._handle_some(conn, lines, done, bounded)
            if done >= len(lines) or guard.closing or not bounded:
                return
            if guard.work_left(self.now) <= 0 or not self._next_slice():
                break  # it is in debt, or the turn is full: the rest wait
        self._hold_back(conn, list(lines[done:]))

    def _handle_some(self, conn: Connection, lines: Sequence[Line], done: int,
                     bounded: bool) -> int:
        """Handle lines from `done` on until their cost is past the connection's work
        budget or the turn's (one at least), charge it, and say how far it got."""
        out, clock, copies, first, state = Outbox(), time.perf_counter, self._copies, done, self.state
        hashed = state.hashing_time  # (a password's hash is not the line's cost)
        collected = GC_TIME[0]  # (nor is a garbage collection that happens to run now)
        # The turn is bounded by the clock on the wall; the connection is charged the
        # CPU its lines took: time this process was preempted (a busy machine) or waited
        # on Redis is not its doing, and charged it would hold a light user back.
        cpu = time.thread_time()
        start = clock()
        stop = start + min(self._turn_left, conn.guard.work_left(self.now)) if bounded else NEVER
        for item in lines[done:] if done else lines:
            if out.sends and (item.__class__ is not str or p.is_command(item)):
                self._deliver(out)
            self._handle_line(conn, item, out)
            done += 1
            if out.closes and conn.id in out.closes:  # /quit: the rest is moot
                done = len(lines)
                break
            if clock() + (self._copies - copies) * COPY_COST > stop:
                break
        self._apply(out)  # answers to what was handled go out before any flood BYE
        self._charge(conn, done - first, start, cpu, copies, collected,
                     exempt=state.hashing_time - hashed)
        return done

    def _say_one(self, conn: Connection, line: str) -> None:
        """One chat line read alone (what most reads are): `_handle_some` without its
        loop, its checks for commands and passwords, and its turn bound (one line
        always goes)."""
        copies, collected, out = self._copies, GC_TIME[0], Outbox()
        cpu = time.thread_time()
        start = time.perf_counter()
        try:
            self.state.say(conn.id, line, out)
        except Exception:  # the per-connection boundary, as in _handle_line
            self._failed(conn, line, out)
        self._apply(out)
        self._charge(conn, 1, start, cpu, copies, collected)

    def _charge(self, conn: Connection, lines: int, start: float, cpu: float, copies: int,
                collected: float, exempt: float = 0.0) -> None:
        """Handling `lines` of its lines took from `start` (perf_counter) and `cpu`
        (thread_time) to now, and queued the copies since `copies`: that is spent
        from the turn (wall time) and charged to `conn` (CPU time), but for a garbage
        collection that ran meanwhile (`collected`: GC_TIME[0] then) and `exempt`."""
        sends, paused = (self._copies - copies) * COPY_COST, GC_TIME[0] - collected
        wall = time.perf_counter() - start
        self._turn_left -= max(0.0, wall + sends - paused)
        # (thread_time is a system call, ~0.7 us: a handling too short to have been
        # preempted much is charged its wall time, CPU_CLOCK at most)
        used = wall if wall < CPU_CLOCK else time.thread_time() - cpu
        conn.guard.charge(max(0.0, used + sends - paused), self.now, lines, exempt=exempt)

    def _must_wait(self, conn: Connection) -> bool:
        """Its lines wait for a later turn if this one is full, or if the backlog holds
        someone to serve before it (by more than RANK_SLACK: a fresh line from one that
        spent about as little as the best waiting goes now, as the waiting ones may be
        about to spend a lot)."""
        if self._turn_left <= 0 and not self._next_slice():
            return True
        backlog = self._backlog
        return bool(backlog) and conn is not self._serving and \
            conn.guard.rank(self.now) > backlog[0][0] + RANK_SLACK

    def _next_slice(self) -> bool:
        """The turn has done TURN_WORK: it ends, and whoever waits gets a look in; with
        no work budget it goes on (True, another TURN_WORK) up to TURN_MAX."""
        if self.limits.max_work or self._slices * TURN_WORK >= TURN_MAX:
            return False
        self._turn_left, self._slices = TURN_WORK, self._slices + 1
        return True

    def _hold_back(self, conn: Connection, lines: list[Line]) -> None:
        for action in conn.guard.hold_back(lines, self.now):
            _CARRIERS[type(action)](self, conn, action)
        if conn.guard.deferred:
            self._defer(conn)
        self._schedule(conn)

    def _deliver(self, out: Outbox) -> None:
        """Send what `out` holds now and empty it; its closes wait for `_apply`."""
        closes, out.closes = out.closes, []
        self._apply(out)
        out.sends, out.closes = [], closes

    def _close_soon(self, conn: Connection, reason: str | None = None) -> None:
        """Close once what is queued is sent, or when the guard's grace runs out."""
        conn.guard.close_soon(self.now, reason)
        self._dirty.add(conn)
        self._schedule(conn)

    def _handle_line(self, conn: Connection, item: str | p.BadLine, out: Outbox) -> None:
        if conn.course is not None:
            self._handle_course(conn, item, out)
            return
        chat = item.__class__ is str and item[:1] != "/"
        if conn.locked or (not chat and item.__class__ is str and p.is_password_line(item)):
            self._unlock(conn, item, out)  # (a password line never reaches the state)
            return
        try:
            if chat:
                self.state.say(conn.id, item, out)  # the hot path: nothing to parse
            else:
                self.state.handle(conn.id, item, out)
        except Exception:  # the per-connection boundary: log it, tell them, go on
            self._failed(conn, item, out)

    @staticmethod
    def _failed(conn: Connection, item: Line, out: Outbox) -> None:
        """Handling `item` raised (our bug): logged with its traceback, and its sender told."""
        log.exception("error handling a line from #%d: %r", conn.id,
                      "<a line with a password>" if item.__class__ is str
                      and p.is_secret_line(item) else item)
        out.to(conn.id, p.Error("the server failed to handle your last line; it was ignored"))

    def _handle_course(self, conn: Connection, item: str, out: Outbox) -> None:
        """A course client's message: what the state says to it so far goes out first
        (it moves the client: what the message means depends on where it is now)."""
        if out.sends:
            self._deliver(out)
        line, answers = conn.course.command(item)
        for text in answers:
            self._push_course(conn, text)
        if line is not None:
            try:
                self.state.handle(conn.id, line, out)
            except Exception:  # the per-connection boundary, as for any connection
                log.exception("error handling a course message from #%d: %r", conn.id, item)

    def _unlock(self, conn: Connection, item: Line, out: Outbox) -> None:
        """A line before the password was given: the right /pass lets it in; anything
        else is refused after a delay that grows with its address's failures."""
        if conn.guard.refusal:
            return  # refused already: what it sends meanwhile is moot
        msg = p.parse_client_line(item) if item.__class__ is str else None
        if not conn.locked:
            out.to(conn.id, p.reply(p.Pass, 0, "no password is needed: you are in"))
            return
        if isinstance(msg, p.Pong):
            return  # (the answer to a PING is no attempt)
        if isinstance(msg, p.Pass) and self.password.accepts(msg.secret):
            conn.locked = False
            log.info("#%d gave the password", conn.id)
            out.to(conn.id, p.reply(msg, 0, "password accepted"))
            return
        given = isinstance(msg, p.Pass)
        delay = self.password.failed(conn.host, self.now)
        reason = "a wrong password" if given else "no password"
        log.info("#%d from %s gave %s: refused in %g s", conn.id, conn.host, reason, delay)
        told = ("wrong password" if given else
                f"this server asks for a password first: {p.typed(p.Pass, 'SECRET')}")
        conn.guard.refuse(self.now + delay, Refusal(reason, told))
        self._schedule(conn)

    def _on_refusal(self, conn: Connection, action: Refusal) -> None:
        self._queue(conn, p.encode(p.reply(p.Pass, 1, action.told)))
        self._queue(conn, p.encode(p.Bye(action.told)))
        self._close_soon(conn, action.reason)

    # -------------------------------------------------------------- output
    def _apply(self, out: Outbox) -> None:
        # The fan-out: each message is encoded once and the same bytes object is
        # queued for every target (this loop is _queue inlined: it is the hot path).
        if out.adoptions:
            adoptions, out.adoptions = out.adoptions, []
            for conn_id, session_id in adoptions:
                self._adopt(conn_id, session_id)
        conns, limit, dirty = self.conns, self.limits.max_pending, self._dirty
        room_members, bus = self.state.room_members, self.bus
        course = self.compat is not None  # (without a course port, no connection is one)
        copies = 0
        for targets, msg in out.sends:
            if bus is not None and bus.publish(targets, msg):  # it comes back to be delivered
                self.state.history.unsaved = True
                continue
            if targets.__class__ is str:  # a room: its members as of now
                targets = room_members(targets)
            copies += len(targets)
            data = p.encode(msg)
            size = len(data)
            for target in targets:
                conn = conns.get(target)
                if conn is None:
                    continue
                if course and conn.course is not None:
                    self._queue_course(conn, msg)
                    continue
                pending = conn.out
                if not pending:  # else it is dirty already, or watched for writability
                    dirty.add(conn)
                pending.append(data)
                conn.out_size += size
                if conn.out_size > limit:
                    self._overflow(conn)
        self._copies += copies
        if out.stop is not None:  # a server operator's /shutdown
            self.stop(out.stop)
        for target in out.closes:
            conn = conns.get(target)
            if conn is not None:
                self._close_soon(conn)

    def _adopt(self, conn_id: int, session_id: int) -> None:
        """The connection `conn_id` resumed the session `session_id`: it goes by that id
        from now on.  A connection still under that id is told it was replaced and
        closed, under a new id the state does not know (its end changes nothing)."""
        conn = self.conns.pop(conn_id, None)
        if conn is None:
            return
        before = self.conns.pop(session_id, None)
        if before is not None:
            before.id, self._next_id = self._next_id, self._next_id + 1
            self.conns[before.id] = before
            self._queue(before, p.encode(p.Bye(REPLACED)))
            self._close_soon(before)
            before.wake = NEVER
            self._schedule(before)
        conn.id = session_id
        self.conns[session_id] = conn
        conn.wake = NEVER  # its wake-ups were filed under the old id
        self._schedule(conn)

    def _queue(self, conn: Connection, data: bytes) -> None:
        conn.out.append(data)
        conn.out_size += len(data)
        if conn.out_size > self.limits.max_pending:
            self._overflow(conn)
        else:
            self._dirty.add(conn)

    def _queue_course(self, conn: Connection, msg: p.ServerMessage) -> None:
        for text in conn.course.sends(msg):
            self._push_course(conn, text)

    def _push_course(self, conn: Connection, text: str) -> None:
        """A course send joins the connection's queue; the first goes at once if the
        gap since the last has passed, the rest as the timers release them."""
        spacer = conn.spacer
        spacer.push(text)
        if spacer.size + conn.out_size > self.limits.max_pending:
            self._overflow(conn)
        elif not conn.out and len(spacer) == 1:
            self._release(conn, time.monotonic())

    def _release(self, conn: Connection, now: float) -> None:
        """The next course send to `conn`, if its time has come and the one before
        has left (and, where the system says, been acknowledged by the peer): into
        its output, alone; else a timer for when it may go."""
        spacer = conn.spacer
        due = spacer.due()
        if due is None or due == NEVER or conn.out:
            return  # (NEVER: the send before is still on its way out)
        if now >= due and _unacknowledged(conn.sock):
            due = now + UNACKED_RECHECK
        data = spacer.take(now) if now >= due else None
        if data is None:
            heapq.heappush(self._releases, (due, conn.id))
            return
        conn.out.append(data)
        conn.out_size += len(data)
        self._dirty.add(conn)

    def _release_due(self, now: float) -> None:
        releases = self._releases
        while releases and releases[0][0] <= now:
            conn = self.conns.get(heapq.heappop(releases)[1])
            if conn is not None and conn.spacer is not None:
                self._release(conn, now)

    def _overflow(self, conn: Connection) -> None:
        conn.out.clear()
        conn.out_size = 0
        if conn.spacer is not None:
            conn.spacer.clear()
        self._doomed[conn] = "not reading (too much unsent output)"

    def _commit(self) -> None:
        """What this turn kept goes to the store before any of it is sent: what a
        client has seen is on disk.  (A store that fails is the state's to tell.)"""
        news = self.state.commit()
        # (With a bus, the store is the bus: its users hear that chat is paused instead.)
        if news is not None and self.bus is None:
            self._apply(news)

    # -------------------------------------------------------------- the bus
    def _from_bus(self, room_key: str, data: bytes, session_ids: tuple[int, ...] | None) -> None:
        """A line the bus brought back: to the room's members here, or to those sessions."""
        conns, limit, dirty, size = self.conns, self.limits.max_pending, self._dirty, len(data)
        for target in self.state.room_members(room_key) if session_ids is None else session_ids:
            conn = conns.get(target)  # (as in _apply: the hot path of a node)
            if conn is None:
                continue
            if not conn.out:
                dirty.add(conn)
            conn.out.append(data)
            conn.out_size += size
            if conn.out_size > limit:
                self._overflow(conn)

    def _game_act(self, *act: str) -> None:
        """A game act another node forwarded to this one, which runs the game."""
        try:
            out = self.state.game_act(*act)
        except Exception:  # the boundary of what another node sent, as of a connection's
            log.exception("error doing a game act from another node: %r", act)
            return
        self._apply(out)

    def _tell_all(self, text: str) -> None:
        data = p.encode(p.Info(text))
        for conn in self.conns.values():
            self._queue(conn, data)

    def _bus_tick(self, now: float) -> None:
        """Heartbeats, reconnecting; the users of nodes found gone leave their rooms."""
        gone = self.bus.tick(now)
        if gone:
            out = Outbox()
            out.sends.extend(gone)
            self._apply(out)

    def _write(self, conn: Connection) -> None:
        """What is queued for `conn`, sent as far as it goes (outside `_settle`, which
        commits once for all its sends: a writable socket's turn can come before it)."""
        if self.state.history.unsaved:
            self._commit()
        self._send(conn)

    def _send(self, conn: Connection) -> None:
        """One send of what is queued for `conn` (the turn's kept lines are committed)."""
        out = conn.out
        if out:
            data = out[0] if len(out) == 1 else b"".join(out)
            try:
                sent = conn.sock.send(data)
            except (BlockingIOError, InterruptedError, *tls.WANTS):
                sent = 0  # (TLS: the same bytes go first next time, as OpenSSL asks)
            except OSError as exc:  # after the peer's end of input: it just left
                self._doomed[conn] = f"connection error: {exc.strerror or exc}" \
                    if conn.reading else conn.guard.reason
                return
            if sent == len(data):
                out.clear()
                conn.out_size = 0
                if conn.spacer is not None:  # it has left: the gap starts now
                    conn.spacer.sent(time.monotonic())
                    self._release(conn, time.monotonic())
            else:
                conn.out = [data[sent:]]
                conn.out_size = len(data) - sent
        if conn.out:
            self._watch(conn, READ | WRITE)
        elif conn.spacer is not None and len(conn.spacer) and conn.guard.closing:
            self._watch(conn, READ)  # its last sends are still being spaced
        elif conn.guard.closing:
            self._graceful.add(conn)
            self._doomed[conn] = conn.guard.reason
        elif conn.events != READ or not conn.reading:  # (else watched as it should be)
            self._watch(conn, READ)

    def _watch(self, conn: Connection, events: int) -> None:
        if not conn.reading:  # its end of input stays readable: never watch for it again
            events = WRITE if conn.out else 0
        if conn.events != events:
            if not events:
                self.selector.unregister(conn.sock)
            elif not conn.events:
                self.selector.register(conn.sock, events, conn.on_event)
            else:
                self.selector.modify(conn.sock, events, conn.on_event)
            conn.events = events

    # -------------------------------------------------------------- teardown
    def _drop(self, conn: Connection, reason: str) -> None:
        if self.conns.pop(conn.id, None) is None:
            return
        self.admission.left(conn.host)
        self._dirty.discard(conn)
        self._backlogged.discard(conn)
        if conn.events:
            self.selector.unregister(conn.sock)
        if conn in self._graceful:
            self._graceful.discard(conn)
            self._linger(conn.sock)
        else:
            conn.sock.close()
        out = Outbox()
        # The peer went away without a goodbye (a reset, its end of input without
        # /quit, no PING answer), not cut off: its session waits for it to come back.
        held = not conn.guard.closing or conn.guard.reason == DISCONNECTED
        if conn.course is not None:
            held = False  # a course client has no /resume: its nick is free at once
        self.state.disconnect(conn.id, reason, out, hold=held)
        self._apply(out)

    def _linger(self, sock: socket.socket) -> None:
        """Close after a goodbye without losing it: closing a socket that still has
        unread input sends a reset, and the peer's kernel may then discard our last
        lines (the BYE) before its program reads them.  So send FIN, discard what
        still comes, and close at the peer's end of file or after LINGER seconds."""
        if self._linger_cap is not None and len(self._lingering) >= self._linger_cap:
            sock.close()  # (its BYE may be lost to a reset: a crash of select() would lose more)
            return
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            sock.close()
            return
        self._lingering[sock] = self.now + LINGER
        self.selector.register(sock, READ, self._on_linger)

    def _on_linger(self, sock: socket.socket, mask: int) -> None:
        try:
            data = sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._unlinger(sock)

    def _unlinger(self, sock: socket.socket) -> None:
        del self._lingering[sock]
        self.selector.unregister(sock)
        sock.close()

    def _shutdown(self) -> None:
        """Tell everyone, then flush for up to two seconds."""
        log.info("shutting down: %s", self.shutdown_reason)
        if self._accept_paused_until is None:
            self.selector.unregister(self.listener)
        self.listener.close()  # a client reconnecting now is refused, not left in the backlog
        if self.compat is not None:
            if self._accept_paused_until is None:
                self.selector.unregister(self.compat)
            self.compat.close()
        if self.handshakes is not None:  # (not chatting yet: nothing to say to them)
            self.handshakes.close_all()
        for conn in list(self.conns.values()):  # what was read is handled, not dropped
            held = [] if conn.guard.closing else conn.guard.take_held()
            if held:
                self._consume(conn, held, bounded=False)
        out = Outbox()
        for conn in self.conns.values():
            conn.guard.close_soon(self.now, self.shutdown_reason)
        self.state.shutdown(self.shutdown_reason, out)
        self._apply(out)
        self._settle()
        end = time.monotonic() + 2.0
        while (self.conns or self._lingering) and time.monotonic() < end:
            wait = 0 if self._dirty else max(end - time.monotonic(), 0)  # a settle left some
            for key, mask in self.selector.select(timeout=wait):
                key.data(key.fileobj, mask)
            self._settle()

    def _close_all(self) -> None:
        if self.bus is not None:
            self.bus.close()
        if self.handshakes is not None:
            self.handshakes.close_all()
        for conn in list(self.conns.values()):
            conn.sock.close()
        self.conns.clear()
        for sock in self._lingering:
            sock.close()
        self._lingering.clear()
        self.selector.close()
        self.listener.close()
        if self.compat is not None:
            self.compat.close()
        self._wake_r.close()
        self._wake_w.close()


def _cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _turn_away(sock: socket.socket, refusal: str, plain: bool = True,
               course_port: bool = False) -> None:
    """Not admitted: one line saying why, then close (never block on it).  On a TLS
    port nothing is said: a line would cost a handshake, which is what a full
    server is saving."""
    if plain:
        try:
            sock.setblocking(False)
            sock.send(course.clip(CourseSession().sends(p.Bye(refusal))[0]) if course_port
                      else p.encode(p.Bye(refusal)))
        except OSError:
            pass
    sock.close()


def _unacknowledged(sock: socket.socket) -> bool:
    """Whether bytes sent on `sock` still wait for the peer's acknowledgement (where
    the system cannot say: False)."""
    if ioctl is None:
        return False
    try:
        return ioctl(sock.fileno(), TIOCOUTQ, b"\0\0\0\0") != b"\0\0\0\0"
    except OSError:
        return False


def _keep_alive(sock: socket.socket, idle: float, timeout: float) -> None:
    """TCP keepalive for a course client (which cannot answer a PING): probes after
    `idle` seconds of silence, and the connection fails after about `timeout` more."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    count = 3
    for name, value in (("TCP_KEEPIDLE", idle), ("TCP_KEEPINTVL", timeout / count),
                        ("TCP_KEEPCNT", count)):
        option = getattr(socket, name, None)
        if option is not None and value >= 1:
            sock.setsockopt(socket.IPPROTO_TCP, option, int(value))


def _raise_fd_limit(wanted: int) -> None:
    """Lift the soft limit on open files toward `wanted` (never past the hard limit)."""
    if resource is None:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open-file limit to %d: %s", target, exc)


_CARRIERS = {Caution: Server._on_caution, Probe: Server._on_probe, CutOff: Server._on_cut_off,
             HangUp: Server._on_hang_up, Drop: Server._on_drop, Refusal: Server._on_refusal}
