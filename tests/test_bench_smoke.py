"""The benchmark's smoke run: bench/'s real load generator against a real server.py.

Tiny sizes, port 0, no timing asserted: only that the accounting works (every
delivery counted once; nothing lost, duplicated, reordered or misrouted) so the
benchmark never rots.  Plus the accounting fed bad streams by hand, no sockets.
The benchmark itself is `python3 bench/fanout.py`; see BENCHMARKS.md.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ is not installed

from bench import runs, work_load  # noqa: E402
from bench.adapters import ADAPTERS  # noqa: E402
from bench.load import Client, Plan, Tally  # noqa: E402
from bench.servers import default_parlor_cmd, parlor_flags, start_parlor  # noqa: E402


@pytest.fixture(scope="module")
def parlor():
    cmd = default_parlor_cmd()
    cmd += parlor_flags(cmd)[0]  # the benchmark raises the flood limit the same way
    with start_parlor(cmd) as server:
        yield server


def assert_clean(result: dict) -> None:
    bad = {k: result[k] for k in ("lost", "duplicated", "reordered", "misrouted")}
    assert bad == {"lost": 0, "duplicated": 0, "reordered": 0, "misrouted": 0}, result.get("errors")


def test_bench_fanout_one_room_counts_every_delivery_once(parlor):
    result = runs.run_fanout(parlor, Plan("", "", 0, rooms=1, per_room=6, msgs=15, stall=5))
    assert_clean(result)
    assert result["sent"] == 6 * 15
    assert result["delivered"] == result["expected"] == 6 * 5 * 15  # to the others
    assert result["echoed"] == 6 * 15  # Parlor's copy back to each sender, counted apart
    assert result["samples"] == result["delivered"]
    assert result["disconnected"] == 0


def test_bench_fanout_rooms_stay_apart(parlor):
    result = runs.run_fanout(parlor, Plan("", "", 0, rooms=3, per_room=4, msgs=10, stall=5))
    assert_clean(result)
    assert result["delivered"] == result["expected"] == 3 * 4 * 3 * 10


def test_bench_paced_run_delivers_everything(parlor):
    result = runs.run_fanout(parlor, Plan("", "", 0, rooms=1, per_room=4, msgs=5, rate=100.0, stall=5))
    assert_clean(result)
    assert result["delivered"] == 4 * 3 * 5


def test_bench_pingpong_counts_both_directions(parlor):
    result = runs.run_pingpong(parlor, rounds=20, warmup=2)  # twice: as placed, then on one CPU
    assert_clean(result)
    assert result["delivered"] == result["expected"] == 2 * 2 * 22
    assert result["rtt_p50_ms"] is not None and result["pinned_rtt_p50_ms"] is not None


def test_bench_floor_relay_passes_the_ping_pong_accounting():
    """bench/floor_relay.py (the no-logic relay BENCHMARKS.md measures as the floor)
    speaks enough of the protocol for the ping-pong's clients: every line delivered
    and echoed once, in order."""
    with start_parlor([sys.executable, "bench/floor_relay.py", "--port", "0"]) as relay:
        result = runs.run_pingpong(relay, rounds=20, warmup=2)
    assert_clean(result)
    assert result["delivered"] == result["expected"] == 2 * 2 * 22
    assert result["echoed"] == 2 * 2 * 22


def test_bench_line_cost_times_the_real_loop_turn(tmp_path):
    """bench/line_cost.py drives the server's own turn over real sockets: every line
    relayed and echoed (it raises otherwise), each figure measured."""
    from bench import line_cost
    r = line_cost.measure(str(tmp_path / "history.db"), lines=50)
    assert all(r[k] > 0 for k in ("turn", "commit", "send"))
    assert line_cost.floor(50) > 0


def test_bench_idle_connections_are_registered_and_held(parlor):
    result = runs.run_idle(parlor, connections=40)
    assert result["registered"] == result["held"] == 40
    assert result["rss_kib"] > 0


def test_bench_work_load_holds_the_attackers_and_answers_the_user():
    # bench/work_load.py on tiny sizes: 10 of a room of 200 play a bot game and resign,
    # 4 lines a second (about 1 ms of the server's time a pair: ~25 lines to each of
    # the 200); a small work budget (1 ms a second after 0.5 ms) holds them (the defaults
    # would not, in 2 s), and the user in another room has every line answered.
    r = work_load.run("bot", attackers=10, seconds=2.0, size=200, nice=0, drain=30.0,
                      server_args=["--max-work", "1", "--work-burst", "0.5"])
    assert r["server_alive"] and r["user_sent"] >= 8 and r["user_unanswered"] == 0
    assert r["warned"] == 10, r["said"]  # every attacker was told to slow down: held...
    assert r["attackers_dropped"] == r["bystanders_dropped"] == 0  # ...not dropped
    assert r["commands"] >= 10 and r["answered"] == r["commands"] and r["unanswered"] == 0


def _tally_and_receiver():
    adapter = ADAPTERS["parlor"]
    tally = Tally(adapter, per_room=3, clients=6, msgs=5)  # rooms 0 (ids 0-2) and 1 (ids 3-5)
    return tally, Client(1, 0, adapter)


AT = b"2026-12-01T10:31:05.123Z"  # when the server relayed a line


def test_bench_tally_counts_a_clean_stream():
    tally, me = _tally_and_receiver()
    tally.feed(me, b"MSG r0 1 u0 %s 0 0 0 pad\nMSG r0 1 u0 %s 0 1 " % (AT, AT), 10)  # split across reads
    tally.feed(me, b"0 pad\nMSG r0 1 u1 %s 1 0 0 pad\nJOIN r0 u2\n" % AT, 20)
    assert (tally.delivered, tally.echoed) == (2, 1)
    assert (tally.dup, tally.reordered, tally.misrouted, tally.garbled) == (0, 0, 0, 0)
    assert list(tally.latency) == [10, 20]


def test_bench_tally_reports_duplicates_reordering_and_misrouting():
    tally, me = _tally_and_receiver()
    lines = [
        b"MSG r0 1 u0 " + AT + b" 0 2 0 pad",  # seq 2 first...
        b"MSG r0 1 u0 " + AT + b" 0 1 0 pad",  # ...then 1: reordered
        b"MSG r0 1 u0 " + AT + b" 0 2 0 pad",  # 2 again: duplicated
        b"MSG r1 1 u3 " + AT + b" 3 0 0 pad",  # room 1's message reached room 0's member: misrouted
        b"MSG r0 1 u2 " + AT + b" 0 3 0 pad",  # sender 0 under another nick: misrouted
        b"MSG r0 1 u0 " + AT + b" zero 0 0",  # not our format: garbled
    ]
    tally.feed(me, b"\n".join(lines) + b"\n", 0)
    assert (tally.delivered, tally.dup, tally.reordered, tally.misrouted, tally.garbled) == (2, 1, 1, 2, 1)
    assert me.got == 2  # lost = expected - got, so the misrouted ones count as lost too


def test_bench_tls_speed_smoke_run_reports_every_figure(capsys):
    """bench/tls_speed.py --quick: the openssl certificate, TLS and plain servers, the
    three figures (no timing asserted)."""
    from bench import tls_speed
    assert tls_speed.main(["--quick"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["fan-out", "handshakes", "idle"]
    assert "TLS" in lines[0] and "plain" in lines[2]
