"""A room of Parlor clients in one process, for timing single requests to a real server.

`Member` is one connection decoded with chat.protocol's ServerDecoder (blocks such as
MEMBERS or HISTORY arrive whole); `Driver` reads every member in one selectors loop and
makes talkers speak at a steady rate meanwhile; `Driver.timed` sends a request and
waits for its answer, reading the server's CPU time from /proc with the server asleep
at both ends.  No sleeps: every wait is for a condition, with a deadline.
"""
from __future__ import annotations

import heapq
import selectors
import socket
import time
from collections.abc import Callable

from bench.proc import asleep, run_ns
from chat import protocol as p

TIMEOUT = 30.0  # seconds any wait may take before the run fails
TEXT = "a line of chat of a usual length, about fifty chars"  # as bench/store_speed.py


class RoomError(RuntimeError):
    """The server did not answer as expected, or in time."""


class Member:
    """One client connection: what it sent is written at once, what arrives is decoded
    into `got` (every message, in order) and `ids` (the ids of the chat lines)."""

    def __init__(self, port: int, nick: str) -> None:
        self.nick = nick
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.decoder = p.ServerDecoder()
        self.got: list = []
        self.ids: list[int] = []
        self.said = 0
        self.closed = False
        self.read_at = 0  # perf_counter_ns() when the last data arrived, before decoding it

    def send(self, *msgs) -> None:
        """The messages in one write, so the server reads them together."""
        self.sock.sendall(b"".join(p.encode_client(msg) for msg in msgs))

    def say(self) -> None:
        self.said += 1
        self.send(p.Say(f"{self.nick} {self.said} {TEXT}"))

    def read(self) -> None:
        data = self.sock.recv(1 << 18)
        self.read_at = time.perf_counter_ns()
        if not data:
            self.closed = True
            return
        for msg in self.decoder.feed(data):
            self.got.append(msg)
            if type(msg) is p.Chat:
                self.ids.append(msg.id)

    def since(self, mark: int, cls: type, test: Callable = lambda msg: True):
        """The first message of type `cls` (passing `test`) that arrived after got[mark]."""
        return next((m for m in self.got[mark:] if type(m) is cls and test(m)), None)

    def close(self) -> None:
        self.sock.close()


class Driver:
    """Every member's socket in one selectors loop, plus talkers on a timer."""

    def __init__(self, server) -> None:
        self.server = server
        self.sel = selectors.DefaultSelector()
        self.members: list[Member] = []
        self._talks: list[tuple[float, int, Member, float]] = []  # (due, seq, member, every)

    # -------------------------------------------------------------- members
    def connect(self, nick: str, room: str | None = None, named: bool = True) -> Member:
        """A new member, greeted; named `nick` in the lobby unless not `named`, then in
        `room` (when given) with its MEMBERS list received."""
        member = Member(self.server.port, nick)
        self.members.append(member)
        self.sel.register(member.sock, selectors.EVENT_READ, member)
        self.run(lambda: member.since(0, p.Hello), f"{nick}'s greeting")
        if named:
            mark = len(member.got)
            member.send(p.Nick(nick))
            self.run(lambda: member.since(mark, p.Reply), f"{nick}'s /nick")
        if room is not None:
            self.enter(member, room)
        return member

    def enter(self, member: Member, room: str) -> None:
        mark = len(member.got)
        member.send(p.Join(room))
        self.run(lambda: member.since(mark, p.MemberList), f"{member.nick}'s /join {room}")

    def drop(self, member: Member) -> None:
        """The connection goes, as if the network failed: no /quit, no /leave."""
        self.quiet(member)
        self.sel.unregister(member.sock)
        self.members.remove(member)
        member.close()

    def close(self) -> None:
        for member in list(self.members):
            self.drop(member)
        self.sel.close()

    # -------------------------------------------------------------- talkers
    def talk(self, member: Member, rate: float, phase: float = 0.0) -> None:
        """`member` says a line every 1/rate seconds from now + phase/rate."""
        every = 1.0 / rate
        heapq.heappush(self._talks, (time.monotonic() + phase * every, id(member), member, every))

    def quiet(self, member: Member | None = None) -> None:
        """Stop `member` talking (every talker when None)."""
        self._talks = [t for t in self._talks if member is not None and t[2] is not member]
        heapq.heapify(self._talks)

    def _speak(self, now: float) -> None:
        while self._talks and self._talks[0][0] <= now:
            due, key, member, every = heapq.heappop(self._talks)
            member.say()
            heapq.heappush(self._talks, (max(due + every, now), key, member, every))

    # -------------------------------------------------------------- waiting
    def run(self, done: Callable[[], object], what: str, timeout: float = TIMEOUT) -> None:
        """Read and talk until done() holds; RoomError after `timeout` seconds."""
        end = time.monotonic() + timeout
        while not done():
            now = time.monotonic()
            if now >= end:
                raise RoomError(f"waited {timeout:g} s for {what}")
            self._speak(now)
            wake = min(end, self._talks[0][0]) if self._talks else end
            for key, _ in self.sel.select(max(0.0, wake - now)):
                key.data.read()
                if key.data.closed:
                    raise RoomError(f"the server closed {key.data.nick}'s connection "
                                    f"while waiting for {what}")

    def until(self, moment: float, done: Callable[[], object] = lambda: True) -> None:
        """Read and talk until the monotonic clock reaches `moment` and done() holds."""
        self.run(lambda: time.monotonic() >= moment and done(), "a moment",
                 timeout=max(0.0, moment - time.monotonic()) + TIMEOUT)

    def idle_server(self) -> None:
        """Wait until the server is asleep (its CPU time is then exact), reading meanwhile
        so that it never waits for us."""
        end = time.monotonic() + TIMEOUT
        while not asleep(self.server.pid):
            if time.monotonic() >= end:
                raise RoomError(f"the server stayed busy for {TIMEOUT:g} s")
            for key, _ in self.sel.select(0):
                key.data.read()

    def timed(self, member: Member, msgs: list, answered: Callable[[int], object],
              what: str) -> tuple[float, float, int]:
        """Send `msgs` in one write and wait for answered(mark).  Returns the wall ms until
        the answer's last bytes arrived (not counting our decoding of them), the server's
        CPU ms from before the send until it slept again, and mark: len(member.got)
        before the send, so that member.since(mark, ...) finds the answer."""
        self.idle_server()
        mark, ns0 = len(member.got), run_ns(self.server.pid)
        started = time.perf_counter_ns()
        member.send(*msgs)
        self.run(lambda: answered(mark), what)
        wall = (member.read_at - started) / 1e6
        self.idle_server()
        return wall, (run_ns(self.server.pid) - ns0) / 1e6, mark
