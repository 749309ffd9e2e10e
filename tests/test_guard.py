"""The per-connection guard as a pure object: lines and the clock in, actions out.
No sockets, threads or sleeps: every `now` is passed in.
"""
from __future__ import annotations

import pytest

from chat import protocol as p
from chat.server.guard import (CLOSE_GRACE, PING_TEXT, Caution, CutOff, Drop, Guard, HangUp,
                               Probe)
from chat.server.limits import Limits

QUIET = dict(register_timeout=1000.0, ping_interval=1000.0, ping_timeout=1000.0)


def lines(start: int, stop: int) -> list[str]:
    return [f"line {i}" for i in range(start, stop)]


def flood_guard(**limits) -> Guard:
    return Guard(Limits(**{**QUIET, **limits}), 0.0)


# ------------------------------------------------------------------ flood limit
def test_guard_lets_everything_through_as_is_when_nothing_waits():
    guard = flood_guard(max_rate=5, burst=20)
    batch = lines(0, 3)
    ready, actions = guard.receive(batch, 0.0)
    assert ready is batch and actions == ()  # the fast path: no copy, no action objects


def test_guard_burst_then_rate():
    guard = flood_guard(max_rate=2, burst=3, max_queue=10)
    assert guard.receive(lines(0, 5), 0.0) == (lines(0, 3), ())
    assert guard.held == lines(3, 5)
    assert guard.tick(0.4) == ([], ())        # not yet a whole token
    assert guard.tick(0.5) == (lines(3, 4), ())
    assert guard.tick(1.0) == (lines(4, 5), ())
    assert not guard.held


def test_guard_held_lines_are_released_in_order_behind_new_ones():
    guard = flood_guard(max_rate=1, burst=1, max_queue=100)
    assert guard.receive(lines(0, 3), 0.0) == (lines(0, 1), ())
    assert guard.receive(lines(3, 5), 0.2) == ([], ())  # tokens or not, they queue behind
    released = []
    for now in (1.0, 2.0, 3.0, 4.0):
        released += guard.tick(now)[0]
    assert released == lines(1, 5)


def test_guard_a_long_wait_releases_several_at_once():
    guard = flood_guard(max_rate=2, burst=4, max_queue=100)
    guard.receive(lines(0, 10), 0.0)
    assert guard.tick(1.5) == (lines(4, 7), ())


def test_guard_warns_once_past_half_the_queue():
    guard = flood_guard(max_rate=2, burst=2, max_queue=10)
    ready, actions = guard.receive(lines(0, 8), 0.0)  # 2 through, 6 wait: past half of 10
    assert ready == lines(0, 2)
    assert actions == (Caution("you are sending more than 2 lines a second: 6 of your lines "
                               "are waiting; past 10 you will be disconnected"),)
    assert guard.receive(lines(8, 10), 0.1) == ([], ())  # told once
    assert guard.tick(0.5)[1] == ()


def test_guard_warns_again_after_the_queue_has_emptied():
    guard = flood_guard(max_rate=10, burst=1, max_queue=4)
    assert isinstance(guard.receive(lines(0, 4), 0.0)[1][0], Caution)
    for now in (0.1, 0.2, 0.3):
        guard.tick(now)
    assert not guard.held  # everything released: a new flood is a new warning
    assert isinstance(guard.receive(lines(4, 8), 10.0)[1][0], Caution)


def test_guard_cuts_off_past_the_queue_with_the_dropped_count():
    guard = flood_guard(max_rate=5, burst=10, max_queue=40)
    ready, actions = guard.receive(lines(0, 5000), 0.0)
    assert ready == lines(0, 10)  # what it may say still goes, before the goodbye
    reason = "flooding: more than 40 lines waiting (the limit is 5 lines a second)"
    assert actions == (CutOff(reason, f"{reason}; the 4990 lines still waiting were dropped"),)
    assert not guard.held


def test_guard_cuts_off_a_queue_that_grows_past_the_limit():
    guard = flood_guard(max_rate=1, burst=1, max_queue=4)
    assert isinstance(guard.receive(lines(0, 4), 0.0)[1][0], Caution)
    ready, actions = guard.receive(lines(4, 6), 0.5)
    assert ready == [] and isinstance(actions[0], CutOff)
    assert "the 5 lines still waiting were dropped" in actions[0].told


def test_guard_rate_zero_is_no_limit():
    guard = flood_guard(max_rate=0, burst=0, max_queue=1)
    batch = lines(0, 10_000)
    assert guard.receive(batch, 0.0) == (batch, ())
    assert guard.next_wake() == 1000.0  # only the timers: a ping after its interval


def test_guard_next_wake_is_the_next_token_while_lines_wait():
    guard = flood_guard(max_rate=4, burst=2, max_queue=100)
    guard.receive(lines(0, 5), 10.0)
    assert guard.next_wake() == pytest.approx(10.25)
    guard.tick(10.25)
    assert guard.next_wake() == pytest.approx(10.5)


# ------------------------------------------------------------------ timers
def test_guard_silent_connection_is_pinged_at_half_then_hung_up():
    guard = Guard(Limits(register_timeout=10.0), 0.0)
    assert guard.next_wake() == 5.0
    assert guard.tick(4.9) == ([], ())
    assert guard.tick(5.0) == ([], (Probe(PING_TEXT),))
    assert guard.next_wake() == 10.0
    assert guard.tick(7.0) == ([], ())  # pinged once, not again
    assert guard.tick(10.0) == ([], (HangUp("said nothing for 10 s"),))


def test_guard_answering_the_first_ping_keeps_a_new_connection():
    guard = Guard(Limits(register_timeout=10.0, ping_interval=30.0, ping_timeout=20.0), 0.0)
    guard.tick(5.0)
    guard.receive(["/pong 1"], 6.0)
    assert guard.tick(10.0) == ([], ())
    assert guard.tick(36.0) == ([], (Probe(PING_TEXT),))  # now on the spoken timers


def test_guard_one_that_spoke_is_pinged_after_the_interval_then_hung_up():
    guard = Guard(Limits(register_timeout=10.0, ping_interval=60.0, ping_timeout=30.0), 0.0)
    guard.receive(["/join red"], 1.0)
    assert guard.next_wake() == 61.0
    assert guard.tick(60.0) == ([], ())  # neither the register timeout nor a ping yet
    assert guard.tick(61.0) == ([], (Probe(PING_TEXT),))
    assert guard.next_wake() == 91.0
    assert guard.tick(91.0) == ([], (HangUp("no answer to PING for 30 s"),))


@pytest.mark.parametrize("line", ["/pong 7", "hello", p.BadLine("not UTF-8")])
def test_guard_any_line_answers_a_ping(line):
    guard = Guard(Limits(ping_interval=60.0, ping_timeout=30.0), 0.0)
    guard.receive(["hi"], 0.0)
    guard.tick(60.0)
    guard.receive([line], 70.0)
    assert guard.tick(90.0) == ([], ())
    assert guard.next_wake() == 130.0


def test_guard_a_held_line_answers_a_ping_too():
    guard = Guard(Limits(max_rate=1, burst=1, ping_interval=60.0, ping_timeout=30.0), 0.0)
    guard.receive(["one", "two"], 0.0)
    guard.tick(60.0)  # "two" released, and a PING
    guard.receive(["three", "four"], 60.0)  # both wait for tokens...
    assert guard.held == ["three", "four"] and not guard.pinged  # ...yet they answer it


def test_guard_a_line_never_brings_a_check_forward():
    """The loop sleeps until next_wake without asking again after a plain line."""
    guard = Guard(Limits(ping_interval=10.0, ping_timeout=60.0), 0.0)
    guard.receive(["hi"], 0.0)
    guard.tick(10.0)  # PING; the hang-up is due at 70
    wake = guard.next_wake()
    guard.receive(["pong"], 11.0)  # the next PING is due at 21, sooner than 70
    assert wake <= guard.next_wake() == 21.0
    assert guard.tick(wake) == ([], ())
    assert guard.tick(21.0) == ([], (Probe(PING_TEXT),))


def test_guard_timers_and_flood_share_one_tick():
    guard = Guard(Limits(max_rate=1, burst=2, max_queue=100, ping_interval=2.0,
                         ping_timeout=5.0), 0.0)
    guard.receive(lines(0, 6), 0.0)
    assert guard.tick(2.0) == (lines(2, 4), (Probe(PING_TEXT),))


# ------------------------------------------------------------------ closing
def test_guard_closing_gives_up_after_the_grace():
    guard = flood_guard()
    guard.close_soon(3.0)
    assert guard.closing and guard.next_wake() == 3.0 + CLOSE_GRACE
    assert guard.tick(3.0 + CLOSE_GRACE - 0.1) == ([], ())
    assert guard.tick(3.0 + CLOSE_GRACE) == ([], (Drop("quit"),))


def test_guard_closing_keeps_its_first_deadline_and_its_latest_reason():
    guard = flood_guard()
    guard.close_soon(1.0, "flooding")
    guard.close_soon(2.0)
    assert guard.next_wake() == 1.0 + CLOSE_GRACE
    guard.close_soon(3.0, "the server is shutting down")
    assert guard.tick(10.0) == ([], (Drop("the server is shutting down"),))


def test_guard_closing_ignores_lines_and_drops_the_held():
    guard = flood_guard(max_rate=1, burst=1, max_queue=100)
    guard.receive(lines(0, 5), 0.0)
    guard.close_soon(0.5)
    assert not guard.held
    assert guard.receive(lines(5, 6), 1.0) == ([], ())
    assert guard.tick(2.0) == ([], ())


def test_guard_closing_does_not_ping():
    guard = Guard(Limits(register_timeout=2.0), 0.0)
    guard.close_soon(0.0)
    assert guard.tick(1.5) == ([], ())


def test_guard_take_held_gives_every_held_line_at_once_whatever_the_rate():
    guard = flood_guard(max_rate=1, burst=2, max_queue=50)
    ready, _ = guard.receive(lines(0, 30), 0.0)
    assert ready == lines(0, 2)
    assert guard.take_held() == lines(2, 30)
    assert guard.take_held() == [] and guard.tick(0.0)[0] == []  # nothing is handled twice
