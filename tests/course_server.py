"""A small course server for the tests, behaving like the course's published one
(seed 004): no greeting, no newlines, one recv(1024) a message; a pause between
the parts of a multi-part answer (/list, /who) and none elsewhere, so the `0` of
/nick and the join notice go out together and arrive as one read, as they so
often do from the real one (here always: the worst case, made certain).
One thread, a selectors loop; its pauses are the loop's timeouts."""
from __future__ import annotations

import heapq
import itertools
import re
import selectors
import socket
import threading
import time

PAUSE = 0.05
NAME = re.compile(r"[A-Za-z0-9]+\Z")


class Client:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.room: str | None = None
        self.nick: str | None = None


class CourseServer:
    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()[:2]
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        self._wake_r, self._wake_w = socket.socketpair()
        self.selector.register(self._wake_r, selectors.EVENT_READ)
        self.rooms: dict[str, dict[str, Client]] = {}
        self.clients: dict[socket.socket, Client] = {}
        self.heard: list[str] = []  # every message read, as read
        self._timers: list[tuple[float, int, Client, bytes]] = []
        self._seq = itertools.count()
        self._stop = False
        self.thread = threading.Thread(target=self._run, name="course-server", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self._stop = True
        self._wake_w.send(b"x")
        self.thread.join(5)
        for sock in [*self.clients, self.listener, self._wake_r, self._wake_w]:
            sock.close()
        self.selector.close()

    # -------------------------------------------------------------- the loop
    def _run(self) -> None:
        while not self._stop:
            timeout = max(self._timers[0][0] - time.monotonic(), 0) if self._timers else None
            for key, _ in self.selector.select(timeout):
                if key.fileobj is self.listener:
                    sock, _ = self.listener.accept()
                    self.clients[sock] = Client(sock)
                    self.selector.register(sock, selectors.EVENT_READ)
                elif key.fileobj is not self._wake_r:
                    self._read(self.clients[key.fileobj])
            while self._timers and self._timers[0][0] <= time.monotonic():
                _, _, client, data = heapq.heappop(self._timers)
                self._send_now(client, data)

    def _read(self, client: Client) -> None:
        try:
            data = client.sock.recv(1024)
        except OSError:
            data = b""
        if not data:
            self._gone(client, "has been disconnected.")
            return
        text = data.decode("utf-8", "replace").rstrip()
        self.heard.append(text)
        self._on_message(client, text)

    def _send_now(self, client: Client, data: bytes) -> None:
        if client.sock in self.clients:
            try:
                client.sock.sendall(data)
            except OSError:
                pass

    def _send(self, client: Client, *parts: str) -> None:
        """The first part at once, each next one PAUSE after the one before."""
        now = time.monotonic()
        for i, part in enumerate(parts):
            if i == 0:
                self._send_now(client, part.encode("utf-8"))
            else:
                heapq.heappush(self._timers, (now + i * PAUSE, next(self._seq), client,
                                              part.encode("utf-8")))

    # -------------------------------------------------------------- the protocol
    def _on_message(self, client: Client, text: str) -> None:
        word, _, arg = text.partition(" ")
        if client.room is None:
            if text == "/list":
                self._send(client, str(len(self.rooms)), *self.rooms)
            elif word == "/join":
                if NAME.match(arg):
                    client.room = arg
                    self.rooms.setdefault(arg, {})
                    self._send(client, "0")
                else:
                    self._send(client, "1")
            return
        room = self.rooms.setdefault(client.room, {})
        if client.nick is None:
            if word != "/nick" or not NAME.match(arg):
                self._send(client, "1")
            elif arg in room:
                self._send(client, "2")
            else:
                self._named(client, room, arg)
            return
        if text == "/who":
            self._send(client, "Users in this room:", *room)
        elif text == "/logout":
            self._gone(client, "has left the room.")
        else:
            for other in room.values():
                if other is not client:
                    self._send(other, f"{client.nick}> {text}")

    def _named(self, client: Client, room: dict[str, Client], nick: str) -> None:
        client.nick = nick
        new = not room
        room[nick] = client
        if new:  # the 0 and the notice without a pause: one read
            self._send(client, "0You have joined a new room.")
            return
        notice = f"{nick} has joined the room.There are {len(room)} people in the room."
        self._send(client, "0" + notice)
        for other in room.values():
            if other is not client:
                self._send(other, notice)

    def _gone(self, client: Client, how: str) -> None:
        self.selector.unregister(client.sock)
        del self.clients[client.sock]
        client.sock.close()
        if client.nick is not None:
            room = self.rooms[client.room]
            del room[client.nick]
            for other in room.values():
                self._send(other, f"{client.nick} {how}")
            if not room:
                del self.rooms[client.room]
