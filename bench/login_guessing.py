"""How many passwords one address gets checked a minute: a guesser against a real
server.py (its own store file, loopback), trying /login with wrong passwords as
soon as the server's answers allow (waiting exactly what a 'try again in N s'
says).

    python3 bench/login_guessing.py [--seconds 120]
"""
from __future__ import annotations

import argparse
import re
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.servers import start_parlor  # noqa: E402
WAIT = re.compile(r"try again in (\d+) s")


class Line:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buffer = b""

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode() + b"\n")

    def until(self, prefix: str) -> str:
        while True:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                text = line.decode()
                if text.startswith(prefix):
                    return text
            self.buffer += self.sock.recv(65536)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args()
    # (a server of its own, with a new --db file, stopped however this ends)
    with start_parlor([sys.executable, "server.py", "--port", "0", "--quiet"]) as server:
        port = server.port
        return run(port, args.seconds)


def run(port: int, seconds: float) -> int:
    owner = Line(port)
    owner.send("/nick victim")
    owner.send("/register the real password")
    owner.until("REPLY register")
    guesser, start, checked, refused = Line(port), time.monotonic(), [], 0
    while (now := time.monotonic()) - start < seconds:
        guesser.send(f"/login victim guess{len(checked)}")
        answer = guesser.until("REPLY login")
        wait = WAIT.search(answer)
        if wait:
            refused += 1
            time.sleep(int(wait[1]))  # (a benchmark's guesser: it waits as told)
        else:
            checked.append(now - start)
    minutes = [sum(1 for t in checked if m * 60 <= t < (m + 1) * 60)
               for m in range(int(seconds // 60))]
    print(f"{len(checked)} passwords checked in {seconds:g} s from one address "
          f"({refused} tries refused unchecked); per minute: {minutes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
