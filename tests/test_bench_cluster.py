"""bench/cluster.py's smoke run: its fan-out over two real nodes and a real redis-server
(tests/redis_harness.py says how one is found), tiny sizes, no timing asserted: only
that the load generator's accounting finds nothing lost, duplicated or reordered.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/ is not installed

import pytest  # noqa: E402

from bench import cluster  # noqa: E402
from bench.load import Plan  # noqa: E402
from redis_harness import MISSING, redis_binary  # noqa: E402


def test_bench_cluster_fanout_over_two_nodes_loses_nothing():
    if redis_binary() is None:  # (the benchmark starts a redis-server of its own)
        pytest.skip(MISSING)
    result = cluster.fanout(Plan("", "", 0, rooms=2, per_room=5, msgs=10, stall=5), 2, 1)
    assert {k: result[k] for k in ("lost", "duplicated", "reordered", "misrouted")} == \
        {"lost": 0, "duplicated": 0, "reordered": 0, "misrouted": 0}
    assert result["delivered"] == 2 * 5 * 4 * 10
    assert len(result["each"]) == 3  # two nodes and Redis, each measured
