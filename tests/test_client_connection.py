"""Connecting and reconnecting, sans I/O: the retry schedule (chat/client/backoff.py)
and the client core's connection state, driven by a fake clock and a fixed random
draw.  No sockets, no sleeps."""
from __future__ import annotations

import pytest

from chat.client import backoff as bo
from chat.client import core as c
from chat.client import events as ev

HELLO = b"HELLO parlor/2 hi\n"
WAITING = "DISCONNECTED, reconnecting in {} s"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def reconnecting_core(draw: float = 0.0, **kwargs) -> tuple[c.ClientCore, Clock]:
    """A core as the full-screen view holds it (it reconnects), greeted and in #general."""
    clock = Clock()
    core = c.ClientCore("127.0.0.1:5220", clock=clock, draw=lambda: draw, **kwargs)
    core.reconnects = True
    core.connection_made()
    core.receive_data(HELLO + b"HERE general alice\n")
    core.take_entries()
    return core, clock


def texts(core: c.ClientCore) -> list[str]:
    return [e.text for e in core.take_entries()]


def waits(core: c.ClientCore, clock: Clock, failures: int) -> list[float]:
    """The wait before each of `failures` retries in a row, every one refused."""
    seen = []
    for _ in range(failures):
        seen.append(round(core.retry.due_at - clock.now, 6))
        clock.now = core.retry.due_at
        core.tick(clock.now)
        assert core.requests.pop() == ev.Reconnect()
        core.connect_started()
        core.connect_failed("connection refused")
    return seen


# ------------------------------------------------------------------ the schedule
def test_backoff_doubles_to_a_cap_of_ten_seconds():
    assert [bo.delay(n, 0.0) for n in range(8)] == [1, 2, 4, 8, 10, 10, 10, 10]
    assert bo.delay(10_000, 0.0) == 10  # a very long outage: still 10 s


@pytest.mark.parametrize("failures", range(7))
def test_backoff_jitter_takes_off_at_most_a_quarter_and_the_waits_still_grow(failures):
    longest = bo.delay(failures, 0.0)
    draws = [i / 100 for i in range(100)] + [0.999999]
    assert all(0.75 * longest <= bo.delay(failures, d) <= longest for d in draws)
    assert bo.delay(failures, 0.999999) < longest * 0.7501  # the whole quarter is used
    if bo.delay(failures + 1, 0.0) == 2 * longest:  # below the cap, the shortest next wait
        assert bo.delay(failures + 1, 0.999999) >= longest * 1.4999  # >= this one's longest


def test_client_connection_a_long_outage_retries_every_ten_seconds_at_most():
    core, clock = reconnecting_core()
    core.connection_lost("the server closed the connection")
    assert waits(core, clock, 8) == [1, 2, 4, 8, 10, 10, 10, 10]


def test_client_connection_the_jitter_is_drawn_for_every_wait():
    draws = iter([0.0, 0.5, 0.999, 0.0])
    clock = Clock()
    core = c.ClientCore("test", clock=clock, draw=lambda: next(draws))
    core.reconnects = True
    core.connection_made()
    core.connection_lost("reset")
    assert waits(core, clock, 3) == [1.0, 2 * 0.875, 4 * (1 - 0.25 * 0.999)]


def test_client_connection_the_waits_start_short_again_once_a_server_greets():
    core, clock = reconnecting_core()
    core.connection_lost("reset")
    waits(core, clock, 4)
    clock.now = core.retry.due_at
    core.tick(clock.now)
    core.connect_started()
    core.connection_made()
    core.connection_lost("reset")  # connected but never greeted (a full server, say)
    assert core.retry.due_at - clock.now == 10
    clock.now = core.retry.due_at
    core.tick(clock.now)
    core.connect_started()
    core.connection_made()
    core.receive_data(HELLO)
    core.connection_lost("reset")
    assert core.retry.due_at - clock.now == 1


# ------------------------------------------------------------------ the status bar
def test_client_connection_counts_down_to_the_next_try_then_asks_for_it():
    core, clock = reconnecting_core()
    assert core.connection_state(clock.now) == ""
    core.connection_lost("the server closed the connection")
    core.retry.failures = 4  # the next waits are the longest
    core.retry.schedule(clock.now)
    assert core.connection_state(clock.now) == WAITING.format(10)
    shown = []
    while not core.requests:
        wake = core.wake_at(clock.now)
        assert wake is not None and wake > clock.now
        clock.now = wake
        core.tick(clock.now)
        shown.append(core.connection_state(clock.now))
    assert shown[:-1] == [WAITING.format(n) for n in range(9, 0, -1)]
    assert core.requests == [ev.Reconnect()] and clock.now == 110  # once a second, then due
    core.connect_started()
    assert core.connection_state(clock.now) == "connecting..."


def test_client_connection_a_fractional_wait_shows_whole_seconds_rounded_up():
    core, clock = reconnecting_core(draw=0.5)
    core.connection_lost("reset")  # a wait of 0.875 s
    assert core.connection_state(clock.now) == WAITING.format(1)
    assert core.wake_at(clock.now) == clock.now + 0.875


def test_client_connection_is_connecting_until_the_greeting_comes():
    core, clock = reconnecting_core()
    core.connection_lost("reset")
    clock.now = core.retry.due_at
    core.tick(clock.now)
    core.connect_started()
    assert core.connection_state(clock.now) == "connecting..."
    core.connection_made()
    assert core.connection_state(clock.now) == "connecting..."  # a socket is no greeting
    core.receive_data(HELLO)
    assert core.connection_state(clock.now) == "" and core.wake_at(clock.now) is None


def test_client_connection_lost_the_first_time_says_how_to_come_back_once():
    core, clock = reconnecting_core()
    core.connection_lost("the server closed the connection")
    assert texts(core) == [
        "Lost the connection to 127.0.0.1:5220: the server closed the connection.",
        "Reconnecting by itself, every 10 s at most (Enter on an empty line or /reconnect "
        "tries at once)."]
    waits(core, clock, 3)
    assert texts(core) == ["Could not reconnect: connection refused."]  # once, not per try


# ------------------------------------------------------------------ retrying at once
def test_client_connection_enter_on_an_empty_line_while_away_tries_at_once():
    core, clock = reconnecting_core()
    core.connection_lost("reset")
    waits(core, clock, 3)  # the next wait would be 8 s
    core.submit("")
    assert core.requests == [ev.Reconnect()]
    core.requests.clear()
    core.connect_started()
    core.submit("   ")  # already trying: nothing more
    assert core.requests == [] and core.retry.due_at is None
    core.connect_failed("connection refused")
    assert core.retry.due_at - clock.now == 1  # the user's try starts the waits again


def test_client_connection_reconnect_command_also_starts_the_waits_again():
    core, clock = reconnecting_core()
    core.connection_lost("reset")
    waits(core, clock, 4)
    core.submit("/reconnect")
    assert core.requests == [ev.Reconnect()] and core.retry.failures == 0


def test_client_connection_enter_on_an_empty_line_while_connected_does_nothing():
    core, clock = reconnecting_core()
    core.submit("")
    assert core.requests == [] and core.data_to_send(clock.now) == b"" and texts(core) == []
    core.connection_made()  # connected, greeting still to come
    core.submit("")
    assert core.requests == []


def test_client_connection_line_mode_plans_no_retry_and_enter_does_nothing():
    clock = Clock()
    core = c.ClientCore("test", clock=clock)  # line mode: reconnects stays False
    core.connection_made()
    core.receive_data(HELLO)
    core.take_entries()
    core.connection_lost("reset")
    assert texts(core) == ["Lost the connection to test: reset."]
    assert core.wake_at(clock.now) is None and core.connection_state(clock.now) == "DISCONNECTED"
    core.submit("")
    assert core.requests == []


# ------------------------------------------------------------------ deadlines
def test_client_connection_no_greeting_within_five_seconds_is_not_parlor():
    clock = Clock()
    core = c.ClientCore("127.0.0.1:9", clock=clock)
    core.reconnects = True
    core.connection_made()
    assert core.wake_at(clock.now) == clock.now + 5
    clock.now += 4.9
    core.tick(clock.now)
    assert core.requests == [] and not core.foreign
    clock.now += 0.1
    core.tick(clock.now)
    assert texts(core) == [
        "No greeting from 127.0.0.1:9 within 5 s: is this a Parlor server (if it uses TLS, connect with --tls)?",
        "Not retrying: Enter on an empty line or /reconnect tries again, /quit leaves."]
    assert core.requests == [ev.NotParlor()] and core.foreign
    core.requests.clear()
    core.connection_lost("not a Parlor server", quiet=True)  # as the view hangs up
    assert core.retry.due_at is None and core.connection_state(clock.now) == "DISCONNECTED"
    core.tick(clock.now + 60)
    assert core.requests == [] and texts(core) == []
    core.submit("")  # the user may still try again
    assert core.requests == [ev.Reconnect()]


def test_client_connection_a_greeting_in_time_stops_the_clock():
    clock = Clock()
    core = c.ClientCore("test", clock=clock)
    core.connection_made()
    clock.now += 4.9
    core.receive_data(HELLO)
    core.tick(clock.now + 100)
    assert not core.foreign and core.requests == []


def test_client_connection_line_mode_no_greeting_says_only_the_sentence():
    clock = Clock()
    core = c.ClientCore("127.0.0.1:9", clock=clock)
    core.connection_made()
    core.tick(clock.now + 5)
    assert texts(core) == ["No greeting from 127.0.0.1:9 within 5 s: is this a Parlor server (if it uses TLS, connect with --tls)?"]
    assert core.requests == [ev.NotParlor()]


def test_client_connection_a_connect_that_hangs_is_dropped_and_retried():
    core, clock = reconnecting_core()
    core.connection_lost("reset")
    core.take_entries()
    clock.now = core.retry.due_at
    core.tick(clock.now)
    core.requests.clear()
    core.connect_started()
    assert core.wake_at(clock.now) == clock.now + 5
    core.tick(clock.now + 4.9)
    assert core.requests == []
    clock.now += 5
    core.tick(clock.now)
    assert core.requests == [ev.Hangup()]
    assert texts(core) == ["Could not reconnect: no answer from 127.0.0.1:5220 within 5 s."]
    assert core.connection_state(clock.now) == WAITING.format(2)
