"""bench/cluster.py's failure runs: two nodes through Redis, members on both, paced
chat, then a node killed (kill -9) or Redis killed and started again, mid-run.

Each member is a socket read by a thread of its own, noting every line with the time
it came; what they said is checked afterwards: every message of a live sender seen
once by every live member, in the order it was sent.
"""
from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from chat import protocol as p
from bench.servers import RAISE

ROOT = Path(__file__).resolve().parent.parent
RATE = 10.0  # messages a second per member


class Node:
    def __init__(self, url: str, name: str) -> None:
        raised = [a for f, v in RAISE.items() if f not in ("--max-per-ip", "--max-burst",
                                                           "--max-connections") for a in (f, v)]
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "server.py"), "--port", "0",
                                      "--quiet", "--redis", url, "--node", name, *raised],
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        banner = self.proc.stdout.readline().decode()
        self.port = int(re.match(r"listening on .+:(\d+)", banner)[1])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class Member(threading.Thread):
    def __init__(self, port: int, nick: str) -> None:
        super().__init__(daemon=True)
        self.nick = nick
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.seen: list[tuple[float, p.ServerMessage]] = []
        self.sent = 0
        self.sock.sendall(f"/join lounge\n/nick {nick}\n".encode())
        self.start()

    def run(self) -> None:
        buffer = b""
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            buffer += data
            *lines, buffer = buffer.split(b"\n")
            now = time.monotonic()
            for line in lines:
                self.seen.append((now, p.parse_server_line(line.decode("utf-8", "replace"))))

    def say(self) -> None:
        try:
            self.sock.sendall(f"{self.nick} {self.sent}\n".encode())
            self.sent += 1
        except OSError:
            pass

    def chats(self) -> list[str]:
        return [m.text for _, m in self.seen if isinstance(m, p.Chat)]

    def close(self) -> None:
        self.sock.close()


def wait_for(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)  # (a benchmark's poll, not a test's synchronisation)
    return False


def talk(members: list[Member], seconds: float, at=None) -> None:
    """Everyone says a line every 1/RATE s for `seconds`; `at(t)` each step."""
    start = time.monotonic()
    step = 0
    while (t := time.monotonic() - start) < seconds:
        if at is not None:
            at(t)
        for m in members:
            m.say()
        step += 1
        time.sleep(max(0.0, start + step / RATE - time.monotonic()))


def check(receivers: list[Member], senders: list[Member]) -> tuple[int, int, int]:
    """(lost, duplicated, reordered) over every sender's lines at every receiver."""
    lost = dup = reordered = 0
    for r in receivers:
        got = r.chats()
        for s in senders:
            seqs = [int(t.split()[1]) for t in got if t.split()[0] == s.nick]
            dup += len(seqs) - len(set(seqs))
            lost += s.sent - len(set(seqs))
            reordered += sum(1 for a, b in zip(seqs, seqs[1:]) if b < a)
    return lost, dup, reordered


def setup(url: str, per_node: int) -> tuple[list[Node], list[list[Member]]]:
    nodes = [Node(url, "bench-a"), Node(url, "bench-b")]
    groups = [[Member(n.port, f"{tag}{i}") for i in range(per_node)]
              for n, tag in zip(nodes, "ab")]
    everyone = [m for g in groups for m in g]
    nicks = {m.nick for m in everyone}
    wait_for(lambda: all({x.nick for _, x in m.seen if isinstance(x, p.Joined)} >= nicks - {m.nick}
                         for m in everyone))
    return nodes, groups


def node_killed(redis, quick: bool = False) -> str:
    nodes, (on_a, on_b) = setup(redis.url, 3 if quick else 10)
    killed: list[float] = []
    try:
        def at(t: float) -> None:
            if not killed and t >= (1.0 if quick else 3.0):
                nodes[0].kill()
                killed.append(time.monotonic())
        talk(on_a + on_b, 2.0 if quick else 6.0, at)
        gone = {m.nick for m in on_a}
        wait_for(lambda: all({x.nick for _, x in m.seen if isinstance(x, p.Left)} >= gone
                             for m in on_b), timeout=20)
        last_left = max((when for m in on_b for when, x in m.seen
                         if isinstance(x, p.Left) and x.nick in gone), default=None)
        wait_for(lambda: check(on_b, on_b)[0] == 0, timeout=5)
        lost, dup, reord = check(on_b, on_b)
        unseen = sum(s.sent - len({t for t in on_b[0].chats() if t.split()[0] == s.nick})
                     for s in on_a)
        seen_gone = f"{last_left - killed[0]:.1f} s" if last_left else "never"
        return (f"the other node's members saw all {len(gone)} of its users leave {seen_gone} "
                f"after kill -9; lines its users had sent that never reached the others: {unseen} "
                f"(of {sum(s.sent for s in on_a)}); among the live node's members "
                f"lost/dup/reordered {lost}/{dup}/{reord}")
    finally:
        for m in on_a + on_b:
            m.close()
        for n in nodes:
            n.kill()


def redis_restarted(redis, quick: bool = False) -> str:
    nodes, (on_a, on_b) = setup(redis.url, 3 if quick else 5)
    everyone = on_a + on_b
    marks: dict[str, float] = {}
    try:
        def at(t: float) -> None:
            if "killed" not in marks and t >= (0.5 if quick else 2.0):
                redis.kill()
                marks["killed"] = time.monotonic()
            elif "killed" in marks and "started" not in marks and \
                    time.monotonic() - marks["killed"] >= 1.0:
                redis.start()
                marks["started"] = time.monotonic()
        talk(everyone, 3.0 if quick else 8.0, at)
        wait_for(lambda: check(everyone, everyone)[0] == 0, timeout=15)
        lost, dup, reord = check(everyone, everyone)
        back = [next((w for w, x in m.seen if isinstance(x, p.Info)
                      and x.text.startswith("the message bus is back")), None)
                for m in everyone]
        paused = [next((w for w, x in m.seen if isinstance(x, p.Info)
                        and x.text.startswith("chat is paused")), None)
                  for m in everyone]
        gaps = []
        for m in everyone:
            times = [w for w, x in m.seen if isinstance(x, p.Chat)]
            gaps.append(max((b - a for a, b in zip(times, times[1:])), default=0))
        told = sum(1 for w in paused if w is not None)
        resumed = max((w for w in back if w is not None), default=None)
        after = f"{resumed - marks['started']:.2f} s" if resumed else "never"
        return (f"Redis down {marks['started'] - marks['killed']:.1f} s; {told}/{len(everyone)} "
                f"members told chat was paused; all told it was back {after} after Redis "
                f"started again; longest gap between two chat lines at a member "
                f"{max(gaps):.2f} s; lost/dup/reordered {lost}/{dup}/{reord} "
                f"of {sum(m.sent for m in everyone)} lines x {len(everyone)} members")
    finally:
        for m in everyone:
            m.close()
        for n in nodes:
            n.kill()
