"""The client core, sans I/O and sans UI: what the user sees and what to send.

Bytes from the server go in through `receive_data` (decoded by the protocol's
ServerDecoder); what the user typed goes in through `submit`; out come display
`Entry` values, lines to send (only what `encode_client` makes), and typed requests
for the view (chat.client.events).  Must not import socket, select or curses.
"""
from __future__ import annotations

import itertools
import random
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import game  # the games that come with Parlor: their names, for Tab (never their rules)
from chat import protocol as p
from chat.client import events as ev
from chat.client.backoff import MAX_DELAY, Backoff
from chat.client.pacing import Pacer
from chat.width import sanitize, text_width, utf8_prefix

# Entry kinds a view styles differently.
CHAT, OWN, MENTION, NOTICE, INFO, ERROR = "chat", "own", "mention", "notice", "info", "error"
BOARD = "board"  # one row of a game board, after the move in words (a NOTICE)
PAST, PAST_NOTICE = "past", "past-notice"  # from the room's stored history (shown dimmed)
# A private message to me, and one I sent: `nick` -> `to`, my nick shown as YOU.
PRIVATE, PRIVATE_SENT, PAST_PRIVATE = "private", "private-sent", "past-private"
ACTION, PAST_ACTION = "action", "past-action"  # /me: `* nick text`
YOU = "you"  # (no one's nick: the server keeps it)
DIVIDER = "divider"  # '--- now ---', a day's date, '--- while you were away ---'
NOW_LINE, AWAY_LINE = "now", "while you were away"
# What a read marker does not stop for: what I did, what the client says, notices.
QUIET_KINDS = frozenset({OWN, PRIVATE_SENT, NOTICE, INFO, ERROR, BOARD, PAST_NOTICE})
MAX_IGNORED = 200  # nicks one client hides
HISTORY_PAGE = 50  # older messages one /history (or PgUp at the top) fetches

# Our own pace for what the user sends (a paste, a piped file).  The server holds
# lines past its flood limit (chat/limits.py: 5 a second after a burst of 20) and
# cuts off a client with too many held, so we stay under it: the margin covers the
# lines the client sends by itself (autojoin, PING answers) and lines that leave
# evenly but arrive bunched.
SEND_BURST = 15
SEND_RATE = 4.0  # lines a second
BELL_GAP = 3.0  # seconds: at most one mention bell in this long
PONG_GAP = 1.0  # seconds: at most one PING answer in this long
MAX_MEMBERS = 5000  # nicks of my room remembered (for Tab and the count), whatever is said
MAX_PANELS = 8  # games of my room followed at once; the least recently changed goes
GREETING_WAIT = 5.0  # seconds a new connection waits for the server's HELLO
CONNECT_WAIT = 5.0  # seconds a view's connect may take before it is given up and retried
MAX_ROOMS = 1000  # room names remembered for Tab (from /list and where I have been)
MAX_GAME_NAMES = 100  # game names for Tab, whatever a server sends


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str
    text: str
    nick: str = ""
    room: str = ""
    time: float = field(default_factory=time.time)
    to: str = ""  # a private message's recipient


@dataclass(slots=True)
class Panel:
    """A side panel fed by the server (a game board): title, lines, status."""
    room: str
    key: str
    title: str = ""
    lines: list[str] = field(default_factory=list)
    status: str = ""
    turn: str = ""
    over: bool = False
    hints: list[str] = field(default_factory=list)  # moves `turn` could play now
    updated: int = 0  # larger = changed more recently
    width: int = 0  # the widest line so far: a view keeps the panel this wide
    height: int = 0  # the most lines so far: a view keeps this much room for it
    mine: bool = False  # I play in it: it named me to move, or a note told my move
    in_pane: bool = False  # its latest board went into the message pane

    def my_turn(self, nick: str | None) -> bool:
        if self.over or not nick:
            return False
        return self.turn == nick or (self.turn == p.NOBODY and self.mine and bool(self.hints))

    def is_duel(self) -> bool:
        """Running, and a turn that names one player (not `*`, anyone's)."""
        return not self.over and self.turn not in ("", p.NOBODY)


LOCAL_HELP = [  # (the command a line is about, or None; the line)
    (None, "Client commands:"),
    (p.ClearPane, "  /clear             empty the message pane"),
    (p.SetBell, "  /bell on|off       ring the bell when someone mentions you (on by default)"),
    (p.Reconnect, "  /reconnect         connect again now"),
    (p.Ignore, "  /ignore [NICK]     hide NICK's messages on your side (alone: who is hidden)"),
    (p.Unignore, "  /unignore NICK     show NICK's messages again"),
    (p.Cancel, f"  /cancel            drop the lines still waiting to go (a long paste goes "
               f"{SEND_RATE:g} a second)"),
    (p.Quit, "  /quit              leave Parlor (also /q, /logout, Ctrl-C)"),
]


class ClientCore:
    def __init__(self, address: str = "", room: str | None = None, nick: str | None = None,
                 *, send_burst: int = SEND_BURST, send_rate: float = SEND_RATE,
                 clock=time.monotonic, draw=random.random) -> None:
        self.address = address
        self.clock = clock  # for the bell's and the PING answers' own limits, and the deadlines
        self._rang = self._ponged = float("-inf")  # when the bell last rang, a PING was answered
        self.decoder = p.ServerDecoder()
        self.connected = False
        self.greeted = False  # HELLO came on this connection: the server accepted us
        self._bye: str | None = None  # what BYE said on this connection
        self._refused: str | None = None  # the BYE that turned the last connection away
        self.reconnects = False  # the view connects again by itself (the full-screen one)
        self.retry = Backoff(draw)  # when it does
        self._dial_by: float | None = None  # a connect under way must be done by then
        self._greet_by: float | None = None  # connected: the HELLO must have come by then
        self._failure: str | None = None  # the connect failure last told (again: not news)
        self._awaiting: set[type] = set()  # replies to the autojoin still to come (Join, Nick)
        self.room: str | None = None
        self.nick: str | None = None
        self._members: dict[str, int] = {}  # nick in my room -> when last heard of
        self._rooms: dict[str, None] = {}  # room names seen, the oldest first (for Tab)
        self._games = {cls.name: None for cls in game.available()}  # game names, for Tab
        self._order = itertools.count(1)
        self.unnamed = 0  # others here without a nick, as of the last listing of my room
        self.want_room, self.want_nick = room, nick
        self.bell = True
        self.view_lacks: set[type] = set()  # local commands the view cannot carry out
        self.interactive = True  # a person types the input (not a file): /cancel is offered
        self.foreign = False  # the peer is not a Parlor server
        self.quitting = False
        self.panels: dict[str, Panel] = {}
        self.requests: list[ev.Request] = []  # for the shell: typed events (events.py)
        self._entries: list[Entry] = []
        self._out: list[bytes] = []  # lines that go at once, past the pacer (/pong, /quit)
        self._pacer = Pacer(send_burst, send_rate)  # every other line, in order
        self._batch = 0  # lines queued since the pacer was last empty
        self._told_pace = False  # the pane has said, for this batch, that lines wait
        # A view with a game panel says whether it draws a game's board now; a board it
        # does not draw goes into the message pane (None, line mode: every board does).
        self.shows_panel: Callable[[Panel], bool] | None = None
        self._games_asked = 0  # /games sent whose answers have not begun
        self._listing: set[str] | None = None  # the games of the /games answer being read
        self._tick = 0
        self.last_id: dict[str, int] = {}  # room (casefolded) -> newest message id seen there
        self._oldest: int | None = None  # the oldest message id shown of my room
        self._older = False  # the server keeps older messages of my room than those shown
        self._fetching = False  # a /history page was asked for and has not come
        self._catch_up: int | None = None  # after a reconnect: /missed from this id
        self.older_entries: list[Entry] = []  # a page of the past, for the top of the pane
        self.token = ""  # this connection's session, for /resume after a drop
        self._grace = 0  # how long the server keeps a dropped session, in seconds
        self.away = False  # the server has me away (/away REASON), till /back
        self._away_asked: list[bool] = []  # /away and /back sent: away, once answered?
        self._gone: deque[str] = deque(maxlen=32)  # who last left my room
        self.topic: p.RoomTopic | None = None  # my room's topic (kept while offline)
        self._topics_told: dict[str, tuple[str, float]] = {}  # room -> the topic last shown
        self._ignored: dict[str, str] = {}  # casefolded nick -> as typed: hidden here
        self.encryption = ""  # 'TLS 1.3' while the connection is encrypted
        self.password: str | None = None  # the server's, sent first on every connection
        # A password may go where nobody on a network can read it: over TLS, to this
        # machine, or anywhere once the user said so (--password-in-clear).
        self.secret_ok = False
        self.login: tuple[str, str] | None = None  # (nick, password): logged in on every connection
        self.question: str | None = None  # what the user is asked (yes or no), if anything
        self._locked_out = False  # the server refused our password: retrying will not help
        self._latest_token = ""  # the last SESSION line's
        self.handlers = {
            p.Hello: self._on_hello, p.Reply: self._on_reply, p.Chat: self._on_chat,
            p.Private: self._on_private, p.Action: self._on_action,
            p.Joined: self._on_joined, p.Left: self._on_left, p.Renamed: self._on_renamed,
            p.Here: self._on_here, p.RoomList: self._show_rooms,
            p.MemberList: self._show_members, p.Info: self._on_info, p.Error: self._on_error,
            p.Bye: self._on_bye, p.Ping: self._on_ping,
            p.GameState: self._on_game_state, p.Turn: self._on_turn, p.BoardView: self._show_board,
            p.GameNote: self._on_game_note, p.GameOver: self._on_game_over,
            p.HistoryPage: self._on_history, p.SessionToken: self._on_session,
            p.RoomTopic: self._on_topic,
            p.PasswordWanted: self._on_password_wanted,
            p.BadLine: self._on_bad_line, p.Unparsed: self._on_unparsed,
        }
        self._local = {
            p.History: self._ask_history, p.Quit: self._quit, p.Cancel: self._cancel,
            p.SetBell: self._set_bell, p.Ignore: self._ignore, p.Unignore: self._unignore,
            p.Help: self._help, p.ClearPane: lambda msg: self.requests.append(ev.ClearPane()),
            p.Reconnect: lambda msg: self._retry_now(), p.Pass: self._give_password,
            p.Login: self._give_login, p.Register: self._may_send_secret,
            p.NewPassword: self._may_send_secret, p.Unregister: self._may_send_secret,
        }

    # -------------------------------------------------------------- shell side
    def take_entries(self) -> list[Entry]:
        entries, self._entries = self._entries, []
        return entries

    def data_to_send(self, now: float) -> bytes:
        """What may go to the server at `now` (a monotonic clock): PING answers and
        /quit at once, other lines as the pace allows; the rest waits in order.  The
        PING answers are not charged to the pace (at most one a PONG_GAP), so a server
        that pings and pings never holds back what the user types."""
        urgent, self._out = self._out, []
        lines = self._pacer.take(now)
        if not self._pacer:
            self._batch, self._told_pace = 0, False
        elif not self._told_pace:
            self._told_pace = True
            cancel = " (/cancel drops the rest)" if self.interactive else ""
            self._add(INFO, f"Sending {_count(self._batch, 'line')} at {self._pacer.rate:g} "
                            f"a second, under the server's flood limit{cancel}.")
        return b"".join(urgent + lines)

    def next_send_at(self) -> float | None:
        """When `data_to_send` will have a waiting line to give (None: nothing waits):
        a shell's select timeout."""
        return self._pacer.next_at()

    @property
    def waiting(self) -> int:
        """Lines held back by the pace, not yet given to `data_to_send`."""
        return len(self._pacer)

    def connection_made(self, encryption: str = "") -> None:
        """Connected (`encryption`: 'TLS 1.3', or '' in plain text)."""
        self.encryption = encryption
        self.foreign = self._locked_out = False
        self.decoder = p.ServerDecoder()
        self._pacer.reset()
        self._batch, self._told_pace = 0, False
        self.connected = True
        self.greeted, self._bye, self._awaiting = False, None, set()
        self._dial_by, self._greet_by = None, self.clock() + GREETING_WAIT
        self._games_asked, self._listing, self._away_asked = 0, None, []

    def connection_lost(self, reason: str, *, asked: bool = False, quiet: bool = False) -> None:
        """The connection ended (`asked`: the shell closed it for /reconnect); the room
        and nick are kept to rejoin, and a view that reconnects tries again later."""
        if not self.connected:
            return
        self.connected = False
        if self.room:
            self.want_room, self.want_nick = self.room, self.nick or self.want_nick
        lost_games = [panel for panel in self.panels.values() if self._plays(panel)]
        room = self.room
        self.room = self.nick = None
        self._members, self.unnamed = {}, 0
        self.panels.clear()
        self._out = []
        unsent = self._pacer.clear()
        if self.quitting or quiet:
            return
        repeated = self._repeated_refusal
        self._refused = None if self.greeted else self._bye
        if asked:
            self._add(INFO, f"Reconnecting to {self.address}: {reason}.")
        elif self._bye is None:
            self._add(ERROR, f"Lost the connection to {self.address}: {reason}.")
        elif not repeated:
            self._add(ERROR, "Disconnected.")  # the BYE just said why
        for panel in lost_games:
            name = f"{panel.title} " if panel.title else ""
            where = f"The {name}game in #{sanitize(room or '')}"
            if self.token and self._grace > 0:
                self._add(INFO, f"{where} waits {self._grace} s for you to come back.")
            else:
                self._add(ERROR, f"{where} ended with the connection to the server.")
        if unsent:
            self._add(ERROR, f"{_count(unsent, 'line')} still waiting to go were not sent.")
        if self._locked_out:
            self._add(INFO, "Not retrying with a refused password: /reconnect tries again "
                            "(then /pass PASSWORD), /quit leaves.")
        elif not (asked or self.foreign):
            self._retry_later(self.clock())

    # -------------------------------------------------------------- connecting
    def connect_started(self) -> None:
        """The view began a connect (a retry, or the user's): it must finish within
        CONNECT_WAIT, and the planned retry is this one."""
        self.retry.cancel()
        self._dial_by = self.clock() + CONNECT_WAIT

    def connect_failed(self, reason: str) -> None:
        """The view's connect failed (`reason`, a sentence without its full stop)."""
        self._connect_failed(reason, self.clock())

    def _connect_failed(self, reason: str, now: float) -> None:
        self._dial_by = None
        if reason != self._failure:  # the same failure every few seconds is not news
            self._failure = reason
            self._add(ERROR, f"Could not reconnect: {reason}.")
        self._retry_later(now)

    def _retry_later(self, now: float) -> None:
        if not self.reconnects:
            return
        self.retry.schedule(now)
        if self.retry.failures == 1:
            self._add(INFO, f"Reconnecting by itself, every {MAX_DELAY:g} s at most (Enter on "
                            "an empty line or /reconnect tries at once).")

    def _retry_now(self) -> None:
        """The user asked to connect again: at once, and the waits start short again."""
        self.retry.reset()
        self.requests.append(ev.Reconnect())

    def tick(self, now: float) -> None:
        """The deadlines at `now`: a connect that takes too long is hung up (ev.Hangup)
        and retried later; a peer that does not greet in time is not Parlor
        (ev.NotParlor); a retry that is due is asked for (ev.Reconnect)."""
        if self._dial_by is not None and now >= self._dial_by:
            self.requests.append(ev.Hangup())
            self._connect_failed(f"no answer from {self.address} within {CONNECT_WAIT:g} s", now)
        if self._greet_by is not None and now >= self._greet_by and self._awaits_greeting:
            hint = "" if self.encryption else " (if it uses TLS, connect with --tls)"
            self._give_up(f"No greeting from {self.address} within {GREETING_WAIT:g} s: "
                          f"is this a Parlor server{hint}?")
        if self.retry.is_due(now):
            self.retry.cancel()
            self.requests.append(ev.Reconnect())

    def wake_at(self, now: float) -> float | None:
        """When `tick` next has something to do or `connection_state` changes (None:
        neither will by itself): a shell's select timeout."""
        times = [self._dial_by, self._greet_by if self._awaits_greeting else None,
                 self.retry.next_change(now)]
        return min((t for t in times if t is not None), default=None)

    @property
    def _away(self) -> bool:
        """Not connected nor connecting, in a view that reconnects, and not leaving."""
        return self.reconnects and not (self.connected or self.quitting
                                        or self._dial_by is not None)

    @property
    def _awaits_greeting(self) -> bool:
        return self.connected and not self.greeted and not self.foreign

    def connection_state(self, now: float) -> str:
        """The status bar's word on the connection: '' once the server has greeted us,
        'connecting...' until then, and while away the countdown to the next try."""
        if self.connected and self.greeted:
            return ""
        if self.question is not None:
            return "trust the certificate? yes or no"
        if self._awaits_greeting or self._dial_by is not None:
            return "connecting..."
        left = self.retry.seconds_left(now)
        return "DISCONNECTED" if left is None else f"DISCONNECTED, reconnecting in {left} s"

    @property
    def caught_up(self) -> bool:
        """Connected, back where I was, and what I missed (if anything) is in: from here
        on what arrives is live."""
        return self.connected and self.settled and self._catch_up is None

    @property
    def settled(self) -> bool:
        """The server greeted us and answered the --room and --nick commands (either way):
        lines the user typed ahead may go now, in the room they asked for."""
        return self.greeted and not self._awaiting

    def note(self, text: str, error: bool = False) -> None:
        """A line from the shell itself (reconnecting, failures) for the message pane."""
        self._add(ERROR if error else INFO, text)

    def receive_data(self, data: bytes) -> None:
        if self.foreign:
            return  # not a Parlor server: what else it says is noise
        for item in self.decoder.feed(data):
            if not self.greeted and isinstance(item, (p.BadLine, p.Unparsed)):
                # The first line was no HELLO (nor the BYE of a full server): an HTTP
                # or SSH banner, or the wrong port.
                self._not_parlor(item)
                return
            self._follow_listing(item)
            handler = self.handlers.get(type(item))
            if handler is not None:
                handler(item)

    def _not_parlor(self, item: p.BadLine | p.Unparsed) -> None:
        said = item.reason if isinstance(item, p.BadLine) else repr(sanitize(item.line)[:60])
        self._give_up(f"{self.address} is not a Parlor server (its first line: {said}); "
                      "check --host and --port.")

    def _give_up(self, why: str) -> None:
        """The peer is not a Parlor server: say `why` once, ignore the rest, and ask the
        shell to hang up and stop (retrying would not help)."""
        self.foreign = True
        self._add(ERROR, why)
        if self.reconnects:
            self._add(INFO, "Not retrying: Enter on an empty line or /reconnect tries again, "
                            "/quit leaves.")
        self.requests.append(ev.NotParlor())

    def _on_bad_line(self, item: p.BadLine) -> None:
        self._add(ERROR, f"The server sent something unreadable: {item.reason}.")

    def _on_unparsed(self, item: p.Unparsed) -> None:
        self._add(INFO, sanitize(item.line))

    # -------------------------------------------------------------- user side
    def submit(self, text: str) -> None:
        """One line the user typed (no newline)."""
        if self.question is not None:
            self._answer(text)
            return
        msg = p.parse_client_line(text, local=True)
        if isinstance(msg, p.Say):
            if text.strip():
                for chunk in split_text(msg.text, p.MAX_TEXT):
                    self._send(p.Say(chunk))
            elif self._away:
                self._retry_now()  # Enter on an empty line, while away: connect now
            return
        if isinstance(msg, (p.Tell, p.TellBack, p.Me)):
            for piece in _pieces(msg):
                self._send(piece)
            return
        local = self._local.get(type(msg))
        if local is None or local(msg):
            self._send(msg)

    def _send(self, msg: p.ClientMessage) -> None:
        if not self.connected:
            self._add(ERROR, "Not connected: the line was not sent. /reconnect tries again.")
            return
        self._pacer.push(p.encode_client(msg))
        self._batch += 1
        if isinstance(msg, p.ListGames):
            self._games_asked += 1
        elif isinstance(msg, (p.Away, p.Back)):  # what the answer will make true
            self._away_asked.append(isinstance(msg, p.Away) and bool(msg.reason.strip()))

    def quit(self) -> None:
        """Leave: /quit goes at once, and what still waits to go is dropped."""
        self._quit(p.Quit())

    def _quit(self, msg: p.Quit) -> None:
        if self.connected and not self.quitting:
            self._out.append(p.encode_client(msg))  # at once: what still waits is dropped
        self._pacer.clear()
        self.quitting = True

    def _help(self, msg: p.Help) -> bool:
        """The client's commands; connected, the server's help follows (with /quit)."""
        for command, line in LOCAL_HELP:
            if not (self.connected and command is p.Quit or command in self.view_lacks):
                self._add(INFO, line)
        return self.connected

    def _cancel(self, msg: p.Cancel) -> None:
        dropped = self._pacer.clear()
        self._batch, self._told_pace = 0, False
        self._add(INFO, f"Dropped {_count(dropped, 'line')} waiting to go." if dropped
                  else "Nothing is waiting to go.")

    def _set_bell(self, msg: p.SetBell) -> None:
        args = msg.value
        if not args:
            self._add(INFO, f"Mention bell is {'on' if self.bell else 'off'} (/bell on|off).")
            return
        if args.lower() not in ("on", "off"):
            self._add(ERROR, f"/bell takes on or off; it is {'on' if self.bell else 'off'}.")
            return
        self.bell = args.lower() == "on"
        self._rang = float("-inf")  # turned on: the next mention rings
        self._add(INFO, f"Mention bell {'on' if self.bell else 'off'}.")

    def ask_trust(self, question: str) -> None:
        """Ask the user whether to trust a server's certificate: the answer comes as
        ev.TrustAnswer."""
        self.question = question
        self.retry.cancel()
        self._dial_by = None  # (no connect is under way while the user decides)
        self._add(ERROR, f"{question}.")
        self._add(INFO, "Trust it and connect? Type yes or no.")

    def _answer(self, text: str) -> None:
        word = text.strip().lower()
        if word not in ("yes", "y", "no", "n"):
            self._add(ERROR, "Type yes (trust the certificate and connect) or no.")
            return
        self.question = None
        yes = word.startswith("y")
        if not yes:
            self._add(INFO, "Not connected: the certificate is not trusted. /reconnect asks "
                            "again, /quit leaves.")
        self.requests.append(ev.TrustAnswer(yes))

    def refused_trust(self, text: str) -> None:
        """The certificate was refused (changed): say so, loudly, and stop retrying."""
        for line in text.splitlines():
            self._add(ERROR, line)
        self.retry.cancel()
        self._dial_by = None

    def _give_password(self, msg: p.Pass) -> bool:
        """/pass typed: sent (and kept for reconnects) where nobody can read it."""
        if not msg.secret:
            self._add(ERROR, "/pass takes the server's password: /pass PASSWORD.")
            return False
        if not self._may_send_secret(msg):
            return False
        self.password = msg.secret
        return True

    def _may_send_secret(self, msg: object) -> bool:
        """A password goes only where nobody on a network can read it."""
        if not self.secret_ok:
            self._add(ERROR, f"Not sent: this connection is not encrypted and {self.address} is "
                             "not this machine, so anyone on the network could read the "
                             "password. Connect with --tls (or --password-in-clear).")
            return False
        return True

    def _give_login(self, msg: p.Login) -> bool:
        """/login typed: sent, and kept to log in again on every reconnect."""
        if not self._may_send_secret(msg):
            return False
        if msg.nick and msg.secret:
            self.login = (msg.nick, msg.secret)
        return True

    # -------------------------------------------------------------- server messages
    def _on_hello(self, msg: p.Hello) -> None:
        self.greeted, self._refused, self._failure = True, None, None
        self.retry.reset()  # accepted, not just connected: the next outage starts short
        how = f", encrypted: {self.encryption}" if self.encryption else ""
        self._add(INFO, f"Connected to {self.address} ({sanitize(msg.protocol)}{how}).")
        if self.password is not None:
            self._send(p.Pass(self.password))  # before anything else, as the server asks
        if self.login is not None:
            self._send(p.Login(" ".join(self.login)))  # (in the lobby: before the room)
        self._resume()

    def _on_password_wanted(self, msg: p.PasswordWanted) -> None:
        if self.password is None:  # (else it has gone already)
            self._add(ERROR, "This server asks for a password: /pass PASSWORD sends it, or "
                             "start client.py with --password-file FILE or --ask-password.")

    def _resume(self) -> None:
        """What every connection does once the server has greeted it, the first and
        each reconnect alike: back into the room, under the nick, it had (or was
        asked for) — by the session token when it has one (seats and nick kept), else
        by joining again."""
        if self.token and self.want_room:
            self._send(p.Resume(self.token))
            self._awaiting.add(p.Resume)
            return
        self._rejoin()

    def _rejoin(self) -> None:
        self.away = False  # (a new session: the server has me here)
        if self.want_nick:
            self._send(p.Nick(self.want_nick))
            self._awaiting.add(p.Nick)
        if self.want_room:
            self._send(p.Join(self.want_room))
            self._awaiting.add(p.Join)
            self._catch_up_in(self.want_room)
        else:
            self._add(INFO, "Next: /list shows the rooms, /join ROOM enters one (or creates it), "
                            "then /nick NAME picks your name. /help lists every command.")

    def _catch_up_in(self, room: str) -> None:
        """Back in `room` after a drop: ask for what was said meanwhile (if I was there)."""
        self._catch_up = self.last_id.get(room.casefold())
        if self._catch_up is not None:
            self._send(p.Missed(str(self._catch_up)))

    def _on_reply(self, msg: p.Reply) -> None:
        if (msg.answers(p.Away) or msg.answers(p.Back)) and self._away_asked:
            wanted = self._away_asked.pop(0)
            if msg.code == 0:
                self.away = wanted
        if msg.answers(p.Pass) and msg.code:
            self.password, self._locked_out = None, self.reconnects
        if msg.answers(p.Login) and msg.text == p.LOGIN_WRONG:
            self.login = None  # a wrong password is not tried again by itself (a wait is)
        nick, join = msg.answers(p.Nick), msg.answers(p.Join)
        if msg.answers(p.Resume) and msg.code and p.Resume in self._awaiting:
            self._add(INFO, f"The server no longer keeps your place (it was away too long, "
                            f"or forgot it): joining {sanitize(self.want_room or '')} again.")
        elif not (msg.code == 0 and nick and self.want_room):
            # (a nick stored in the lobby on the way to --room is not news)
            self._add(ERROR if msg.code else NOTICE, self._reply_text(sanitize(msg.text)))
        self._awaiting.discard(p.Nick if nick else p.Join if join else None)
        if msg.answers(p.Missed):
            self._catch_up = None  # refused: the room's own replay is what there is
        if msg.answers(p.Resume) and p.Resume in self._awaiting:  # (ours, not one typed)
            self._awaiting.discard(p.Resume)
            if msg.code:
                self.token = self._latest_token  # this connection's own session, then
                self._rejoin()  # the session is over: join again, as anyone would
            else:
                self._catch_up_in(self.want_room or "")
        if msg.code and join:
            self.want_room = None  # autojoin failed: stay where we are
        if msg.code and nick:
            self.want_nick = None

    def _on_here(self, msg: p.Here) -> None:
        room = None if msg.room == p.NOBODY else msg.room
        nick = None if msg.nick == p.NOBODY else msg.nick
        if room:
            self._remember_room(room)
        if room != self.room:
            self._members, self.unnamed = {}, 0
            self._oldest, self._older, self._fetching = None, False, False
            self.panels = {k: v for k, v in self.panels.items() if v.room == room}
            self.topic = None  # the server sends the new room's, if it has one
        self.room, self.nick = room, nick
        if room:  # the server carries the wanted nick into the room, if it is free there
            self.want_room = self.want_nick = None

    def _on_chat(self, msg: p.Chat) -> None:
        self._seen(msg.room, msg.id)
        if self.is_ignored(msg.nick):
            return  # not shown, no bell: but seen, so a catch-up does not bring it back
        nick, text = sanitize(msg.nick), sanitize(msg.text)
        if self.nick and msg.nick == self.nick:
            kind = OWN
        elif self.nick and mentions(text, self.nick):
            kind = MENTION
            self._ring()
        else:
            kind = CHAT
        self._remember_speaker(msg.room, msg.nick)
        self._add(kind, text, nick=nick, room=sanitize(msg.room), when=msg.time)

    def _ring(self) -> None:
        """The bell, for a mention or a private message: a burst of them rings once."""
        now = self.clock()
        if self.bell and now - self._rang >= BELL_GAP:
            self._rang = now
            self.requests.append(ev.Bell())

    def _on_private(self, msg: p.Private) -> None:
        mine = bool(self.nick) and msg.nick == self.nick
        if not mine and self.is_ignored(msg.nick):
            self._seen(msg.room, msg.id)
            return
        if not mine:
            self._ring()
            self._remember_speaker(msg.room, msg.nick)
        self._seen(msg.room, msg.id)
        nick, to = self._ends(msg.nick, msg.to)
        self._add(PRIVATE_SENT if mine else PRIVATE, sanitize(msg.text), nick=nick,
                  room=sanitize(msg.room), when=msg.time, to=to)

    def _ends(self, nick: str, to: str) -> tuple[str, str]:
        """A private message's two nicks as shown: mine as YOU."""
        return tuple(YOU if self.nick and n == self.nick else sanitize(n) for n in (nick, to))

    def _on_action(self, msg: p.Action) -> None:
        if self.is_ignored(msg.nick):
            self._seen(msg.room, msg.id)
            return
        if self.nick and msg.nick != self.nick and mentions(sanitize(msg.text), self.nick):
            self._ring()
        self._remember_speaker(msg.room, msg.nick)
        self._seen(msg.room, msg.id)
        self._add(ACTION, sanitize(msg.text), nick=sanitize(msg.nick), room=sanitize(msg.room),
                  when=msg.time)

    def _on_joined(self, msg: p.Joined) -> None:
        if msg.room == self.room and msg.nick not in self._members:
            self._members[msg.nick] = -next(self._order)  # after those who spoke
            self._bound_members()
        if msg.nick != self.nick:
            if msg.text == p.BACK:
                self._add(NOTICE, f"{sanitize(msg.nick)} is back in {sanitize(msg.room)}")
                return
            self.unnamed = max(self.unnamed - 1, 0)  # most likely one of them picked a nick
            self._add(NOTICE, f"{sanitize(msg.nick)} joined {sanitize(msg.room)}")

    def _on_left(self, msg: p.Left) -> None:
        if msg.room == self.room:
            self._members.pop(msg.nick, None)
            self._gone.append(msg.nick)  # (an answer may start with their nick)
        reason = "" if msg.by_choice else f" ({sanitize(msg.reason)})"
        self._add(NOTICE, f"{sanitize(msg.nick)} left {sanitize(msg.room)}{reason}")

    def _on_renamed(self, msg: p.Renamed) -> None:
        if msg.room == self.room and msg.old in self._members:
            self._members[msg.new] = self._members.pop(msg.old)
        if msg.new != self.nick:  # my own change was told by the reply to /nick
            self._add(NOTICE, f"{sanitize(msg.old)} is now known as {sanitize(msg.new)}")

    def _on_info(self, msg: p.Info) -> None:
        self._add(INFO, sanitize(msg.text))

    def _on_error(self, msg: p.Error) -> None:
        self._add(ERROR, _sentence(sanitize(msg.text)))

    def _on_bye(self, msg: p.Bye) -> None:
        self._bye = _sentence(sanitize(msg.text))
        if not self._repeated_refusal:
            self._add(NOTICE, f"Server says: {self._bye}")

    @property
    def _repeated_refusal(self) -> bool:
        """Turned away again, before any greeting, for the same reason as last time
        (a full server, while the shell retries): not news."""
        return not self.greeted and self._bye is not None and self._bye == self._refused

    def _on_ping(self, msg: p.Ping) -> None:
        """Any line answers; more than one answer a PONG_GAP would only feed a
        server that pings too often."""
        now = self.clock()
        if now - self._ponged >= PONG_GAP:
            self._ponged = now
            self._out.append(p.encode_client(p.Pong(msg.token)))

    # -------------------------------------------------------------- lists
    def _show_rooms(self, msg: p.RoomList) -> None:
        if not msg.rooms:  # the server says why: none yet, or none with that word
            self._add(INFO, f"{_sentence(sanitize(msg.text)).rstrip('.')}: /join NAME creates one.")
            return
        for room, _ in msg.rooms:
            self._remember_room(room)
        left_out = max(msg.total - len(msg.rooms), msg.more)
        more = (f", and {left_out} more (/list WORD shows the rooms with WORD in their name)"
                if left_out else "")
        if msg.topics:  # one room a line, its topic beside it
            self._add(INFO, f"Rooms{more}; /join ROOM to enter one:")
            for i, (room, count) in enumerate(msg.rooms):
                topic = sanitize(msg.topic(i))
                self._add(INFO, f"  {sanitize(room)} ({count})" + (f": {topic}" if topic else ""))
            return
        listing = ", ".join(f"{sanitize(room)} ({count})" for room, count in msg.rooms)
        self._add(INFO, f"Rooms: {listing}{more}. /join ROOM to enter one.")

    def _show_members(self, head: p.MemberList) -> None:
        nicks, unnamed, notes = list(head.nicks), head.unnamed, dict(head.notes)
        names = [sanitize(n) + (f" ({sanitize(notes[n])})" if notes.get(n) else "") for n in nicks]
        mine = head.room == self.room
        if mine:  # who spoke lately keeps their place; the rest follow, as listed
            self._members = {n: self._members.get(n, -next(self._order)) for n in nicks}
            unnamed = self.unnamed = max(unnamed - (self.nick is None), 0)
        if head.more:
            names.append(f"{head.more} more")
        if unnamed:
            names.append(f"{unnamed} without a nick yet")
        if mine and self.nick is None:
            names = [*names[:-1], f"{names[-1]}, and you (no nick yet)"] if names else []
        listing = ", ".join(names) or ("nobody else yet" if mine else "nobody with a nick yet")
        self._add(INFO, f"In {sanitize(head.room)}: {listing}")

    def here_count(self) -> int:
        """How many are in my room: the nicks, the others without one, and me."""
        return len(self._members) + self.unnamed + (self.room is not None and self.nick is None)

    def place(self) -> tuple[str | None, str | None, str]:
        """(room, nick, state) for a view: where I am, or (state 'offline' or 'joining')
        the room and nick the client will be back in once it has rejoined."""
        if self.room or not self.want_room:
            return self.room, self.nick, "" if self.connected else "offline"
        return self.want_room, self.want_nick, "joining" if self.connected else "offline"

    # -------------------------------------------------------------- games
    def game_panel(self) -> Panel | None:
        """The game of my room to show (the first of `game_panels`), or None."""
        panels = self.game_panels()
        return panels[0] if panels else None

    def game_panels(self) -> list[Panel]:
        """The games of my room, the one to show first first: one whose turn names me,
        else a duel I play in, else a room game I take part in, else the most recently
        updated; a finished one stays until another starts."""
        def rank(panel: Panel) -> tuple[bool, bool, bool, int]:
            named = panel.turn == self.nick and not panel.over
            running_mine = panel.mine and not panel.over
            return named, running_mine and panel.is_duel(), running_mine, panel.updated
        return sorted((panel for panel in self.panels.values() if panel.room == self.room),
                      key=rank, reverse=True)

    def _plays(self, panel: Panel) -> bool:
        """A game of mine still in progress: I moved in it, or it waits for me."""
        return not panel.over and (panel.mine or bool(self.nick) and panel.turn == self.nick)

    @property
    def my_turn(self) -> bool:
        return self._move_panel() is not None

    def game_status(self) -> str:
        """Short text for a status bar: 'tictactoe: your move', '...: bob to move', '...: over'."""
        panel = self.game_panel()
        if panel is None:
            return ""
        if panel.over:
            state = "over"
        elif panel.turn == p.NOBODY:
            state = "anyone may move"
        elif panel.turn == self.nick:
            state = "your move"
        else:
            state = f"{sanitize(panel.turn)} to move"
        return f"{panel.title}: {state}"

    def argument_words(self, before: str) -> list[str] | None:
        """What Tab may put for the word ending `before` (the line up to the cursor)
        when it is an argument of a command: the moves I could play after /move, a
        room after /join and /who, a game after /game; None: nicks, as in chat."""
        words = before.split()
        if not words or not p.is_command(before) or len(words) == 1 and not before[-1:].isspace():
            return None
        msg = p.parse_client_line(words[0], local=True)
        position = len(words) - (0 if before[-1].isspace() else 1)  # 1: the first argument
        if isinstance(msg, p.Move) and not msg.digits:
            return self.completion_words()[1:]
        if isinstance(msg, (p.Join, p.Who)):
            if position != 1:
                return []
            mark = "#" if words[-1].startswith("#") and position == len(words) - 1 else ""
            mine = self.room if isinstance(msg, p.Join) else None  # (no use joining it)
            return [mark + room for room in sorted(self._rooms, key=str.casefold)
                    if room != mine]
        if isinstance(msg, p.StartGame) and position == 1:
            return list(self._games)
        return None  # nicks: /game NAME NICK, /accept NICK, ...

    def _remember_room(self, room: str) -> None:
        self._rooms.pop(room, None)
        self._rooms[room] = None
        if len(self._rooms) > MAX_ROOMS:
            del self._rooms[next(iter(self._rooms))]

    def completion_words(self) -> list[str]:
        """'/move' and, when it is my turn, the moves I could play (for Tab); [] with no game."""
        if not any(panel.room == self.room and not panel.over for panel in self.panels.values()):
            return []
        panel = self._move_panel()
        return [p.typed(p.Move), *(panel.hints if panel else [])]

    def _move_panel(self) -> Panel | None:
        """The game waiting for my move: one whose turn is mine, else an open one with hints."""
        running = [panel for panel in self.panels.values()
                   if panel.room == self.room and not panel.over]
        mine = [panel for panel in running if self.nick and panel.turn == self.nick]
        if mine:
            return max(mine, key=lambda panel: panel.updated)
        shown = self.game_panel()
        if shown in running and shown.turn == p.NOBODY and shown.hints:
            return shown
        return None

    def _touch(self, room: str, game_id: str) -> Panel | None:
        """The panel of a game in my room (a new one replaces finished ones, and the
        least recently changed past MAX_PANELS), now freshest."""
        if room != self.room:
            return None
        panel = self.panels.get(game_id)
        if panel is None:
            self.panels = {k: v for k, v in self.panels.items() if not v.over}
            if len(self.panels) >= MAX_PANELS:
                del self.panels[min(self.panels, key=lambda k: self.panels[k].updated)]
            panel = self.panels[game_id] = Panel(room, game_id)
        self._tick += 1
        panel.updated = self._tick
        return panel

    def _on_game_state(self, msg: p.GameState) -> None:
        panel = self._touch(msg.room, msg.game_id)
        if panel is not None:
            panel.title, panel.status = sanitize(msg.game), sanitize(msg.text)
            if len(self._games) < MAX_GAME_NAMES and p.is_valid_name(msg.game, p.MAX_ROOM):
                self._games.setdefault(msg.game, None)  # a game this server has
            panel.mine = bool(self.nick) and self.nick in msg.players

    def _on_turn(self, msg: p.Turn) -> None:
        panel = self._touch(msg.room, msg.game_id)
        if panel is not None:
            panel.turn, panel.hints = msg.nick, msg.text.split()
            panel.mine = panel.mine or bool(self.nick) and msg.nick == self.nick

    def _show_board(self, head: p.BoardView) -> None:
        panel = self._touch(head.room, head.game_id)
        if panel is None:
            return
        panel.lines = [sanitize(row) for row in head.rows]
        if head.more:
            panel.lines.append(f"({head.more} more rows)")
        panel.width = max([panel.width, *map(text_width, panel.lines)])
        panel.height = max(panel.height, len(panel.lines))
        panel.in_pane = self._listing is not None or not self._panel_shows(panel)
        if panel.in_pane:
            self._board_to_pane(panel)

    def _on_game_note(self, msg: p.GameNote) -> None:
        self._add(NOTICE, sanitize(msg.text), room=sanitize(msg.room))

    def _on_game_over(self, msg: p.GameOver) -> None:
        panel = self._touch(msg.room, msg.game_id)
        self._add(NOTICE, f"Game over: {sanitize(msg.text)}", room=sanitize(msg.room))
        if panel is None:
            return
        panel.over, panel.hints = True, []
        if self.shows_panel is not None:
            # A view with a panel: the final board moves into the message pane (unless
            # it is there already), where it stays in the history, and the panel gives
            # its room back to the chat.
            if not panel.in_pane:
                self._board_to_pane(panel)
            del self.panels[msg.game_id]

    # -------------------------------------------------------------- topics
    def _on_topic(self, msg: p.RoomTopic) -> None:
        room, nick, text = sanitize(msg.room), sanitize(msg.nick), sanitize(msg.text)
        if msg.room == self.room:
            self.topic = msg if msg.text else None
        told = self._topics_told.get(msg.room.casefold())
        self._topics_told[msg.room.casefold()] = (msg.text, msg.time)
        if msg.why == p.TOPIC_CHANGED:
            self._add(NOTICE, f"{nick} set the topic of {room}: {text}" if text else
                      f"{nick} removed the topic of {room}", room=room, when=msg.time)
        elif msg.why != p.TOPIC_ON_JOIN or told != (msg.text, msg.time):  # (not again on a rejoin)
            self._add(INFO, f"Topic of {room}: {text} (set by {nick} {_when(msg.time)})",
                      room=room)

    def topic_text(self) -> str:
        """My room's topic, safe to draw ("" for none)."""
        return sanitize(self.topic.text) if self.topic is not None else ""

    # -------------------------------------------------------------- ignoring
    def is_ignored(self, nick: str) -> bool:
        return nick.casefold() in self._ignored

    def ignored_nicks(self) -> list[str]:
        """Who is hidden here, as typed, in the order they were ignored."""
        return list(self._ignored.values())

    def set_ignored(self, nicks: list[str]) -> None:
        """Who is hidden (read from the settings file by the view, at the start)."""
        self._ignored = {nick.casefold(): nick for nick in nicks[:MAX_IGNORED]}

    def _ignore(self, msg: p.Ignore) -> None:
        nick = msg.nick
        if not nick:
            listed = ", ".join(self._ignored.values())
            self._add(INFO, f"You ignore {listed} ({p.typed(p.Unignore)} NICK shows "
                            "someone again)." if listed else
                      f"You ignore nobody ({p.typed(p.Ignore)} NICK hides someone's "
                      "messages on your side).")
            return
        problem = self._ignore_problem(nick, p.Ignore)
        if problem is None and self.is_ignored(nick):
            problem = f"You ignore {nick} already."
        if problem is None and len(self._ignored) >= MAX_IGNORED:
            problem = (f"You ignore {MAX_IGNORED} people, the most this client keeps: "
                       f"{p.typed(p.Unignore)} NICK someone first.")
        if problem:
            self._add(ERROR, problem)
            return
        self._ignored[nick.casefold()] = nick
        self.requests.append(ev.SaveSettings())
        self._add(INFO, f"Ignoring {nick}: their messages are hidden on your side "
                        f"({p.typed(p.Unignore, nick)} shows them again).")

    def _unignore(self, msg: p.Unignore) -> None:
        nick = msg.nick
        problem = self._ignore_problem(nick, p.Unignore)
        if problem is None and not self.is_ignored(nick):
            problem = f"You do not ignore {nick} ({p.typed(p.Ignore)} lists who you do)."
        if problem:
            self._add(ERROR, problem)
            return
        del self._ignored[nick.casefold()]
        self.requests.append(ev.SaveSettings())
        self._add(INFO, f"{nick}'s messages are shown again.")

    def _ignore_problem(self, nick: str, cls: type) -> str | None:
        usage = f"usage: {p.typed(cls)} NICK"
        if not nick:
            return f"{_sentence(usage)} ({p.typed(p.Ignore)} lists who you ignore)."
        if " " in nick:
            return f"One nick at a time, please; {usage}."
        problem = p.nick_problem(nick)
        if problem:
            return f"{_sentence(sanitize(problem))}; {usage}."
        if cls is p.Ignore and self.nick and nick.casefold() == self.nick.casefold():
            return "You cannot ignore yourself."
        return None

    def _on_session(self, msg: p.SessionToken) -> None:
        self._latest_token, self._grace = msg.token, msg.grace
        if p.Resume not in self._awaiting:  # (a /resume's answer decides which one counts)
            self.token = msg.token

    # -------------------------------------------------------------- history
    def _on_history(self, page: p.HistoryPage) -> None:
        if page.room != self.room:
            return
        if page.why == p.ON_JOIN and self._catch_up is not None:
            return  # a rejoin after a drop: /missed brings exactly what was missed
        if page.why == p.PAGE:
            self._on_older(page)
            return
        if page.entries:
            self._oldest = min(self._oldest or page.entries[0].id, page.entries[0].id)
        if page.why == p.CAUGHT_UP:
            self._catch_up = None
            if not page.entries:
                self._add(INFO, "Nothing was said while you were away.")
                return
            self._add(DIVIDER, AWAY_LINE)
            if page.older:
                self._add(INFO, f"{page.older} earlier messages are not shown: "
                                f"{p.typed(p.History)} fetches them.")
            self._add_past(page.entries, day=None)
            self._add(DIVIDER, NOW_LINE)
            return
        self._older = bool(page.older)
        self._add_past(page.entries, day=None)
        self._add(DIVIDER, NOW_LINE)

    def _on_older(self, page: p.HistoryPage) -> None:
        self._fetching = False
        self._older = bool(page.older)
        if not page.entries:
            self._add(INFO, "That is the beginning of this room's history.")
            return
        self._oldest = page.entries[0].id if self._oldest is None else \
            min(self._oldest, page.entries[0].id)
        outer, self._entries = self._entries, []
        self._add_past(page.entries, day=None)
        if not self._older:
            self._entries.insert(0, Entry(INFO, "The beginning of this room's history."))
        self.older_entries.extend(self._entries)
        self._entries = outer

    def _add_past(self, entries: tuple[p.Past, ...], day: str | None) -> None:
        """Stored entries, dimmed, with a date line wherever the day changes."""
        for entry in entries:
            date = time.strftime("%A %-d %B %Y", time.localtime(entry.time))
            if date != day:
                day = date
                self._add(DIVIDER, date, when=entry.time)
            self._seen(entry.room, entry.id)
            nick = "" if entry.nick == p.NOBODY else sanitize(entry.nick)
            if entry.kind == p.NOTICE or not nick:
                self._add(PAST_NOTICE, sanitize(entry.text), room=sanitize(entry.room),
                          when=entry.time)
            elif entry.kind == p.PRIVATE:
                nick, to = self._ends(entry.nick, entry.to)
                self._add(PAST_PRIVATE, sanitize(entry.text), nick=nick,
                          room=sanitize(entry.room), when=entry.time, to=to)
            else:
                self._add(PAST_ACTION if entry.kind == p.ACTION else PAST, sanitize(entry.text),
                          nick=nick, room=sanitize(entry.room), when=entry.time)

    def _seen(self, room: str, entry_id: int) -> None:
        room = room.casefold()
        if entry_id > self.last_id.get(room, 0):
            self.last_id[room] = entry_id

    def _ask_history(self, msg: p.History) -> bool:
        """/history [N]: before the oldest shown (the server would count from what it
        sent this connection, which a reconnect forgets)."""
        if msg.before or self._oldest is None:
            return True
        count = msg.count or str(HISTORY_PAGE)
        self._send(p.History(f"{count} {self._oldest}"))
        self._fetching = True
        return False

    def fetch_older(self) -> bool:
        """The view's pane reached its top: fetch the page before it (once at a time).
        Whether a request went."""
        if self._fetching or not self.connected or self.room is None or not self._older:
            return False
        self._send(p.History(f"{HISTORY_PAGE} {self._oldest}" if self._oldest else ""))
        self._fetching = True
        return True

    def take_older(self) -> list[Entry]:
        """Entries of an older page, oldest first: they go above what the pane shows."""
        entries, self.older_entries = self.older_entries, []
        return entries

    def refit(self) -> None:
        """The view changed size: a running game whose board it no longer draws has
        the board put in the message pane now, not only after the next move."""
        for panel in self.game_panels():
            if not (panel.over or panel.in_pane or self._panel_shows(panel)):
                panel.in_pane = True
                self._board_to_pane(panel)

    def _panel_shows(self, panel: Panel) -> bool:
        return self.shows_panel is not None and self.shows_panel(panel)

    def _board_to_pane(self, panel: Panel) -> None:
        for line in _unwrapped(panel.lines, panel.status):
            self._add(BOARD, line, room=sanitize(panel.room))

    def _follow_listing(self, item: object) -> None:
        """Keep track of the answer to a /games (its INFO lines, then each game's GAME,
        TURN and BOARD), whose boards go into the pane, panel or not: the server sends
        nothing else in between, and names each game once."""
        listing = self._listing
        if listing is not None:
            if isinstance(item, p.Info) and not listing:
                return  # still its head
            if isinstance(item, p.GameState) and item.game_id not in listing:
                listing.add(item.game_id)
                return
            if isinstance(item, (p.Turn, p.BoardView)) and item.game_id in listing:
                return
            self._listing = None
        if self._games_asked and isinstance(item, p.Info):
            self._games_asked -= 1
            self._listing = set()
        elif self._games_asked and isinstance(item, p.Reply) and item.answers(p.ListGames):
            self._games_asked -= 1  # refused: no answer to follow

    # -------------------------------------------------------------- helpers
    def _reply_text(self, text: str) -> str:
        """A server's answer as a sentence; one that starts with a nick ("eve was removed
        by ann") keeps that nick's case."""
        first = _FIRST_NAME.match(text.strip())
        first = first.group() if first else ""
        if first and (first in self._members or first in self._gone or first == self.nick):
            text = text.strip()
            return text if not text or text[-1] in ".!?" else text + "."
        return _sentence(text)

    def _remember_speaker(self, room: str, nick: str) -> None:
        if room == self.room:
            self._members[nick] = next(self._order)
            self._bound_members()

    def _bound_members(self) -> None:
        """At most MAX_MEMBERS remembered, whatever a server says: past twice that,
        the most recent half stays (constant work per line, on average)."""
        if len(self._members) > 2 * MAX_MEMBERS:
            kept = sorted(self._members.items(), key=lambda item: item[1])[-MAX_MEMBERS:]
            self._members = dict(kept)

    @property
    def members(self) -> list[str]:
        """The nicks in my room, most recent speakers first, then in the order they came."""
        return sorted(self._members, key=self._members.__getitem__, reverse=True)

    def _add(self, kind: str, text: str, nick: str = "", room: str = "",
             when: float | None = None, to: str = "") -> None:
        if nick and kind not in (OWN, PRIVATE_SENT) and self.is_ignored(nick):
            return  # whatever someone I ignore wrote (chat, history, private messages)
        entry = Entry(kind, text, nick, room) if when is None else Entry(kind, text, nick, room,
                                                                         when, to)
        self._entries.append(entry)




def _unwrapped(lines: list[str], status: str) -> list[str]:
    """A board's rows for the message pane, where there is room: when its last rows
    are the game's status (as its GAME line said it) wrapped to the panel's width,
    they are made one row again."""
    words = " ".join(status.split())
    for k in range(2, len(lines) + 1 if words else 0):
        if " ".join(" ".join(lines[-k:]).split()) == words:
            return [*lines[:-k], words]
    return lines


def mentions(text: str, nick: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(nick)}(?![\w-])", text, re.IGNORECASE) is not None


def split_text(text: str, limit: int) -> list[str]:
    """Split chat text into pieces of at most `limit` UTF-8 bytes, at spaces if possible."""
    chunks = []
    while len(text.encode("utf-8", "replace")) > limit:
        cut = _byte_prefix_len(text, limit)
        space = text.rfind(" ", 0, cut)
        if space > cut // 2:
            cut = space
        chunks.append(text[:cut])
        text = text[cut:].lstrip(" ")
    if text:
        chunks.append(text)
    return chunks


def _pieces(msg: p.Tell | p.TellBack | p.Me) -> list[p.ClientMessage]:
    """A /msg, /r or /me whose text is over the server's limit as several, each within it
    (split as chat is); a shorter one, or one without text (the server says the usage),
    as it is."""
    if len(msg.text.encode("utf-8", "replace")) <= p.MAX_TEXT:
        return [msg]
    if isinstance(msg, p.Tell):
        return [p.Tell(f"{msg.nick} {chunk}") for chunk in split_text(msg.text, p.MAX_TEXT)]
    return [type(msg)(chunk) for chunk in split_text(msg.text, p.MAX_TEXT)]


def _byte_prefix_len(text: str, limit: int) -> int:
    """The number of characters of `text` whose UTF-8 encoding fits in `limit` bytes."""
    return len(utf8_prefix(text.encode("utf-8", "replace")[:limit]))


def _when(t: float) -> str:
    """When something happened, in local time: 'at 10:31 on Tuesday 1 December 2026'."""
    return time.strftime("at %H:%M on %A %-d %B %Y", time.localtime(t))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


_FIRST_NAME = re.compile(r"[A-Za-z0-9_-]+")


def _sentence(text: str) -> str:
    text = text.strip()
    if text and text[0].islower():
        text = text[0].upper() + text[1:]
    return text if not text or text[-1] in ".!?" else text + "."
