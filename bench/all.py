#!/usr/bin/env python3
"""Every scenario in one run (issue 19's "one run with every scenario"): Parlor beside
ngircd where ngircd has the scenario (bench/fanout.py: fan-out, paced with and without
quick ACKs, ping-pong, idle, the curses client), then the paths only Parlor has, each
against the default: history in a file against `:memory:` (bench/history_speed.py),
TLS against plain text (bench/tls_speed.py), two nodes on Redis against one node
(bench/cluster.py).  One after the other, so they do not share the CPUs; each part's
output as it prints it, under a heading, with the machine and the commit on top.

    python3 bench/all.py                    # about 12 minutes on 2 cores
    python3 bench/all.py --out run.md       # also written to run.md
    python3 bench/all.py --quick            # a smoke run of every part
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PARTS = [  # (heading, script, arguments, arguments with --quick)
    ("Parlor and ngircd: fan-out, paced, ping-pong, idle, the client", "fanout.py",
     ["--reps", "3"], ["--quick"]),
    ("History: the file store against :memory:", "history_speed.py",
     ["--only", "fanout", "--reps", "3"], ["--only", "fanout", "--quick"]),
    ("TLS against plain text", "tls_speed.py", ["--reps", "3"], ["--quick"]),
    ("Two nodes on Redis against one node", "cluster.py", ["--reps", "3"], ["--quick"]),
]


def header() -> list[str]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [f"# One run of every scenario, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            "",
            f"commit `{commit}`{' (with uncommitted changes)' if dirty else ''}; "
            f"{os.cpu_count()} CPUs; load average before the run {load}; Python {sys.version.split()[0]}",
            ""]


def run_part(script: str, args: list[str], emit) -> int:
    """Run one benchmark, passing its output on line by line; its exit status."""
    cmd = [sys.executable, str(ROOT / "bench" / script), *args]
    emit(f"`python3 bench/{script} {' '.join(args)}`")
    emit("")
    start = time.monotonic()
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as proc:
        for line in proc.stdout:
            emit(line.rstrip("\n"))
    emit("")
    emit(f"({time.monotonic() - start:.0f} s, exit status {proc.returncode})")
    emit("")
    return proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of every part")
    parser.add_argument("--out", metavar="FILE", help="also write the report to FILE")
    args = parser.parse_args(argv)
    lines: list[str] = []

    def emit(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    for line in header():
        emit(line)
    failed = 0
    for heading, script, full, quick in PARTS:
        emit(f"## {heading}")
        emit("")
        failed += run_part(script, quick if args.quick else full, emit) != 0
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
