"""One connection's rules, sans I/O: the flood limit, the ping and registration
timers and a closing connection's grace period, driven by (lines, clock) and
answering with actions for the loop to carry out.  Reads no clock; must not
import socket, select, selectors, curses, threading or chat.server.loop.
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


Action = Caution | Probe | CutOff | HangUp | Drop
Verdict = tuple[list[Line], Sequence[Action]]  # lines to handle now, then actions


class Guard:
    """Feed it what a connection sends (`receive`) and the passing time (`tick`); each
    answers (lines to handle now, in order, then actions).  Ask `next_wake` when to
    tick next, again after a receive that held lines or told of actions and after
    `close_soon`."""

    __slots__ = ("limits", "bucket", "held", "warned", "heard", "spoke", "pinged",
                 "checked", "closing", "deadline", "reason")

    def __init__(self, limits: Limits, now: float) -> None:
        self.limits = limits
        self.bucket = TokenBucket(limits.burst, limits.max_rate)
        self.held: list[Line] | tuple[()] = ()  # waiting for tokens, oldest first
        self.warned = False    # told it is flooding (until the held lines are gone)
        self.heard = now       # when its last line arrived (or it connected)
        self.spoke = False     # has it sent a single line yet
        self.pinged = False    # a PING is waiting for an answer (any line answers)
        self.checked = now     # when its timers were last checked
        self.closing = False   # flush what is queued, then close
        self.deadline = 0.0    # once closing: when to give up flushing and just close
        self.reason = p.QUIT   # once closing: what its room hears

    def receive(self, lines: list[Line], now: float) -> Verdict:
        """Lines the peer sent at `now`.  The fast path: when none has to wait, the
        answer is (`lines` itself, ()); otherwise the rest is held in order."""
        if self.closing:
            return [], ()  # it said /quit, or is being cut off: what it sends is moot
        self.heard, self.spoke, self.pinged = now, True, False
        if self.held:
            self.held.extend(lines)
            return [], self._check_flood()
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
        self.checked = now
        ready = self._release(now) if self.held else []
        action = self._check_timers(now)
        return ready, (action,) if action else ()

    def next_wake(self) -> float:
        """When `tick` must next be called.  A line received meanwhile never makes a
        check due sooner; held lines and `close_soon` do."""
        if self.closing:
            return self.deadline
        due = self._timer_due()
        if not self.spoke or self.pinged:
            # A line now would make the next ping due a ping interval after it, which
            # may be sooner than the timer due as things stand: wake no later than that.
            due = min(due, self.checked + max(self.limits.ping_interval, RECHECK))
        if self.held:
            due = min(due, self.bucket.next_at())
        return due

    def close_soon(self, now: float, reason: str | None = None) -> None:
        """Stop taking lines; the loop flushes what is queued, for CLOSE_GRACE at most.
        `reason` (if given) is what its room hears."""
        if not self.closing:
            self.closing, self.deadline, self.held = True, now + CLOSE_GRACE, ()
        if reason:
            self.reason = reason

    def take_held(self) -> list[Line]:
        """Every held line, now, whatever the rate: the peer ended its input or the
        server is stopping, and what it sent is handled rather than lost (at most
        max_queue lines, so the work stays bounded)."""
        held, self.held, self.warned = list(self.held), (), False
        return held

    def _release(self, now: float) -> list[Line]:
        count = self.bucket.take(now, len(self.held))
        ready, self.held = self.held[:count], self.held[count:]
        if not self.held:
            self.held, self.warned = (), False  # (): no empty list per idle connection
        return ready

    def _check_flood(self) -> Sequence[Action]:
        lim, waiting = self.limits, len(self.held)
        if waiting > lim.max_queue:
            self.held = ()
            reason = (f"flooding: more than {lim.max_queue} lines waiting "
                      f"(the limit is {lim.max_rate:g} lines a second)")
            return (CutOff(reason, f"{reason}; the {waiting} lines still waiting were dropped"),)
        if waiting > lim.max_queue // 2 and not self.warned:
            self.warned = True
            return (Caution(f"you are sending more than {lim.max_rate:g} lines a second: "
                            f"{waiting} of your lines are waiting; past {lim.max_queue} "
                            "you will be disconnected"),)
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
