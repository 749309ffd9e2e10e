"""One connection's rules, sans I/O: the flood limit, the work budget (the server
time its lines cost, measured by the loop and charged here), the ping and
registration timers and a closing connection's grace period, driven by (lines,
costs, clock) and answering with actions for the loop to carry out.  Reads no
clock; must not import socket, select, selectors, curses, threading or chat.server.loop.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from chat import protocol as p
from chat.bucket import TokenBucket
from chat.server.limits import Limits

CLOSE_GRACE = 5.0  # seconds a closing connection gets to take its last lines
RECHECK = 0.02     # shortest wait between two checks of one connection's timers
PING_TEXT = "are you there? any line answers"
DISCONNECTED = "disconnected"  # what a room hears of a member whose connection ended
SLOW_DOWN = ("slow down: your last commands asked the server for a lot of work (long lists, "
             "or lines seen by many people); your next lines wait a moment, then are handled "
             "in order")

Line = str | p.BadLine


@dataclass(frozen=True, slots=True)
class Caution:
    """Tell the peer `text` as an error line; it stays connected."""
    text: str


@dataclass(frozen=True, slots=True)
class Probe:
    """Ask the peer if it is there (a PING carrying `text`; the loop numbers it)."""
    text: str


@dataclass(frozen=True, slots=True)
class CutOff:
    """Say goodbye with `told`, flush that, then close; its room hears `reason`."""
    reason: str
    told: str


@dataclass(frozen=True, slots=True)
class HangUp:
    """The peer is probably gone: one try to say goodbye with `reason`, then drop it."""
    reason: str


@dataclass(frozen=True, slots=True)
class Drop:
    """A closing connection did not take its last lines in time: drop it now."""
    reason: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """Its password was wrong or missing: answer `told`, say goodbye, close; the
    log hears `reason`."""
    reason: str
    told: str


Action = Caution | Probe | CutOff | HangUp | Drop | Refusal
Verdict = tuple[list[Line], Sequence[Action]]  # lines to handle now, then actions


class Guard:
    """Feed it what a connection sends (`receive`) and the passing time (`tick`); each
    answers (lines to handle now, in order, then actions).  Ask `next_wake` when to
    tick next, again after a receive that held lines or told of actions and after
    `close_soon`."""

    __slots__ = ("limits", "bucket", "work", "owed_until", "slowed", "last_cost", "held",
                 "deferred", "warned", "heard", "spoke", "pinged", "checked", "ended",
                 "closing", "deadline", "reason", "refusal", "refuse_at")

    def __init__(self, limits: Limits, now: float) -> None:
        self.limits = limits
        self.bucket = TokenBucket(limits.burst, limits.max_rate)
        # Seconds of server time; the flags say milliseconds.
        self.work = TokenBucket(limits.work_burst / 1000, limits.max_work / 1000)
        self.owed_until = float("-inf")  # until then its lines wait: their work is owed
        self.slowed = False    # told to slow down (until its work budget is full again)
        self.last_cost = 0.0   # seconds of server time its last lines cost, a line
        self.held: list[Line] | tuple[()] = ()  # waiting for tokens, oldest first
        self.deferred = False  # the held lines wait for the loop's next turn, not for tokens
        self.warned = False    # told it is flooding (until the held lines are gone)
        self.heard = now       # when its last line arrived (or it connected)
        self.spoke = False     # has it sent a single line yet
        self.pinged = False    # a PING is waiting for an answer (any line answers)
        self.checked = now     # when its timers were last checked
        self.ended = False     # the peer ended its input: what is held goes without the rate
        self.closing = False   # flush what is queued, then close
        self.deadline = 0.0    # once closing: when to give up flushing and just close
        self.reason = p.QUIT   # once closing: what its room hears
        self.refusal: Refusal | None = None  # to carry out at refuse_at (a wrong password)
        self.refuse_at = 0.0

    def receive(self, lines: list[Line], now: float) -> Verdict:
        """Lines the peer sent at `now`.  The fast path: when none has to wait, the
        answer is (`lines` itself, ()); otherwise the rest is held in order."""
        if self.closing or self.refusal:
            return [], ()  # it said /quit, or is being cut off: what it sends is moot
        self.heard, self.spoke, self.pinged = now, True, False
        if self.held:
            self.held.extend(lines)
            return [], self._check_flood()
        if now < self.owed_until:  # what it asked for before is still being paid for
            self.held = lines
            return [], (*self._check_flood(), *self._slow_down())
        wanted = len(lines)
        count = self.bucket.take(now, wanted)
        if count == wanted:
            return lines, ()
        self.held = lines[count:]
        return lines[:count], self._check_flood()

    def tick(self, now: float) -> Verdict:
        """The time is `now`: release held lines whose tokens came back, then the
        timers (ping the silent, hang up on the dead, drop a closing one past its
        grace)."""
        if self.closing:
            return [], (Drop(self.reason),) if now >= self.deadline else ()
        if self.refusal:
            refusal = self.refusal if now >= self.refuse_at else None
            if refusal:
                self.refusal = None
            return [], (refusal,) if refusal else ()
        self.checked, self.deferred = now, False
        if self.ended:
            return self._drain(now)
        ready = self._release(now) if self.held else []
        action = self._check_timers(now)
        return ready, (action,) if action else ()

    def charge(self, cost: float, now: float, lines: int = 1, exempt: float = 0.0) -> None:
        """The `lines` it last sent cost `cost` seconds of server time (the loop
        measured them): spend that from its work budget, but for `exempt` (checking
        a password: bounded by the login throttle instead), which still ranks it after
        lighter ones in the loop's backlog.  In debt, its next lines wait until the
        debt is paid."""
        work, self.last_cost = self.work, cost / max(lines, 1)
        cost = max(0.0, cost - exempt)
        if work.rate <= 0:
            return
        if work.level(now) >= work.burst and not self.held:
            self.slowed = False  # quiet long enough: told again if its lines wait again
        work.take(now, 0, cost)
        self.owed_until = work.owed_until()

    def _slow_down(self) -> Sequence[Action]:
        """Its lines wait for its debt: told so once (until its budget is full again
        with nothing waiting)."""
        if self.slowed:
            return ()
        self.slowed = True
        return (Caution(SLOW_DOWN),)

    def work_left(self, now: float) -> float:
        """Seconds of server time it may still use now (infinite with no work limit)."""
        work = self.work
        return work.level(now) if work.rate > 0 else float("inf")

    def rank(self, now: float) -> float:
        """Which waiting connection the loop serves first (the lowest): the one with the
        most work budget left, and among equals the one whose last lines cost least
        (a line), so a light line is never queued behind heavy ones."""
        return self.last_cost - self.work_left(now)

    def hold_back(self, lines: list[Line], now: float) -> Sequence[Action]:
        """Lines `receive` or `tick` let through that the loop did not handle: the work
        of those before them put it in debt, or the loop's turn was full.  They wait
        again, first, and their line tokens come back.  If only the turn was full,
        `deferred` says the loop comes back for them (next_wake leaves them out)."""
        if not lines:
            return ()
        self.held = [*lines, *self.held]
        if not self.ended:
            self.bucket.give_back(len(lines))
        self.deferred = now >= self.owed_until
        return () if self.deferred else self._slow_down()

    def end_input(self, now: float) -> None:
        """The peer ended its input (a half-close): what is held is handled without the
        rate, as the work budget allows, for CLOSE_GRACE at most (`tick` releases it)."""
        if not self.closing and not self.ended:
            self.ended, self.deadline = True, now + CLOSE_GRACE

    def _drain(self, now: float) -> Verdict:
        if not self.held:
            return [], ()
        if now >= self.deadline:
            waiting, self.held = len(self.held), ()
            return [], (CutOff(DISCONNECTED, f"{waiting} of your last lines were not handled: "
                                       "they asked for more of the server's time than it gives "
                                       "one connection before it closes"),)
        if now < self.owed_until:
            return [], ()
        ready, self.held = list(self.held), ()
        return ready, ()

    def next_wake(self) -> float:
        """When `tick` must next be called.  A line received meanwhile never makes a
        check due sooner; held lines and `close_soon` do."""
        if self.refusal:
            return self.refuse_at
        if self.closing or self.ended:
            if self.held and not self.deferred:
                return min(self.deadline, max(self.owed_until, self.checked))
            return self.deadline
        due = self._timer_due()
        if not self.spoke or self.pinged:
            # A line now would make the next ping due a ping interval after it, which
            # may be sooner than the timer due as things stand: wake no later than that.
            due = min(due, self.checked + max(self.limits.ping_interval, RECHECK))
        if self.held and not self.deferred:
            due = min(due, max(self.bucket.next_at(), self.owed_until))
        return due

    def close_soon(self, now: float, reason: str | None = None) -> None:
        """Stop taking lines; the loop flushes what is queued, for CLOSE_GRACE at most.
        `reason` (if given) is what its room hears."""
        if not self.closing:
            self.closing, self.deadline, self.held = True, now + CLOSE_GRACE, ()
            self.deferred = False
        if reason:
            self.reason = reason

    def refuse(self, when: float, refusal: Refusal) -> None:
        """Cut it off at `when`, not sooner (a wrong password's answer waits); what it
        sends meanwhile is ignored."""
        if not self.closing:
            self.refusal, self.refuse_at, self.held = refusal, when, ()

    def take_held(self) -> list[Line]:
        """Every held line, now, whatever the rate: the peer ended its input or the
        server is stopping, and what it sent is handled rather than lost (at most
        max_queue lines, so the work stays bounded)."""
        held, self.held, self.warned, self.deferred = list(self.held), (), False, False
        return held

    def _release(self, now: float) -> list[Line]:
        if now < self.owed_until:
            return []
        count = self.bucket.take(now, len(self.held))
        ready, self.held = self.held[:count], self.held[count:]
        if not self.held:
            self.held, self.warned = (), False  # (): no empty list per idle connection
        return ready

    def _check_flood(self) -> Sequence[Action]:
        lim, waiting = self.limits, len(self.held)
        if waiting > lim.max_queue:
            self.held = ()
            costly = ", fewer when they ask for a lot of work" if self.slowed else ""
            reason = (f"flooding: more than {lim.max_queue} lines waiting "
                      f"(the limit is {lim.max_rate:g} lines a second{costly})")
            return (CutOff(reason, f"{reason}; the {waiting} lines still waiting were dropped"),)
        if waiting > lim.max_queue // 2 and not self.warned:
            self.warned = True
            pace = ("faster than the work your commands ask for allows" if self.slowed
                    else f"more than {lim.max_rate:g} lines a second")
            return (Caution(f"you are sending {pace}: {waiting} of your lines are waiting; "
                            f"past {lim.max_queue} you will be disconnected"),)
        return ()

    def _timer_due(self) -> float:
        """When the timers next have something to do, as things stand."""
        lim = self.limits
        if not self.spoke:
            return self.heard + (lim.register_timeout if self.pinged
                                 else lim.register_timeout / 2)
        if self.pinged:
            return self.heard + lim.ping_interval + lim.ping_timeout
        return self.heard + lim.ping_interval

    def _check_timers(self, now: float) -> Action | None:
        if now < self._timer_due():
            return None
        lim = self.limits
        if not self.spoke and now >= self.heard + lim.register_timeout:
            return HangUp(f"said nothing for {lim.register_timeout:g} s")
        if self.spoke and self.pinged:
            return HangUp(f"no answer to PING for {lim.ping_timeout:g} s")
        self.pinged = True
        return Probe(PING_TEXT)
