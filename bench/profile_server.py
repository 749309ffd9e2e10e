#!/usr/bin/env python3
"""Profile a fresh Parlor server during one benchmark scenario; print its hot spots.

    python3 bench/profile_server.py fan1x50            # py-spy (pip install py-spy), by line
    python3 bench/profile_server.py paced --tool cprofile   # stdlib cProfile, by function

py-spy samples the running server from outside (--nonblocking, 1000 Hz), so the
figures printed next to the profile are close to an unprofiled run; cProfile
slows the server down several times but counts calls.  A measuring aid for
whoever optimises the server, not part of the benchmark's table.
"""
from __future__ import annotations

import argparse
import collections
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import runs  # noqa: E402
from bench.load import Plan  # noqa: E402
from bench.servers import default_parlor_cmd, parlor_flags, start_parlor  # noqa: E402

PLANS = {  # 5x the benchmark's messages for the max-rate runs, so there are enough samples
    "fan1x50": lambda server: runs.run_fanout(server, Plan("", "", 0, rooms=1, per_room=50, msgs=1000)),
    "fan20x10": lambda server: runs.run_fanout(server, Plan("", "", 0, rooms=20, per_room=10, msgs=1000)),
    "paced": lambda server: runs.run_fanout(server, Plan("", "", 0, rooms=1, per_room=50, msgs=200,
                                                         rate=20.0)),
    # 5,000 round trips as placed, then 5,000 on one CPU
    "pingpong": lambda server: runs.run_pingpong(server, 5000, 500),
}


def folded_hot_spots(path: Path, top: int) -> list[str]:
    """Self and inclusive shares per frame from py-spy's raw (folded) output."""
    own, incl, total = collections.Counter(), collections.Counter(), 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames, n = stack.split(";"), int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            incl[frame] += n
    out = [f"{total} samples; self time by line:"]
    out += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    out.append("inclusive:")
    out += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in incl.most_common(top)]
    return out


def profile_py_spy(cmd: list[str], run, top: int) -> None:
    spy_bin = shutil.which("py-spy")
    if spy_bin is None:
        sys.exit("py-spy not found: pip install py-spy (or use --tool cprofile)")
    with tempfile.TemporaryDirectory() as tmp, start_parlor(cmd) as server:
        out = Path(tmp) / "folded.txt"
        spy = subprocess.Popen([spy_bin, "record", "--pid", str(server.pid), "--rate", "1000", "--format", "raw",
                                "--nonblocking", "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)  # py-spy attaches asynchronously; a second is plenty
        result = run(server)
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=30)
        print(_figures(result))
        print("\n".join(folded_hot_spots(out, top)))


def profile_cprofile(cmd: list[str], run, top: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "server.prof"
        script = cmd.index(next(c for c in cmd if c.endswith("server.py")))
        wrapped = cmd[:script] + ["-m", "cProfile", "-o", str(stats)] + cmd[script:]
        with start_parlor(wrapped) as server:
            result = run(server)
        print(_figures(result) + "  (slowed down by cProfile)")
        pstats.Stats(str(stats)).sort_stats("tottime").print_stats(top)


def _figures(r: dict) -> str:
    if "rtt_p50_ms" in r:
        return (f"ping-pong p50 {r['rtt_p50_ms']:.3f} ms, on one CPU {r['pinned_rtt_p50_ms']:.3f} ms "
                f"({r['pinned_sched_ms_per_1k']:.1f} server CPU ms / 1k deliveries), lost {r['lost']}")
    return (f"server CPU {r['sched_ms_per_1k']:.3f} ms / 1k deliveries, latency p50 {r['p50_ms']:.2f} "
            f"p99 {r['p99_ms']:.2f} ms, lost {r['lost']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario", choices=sorted(PLANS))
    parser.add_argument("--tool", choices=("py-spy", "cprofile"), default="py-spy")
    parser.add_argument("--top", type=int, default=25, help="lines to print (default 25)")
    args = parser.parse_args()
    cmd = default_parlor_cmd()
    cmd += parlor_flags(cmd)[0]
    (profile_py_spy if args.tool == "py-spy" else profile_cprofile)(cmd, PLANS[args.scenario], args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
