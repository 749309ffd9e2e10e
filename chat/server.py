"""The server shell: one thread, one selectors loop, non-blocking sockets.

Owns sockets, per-connection input decoders and output buffers, limits and
shutdown.  All chat behaviour is in chat.state; this module only moves bytes.
"""
from __future__ import annotations

import argparse
import logging
import selectors
import signal
import socket
import sys
import time
from dataclasses import dataclass

from chat import protocol as p
from chat.gamehost import GameHost
from chat.state import ChatState, Outbox

log = logging.getLogger("parlor.server")

READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
RECV_SIZE = 65536


@dataclass
class Limits:
    max_line: int = p.MAX_LINE
    max_pending: int = 1 << 20  # unsent bytes per connection before it is cut off


class Connection:
    __slots__ = ("sock", "id", "decoder", "out", "out_size", "closing", "writing")

    def __init__(self, sock: socket.socket, conn_id: int, max_line: int) -> None:
        self.sock = sock
        self.id = conn_id
        self.decoder = p.LineDecoder(max_line)
        self.out: list[bytes] = []
        self.out_size = 0
        self.closing = False  # flush what is queued, then close
        self.writing = False  # registered for EVENT_WRITE


class Server:
    def __init__(self, host: str = "127.0.0.1", port: int = 5220,
                 limits: Limits | None = None, state: ChatState | None = None) -> None:
        self.limits = limits or Limits()
        if state is None:
            state = ChatState()
            GameHost(state)  # the default server has games
        self.state = state
        self.listener = socket.create_server((host, port), backlog=1024)
        self.listener.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, READ, self._accept)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.selector.register(self._wake_r, READ, self._on_wake)
        self.conns: dict[int, Connection] = {}
        self._next_id = 1
        self._dirty: set[Connection] = set()
        self._doomed: dict[Connection, str] = {}
        self._stopping = False
        self.shutdown_reason = "the server is shutting down"

    @property
    def address(self) -> tuple[str, int]:
        return self.listener.getsockname()[:2]

    # -------------------------------------------------------------- the loop
    def serve_forever(self) -> None:
        try:
            while not self._stopping:
                for key, mask in self.selector.select(timeout=None):
                    key.data(key.fileobj, mask)
                self._settle()
            self._shutdown()
        finally:
            self._close_all()

    def stop(self, reason: str | None = None) -> None:
        """Ask the loop to shut down; safe from a signal handler or another thread."""
        if reason:
            self.shutdown_reason = reason
        self._stopping = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass  # the wake-up pipe is full or closed: the loop is waking anyway

    def _on_wake(self, sock: socket.socket, mask: int) -> None:
        try:
            sock.recv(4096)
        except OSError:
            pass

    def _settle(self) -> None:
        """End of a loop turn: drop doomed connections, then one send per dirty one."""
        while self._doomed or self._dirty:
            while self._doomed:
                conn, reason = self._doomed.popitem()
                self._drop(conn, reason)
            dirty, self._dirty = self._dirty, set()
            for conn in dirty:
                if conn.id in self.conns:
                    self._write(conn)

    # -------------------------------------------------------------- accept / read
    def _accept(self, listener: socket.socket, mask: int) -> None:
        for _ in range(64):
            try:
                sock, addr = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("accept failed: %s", exc)
                return
            self._add(sock, f"{addr[0]}:{addr[1]}")

    def _add(self, sock: socket.socket, addr: str) -> None:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(sock, self._next_id, self.limits.max_line)
        self._next_id += 1
        self.conns[conn.id] = conn
        self.selector.register(sock, READ, lambda _sock, mask, c=conn: self._on_event(c, mask))
        out = Outbox()
        self.state.connect(conn.id, addr, out)
        self._apply(out)

    def _on_event(self, conn: Connection, mask: int) -> None:
        if mask & WRITE:
            self._write(conn)
        if mask & READ and conn.id in self.conns:
            self._read(conn)

    def _read(self, conn: Connection) -> None:
        try:
            data = conn.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._doomed[conn] = f"connection error: {exc.strerror or exc}"
            return
        if not data:
            self._doomed[conn] = "disconnected"
            return
        if conn.closing:
            return  # it said /quit; what it sends after that is moot
        out = Outbox()
        for item in conn.decoder.feed(data):
            self._handle_line(conn, item, out)
            if conn.id in out.closes:  # /quit: the rest of this read is moot too
                break
        self._apply(out)

    def _handle_line(self, conn: Connection, item: str | p.BadLine, out: Outbox) -> None:
        try:
            self.state.handle(conn.id, item, out)
        except Exception:  # the per-connection boundary: log it, tell them, go on
            log.exception("error handling a line from #%d: %r", conn.id, item)
            out.to(conn.id, p.Error("the server failed to handle your last line; it was ignored"))

    # -------------------------------------------------------------- output
    def _apply(self, out: Outbox) -> None:
        conns = self.conns
        for targets, msg in out.sends:
            data = p.encode(msg)
            for target in targets:
                conn = conns.get(target)
                if conn is not None:
                    self._queue(conn, data)
        for target in out.closes:
            conn = conns.get(target)
            if conn is not None:
                conn.closing = True
                self._dirty.add(conn)

    def _queue(self, conn: Connection, data: bytes) -> None:
        conn.out.append(data)
        conn.out_size += len(data)
        if conn.out_size > self.limits.max_pending:
            conn.out.clear()
            conn.out_size = 0
            self._doomed[conn] = "not reading (too much unsent output)"
        else:
            self._dirty.add(conn)

    def _write(self, conn: Connection) -> None:
        if conn.out:
            data = conn.out[0] if len(conn.out) == 1 else b"".join(conn.out)
            try:
                sent = conn.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                self._doomed[conn] = f"connection error: {exc.strerror or exc}"
                return
            conn.out = [data[sent:]] if sent < len(data) else []
            conn.out_size = len(data) - sent
        if conn.out:
            self._want_write(conn, True)
        elif conn.closing:
            self._doomed[conn] = "quit"
        else:
            self._want_write(conn, False)

    def _want_write(self, conn: Connection, on: bool) -> None:
        if conn.writing != on:
            conn.writing = on
            self.selector.modify(conn.sock, READ | WRITE if on else READ,
                                 self.selector.get_key(conn.sock).data)

    # -------------------------------------------------------------- teardown
    def _drop(self, conn: Connection, reason: str) -> None:
        if self.conns.pop(conn.id, None) is None:
            return
        self._dirty.discard(conn)
        self.selector.unregister(conn.sock)
        conn.sock.close()
        out = Outbox()
        self.state.disconnect(conn.id, reason, out)
        self._apply(out)

    def _shutdown(self) -> None:
        """Tell everyone, then flush for up to two seconds."""
        log.info("shutting down: %s", self.shutdown_reason)
        out = Outbox()
        self.state.shutdown(self.shutdown_reason, out)
        self._apply(out)
        self._settle()
        self.selector.unregister(self.listener)
        end = time.monotonic() + 2.0
        while self.conns and time.monotonic() < end:
            for key, mask in self.selector.select(timeout=end - time.monotonic()):
                key.data(key.fileobj, mask)
            self._settle()

    def _close_all(self) -> None:
        for conn in list(self.conns.values()):
            conn.sock.close()
        self.conns.clear()
        self.selector.close()
        self.listener.close()
        self._wake_r.close()
        self._wake_w.close()


# ------------------------------------------------------------------ entry point
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="server.py", description="Run a Parlor chat server.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 serves the LAN)")
    parser.add_argument("--port", type=int, default=5220,
                        help="port to listen on (default 5220; 0 picks a free one)")
    parser.add_argument("--quiet", action="store_true", help="no log lines on stderr")
    parser.add_argument("--max-pending", type=int, default=Limits.max_pending, metavar="BYTES",
                        help="unsent output per client before it is cut off (default %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(message)s",
                        level=logging.WARNING if args.quiet else logging.INFO)
    try:
        server = Server(args.host, args.port, Limits(max_pending=args.max_pending))
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    host, port = server.address
    print(f"listening on {host}:{port}", flush=True)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: server.stop())
    server.serve_forever()
    return 0
