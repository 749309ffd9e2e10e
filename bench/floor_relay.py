#!/usr/bin/env python3
"""The floor under a Python chat server: a relay that does nothing but relay.

    python3 bench/fanout.py --only pingpong --servers parlor \\
        --server-cmd "python3 bench/floor_relay.py --port 0"

It speaks just enough of Parlor's protocol for bench/fanout.py's Parlor adapter
(a `HELLO` greeting, `/join ROOM` and `/nick NICK` answered with `HERE ROOM NICK`, every other line
relayed as `MSG ROOM ID NICK TIME TEXT` to the room and echoed to its sender) and
polls after activity as Parlor's loop does (`--spin`, microseconds).  No limits, no
history, no sanitizing, no parsing beyond that: what is left of a round trip is
the interpreter's cost of select(), recv() and send() and the scheduler's of
waking the clients.  Not a server anyone should run: a measuring aid for issue 19
(how much of Parlor's ping-pong round trip any CPython server would pay).
"""
from __future__ import annotations

import argparse
import selectors
import socket
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--spin", type=int, default=100, help="microseconds to poll after activity")
    args, _ = parser.parse_known_args()  # (the benchmark's limit flags mean nothing here)
    listener = socket.create_server(("127.0.0.1", args.port), backlog=1024)
    listener.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, None)
    rooms: dict[bytes, list[socket.socket]] = {}
    where: dict[socket.socket, list] = {}  # sock -> [room, nick, unfinished line]
    print("listening on 127.0.0.1:%d" % listener.getsockname()[1], flush=True)
    spin, next_id, spin_until = args.spin / 1e6, 1, 0.0
    while True:
        events = sel.select(0 if time.monotonic() < spin_until else None)
        if events:
            spin_until = time.monotonic() + spin
        for key, _ in events:
            if key.data is None:
                sock, _ = listener.accept()
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                where[sock] = [b"", b"", b""]
                sel.register(sock, selectors.EVENT_READ, True)
                sock.send(b"HELLO floor-relay\n")
                continue
            sock = key.fileobj
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                sel.unregister(sock)
                room = where.pop(sock)[0]
                if sock in rooms.get(room, ()):
                    rooms[room].remove(sock)
                sock.close()
                continue
            me = where[sock]
            *lines, me[2] = (me[2] + data).split(b"\n")
            for line in lines:
                if line.startswith(b"/join "):
                    me[0] = line[6:]
                    rooms.setdefault(me[0], []).append(sock)
                elif line.startswith(b"/nick "):
                    me[1] = line[6:]
                    sock.send(b"HERE %s %s\n" % (me[0], me[1]))
                elif line.startswith(b"/"):
                    continue  # (a pong)
                else:
                    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
                    out = b"MSG %s %d %s %s %s\n" % (me[0], next_id, me[1], stamp.encode(), line)
                    next_id += 1
                    for other in rooms.get(me[0], ()):
                        if other is not sock:
                            other.send(out)
                    sock.send(out)  # (the echo, as Parlor sends it)


if __name__ == "__main__":
    sys.exit(main())
