"""The server's settings, sans I/O: every limit it enforces, with its default, and
the command line of server.py that sets them.  Must not import socket, selectors,
select, curses or threading.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, fields

from chat import protocol as p
from chat.paths import default_db
from chat.server.course import GAP as COURSE_GAP
from chat.server.history import REPLAY
from chat.server.store import MAX_DAYS, MAX_MESSAGES

GRACE = 120  # default --resume-grace

SPIN_US = 100  # default --spin: microseconds to keep polling after activity
MIN_LINE = 64  # --max-line below this would refuse the server's own short commands
# CPython's select() on Windows takes 512 sockets at most (its FD_SETSIZE), and the
# loop's one selector also holds the listeners, its wake-up socket, TLS handshakes
# and closing connections: those get the spare.
WINDOWS_SELECT = 512
WINDOWS_SPARE = 64


@dataclass
class Limits:
    """Every limit the server enforces; each is a command-line setting (see build_parser)."""
    max_line: int = p.MAX_LINE        # bytes per line, delimiter included
    max_pending: int = 1 << 20        # unsent bytes per connection before it is cut off
    max_clients: int = 1000           # connections at once; more are told "full" and closed
    max_per_address: int = 100        # connections at once from one address (0: no limit)
    connect_rate: float = 10.0        # new connections a second from one address...
    connect_burst: int = 50           # ...after a burst of this many; 0 rate = no limit
    max_rate: float = 5.0             # lines per second a connection may send, on average...
    burst: int = 20                   # ...after a burst of this many; 0 rate = no limit
    max_queue: int = 100              # lines held back by the rate limit before a flood is cut off
    max_work: float = 0.25            # ms of server time a second a connection's lines may cost...
    work_burst: float = 20.0          # ...after a burst of this many ms; 0 rate = no limit
    register_timeout: float = 60.0    # seconds a connection may stay silent from the start
    ping_interval: float = 60.0       # seconds of silence before a PING
    ping_timeout: float = 60.0        # seconds after that PING before the connection is dropped
    handshake_timeout: float = 10.0   # seconds a TLS handshake may take (--tls-cert only)


_FLAGS = {  # Limits field -> (metavar, help)
    "max_line": ("BYTES", "longest line accepted, newline included"),
    "max_pending": ("BYTES", "unsent output per client before it is cut off as not reading"),
    "max_clients": ("N", "connections at once; more are told the server is full (on Windows "
                         f"at most {WINDOWS_SELECT - WINDOWS_SPARE}, what select() can watch)"),
    "max_per_address": ("N", "connections at once from one address (0: no limit)"),
    "connect_rate": ("N", "new connections a second from one address (0: no limit)"),
    "connect_burst": ("N", "new connections from one address at once before --connect-rate"),
    "max_rate": ("LINES", "lines per second a client may send on average (0: no limit)"),
    "burst": ("LINES", "lines a client may send at once before --max-rate applies"),
    "max_queue": ("LINES", "lines held back by --max-rate before a client is cut off as flooding"),
    "max_work": ("MS", "milliseconds of server time a second a client's lines may cost on average "
                       "(handling them, and sending what they say to everyone it reaches); past it "
                       "its next lines wait (0: no limit)"),
    "work_burst": ("MS", "milliseconds of server time a client may use at once before --max-work "
                         "applies"),
    "register_timeout": ("SECONDS", "a connection that sends nothing this long is dropped"),
    "ping_interval": ("SECONDS", "silence before the server sends PING"),
    "ping_timeout": ("SECONDS", "silence after a PING before the connection is dropped"),
    "handshake_timeout": ("SECONDS", "with --tls-cert: a connection that has not finished its "
                                     "TLS handshake this long is dropped"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="server.py", description="Run a Parlor chat server.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 serves the LAN)")
    parser.add_argument("--port", type=port_number, default=5220,
                        help="port to listen on (default 5220; 0 picks a free one)")
    parser.add_argument("--quiet", action="store_true", help="no log lines on stderr")
    parser.add_argument("--spin", type=_positive("int"), default=SPIN_US, metavar="MICROSECONDS",
                        help="after activity, poll this long before sleeping: lower latency "
                             "for a little CPU; 0 turns it off, as does running on one CPU "
                             "(default %(default)s)")
    secure = parser.add_argument_group("encryption and access")
    secure.add_argument("--tls-cert", metavar="FILE",
                        help="serve TLS with this PEM certificate (README, 'Encryption', "
                             "makes one for a LAN); clients connect with --tls")
    secure.add_argument("--tls-key", metavar="FILE",
                        help="the certificate's PEM private key (default: in the --tls-cert file)")
    secure.add_argument("--password-file", metavar="FILE",
                        help="let in only clients that give the password on this file's first "
                             "line (/pass PASSWORD, or client.py --password-file)")
    compat = parser.add_argument_group("the course's clients (README, 'Course clients')")
    compat.add_argument("--compat-port", type=port_number, default=None, metavar="PORT",
                        help="also listen on PORT for clients of the course protocol "
                             "(seed 004), in the same rooms (0 picks a free one)")
    compat.add_argument("--compat-gap", type=_positive("float"), default=COURSE_GAP,
                        metavar="SECONDS",
                        help="on --compat-port, the pause between two sends to one client, "
                             "so that each recv reads one (default %(default)s)")
    accounts = parser.add_argument_group("accounts")
    accounts.add_argument("--require-login", action="store_true",
                          help="let only logged-in users pick a nick (/register, /login)")
    accounts.add_argument("--admin", metavar="ACCOUNT", action="append", default=[],
                          help="an account that may moderate every room and /shutdown the "
                               "server (again for more than one)")
    history = parser.add_argument_group("the rooms' history")
    history.add_argument("--db", metavar="PATH", default=None,
                         help=f"the SQLite file that keeps the rooms' history (default "
                              f"{default_db()}; ':memory:' keeps nothing on disk)")
    history.add_argument("--history", type=_positive("int"), default=REPLAY, metavar="N",
                         help=f"messages shown to someone who joins a room (default {REPLAY})")
    history.add_argument("--history-max", type=_positive("int"), default=MAX_MESSAGES,
                         metavar="N", help=f"messages kept per room, 0 for no limit "
                                           f"(default {MAX_MESSAGES:,})")
    history.add_argument("--history-days", type=_positive("float"), default=MAX_DAYS,
                         metavar="DAYS", help=f"days a message is kept, 0 for no limit "
                                              f"(default {MAX_DAYS})")
    history.add_argument("--resume-grace", type=_positive("float"), default=GRACE,
                         metavar="SECONDS",
                         help=f"how long a dropped connection's room, nick and game seats wait "
                              f"for it to come back with /resume; 0 frees them at once "
                              f"(default {GRACE})")
    cluster = parser.add_argument_group("several servers as one (README, 'Several servers')")
    cluster.add_argument("--redis", metavar="URL",
                         help="be one node of several sharing rooms, nicks and history "
                              "through the Redis at redis://HOST:PORT/DB (instead of --db; "
                              "needs redis-server; pip install 'parlor[redis]' parses faster)")
    cluster.add_argument("--node", metavar="NAME",
                         help="this node's name among them (default: a new random one); a node "
                              "started again under its name finds its kept sessions")
    cluster.add_argument("--reuse-port", action="store_true",
                         help="share --port with other nodes on this machine (SO_REUSEPORT)")
    cluster.add_argument("--nodes", type=_positive("int"), default=1, metavar="N",
                         help="with --redis: start N nodes on this machine sharing --port")
    limits = parser.add_argument_group("limits")
    for field in fields(Limits):
        metavar, text = _FLAGS[field.name]
        limits.add_argument("--" + field.name.replace("_", "-"), type=_positive(field.type),
                            default=field.default, metavar=metavar,
                            help=f"{text} (default {_shown(field.default)})")
    return parser


def port_number(text: str) -> int:
    """A --port argument: 0-65535 (0 picks a free one), else a usage error."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535 (0 picks a free one), not {port}")
    return port


def _shown(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def _positive(type_name: str):
    convert = float if type_name == "float" else int

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
        return value
    return parse


def fit_select(limits: Limits, platform: str) -> str | None:
    """Lower `limits.max_clients` to what one select() can watch on `platform` (only
    Windows has such a limit); the sentence for the log when it did, else None."""
    if platform != "win32" or limits.max_clients <= WINDOWS_SELECT - WINDOWS_SPARE:
        return None
    asked, limits.max_clients = limits.max_clients, WINDOWS_SELECT - WINDOWS_SPARE
    return (f"--max-clients {asked} is more than select() can watch on Windows "
            f"({WINDOWS_SELECT} sockets): at most {limits.max_clients} connections at once here")


def limits_from_args(args: argparse.Namespace) -> Limits:
    limits = Limits(**{f.name: getattr(args, f.name) for f in fields(Limits)})
    limits.max_line = max(limits.max_line, MIN_LINE)
    return limits
