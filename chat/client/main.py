"""The client's entry point: parse arguments, host a server if asked, pick the view.

The curses view is used on a terminal; line mode with --plain or when stdin or
stdout is not a terminal.
"""
from __future__ import annotations

import argparse
import getpass
import logging
import signal
import socket
import sys
import threading

from chat.client import plain, settings
from chat.client.core import SEND_BURST, SEND_RATE, ClientCore
from chat.client.course import CourseCore
from chat.client.net import ConnectError, Link
from chat.client.term import can_edit
from chat.client.tls import ClientTLS, TrustError, Untrusted
from chat.protocol import nick_problem
from chat.server.limits import port_number  # (pure: the command-line rules of both programs)
from chat.trust import is_loopback, parse_fingerprint

HOST_LEAVING = "the host has left; the server is shutting down"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="client.py", description="Chat on a Parlor server.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="server address (default 127.0.0.1); with --serve, the address to listen on")
    parser.add_argument("--port", type=port_number, default=5220, help="server port (default 5220)")
    parser.add_argument("--room", help="join ROOM right after connecting")
    parser.add_argument("--nick", help="use NICK in the room (with --room, or after your first /join)")
    parser.add_argument("--plain", action="store_true",
                        help="line mode instead of the full-screen view (automatic when not on a terminal)")
    parser.add_argument("--serve", action="store_true",
                        help="host mode: run a server in this process and chat on it; "
                             "others connect with --host YOUR-ADDRESS (use --host 0.0.0.0 to serve your LAN)")
    parser.add_argument("--course", action="store_true",
                        help="talk to a course server (seed 004's protocol) rather than a "
                             "Parlor one: /list, /join ROOM, /nick NAME, /who, /quit")
    secure = parser.add_argument_group("encryption and passwords")
    secure.add_argument("--tls", action="store_true",
                        help="encrypt the connection (the server runs with --tls-cert): its "
                             "certificate is checked against this system's authorities, and "
                             "a self-signed one is trusted on first use, like ssh")
    secure.add_argument("--tls-ca", metavar="FILE",
                        help="with TLS (implies --tls): trust only the authority in this PEM file")
    secure.add_argument("--trust", metavar="FINGERPRINT", type=_fingerprint,
                        help="with TLS (implies --tls): trust the self-signed certificate with "
                             "this SHA-256 fingerprint (server.py prints it) and remember it")
    secure.add_argument("--password-file", metavar="FILE",
                        help="send the server's password, the first line of FILE")
    secure.add_argument("--ask-password", action="store_true",
                        help="ask for the server's password (not shown as it is typed)")
    secure.add_argument("--login", metavar="ACCOUNT",
                        help="log in to your account on the server (asks for its password, "
                             "not shown as it is typed); again on every reconnect")
    secure.add_argument("--password-in-clear", action="store_true",
                        help="send a password even without TLS to another machine, where "
                             "anyone on the network can read it")
    parser.add_argument("--pace", type=_pace, default=(SEND_BURST, SEND_RATE),
                        help=argparse.SUPPRESS)  # BURST,RATE: for tests with a faster server
    return parser


def _fingerprint(text: str) -> str:
    try:
        return parse_fingerprint(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _pace(text: str) -> tuple[int, float]:
    burst, _, rate = text.partition(",")
    try:
        return int(burst), float(rate)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not BURST,RATE: {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if hasattr(signal, "SIGBREAK"):  # Windows' Ctrl-Break ends it as Ctrl-C does: the
        #                            terminal given back, a hosted server's guests told
        signal.signal(signal.SIGBREAK, signal.default_int_handler)
    use_plain = args.plain or not (sys.stdin.isatty() and sys.stdout.isatty())
    if not use_plain:
        from chat.client import tui  # curses is imported only when the full-screen view is used
        problem = tui.terminal_problem()
        if problem:
            print(f"parlor: {problem}, so this is line mode (TERM=xterm-256color, for "
                  "example, gives the full-screen view)", file=sys.stderr, flush=True)
            use_plain = True
    tls = ClientTLS(args.tls_ca, args.trust) if args.tls or args.tls_ca or args.trust else None
    problem = _course_problem(args)
    if problem:
        print(f"parlor: {problem}", file=sys.stderr)
        return 1
    core_class = CourseCore if args.course else ClientCore
    if tls is not None and args.serve:
        print("parlor: --serve hosts in plain text; for TLS, run server.py --tls-cert FILE "
              "and connect with --tls", file=sys.stderr)
        return 1
    server, connect_host, notes = None, args.host, []
    secret_ok = tls is not None or is_loopback(args.host) or args.password_in_clear
    try:
        password = _password(args, secret_ok)
        login = _login(args, secret_ok)
    except ValueError as exc:
        print(f"parlor: {exc}", file=sys.stderr)
        return 1
    if args.serve:
        # (the curses screen and line mode's prompt row are no place for log lines)
        server = _start_server(args, quiet=not use_plain or can_edit())
        if server is None:
            return 1
        connect_host, args.port = _client_address(server.address)
        notes.append(join_hint(server.address[0], args.port, _lan_addresses()))
    if use_plain:
        status = plain.run(connect_host, args.port, args.room, args.nick, args.pace, notes,
                           tls=tls, password=password, secret_ok=secret_ok,
                           core_class=core_class, login=login)
        _stop_server(server)
        return status
    return _run_tui(connect_host, args, server, notes, tls, password, secret_ok, core_class,
                    login)


def _course_problem(args: argparse.Namespace) -> str | None:
    """Why --course cannot go with the other options given (None: it can)."""
    if not args.course:
        return None
    if args.serve:
        return ("--course talks to a course server; to serve course clients, run "
                "server.py --compat-port PORT")
    if args.tls or args.tls_ca or args.trust:
        return "a course server speaks plain text only: --course cannot go with --tls"
    if args.password_file or args.ask_password:
        return "a course server takes no password: --course cannot go with one"
    if args.login:
        return "a course server has no accounts: --course cannot go with --login"
    return None


def _password(args: argparse.Namespace, secret_ok: bool) -> str | None:
    """The server's password, from --password-file or asked for without echo; refused
    (ValueError, a sentence) where it would cross a network in clear."""
    if not (args.password_file or args.ask_password):
        return None
    if not secret_ok:
        raise ValueError(_in_clear(args.host))
    if args.password_file:
        try:
            with open(args.password_file, encoding="utf-8") as f:
                password = f.readline().strip()
        except OSError as exc:
            raise ValueError(f"cannot read the password file {args.password_file}: "
                             f"{exc.strerror or exc}") from None
        if not password:
            raise ValueError(f"the password file {args.password_file} has no password on "
                             "its first line")
        return password
    try:
        return getpass.getpass(f"Password for {args.host}:{args.port}: ").strip() or None
    except (EOFError, KeyboardInterrupt):
        raise ValueError("no password given") from None


def _in_clear(host: str) -> str:
    return (f"not sending a password to {host} without TLS: anyone on the network could "
            "read it. Connect with --tls, or add --password-in-clear if that is what you want")


def _login(args: argparse.Namespace, secret_ok: bool) -> tuple[str, str] | None:
    """--login ACCOUNT: the account and its password, asked for without echo."""
    if not args.login:
        return None
    problem = nick_problem(args.login)
    if problem:
        raise ValueError(f"--login: {problem}")
    if not secret_ok:
        raise ValueError(_in_clear(args.host))
    try:
        secret = getpass.getpass(f"Password of {args.login} on {args.host}:{args.port}: ").strip()
    except (EOFError, KeyboardInterrupt):
        secret = ""
    if not secret:
        raise ValueError("no password given")
    return args.login, secret


def join_hint(bound: str, port: int, lan: list[str]) -> str:
    """How others join a hosted server: the command, with this machine's LAN
    addresses when it serves beyond loopback."""
    if bound in ("0.0.0.0", "::", ""):
        hosts = lan or ["THIS-MACHINE'S-ADDRESS"]
        where = " or ".join(f"python3 client.py --host {h} --port {port}" for h in hosts)
        return f"Hosting on port {port}: others join with {where}."
    if bound.startswith("127.") or bound == "::1":
        return (f"Hosting on {bound}:{port}, this machine only: others here join with "
                f"python3 client.py --port {port} (--host 0.0.0.0 serves your LAN).")
    return f"Hosting on {bound}:{port}: others join with python3 client.py --host {bound} --port {port}."


def _lan_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback, as its name resolves (no
    packet is sent)."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return sorted({info[4][0] for info in infos if not info[4][0].startswith("127.")})


def _run_tui(host: str, args: argparse.Namespace, server, notes: list[str],
             tls: ClientTLS | None, password: str | None, secret_ok: bool,
             core_class: type[ClientCore] = ClientCore,
             login: tuple[str, str] | None = None) -> int:
    link = untrusted = None
    try:
        link = Link.open(host, args.port, tls=tls)
    except Untrusted as exc:
        untrusted = exc  # first use: the full-screen view asks
    except (ConnectError, TrustError) as exc:
        print(f"parlor: {exc}", file=sys.stderr)
        _stop_server(server)
        return 1
    from chat.client import tui  # curses is imported only when the full-screen view is used
    core = core_class(f"{host}:{args.port}", room=args.room, nick=args.nick,
                      send_burst=args.pace[0], send_rate=args.pace[1])
    core.password, core.secret_ok, core.login = password, secret_ok, login
    for note in notes:
        core.note(note)
    settings.load_into(core)
    return tui.run(host, args.port, core, link, on_quit=lambda: _stop_server(server),
                   tls=tls, untrusted=untrusted)


def _start_server(args: argparse.Namespace, quiet: bool):
    from chat.server.limits import Limits, fit_select
    from chat.server.loop import Server
    from chat.server.main import bind_failure, build_state
    logger = logging.getLogger("parlor")
    if quiet:
        logger.addHandler(logging.NullHandler())
        logger.propagate = False
    else:
        logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(message)s", level=logging.INFO)
    limits = Limits()
    fitted = fit_select(limits, sys.platform)
    if fitted:
        logger.warning("%s", fitted)
    try:
        server = Server(build_state(), args.host, args.port, limits)
    except OSError as exc:
        print(f"parlor: cannot host: {bind_failure(args.host, args.port, exc)}", file=sys.stderr)
        return None
    server.thread = threading.Thread(target=server.serve_forever, name="parlor-server", daemon=True)
    server.thread.start()
    return server


def _client_address(address: tuple[str, int]) -> tuple[str, int]:
    host, port = address
    return ("127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host), port


def _stop_server(server) -> None:
    if server is not None:
        server.stop(HOST_LEAVING)
        server.thread.join(timeout=5)
