"""A live server under generated hostile streams from several connections at once,
while two well-behaved clients chat: their chat must arrive complete and in order,
and the server must stay up with no error logged.  The generator is bench/hostile.py,
which also runs as a longer soak from the shell.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from chat import protocol as p
from chat.server.limits import Limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import hostile  # noqa: E402


def test_fuzz_live_hostile_streams_do_not_disturb_the_chat(start_server, connect):
    # A high rate limit lets the good pair chat at full speed; the flood limit still
    # cuts off the streams of tiny lines (past --max-queue held lines).
    server = start_server(Limits(max_rate=2000, burst=500))
    result = hostile.attack(server.address, streams=120, seed=7, parallel=6, messages=100)
    assert result["ann_ok"] and result["bob_ok"], result
    assert result["lost"] == 0
    assert result["streams"] == 120 and result["bytes"] > 1_000_000, result
    after = connect(server)  # still serving
    after.enter("good", "after")
    after.say("still up")
    deadline = time.monotonic() + 5  # the last hostile closes may still be on their way
    while (nicks := who(after)) != ["after"]:
        assert time.monotonic() < deadline, f"stale nicks left behind: {nicks}"


def who(peer) -> list[str]:
    peer.send("/who")
    members = peer.expect(p.Members)
    return [peer.next().nick for _ in range(members.count)]


def test_fuzz_live_every_kind_of_stream_is_generated():
    import random
    rng = random.Random(3)
    for make in hostile.MAKERS:
        data = make(rng)
        assert isinstance(data, bytes) and data, make.__name__
    assert b"\xed\xa0\x80" in b"".join(hostile._bad_utf8(random.Random(i)) for i in range(30))
