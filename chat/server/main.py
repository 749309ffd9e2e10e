"""The server's entry point: parse the command line, wire the state and its
collaborators to the loop, listen, run until a signal.  The one place that
builds a server.
"""
from __future__ import annotations

import errno
import gc
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys

from chat.paths import default_db
from chat.trust import is_loopback
from chat.server.games import GAMES, SCORES, GameHost
from chat.server.history import REPLAY
from chat.server.limits import GRACE, build_parser, fit_select, limits_from_args
from chat.server.loop import Server
from chat.server.redis_bus import RedisBus
from chat.server.redis_store import open_redis_store
from chat.server.sqlite_store import open_store
from chat.server.state import SESSIONS, ChatState
from chat.server.store import Store, StoreOpenError
from chat.server.password import PasswordGate
from chat.server.tls import CertError, server_context

log = logging.getLogger("parlor.server")


def build_state(games: bool = True, store: Store | None = None,
                replay: int = REPLAY, grace: float = GRACE,
                require_login: bool = False, admins: tuple[str, ...] = (),
                presence=None) -> ChatState:
    """The server's state with its collaborators: the one place they are chosen."""
    return ChatState(games=GameHost() if games else None, store=store, replay=replay,
                     grace=grace, require_login=require_login, admins=frozenset(admins),
                     presence=presence)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(message)s",
                        level=logging.WARNING if args.quiet else logging.INFO)
    if args.tls_key and not args.tls_cert:
        print("cannot start: --tls-key needs --tls-cert (the certificate it belongs to)",
              file=sys.stderr)
        return 1
    if args.compat_port is not None and args.password_file:
        print("cannot start: --compat-port with --password-file: a course client has no way "
              "to give a password, so the course port would let anyone in", file=sys.stderr)
        return 1
    try:
        context = server_context(args.tls_cert, args.tls_key) if args.tls_cert else None
        password = read_password(args.password_file) if args.password_file else None
    except (CertError, ValueError) as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 1
    path = args.db or default_db()
    retention = {"max_messages": args.history_max or None, "max_days": args.history_days or None}
    if args.nodes > 1 and not args.redis:
        print("cannot start: --nodes needs --redis (the nodes share rooms through it)",
              file=sys.stderr)
        return 1
    problem = reuse_port_problem(args)
    if problem:
        print(f"cannot start: {problem}", file=sys.stderr)
        return 1
    try:
        bus = RedisBus(args.redis, args.node) if args.redis else None
        store = open_redis_store(args.redis, bus=bus, local_tables=frozenset({SESSIONS, GAMES, SCORES}),
                                 **retention) if bus else open_store(path, **retention)
    except (StoreOpenError, ValueError) as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 1
    try:
        return _serve(args, store, path, context, password, bus)
    finally:
        store.close()


def _serve(args, store: Store, path: str, context: ssl.SSLContext | None,
           password: PasswordGate | None, bus: RedisBus | None = None) -> int:
    limits = limits_from_args(args)
    fitted = fit_select(limits, sys.platform)
    if fitted:
        log.warning("%s", fitted)
    try:
        server = Server(build_state(store=store, replay=args.history, grace=args.resume_grace,
                                    require_login=args.require_login,
                                    admins=tuple(args.admin), presence=bus),
                        args.host, args.port,
                        limits, spin_us=args.spin, tls_context=context,
                        password=password, compat_port=args.compat_port,
                        compat_gap=args.compat_gap, bus=bus,
                        reuse_port=args.reuse_port or args.nodes > 1)
    except OSError as exc:
        where = getattr(exc, "port", args.port)  # (the course port's failure says so)
        print(f"cannot listen: {bind_failure(args.host, where, exc)}", file=sys.stderr)
        return 1
    host, port = server.address
    children = start_nodes(args.argv, args.nodes - 1, port, bus.node) if bus is not None else []
    print(f"listening on {host}:{port}{' (TLS)' if context else ''}", flush=True)
    if server.compat_address is not None:
        print("course clients: listening on {}:{} (plain text)".format(*server.compat_address),
              flush=True)
    if context is not None:
        print(f"TLS certificate fingerprint (SHA-256): {context.fingerprint}", flush=True)
    elif not is_loopback(host):
        print(clear_text_warning(host), file=sys.stderr, flush=True)
    log.info("history: %s", f"kept in Redis at {args.redis}, node {bus.node}" if bus else
             "kept in memory only (--db :memory:)" if path == ":memory:"
             else f"kept in {path} (--db PATH to choose another file)")
    for sig in stop_signals():
        signal.signal(sig, lambda *_: server.stop())
    # On Windows a signal does not interrupt select(): its wake-up byte does.
    signal.set_wakeup_fd(server.wakeup_fd, warn_on_full_buffer=False)
    # What the start built (modules, the state replayed from the store) lives as long
    # as the process: the collector's full passes need not walk it again each time.
    gc.freeze()
    try:
        server.serve_forever()
    finally:
        signal.set_wakeup_fd(-1)  # (the loop has closed that socket)
        for child in children:  # (they stop as this one does: told, then waited for)
            child.terminate()
        for child in children:
            child.wait()
    return 0


def reuse_port_problem(args, available: bool = hasattr(socket, "SO_REUSEPORT")) -> str | None:
    """Why --reuse-port or --nodes cannot work on this system (Windows has no
    SO_REUSEPORT), as a sentence; None when they can or are not asked for."""
    if available or not (args.reuse_port or args.nodes > 1):
        return None
    return ("--reuse-port and --nodes share one port between processes, which this system "
            "cannot do (it has no SO_REUSEPORT, as on Windows): start each node on a port "
            "of its own, with --redis and --node")


def stop_signals(module=signal) -> list[int]:
    """The signals that stop the server cleanly: Ctrl-C and SIGTERM, and on Windows
    (where nothing sends SIGTERM) Ctrl-Break too."""
    return [getattr(module, name) for name in ("SIGINT", "SIGTERM", "SIGBREAK")
            if hasattr(module, name)]


def start_nodes(argv: list[str], count: int, port: int, name: str) -> list[subprocess.Popen]:
    """`--nodes N`: N - 1 more nodes on this machine, sharing the port that this one
    listens on (SO_REUSEPORT: the kernel spreads new connections over them), each
    with this command line otherwise; returned once every one is listening."""
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "server.py")
    children = [subprocess.Popen([sys.executable, script, *argv, "--port", str(port),
                                  "--reuse-port", "--nodes", "1", "--node", f"{name}-{i}"],
                                 stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
                for i in range(1, count + 1)]
    for child in children:
        child.stdout.readline()  # its "listening on" line (the pipe stays open: a TLS
        #                          node prints its fingerprint after it)
    return children


def bind_failure(host: str, port: int, exc: OSError) -> str:
    """Why a server could not listen at host:port, as a sentence with a way out."""
    if exc.errno == errno.EADDRINUSE:
        return (f"{host}:{port} is already in use: if a Parlor server runs there, join it with "
                f"'python3 client.py --port {port}'; or pick another port with --port")
    return f"cannot listen on {host}:{port}: {os.strerror(exc.errno) if exc.errno else exc}"


def clear_text_warning(host: str) -> str:
    """The one line a server serving beyond this machine without TLS prints at start."""
    return (f"warning: serving {host} beyond this machine without TLS: anyone on the network "
            "can read every message; --tls-cert encrypts (README, 'Encryption')")


def read_password(path: str) -> PasswordGate:
    """The password on the first line of `path` (spaces around it are not part of it);
    ValueError with a sentence if there is none."""
    try:
        with open(path, encoding="utf-8") as f:
            secret = f.readline().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the password file {path}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from None
    if not secret:
        raise ValueError(f"the password file {path} has no password on its first line")
    return PasswordGate(secret)
