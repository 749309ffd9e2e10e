"""The shared token bucket, with the clock passed in: burst, rate, debt, next_at, reset."""
from __future__ import annotations

import math

import pytest

from chat.bucket import TokenBucket


def test_bucket_gives_the_burst_at_once_then_nothing():
    bucket = TokenBucket(3, 2.0)
    assert bucket.take(10.0, 5) == 3
    assert bucket.take(10.0, 5) == 0


def test_bucket_refills_at_the_rate_up_to_the_burst():
    bucket = TokenBucket(3, 2.0)
    bucket.take(10.0, 3)
    assert bucket.take(10.5, 5) == 1   # half a second at 2 a second
    assert bucket.take(11.0, 0) == 0   # another token is back, not taken
    assert bucket.take(100.0, 9) == 3  # a long rest refills only up to the burst


def test_bucket_takes_only_what_is_wanted():
    bucket = TokenBucket(5, 1.0)
    assert bucket.take(0.0, 2) == 2
    assert bucket.take(0.0, 9) == 3


def test_bucket_rate_zero_is_no_limit():
    bucket = TokenBucket(0, 0)
    assert bucket.take(0.0, 10_000) == 10_000
    assert bucket.take(0.0, 10_000, debt=50) == 10_000
    assert bucket.next_at() == -math.inf


def test_bucket_debt_is_paid_before_anything_is_taken():
    bucket = TokenBucket(2, 1.0)
    assert bucket.take(0.0, 0, debt=4) == 0  # two lines past the burst went anyway
    assert bucket.tokens == pytest.approx(-2.0)
    assert bucket.take(2.0, 5) == 0          # two seconds only pay the debt back
    assert bucket.take(3.0, 5) == 1
    assert bucket.next_at() == pytest.approx(4.0)


def test_bucket_next_at_is_now_when_a_token_is_there():
    bucket = TokenBucket(2, 4.0)
    assert bucket.next_at() == -math.inf  # never used: a token is there already
    bucket.take(7.0, 1)
    assert bucket.next_at() == 7.0
    bucket.take(7.0, 1)
    assert bucket.next_at() == pytest.approx(7.25)


def test_bucket_a_token_due_at_next_at_is_given_then():
    bucket = TokenBucket(1, 3.0)  # a third of a second per token: not exact in floats
    bucket.take(1234.5678, 1)
    for _ in range(100):
        now = bucket.next_at()
        assert bucket.take(now, 1) == 1  # waking at next_at never finds it a hair short


def test_bucket_time_going_backwards_refills_nothing():
    bucket = TokenBucket(2, 1.0)
    bucket.take(10.0, 2)
    assert bucket.take(5.0, 1) == 0


def test_bucket_reset_gives_the_whole_burst_back():
    bucket = TokenBucket(3, 1.0)
    bucket.take(0.0, 3, debt=2)
    bucket.reset()
    assert bucket.next_at() == -math.inf
    assert bucket.take(0.0, 5) == 3
