"""The per-connection guard as a pure object: lines and the clock in, actions out.
No sockets, threads or sleeps: every `now` is passed in.
"""
from __future__ import annotations

import pytest

from chat import protocol as p
from chat.server.guard import (CLOSE_GRACE, PING_TEXT, SLOW_DOWN, Caution, CutOff, Drop, Guard,
                               HangUp, Probe)
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


def test_guard_tokens_never_pile_up_past_the_burst_while_the_loop_stalls():
    guard = flood_guard(max_rate=5, burst=20, max_queue=100, max_work=1.0, work_burst=10.0)
    guard.receive(lines(0, 80), 0.0)  # 20 through, 60 held
    ready, _ = guard.tick(100.0)  # the loop was stuck for 100 s: 500 tokens' worth
    assert ready == lines(20, 40)  # ...but never more than the burst
    assert guard.work_left(1000.0) == pytest.approx(0.010)  # nor the work budget


# ------------------------------------------------------------------ work budget
def work_guard(**limits) -> Guard:
    """1 ms of server time a second after a burst of 2 ms; the line rate out of the way."""
    return flood_guard(**{"max_rate": 100, "burst": 100, "max_queue": 100, "max_work": 1.0,
                          "work_burst": 2.0, **limits})


def test_guard_heavy_output_holds_the_next_lines():
    guard = work_guard()
    assert guard.receive(["/who"], 0.0) == (["/who"], ())
    guard.charge(0.003, 0.0)  # 1 ms over: owed for 1 s
    held = guard.receive(["/who", "hi"], 0.1)  # held, in order, not dropped, and told why
    assert held == ([], (Caution(SLOW_DOWN),))
    assert guard.next_wake() == pytest.approx(1.0)
    assert guard.tick(0.9) == ([], ())
    assert guard.tick(1.0) == (["/who", "hi"], ())


def test_guard_cheap_lines_never_wait_for_work():
    guard = work_guard()
    for i in range(1000):  # 5 lines a second for 200 s, each costing 20 us
        now = i / 5
        assert guard.receive([f"hi {i}"], now) == ([f"hi {i}"], ())
        guard.charge(0.00002, now)


def test_guard_says_slow_down_once_until_its_budget_is_full_again():
    guard = work_guard()
    guard.charge(0.003, 0.0)  # in debt, but nothing waits yet: nothing to say
    assert guard.receive(["/who"], 0.5) == ([], (Caution(SLOW_DOWN),))
    assert guard.tick(1.0) == (["/who"], ())
    guard.charge(0.003, 1.0)
    assert guard.receive(["/who"], 1.5) == ([], ())  # the same episode: told once
    assert guard.tick(4.0) == (["/who"], ())  # owed 3 ms at 1 ms a second
    guard.charge(0.001, 4.0)  # paid, but the budget is not full again
    assert guard.receive(["/who"], 4.5) == ([], ())
    assert guard.tick(5.0) == (["/who"], ())
    guard.charge(0.003, 100.0)  # full again first: a new episode
    assert guard.receive(["/who"], 100.5) == ([], (Caution(SLOW_DOWN),))


def test_guard_work_rate_zero_is_no_limit():
    guard = work_guard(max_work=0)
    guard.charge(10.0, 0.0)
    batch = lines(0, 5)
    assert guard.receive(batch, 0.0) == (batch, ())


def test_guard_hold_back_puts_lines_first_and_gives_their_tokens_back():
    guard = flood_guard(max_rate=1, burst=3, max_queue=100)
    ready, _ = guard.receive(lines(0, 5), 0.0)  # 3 through, 2 held
    assert guard.hold_back(ready[1:], 0.0) == ()  # the loop's turn was full after the first
    assert guard.deferred and guard.held == lines(1, 5)
    assert guard.next_wake() == 1000.0  # the loop comes back for them itself
    assert guard.tick(0.0) == (lines(1, 3), ())  # the 2 tokens came back: no more


def test_guard_hold_back_in_debt_waits_for_the_debt():
    guard = work_guard()
    ready, _ = guard.receive(["/who", "/who", "hi"], 0.0)
    guard.charge(0.003, 0.0)
    assert guard.hold_back(ready[1:], 0.0) == (Caution(SLOW_DOWN),)  # in debt: it waits
    assert not guard.deferred and guard.next_wake() == pytest.approx(1.0)
    assert guard.tick(1.0) == (["/who", "hi"], ())


def test_guard_rank_puts_the_lighter_first():
    light, heavy, fresh = work_guard(), work_guard(), work_guard()
    light.charge(0.00002, 0.0)
    heavy.charge(0.0015, 0.0)
    fresh.charge(0.0005, 0.0)  # its last lines cost more than light's, same budget nearly
    assert light.rank(0.0) < fresh.rank(0.0) < heavy.rank(0.0)


# ------------------------------------------------------------------ end of input
def test_guard_end_of_input_drains_without_the_rate_within_the_budget():
    guard = work_guard(max_rate=1, burst=1)
    guard.receive(lines(0, 10), 0.0)  # 1 through, 9 held by the rate
    guard.end_input(0.0)
    assert guard.tick(0.0) == (lines(1, 10), ())  # the rate no longer holds them
    guard.charge(0.003, 0.0)  # the loop handled 4, past the budget...
    guard.hold_back(lines(5, 10), 0.0)  # ...so the rest wait for it
    assert not guard.deferred
    assert guard.tick(0.5) == ([], ())
    assert guard.tick(1.0) == (lines(5, 10), ())


def test_guard_end_of_input_tells_what_was_not_handled_by_the_grace():
    guard = work_guard()
    guard.receive(["/who"], 0.0)
    guard.charge(0.100, 0.0)  # owed for 98 s: longer than a closing connection gets
    guard.receive(lines(0, 3), 0.0)
    guard.end_input(0.0)
    assert guard.tick(1.0) == ([], ())
    ready, actions = guard.tick(CLOSE_GRACE)
    assert ready == [] and len(actions) == 1 and isinstance(actions[0], CutOff)
    assert actions[0].reason == "disconnected"
    assert actions[0].told.startswith("3 of your last lines were not handled")
    assert not guard.held


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
