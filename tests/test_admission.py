"""Who may connect, sans I/O (chat/server/admission.py), and the same over a socket."""
from __future__ import annotations

from chat import protocol as p
from chat.server.admission import Admission
from chat.server.limits import Limits


def test_admission_caps_the_connections_of_one_address():
    gate = Admission(Limits(max_per_address=3, connect_rate=0))
    assert [gate.admit("10.0.0.1", 0.0, n) for n in range(3)] == [None] * 3
    assert "too many connections from your address" in gate.admit("10.0.0.1", 0.0, 3)
    assert gate.admit("10.0.0.2", 0.0, 3) is None  # another address is not held back
    gate.left("10.0.0.1")
    assert gate.admit("10.0.0.1", 0.0, 3) is None


def test_admission_limits_how_fast_one_address_connects():
    gate = Admission(Limits(connect_burst=5, connect_rate=2))
    assert [gate.admit("a", 0.0, 0) for _ in range(5)] == [None] * 5
    assert "more than 2 a second" in gate.admit("a", 0.0, 0)
    assert gate.admit("b", 0.0, 0) is None
    assert gate.admit("a", 0.5, 0) is None  # a token came back
    assert gate.admit("a", 0.5, 0) is not None


def test_admission_keeps_the_last_slots_for_addresses_not_seen_yet():
    gate = Admission(Limits(max_clients=100, max_per_address=0, connect_rate=0))
    for n in range(95):
        assert gate.admit("hog", 0.0, n) is None
    assert "full" in gate.admit("hog", 0.0, 95)  # the last 5 are for someone new
    assert gate.admit("newcomer", 0.0, 95) is None
    assert "full" in gate.admit("another", 0.0, 100)


def test_admission_forgets_an_address_once_gone_and_rested():
    gate = Admission(Limits(connect_burst=2, connect_rate=1))
    gate.admit("a", 0.0, 0)
    gate.admit("a", 0.0, 0)
    gate.left("a")
    gate.left("a")
    gate.forget_idle(1.0)
    assert "a" in gate._buckets  # one token back of two: it would still say no to a third
    gate.forget_idle(2.0)
    assert gate._buckets == {} and gate.count == {}


def test_admission_over_a_socket_one_address_cannot_take_every_slot(start_server, connect):
    server = start_server(Limits(max_clients=40, max_per_address=5, connect_rate=0))
    peers = [connect(server) for _ in range(5)]
    extra = connect(server, hello=False)
    bye = extra.next()
    assert isinstance(bye, p.Bye) and "too many connections from your address" in bye.text
    extra.expect_closed()
    peers[0].send("/quit")
    peers[0].expect_closed()
    assert isinstance(connect(server, hello=False).next(), p.Hello)  # its slot is free again
