"""End-to-end tests of the curses client: the real client.py in a pseudo-terminal
(pexpect, window size set before exec), its screen read through a terminal
emulator (pyte), against a real server.py subprocess.

Every wait has a deadline and fails with the screen dumped; nothing sleeps.
"""
from __future__ import annotations

import re
import select
import socket
import termios
import time

import pytest

from chat import protocol as p
from pty_harness import (CTRL_C, CTRL_E, CTRL_U, CTRL_W, ENTER, LEFT, RMCUP, SMCUP, TAB, UP,
                         RawPeer, ServerProcess, Terminal, free_port)

FROM_ALICE = re.compile(rb"^MSG general [0-9]+ alice ")


def chat_text(line: bytes) -> str:
    """The text of a raw `MSG` line from the server."""
    msg = p.parse_server_line(line.decode("utf-8"))
    assert isinstance(msg, p.Chat), msg
    return msg.text


NATO = ("alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima "
        "mike november oscar papa quebec romeo sierra tango uniform victor whiskey "
        "xray yankee zulu")


# ------------------------------------------------------------------ fixtures
@pytest.fixture
def servers():
    """servers(port=0, *extra) -> a real `server.py` subprocess (`extra`: more of its
    arguments); all stopped at teardown."""
    started: list[ServerProcess] = []

    def start(port: int = 0, *extra: str) -> ServerProcess:
        server = ServerProcess(port, *extra)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def chat_server(servers) -> ServerProcess:
    return servers()


@pytest.fixture
def terminals():
    """terminals(*args, rows=24, cols=80, term="xterm") -> a client.py in a pty of
    terminal type `term`; all closed at teardown."""
    started: list[Terminal] = []

    def spawn(*args: str, rows: int = 24, cols: int = 80, term: str = "xterm") -> Terminal:
        started.append(Terminal(list(args), rows, cols, term=term))
        return started[-1]

    yield spawn
    for term in started:
        term.close()


def join(terminals, port: int, nick: str, *, room: str = "general", others: int = 0,
         rows: int = 24, cols: int = 80, term: str = "xterm", args: tuple[str, ...] = ()) -> Terminal:
    """A client in `room` as `nick` (`args`: more of client.py's arguments), once its
    screen says it is there with `others` more."""
    client = terminals("--port", str(port), "--room", room, "--nick", nick, *args, rows=rows,
                       cols=cols, term=term)
    prompt = f"#{room} {nick}> "

    def inside(t: Terminal) -> None:
        assert f"{others + 1} here" in t.status()
        assert t.input_line() == prompt.rstrip() and t.cursor == (rows - 1, len(prompt))
    client.wait_until(inside)
    return client


def pane(term: Terminal) -> list[str]:
    """The message pane's rows (everything above the status bar), no panel here."""
    return term.lines()[:term.rows - 2]


# ------------------------------------------------------------------ 1. two clients
def test_tui_two_clients_chat_while_a_line_is_half_typed(chat_server, terminals):
    alice = join(terminals, chat_server.port, "alice")
    bob = join(terminals, chat_server.port, "bob", others=1)
    alice.wait_for("bob joined general")

    prompt = "#general alice> half typed"
    alice.send("half typed")
    alice.wait_for(lambda t: t.input_line() == prompt, why=prompt)
    bob.send("hi alice" + ENTER)

    def message_above_the_draft(t: Terminal) -> None:
        assert "bob: hi alice" in t.text()
        assert t.input_line() == prompt
        assert t.cursor == (23, len(prompt))
        assert not any("half typed" in row for row in pane(t))
    alice.wait_until(message_above_the_draft)

    alice.send(" and done" + ENTER)
    bob.wait_for("alice: half typed and done")

    def sent(t: Terminal) -> None:
        assert "alice: half typed and done" in t.text()
        assert t.input_line() == "#general alice>" and t.cursor == (23, 16)
    alice.wait_until(sent)


# ------------------------------------------------------------------ 2. status bar
def test_tui_status_bar_shows_room_nick_and_count(chat_server, terminals):
    port = chat_server.port
    alice = join(terminals, port, "alice")

    def status(expected: str):
        def check(t: Terminal) -> None:
            assert t.status() == " " + expected
            # drawn in its own colours across the whole row, so it stands out
            bar = t.screen.buffer[t.rows - 2]
            assert all(bar[x].bg != "default" or bar[x].reverse for x in range(t.cols))
        return check

    alice.wait_until(status(f"#general | alice | 1 here | connected | 127.0.0.1:{port}"))
    join(terminals, port, "bob", others=1)
    alice.wait_until(status(f"#general | alice | 2 here | connected | 127.0.0.1:{port}"))

    lobby = terminals("--port", str(port))
    lobby.wait_until(status(f"lobby | connected | 127.0.0.1:{port}"))
    lobby.wait_for(lambda t: t.input_line() == "lobby>" and t.cursor == (23, 7), why="lobby> ")


# ------------------------------------------------------------------ 3. resize
def test_tui_resize_relays_out_and_rewraps(chat_server, terminals):
    alice = join(terminals, chat_server.port, "alice")
    alice.send(NATO + ENTER)
    alice.wait_until(wrapped("alice: ", NATO))

    alice.resize(20, 60)

    def relaid(t: Terminal) -> None:
        assert "#general | alice | 1 here | connected" in t.row(18)
        assert t.row(19) == "#general alice>" and t.cursor == (19, 16)
        wrapped("alice: ", NATO)(t)
    alice.wait_until(relaid)

    alice.send("still typing")  # the input line works in the new size
    alice.wait_for(lambda t: t.row(19) == "#general alice> still typing"
                   and t.cursor == (19, len("#general alice> still typing")), why="typed text")


def wrapped(head: str, text: str):
    """A check: `text` is on screen, word-wrapped greedily to the terminal's width:
    every word whole and in order, each row broken only where the next word did not
    fit, nothing past the last column."""
    words = text.split()

    def check(term: Terminal) -> None:
        rows = pane(term)
        starts = [i for i, row in enumerate(rows) if head + words[0] in row]
        assert len(starts) == 1, f"{head + words[0]!r} is on {len(starts)} rows"
        first = starts[0]
        shown, block = [], []
        for row in rows[first:]:
            block.append(row)
            shown += (row.split(head, 1)[1] if len(block) == 1 else row).split()
            if len(shown) >= len(words):
                break
        assert shown == words, "words cut, lost or out of order"
        for row, following in zip(block, block[1:]):
            assert len(row) + 1 + len(following.split()[0]) > term.cols, \
                f"{row!r} had room for {following.split()[0]!r}"
        assert len(block) > 1 and all(len(row) <= term.cols for row in block)
    return check


# ------------------------------------------------------------------ 4. hostile text
def test_tui_escape_sequences_from_a_peer_are_shown_harmlessly(chat_server, terminals):
    alice = join(terminals, chat_server.port, "alice")
    alice.send("before the attack" + ENTER)
    alice.wait_for("alice: before the attack")

    mallory = RawPeer(chat_server.port)
    try:
        mallory.expect(b"HELLO")
        mallory.send(b"/join general\n/nick mallory\n")
        mallory.expect(b"REPLY nick 0")
        mallory.send(b"clear\x1b[2Jtitle\x1b]0;pwned\x07bell\x07end\n"
                     + "c1 \u009b2J bidi \u202edne bs\x08\x08 del\x7f cr\rx\n".encode())

        def harmless(t: Terminal) -> None:
            assert "mallory: clear^[[2Jtitle^[]0;pwned^Gbell^Gend" in t.text()
            assert "mallory: c1 <U+009B>2J bidi <U+202E>dne bs^H^H del^? cr^Mx" in t.text()
            assert "alice: before the attack" in t.text()  # the screen was not cleared
            assert_unharmed(t)
        alice.wait_until(harmless)
    finally:
        mallory.close()


def test_tui_escape_sequences_from_a_hostile_server_are_shown_harmlessly(terminals):
    """The client's own defence: a fake server that sanitizes nothing."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)
        alice = terminals("--port", str(listener.getsockname()[1]))
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"HELLO parlor/4 hi\nHERE general alice\n"
                         b"MSG general 1 alice 2026-12-01T10:31:05.123Z before the attack\n"
                         b"MSG general 1 mal\x1b[2Jlory 2026-12-01T10:31:05.123Z clear\x1b[2Jtitle\x1b]0;pwned\x07end\n"
                         b"INFO \x1b[H\x1b[2Jinfo\x1b]2;pwned\x1b\\end\n"
                         + "INFO c1 \u009b2J bidi \u202edne\n".encode())

            def harmless(t: Terminal) -> None:
                assert "alice: before the attack" in t.text()
                assert "mal^[[2Jlory: clear^[[2Jtitle^[]0;pwned^Gend" in t.text()
                assert "^[[H^[[2Jinfo^[]2;pwned^[\\end" in t.text()
                assert "c1 <U+009B>2J bidi <U+202E>dne" in t.text()
                assert_unharmed(t)
            alice.wait_until(harmless)


def assert_unharmed(t: Terminal) -> None:
    assert t.screen.title != "pwned" and "pwned" not in t.screen.icon_name
    assert "#general | alice" in t.status()
    assert t.input_line() == "#general alice>" and t.cursor == (23, 16)


# ------------------------------------------------------------------ 5. Ctrl-C
def test_tui_ctrl_c_restores_the_terminal_and_exits_0(chat_server, terminals):
    alice = join(terminals, chat_server.port, "alice")
    assert alice.screen.alternate, "curses did not switch to the alternate screen"
    assert not alice.local_modes() & (termios.ICANON | termios.ECHO | termios.ISIG)

    alice.send(CTRL_C)
    assert alice.wait_eof() == 0, alice.dump()

    # Restored, checked two ways that do not depend on ncurses' exact byte order:
    # the terminal was told to leave the alternate screen after it last entered it
    # (endwin writes rmcup; the emulator's flag agrees), and the pty is back in
    # cooked mode (line editing, echo, Ctrl-C as a signal), read through the
    # master side after the child has gone.
    raw = bytes(alice.raw)
    assert raw.rfind(RMCUP) > raw.rfind(SMCUP) >= 0, raw[-200:]
    assert not alice.screen.alternate
    modes = alice.local_modes()
    assert modes & termios.ICANON and modes & termios.ECHO and modes & termios.ISIG


# ------------------------------------------------------------------ 6. host mode
def test_tui_host_mode_serves_a_guest_and_says_goodbye(terminals):
    # Port 0 would hide the port from the guest, so take one that was free a moment
    # ago.  Racy: another process could grab it in between (very unlikely on loopback).
    port = free_port()
    host = terminals("--serve", "--port", str(port), "--room", "general", "--nick", "host")
    host.wait_for(lambda t: "#general | host | 1 here" in t.status(), why="the host in #general")
    guest = join(terminals, port, "guest", others=1)

    guest.send("hello host" + ENTER)
    host.wait_for("guest: hello host")
    host.send("welcome guest" + ENTER)
    guest.wait_for("host: welcome guest")

    host.send("/quit" + ENTER)
    assert host.wait_eof() == 0, host.dump()

    def told(t: Terminal) -> None:
        assert "The host has left; the server is shutting down" in t.text()
        assert "DISCONNECTED" in t.status()
    guest.wait_until(told)


# ------------------------------------------------------------------ 7. editing
def test_tui_input_editing_keys(chat_server, terminals):
    alice = join(terminals, chat_server.port, "alice")
    prompt = "#general alice> "

    def shows(text: str, cursor: int | None = None) -> None:
        at = len(prompt) + (len(text) if cursor is None else cursor)
        alice.wait_for(lambda t: t.input_line() == (prompt + text).rstrip()
                       and t.cursor == (23, at), why=f"input {text!r} with the cursor at {at}")

    alice.send("hello world")
    shows("hello world")
    alice.send(CTRL_W)
    shows("hello ")
    alice.send("there" + LEFT * 5 + "big ")
    shows("hello big there", cursor=len("hello big "))
    alice.send(CTRL_U)
    shows("there", cursor=0)
    alice.send(CTRL_E + CTRL_U)  # to the end, then kill it all
    shows("")

    alice.send("first line" + ENTER)
    alice.wait_for("alice: first line")
    shows("")
    alice.send(UP)
    shows("first line")
    alice.send(CTRL_U + "/jo" + TAB)
    shows("/join ")


# ------------------------------------------------------------------ 8. reconnect
COUNTDOWN = re.compile(r"^ DISCONNECTED, reconnecting in (\d+) s \| #general \(offline\) \| alice")


def countdown(t: Terminal) -> int | None:
    """The seconds the status bar says are left before the next try, or None."""
    found = COUNTDOWN.match(t.status())
    return int(found.group(1)) if found else None


def test_tui_survives_a_server_crash_counts_down_and_enter_reconnects_at_once(
        chat_server, servers, terminals):
    """The server dies: the status bar counts down to each try (the waits growing,
    1, 2, 4, 8 s less up to a quarter), and Enter on the empty line, in a long wait,
    connects at once and rejoins."""
    alice = join(terminals, chat_server.port, "alice")
    port = chat_server.port
    chat_server.kill()

    def lost(t: Terminal) -> None:  # showing where it will be back, marked offline
        assert countdown(t) is not None, "no countdown in the status bar"
        assert "Lost the connection" in t.text() and "Reconnecting by itself" in t.text()
        assert "Enter on an empty line" in t.text()
        assert t.input_line() == "#general alice (offline)>"
    alice.wait_until(lost)
    seen: list[int] = []

    def long_wait(t: Terminal) -> None:  # the fourth wait: 6 to 8 s
        left = countdown(t)
        if left is not None and left not in seen[-1:]:
            seen.append(left)
        assert left is not None and left >= 6, f"a countdown of 6 s or more (saw {seen})"
    alice.wait_until(long_wait, timeout=15)
    assert "Could not reconnect" in alice.text()

    servers(port)  # the same port, as a restarted server would be
    left = countdown(alice)
    assert left is not None and left >= 4, f"the server took long to start ({left} s left)"
    alice.send(ENTER)

    def back(t: Terminal) -> None:
        assert t.status() == f" #general | alice | 1 here | connected | 127.0.0.1:{port}"
        assert t.input_line() == "#general alice>" and t.cursor == (23, 16)
    alice.wait_until(back, timeout=left - 2)  # before the planned try could have come


def test_tui_a_port_that_never_greets_stays_connecting_then_says_so(terminals):
    """A listening socket that never says a word: "connecting..." (never "connected"),
    then after 5 s one sentence and no more tries; Enter on the empty line tries again."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)
        port = listener.getsockname()[1]
        alice = terminals("--port", str(port))
        first, _ = listener.accept()
        with first:
            alice.wait_until(lambda t: t.status() == " connecting... | lobby | "
                             f"127.0.0.1:{port}", timeout=4)
            sentence = (f"No greeting from 127.0.0.1:{port} within 5 s: is this a Parlor server "
                        "(if it uses TLS, connect with --tls)?")

            def gave_up(t: Terminal) -> None:
                assert sentence in " ".join(line.strip() for line in t.lines())  # (wrapped)
                assert "Not retrying: Enter on an empty line or /reconnect" in t.text()
                assert t.status() == f" DISCONNECTED | lobby | 127.0.0.1:{port}"
            alice.wait_until(gave_up)
            first.settimeout(10)
            assert first.recv(1) == b""  # it hung up
        alice.send(ENTER)
        again, _ = listener.accept()
        with again:
            alice.wait_for(lambda t: t.status().startswith(" connecting..."), why="connecting")


# 9 and 10 (a 40x10 window; the game panel's place and width) are exact frames now,
# in tests/test_frame.py, with no terminal needed.


# ------------------------------------------------------------------ 11. word keys, joiners
def test_tui_word_keys_and_joiners(chat_server, terminals):
    alice = join(terminals, chat_server.port, "alice")
    prompt = "#general alice> "

    def shows(text: str, cursor: int) -> None:
        at = len(prompt) + cursor
        alice.wait_for(lambda t: t.input_line() == (prompt + text).rstrip()
                       and t.cursor == (23, at), why=f"input {text!r} with the cursor at {at}")

    alice.send("one two three")
    shows("one two three", 13)
    alice.send("\x1bb")  # Alt-b
    shows("one two three", 8)
    alice.send("\x1b[1;5D")  # Ctrl-Left, as xterm sends it
    shows("one two three", 4)
    alice.send("\x1bf")  # Alt-f
    shows("one two three", 7)
    alice.send("\x1b[1;5C")  # Ctrl-Right
    shows("one two three", 13)
    alice.send("\x1b\x7f")  # Alt-Backspace
    shows("one two", 8)
    alice.send("\x01\x1bd")  # Ctrl-A, Alt-d
    shows(" two", 0)

    peer = RawPeer(chat_server.port)
    try:
        peer.send(b"/join general\n")
        peer.expect(b"MEMBERS general")
        alice.send("\x0ba\u200cb \U0001F469\u200d\U0001F4BB\ufe0f" + ENTER)
        assert chat_text(peer.expect(FROM_ALICE)) == \
            "a\u200cb \U0001F469\u200d\U0001F4BB\ufe0f"
    finally:
        peer.close()


# ------------------------------------------------------------------ 12. two games at once
def test_tui_duel_stays_on_top_with_the_room_game_stacked_below(chat_server, terminals):
    port = chat_server.port
    alice = join(terminals, port, "alice", rows=30, cols=100)
    bob = join(terminals, port, "bob", others=1)
    carol = RawPeer(port)
    try:
        carol.send(b"/join general\n/nick carol\n")
        carol.expect(b"REPLY nick 0")
        carol.send(b"/game hangman PARLOR\n")
        carol.expect(b"GAME general")
        alice.send("/game tictactoe bob" + ENTER)
        bob.wait_for("bob, type /accept")
        bob.send("/accept" + ENTER)
        alice.wait_for("tictactoe starts")
        alice.send("/guess e" + ENTER)
        alice.wait_for("alice guesses E")
        alice.send("/5" + ENTER)

        def both_boards(t: Terminal) -> None:
            panel = [row.ljust(t.cols)[69:].rstrip() for row in t.lines()[:28]]
            assert all(row.ljust(t.cols)[67] == "|" for row in t.lines()[:28])
            assert panel[0].startswith("tictactoe g"), "the duel she plays is not on top"
            assert panel[3] == " 4 |[X]| 6"
            titles = [i for i, row in enumerate(panel) if row.startswith("hangman g")]
            assert titles and titles[0] > 9 and panel[titles[0] - 1] == ""
            assert any("wrong: E" in row for row in panel[titles[0]:])
            # the boards are in the panel only; the pane has the moves in words
            assert not any("[X]" in row[:67] for row in t.lines()), "a board in the pane"
            assert any("alice plays X at 5" in row[:67] for row in t.lines())
            assert "tictactoe: bob to move" in t.status()
        alice.wait_until(both_boards)
    finally:
        carol.close()


# ------------------------------------------------------------------ 13. a full server
def test_tui_full_server_backs_off_and_says_so_once(terminals):
    """A fake server that turns every connection away as full: the client waits 1 s,
    then 2 s, less up to a quarter (the backoff grows: connecting is not being
    accepted), and the three lines about it are shown once, not once per attempt."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)
        alice = terminals("--port", str(listener.getsockname()[1]))
        accepted = []
        for _ in range(3):
            conn, _ = listener.accept()
            accepted.append(time.monotonic())
            with conn:
                conn.sendall(b"BYE the server is full (1 connections); try again later\n")
        assert accepted[2] - accepted[1] >= 1.45, f"retried after {accepted[2] - accepted[1]:.1f} s"

        def told_once(t: Terminal) -> None:
            text = t.text()
            assert text.count("Server says: The server is full") == 1
            assert text.count("! Disconnected.") == 1 and "Lost the connection" not in text
            assert text.count("Reconnecting by itself") == 1
            assert "DISCONNECTED" in t.status() or "connecting" in t.status()
        alice.wait_until(told_once)


# ------------------------------------------------------------------ 14. mentions and the bell
Style = tuple[str, str, bool, bool, bool]  # fg, bg, bold, reverse, underscore
PLAIN: Style = ("default", "default", False, False, False)


def style_of(term: Terminal, text: str, cells: int = 0) -> Style:
    """How `text` (its first `cells` cells, if given) is drawn where it first shows on
    the screen: one style for all those cells."""
    found = [(y, row.index(text)) for y, row in enumerate(term.screen.display) if text in row]
    assert found, f"{text!r} is not on the screen"
    y, x = found[0]
    drawn = [term.screen.buffer[y][x + i] for i in range(cells or len(text))]
    styles = {(c.fg, c.bg, c.bold, c.reverse, c.underscore) for c in drawn}
    assert len(styles) == 1, f"{text!r} is drawn in several styles: {styles}"
    return styles.pop()


@pytest.fixture
def raw_peers():
    """raw_peers(port, nick) -> a RawPeer in #general as `nick`; all closed at teardown."""
    started: list[RawPeer] = []

    def start(port: int, nick: str) -> RawPeer:
        started.append(RawPeer(port))
        started[-1].send(f"/join general\n/nick {nick}\n".encode())
        started[-1].expect(b"REPLY nick 0")
        return started[-1]

    yield start
    for peer in started:
        peer.close()


def test_tui_mention_is_highlighted_and_rings_once_until_bell_off(chat_server, terminals,
                                                                   raw_peers):
    alice = join(terminals, chat_server.port, "alice")
    bob = raw_peers(chat_server.port, "bob")
    bob.send(b"just chatting\n")
    alice.wait_for("bob: just chatting")
    assert alice.screen.bells == 0, "a message without my nick rang the bell"

    bob.send(b"hey alice, look\nafter the mention\n")

    def highlighted(t: Terminal) -> None:
        assert "bob: after the mention" in t.text()
        assert style_of(t, "just chatting") == PLAIN
        assert style_of(t, "after the mention") == PLAIN
        mention = style_of(t, "hey alice, look")
        assert mention != PLAIN and (mention[2] or mention[3]), f"not highlighted: {mention}"
    alice.wait_until(highlighted)
    assert alice.screen.bells == 1, "the mention did not ring the bell exactly once"
    assert b"\x07" in alice.raw  # a real BEL reached the terminal, not a flash

    alice.send("/bell off" + ENTER)
    alice.wait_for("Mention bell off.")
    bob.send(b"alice, are you there?\nstill quiet\n")
    alice.wait_for("bob: still quiet")
    assert style_of(alice, "alice, are you there?") == style_of(alice, "hey alice, look")
    assert alice.screen.bells == 1, "/bell off did not silence the bell"

    alice.send("/bell on" + ENTER)
    alice.wait_for("Mention bell on.")
    bob.send(b"ALICE: ring again\n")  # any case, as nicks are compared
    alice.wait_for("bob: ALICE: ring again")
    assert alice.screen.bells == 2


# ------------------------------------------------------------------ 15. a pasted block
def test_tui_paste_of_several_lines_sends_each_as_a_message(chat_server, terminals, raw_peers):
    alice = join(terminals, chat_server.port, "alice")
    bob = raw_peers(chat_server.port, "bob")
    alice.wait_for("bob joined general")

    alice.send("first\rsecond\rthird\r")  # one write, as a terminal delivers a paste

    said = [chat_text(bob.expect(FROM_ALICE)) for _ in range(3)]
    assert said == ["first", "second", "third"]

    def sent(t: Terminal) -> None:
        rows = [row for row in pane(t) if "alice: " in row]
        assert [row.split("alice: ", 1)[1] for row in rows] == ["first", "second", "third"]
        assert t.input_line() == "#general alice>" and t.cursor == (23, 16)
    alice.wait_until(sent)


# ------------------------------------------------------------------ 15b. a long paste is paced
PASTE = [f"line {i:02d}" for i in range(40)]


def test_tui_long_paste_goes_at_the_clients_pace_with_the_count_shown(servers, terminals,
                                                                      raw_peers):
    """The server's limit is raised to keep this quick (its queue stays short, so a
    flood would be cut off); the hidden --pace sits under it as the defaults do."""
    server = servers(0, "--max-rate", "100", "--burst", "16", "--max-queue", "10")
    alice = join(terminals, server.port, "alice", rows=60, args=("--pace", "12,20"))
    bob = raw_peers(server.port, "bob")
    alice.wait_for("bob joined general")

    alice.send("".join(line + "\r" for line in PASTE))  # one write, as a paste comes

    def waiting(t: Terminal) -> None:
        count = re.search(r"#general \| alice \| 2 here \| sending: (\d+) waiting \|", t.status())
        assert count and 1 <= int(count.group(1)) <= 28, t.status()  # 12 go at once
        assert "Sending 40 lines at 20 a second, under the server's flood limit" in t.text()
    alice.wait_until(waiting)

    said = [chat_text(bob.expect(FROM_ALICE)) for _ in PASTE]
    assert said == PASTE

    def all_sent(t: Terminal) -> None:
        assert "sending" not in t.status()
        rows = [row.split("alice: ", 1)[1] for row in pane(t) if "alice: " in row]
        assert rows == PASTE
    alice.wait_until(all_sent)


def test_tui_cancel_drops_the_lines_still_waiting(chat_server, terminals, raw_peers):
    alice = join(terminals, chat_server.port, "alice", args=("--pace", "5,2"))
    bob = raw_peers(chat_server.port, "bob")
    alice.wait_for("bob joined general")
    alice.send("".join(line + "\r" for line in PASTE))
    alice.wait_for(lambda t: "sending: " in t.status(), why="a waiting count")

    alice.send("/cancel" + ENTER)
    alice.wait_for(lambda t: re.search(r"Dropped \d+ lines waiting to go", t.text())
                   and "sending" not in t.status(), why="the drop told, the count gone")
    alice.send("after the cancel" + ENTER)
    said = []
    while not said or said[-1] != "after the cancel":
        said.append(chat_text(bob.expect(FROM_ALICE)))
    assert 1 <= len(said) - 1 < len(PASTE)  # the burst (less the autojoin), maybe more
    assert said[:-1] == PASTE[:len(said) - 1]  # the first lines, in order; no others


# ------------------------------------------------------------------ 16. no colour
@pytest.mark.parametrize("term", ["vt100", "xterm-mono"])
def test_tui_works_without_colour(chat_server, terminals, term):
    port = chat_server.port
    alice = join(terminals, port, "alice", term=term)
    bob = join(terminals, port, "bob", others=1, term=term)
    alice.send("mine" + ENTER)
    bob.send("yours" + ENTER)

    def readable(t: Terminal) -> None:
        assert t.status() == f" #general | alice | 2 here | connected | 127.0.0.1:{port}"
        bar = t.screen.buffer[t.rows - 2]
        assert all(bar[x].reverse for x in range(t.cols)), "the status bar does not stand out"
        assert t.input_line() == "#general alice>" and t.cursor == (23, 16)
        assert "alice: mine" in t.text() and "bob: yours" in t.text()
        own, other = style_of(t, "alice: mine", 5), style_of(t, "bob: yours", 3)
        assert own != other, f"my nick and bob's look the same: {own}"
        assert style_of(t, "mine") == style_of(t, "yours") == PLAIN
        cells = [cell for row in t.screen.buffer.values() for cell in row.values()]
        assert all(cell.fg == cell.bg == "default" for cell in cells), "colour was used"
    alice.wait_until(readable)
    sgr = [int(n) for params in re.findall(rb"\x1b\[([0-9;]*)m", alice.raw)
           for n in params.split(b";") if n]
    assert not [n for n in sgr if 30 <= n <= 49 or 90 <= n <= 107], "a colour was sent"


# ------------------------------------------------------------------ 17. nick colours
def test_tui_each_nick_has_one_colour_everywhere_and_after_a_reconnect(chat_server, terminals,
                                                                       raw_peers):
    port = chat_server.port
    alice = join(terminals, port, "alice", term="xterm-256color")
    bob = join(terminals, port, "bob", others=1, term="xterm")
    erin = raw_peers(port, "erin")
    erin.send(b"hello both\n")
    bob.send("hello erin" + ENTER)

    colours: dict[str, str] = {}  # nick -> the colour the first client drew it in

    def drawn_alike(nick: str, text: str):
        def check(t: Terminal) -> None:
            fg = style_of(t, f"{nick}: {text}", len(nick))[0]
            assert fg != "default", f"{nick}'s nick has no colour"
            assert colours.setdefault(nick, fg) == fg, f"{nick}: {fg}, before {colours[nick]}"
        return check

    alice.wait_until(drawn_alike("erin", "hello both"))
    bob.wait_until(drawn_alike("erin", "hello both"))
    alice.wait_until(drawn_alike("bob", "hello erin"))
    assert colours["bob"] != colours["erin"], "one colour for every nick"

    bob.send("/reconnect" + ENTER)
    alice.wait_for(lambda t: "bob is back in general" in t.text(), why="bob back")
    bob.wait_for(lambda t: t.text().count("Connected to") == 2 and "3 here" in t.status()
                 and t.input_line() == "#general bob>", why="bob back in #general")
    erin.send(b"welcome back\n")
    bob.send("back again" + ENTER)
    alice.wait_until(drawn_alike("bob", "back again"))
    alice.wait_until(drawn_alike("erin", "welcome back"))
    bob.wait_until(drawn_alike("erin", "welcome back"))


@pytest.mark.parametrize("term", ["nosuchterm", "dumb"])
def test_tui_a_terminal_curses_cannot_drive_gets_line_mode(chat_server, terminals, term):
    alice = terminals("--port", str(chat_server.port), "--room", "general", "--nick", "alice",
                      term=term)
    alice.wait_for("so this is line mode")
    alice.wait_for("Connected to")
    assert "Traceback" not in alice.text()
    alice.send("hello from a plain terminal\r")
    alice.wait_for("[general] alice: hello from a plain terminal")
    alice.send("/quit\r")
    assert alice.wait_eof() == 0


# ------------------------------------------------------------------ boards with no room
def test_tui_a_small_window_draws_the_board_in_the_pane_and_games_prints_it(chat_server,
                                                                            terminals):
    tiny = join(terminals, chat_server.port, "tiny", rows=12, cols=40)
    tiny.send("/game tictactoe bot" + ENTER)
    tiny.wait_for("tiny (X) to move")
    tiny.send("/5" + ENTER)

    def board_after_the_moves(t: Terminal) -> None:
        rows = pane(t)
        said = [i for i, row in enumerate(rows) if "bot plays O at" in row]
        assert said, "the bot has not moved yet"
        below = rows[said[-1] + 1:]
        assert any("| X |" in row for row in below) and any("[O]" in row for row in below)
        assert any("tiny (X) to move" in row for row in below)
    tiny.wait_until(board_after_the_moves)

    tiny.send("/games" + ENTER)

    def listed_with_its_board(t: Terminal) -> None:
        rows = pane(t)
        tops = [i for i, row in enumerate(rows) if re.match(r" {8}.{3}\|.{3}\|", row)]
        # the board's first row follows the listing's line (".. vs bot (O), tiny to move"),
        # not a move in words
        assert tops and tops[0] > 0 and rows[tops[0] - 1].endswith("tiny to move"), \
            "no board after /games"
    tiny.wait_until(listed_with_its_board)

    tiny.resize(24, 80)  # room for the panel: it comes back, beside the chat

    free: list[str] = []
    last: list[str] = []

    def panel_beside(t: Terminal) -> None:
        assert t.row(0).ljust(80)[47:].rstrip() == "| tictactoe g1"
        assert "tictactoe: your move" in t.status()
        panel = [row.ljust(80)[49:].rstrip() for row in t.lines()[:22]]
        free[:] = re.findall(r"\d", "".join(panel[1:6]))
        last[:] = [row for row in panel if row.startswith("last: O at")]
    tiny.wait_until(panel_beside)
    tiny.send(f"/{free[0]}" + ENTER)

    def bot_answered(t: Terminal) -> None:  # in the panel: a new last move, the bot's
        panel = [row.ljust(80)[49:].rstrip() for row in t.lines()[:22]]
        found = [row for row in panel if row.startswith("last: O at")]
        assert found and found != last
        last[:] = found
    tiny.wait_until(bot_answered)

    tiny.resize(12, 40)  # no room again: the board as it is now goes into the pane

    def board_now_in_the_pane(t: Terminal) -> None:
        rows = pane(t)
        assert any(row.strip() == last[0] for row in rows), f"no {last[0]!r} in the pane"
        assert not any("tictactoe g1" in row for row in rows)
    tiny.wait_until(board_now_in_the_pane)


# ------------------------------------------------------------------ Tab after a command
def test_tui_tab_completes_rooms_after_join_and_who_and_games_after_game(chat_server,
                                                                          terminals):
    alice = join(terminals, chat_server.port, "alice")
    den = RawPeer(chat_server.port)
    try:
        den.send(b"/join den\n")
        den.expect(b"MEMBERS den")
        alice.send("/list" + ENTER)
        alice.wait_for("Rooms: den (1), general (1)")
        prompt = "#general alice> "
        for typed, completed in (("/join d", "/join den "), ("/who g", "/who general "),
                                 ("/game t", "/game tictactoe ")):
            alice.send(typed + TAB)
            alice.wait_for(lambda t: t.input_line() == (prompt + completed).rstrip()
                           and t.cursor == (23, len(prompt + completed)),
                           why=f"{typed!r} completed to {completed!r}")
            alice.send(CTRL_U)
    finally:
        den.close()


# ------------------------------------------------------------------ private messages, /me
PAGE_UP = "\x1b[5~"  # xterm's PgUp


def test_tui_a_private_message_is_set_apart_rings_and_tab_completes_the_nick(chat_server,
                                                                             terminals):
    port = chat_server.port
    alice = join(terminals, port, "alice", term="xterm-256color")
    bob = join(terminals, port, "bobby", others=1)
    alice.wait_for("bobby joined general")
    alice.send("/msg bo" + TAB)
    prompt = "#general alice> /msg bobby "
    alice.wait_for(lambda t: t.input_line() == prompt.rstrip() and t.cursor == (23, len(prompt)),
                   why="the nick completed after /msg")
    alice.send("psst, only you" + ENTER)
    alice.wait_for("(private) you -> bobby: psst, only you")
    bob.wait_for("(private) alice -> you: psst, only you")
    assert bob.screen.bells == 1, "a private message did not ring like a mention"

    def set_apart(t: Terminal) -> None:
        fg = style_of(t, "alice -> you", 5)[0]
        assert fg != "default", "the sender's nick is not in its colour"
        assert style_of(t, "psst, only you") != PLAIN, "the private text looks like chat"
    bob.wait_until(set_apart)
    bob.send("/me waves back" + ENTER)
    alice.wait_for("* bobby waves back")
    bob.wait_for("* bobby waves back")
    assert alice.screen.bells == 0  # an action, not private and no mention
    bob.send("/bell off" + ENTER)
    bob.wait_for("Mention bell off.")
    alice.send("/msg bobby again" + ENTER)
    bob.wait_for("(private) alice -> you: again")
    assert bob.screen.bells == 1, "/bell off did not silence a private message"


def test_tui_status_bar_counts_private_messages_while_scrolled_back(chat_server, terminals,
                                                                    raw_peers):
    alice = join(terminals, chat_server.port, "alice", rows=10, cols=60)
    bob = raw_peers(chat_server.port, "bob")
    bob.send("".join(f"filler {i}\n" for i in range(12)).encode())
    alice.wait_for("bob: filler 11")
    alice.send(PAGE_UP)
    alice.wait_for(lambda t: "scrolled back" in t.status(), why="scrolled back")
    bob.send(b"/msg alice psst\nin the room\n/msg alice psst again\n")
    alice.wait_for(lambda t: "MORE BELOW (3 new, 2 private)" in t.status(), why="the count")
    alice.send(CTRL_E)
    alice.wait_for(lambda t: "(private) bob -> you: psst again" in t.text()
                   and "MORE BELOW" not in t.status(), why="back at the bottom")


def test_tui_takes_in_one_turns_budget_of_a_burst_at_most():
    """A turn reads MAX_READ_PER_TURN of what the server sent, however much waits, so
    a key typed during a burst is drawn after a short turn (a recv of 64 KiB took in
    four turns' worth at once: the slowest keystroke echo in a 5,000-line burst went
    from 11.7 to 4-6 ms when the recv was bounded).  A real socket, a real core."""
    import socket as socket_module
    from chat.client import core as c
    from chat.client.net import Link
    from chat.client.tui import MAX_READ_PER_TURN, Tui
    from conftest import TIMEOUT
    listener = socket_module.create_server(("127.0.0.1", 0))
    client = socket_module.create_connection(listener.getsockname())
    server, _ = listener.accept()
    try:
        burst = b"HELLO parlor/4 hi\n" + b"".join(
            b"MSG lounge %d bob 2026-12-01T10:00:00.000Z line %d of a burst\n" % (i, i)
            for i in range(4000))
        server.sendall(burst[:60000])  # (more than the budget, less than a socket buffer)
        # (no screen here, so no Tui.__init__, whose styles need curses: what a turn's
        # read uses is the connection and the core)
        tui = Tui.__new__(Tui)
        tui.link, tui.core = Link(client), c.ClientCore("127.0.0.1:1")
        deadline = time.monotonic() + TIMEOUT
        while not select.select([client], [], [], 0.05)[0]:  # (on loopback all of it is there)
            assert time.monotonic() < deadline
        tui._on_readable()
        client.setblocking(False)
        left = b""
        while True:
            try:
                chunk = client.recv(65536)
            except BlockingIOError:
                break
            left += chunk
        assert 60000 - len(left) <= MAX_READ_PER_TURN
        assert len(left) > 0
    finally:
        for sock in (client, server, listener):
            sock.close()
