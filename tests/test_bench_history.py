"""The history benchmark's smoke run: bench/history_speed.py against a real server.py.

Tiny sizes, port 0, no timing asserted: a few joins and pages in a filled room, each
bringing the lines it should, and one catch-up after a drop in a busy room returning
exactly the missed ids.  Plus the exactness check fed by hand, no sockets.  The
benchmark itself is `python3 bench/history_speed.py`; see BENCHMARKS.md.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ is not installed

from bench.history_speed import REPLAY, catch_ups, exactness, measure_room  # noqa: E402
from chat import protocol as p  # noqa: E402


def test_bench_history_joins_and_pages_bring_their_lines(tmp_path):
    # measure_room checks every answer: each join brought REPLAY lines, each page 50
    # lines older than the id asked for (else it raises RoomError).
    said = []
    result = measure_room(300, str(tmp_path), requests=4, sitters=1, log=said.append)
    assert REPLAY == 50
    for kind in ("join", "page"):
        assert len(result[kind]["cpu"]) == len(result[kind]["wall"]) == 4
        assert all(cpu > 0 for cpu in result[kind]["cpu"])  # the server's time was read
    assert result["bytes_per_message"] > 0
    assert "300 rows" in said[0]


def test_bench_history_catch_up_after_a_drop_is_exact(tmp_path):
    [result] = catch_ups(str(tmp_path), reps=1, talkers=2, rate=100.0, away=0.0,
                         min_missed=20, sitters=1, log=lambda text: None)
    assert result["missed"] >= 20
    assert result["caught"] == result["missed"]
    assert (result["duplicated"], result["skipped"], result["strays"]) == (0, 0, 0)
    assert result["left_out"] == 0 and result["in_order"]


def _page(*entries: tuple[int, str], older: int = 0) -> p.HistoryPage:
    return p.HistoryPage("big", p.CAUGHT_UP, tuple(
        p.Past("big", i, kind, "talker0", p.NOBODY, 0.0, "hi") for i, kind in entries), older)


def test_bench_history_exactness_of_a_clean_catch_up():
    result = exactness(_page((11, p.SAY), (12, p.SAY)), 10, [9, 10, 11, 12, 13, 14], [13, 14])
    assert result == {"missed": 2, "caught": 2, "duplicated": 0, "skipped": 0, "left_out": 0,
                      "strays": 0, "in_order": True}


def test_bench_history_exactness_finds_duplicates_skips_strays_and_disorder():
    # 11 twice, 13 also live, 12 nowhere, a notice and an id never said in the room.
    result = exactness(_page((13, p.SAY), (11, p.SAY), (11, p.SAY), (20, p.NOTICE), (99, p.SAY)),
                       10, [10, 11, 12, 13, 14], [13, 14])
    assert result["duplicated"] == 2
    assert result["skipped"] == 1
    assert result["strays"] == 2
    assert result["in_order"] is False


def test_bench_history_exactness_counts_what_the_page_says_it_left_out():
    result = exactness(_page((13, p.SAY), older=2), 10, [11, 12, 13, 14], [14])
    assert (result["skipped"], result["left_out"]) == (0, 2)
