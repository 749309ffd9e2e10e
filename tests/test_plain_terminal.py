"""Line mode on a terminal: the real `client.py --plain` in a pseudo-terminal, read
through pyte, against a real server.py, with others on raw sockets.  Typing is edited
at a prompt row (cursor keys, history, Ctrl-W, Tab), incoming lines go above it, and
the terminal is given back as it was however the client ends.  Also: a paste and a
file are counted right, and only a person typing is offered /cancel.
"""
from __future__ import annotations

import re

import signal
import socket
import termios

import pytest

from conftest import said
from chat import protocol as p
from chat.client.rows import MARKER
from chat.server.limits import Limits
from pty_harness import RawPeer, ServerProcess, Terminal
from test_plain_client import TIMEOUT, port_of, read_quiet, read_until, run_client

# What a terminal sends in its normal cursor mode (line mode never switches it to
# the application mode curses asks for, where they are ESC O D...).
LEFT, UP = "\x1b[D", "\x1b[A"
CTRL_W, TAB, ENTER, CTRL_C = "\x17", "\t", "\r", "\x03"
PROMPT = "#general alice> "

FROM_ALICE = re.compile(rb"^MSG general [0-9]+ alice ")


@pytest.fixture
def chat_server():
    server = ServerProcess(0, "--max-rate", "200", "--burst", "40")  # a paste gets through fast
    yield server
    server.stop()


@pytest.fixture
def opened():
    """`opened(*things)`: each is closed at the end, whatever happens."""
    things = []
    yield lambda *more: things.extend(more) or (more[0] if len(more) == 1 else more)
    for thing in things:
        thing.close()


def alice_on(server: ServerProcess, *extra: str, rows: int = 24, term: str = "xterm") -> Terminal:
    alice = Terminal(["--plain", "--port", str(server.port), "--room", "general",
                      "--nick", "alice", *extra], rows=rows, cols=80, term=term)
    alice.wait_for("You joined general as alice")
    return alice


def bob_on(server: ServerProcess) -> RawPeer:
    bob = RawPeer(server.port)
    bob.send(b"/join general\n/nick bob\n")
    bob.expect(b"REPLY nick 0")
    return bob


def prompt_shows(text: str, cursor_at: int | None = None):
    """A check: the last row drawn is the prompt with `text`, the cursor in it."""
    def check(t: Terminal) -> None:
        rows = [row for row in t.lines() if row]
        assert rows and rows[-1] == (PROMPT + text).rstrip(), f"the prompt row {PROMPT + text!r}"
        y = len(t.lines()) - 1 - t.lines()[::-1].index(rows[-1])
        at = len(PROMPT + text) if cursor_at is None else len(PROMPT) + cursor_at
        assert t.cursor == (y, at), f"the cursor at {(y, at)}"
    return check


def test_plain_terminal_left_left_x_edits_the_middle(chat_server, opened):
    alice, bob = opened(alice_on(chat_server), bob_on(chat_server))
    alice.send("abc" + LEFT + LEFT + "X")
    alice.wait_until(prompt_shows("aXbc", cursor_at=2))
    alice.send(ENTER)
    assert bob.expect(FROM_ALICE).endswith(b" aXbc")
    alice.wait_until(prompt_shows(""))


def test_plain_terminal_incoming_line_goes_above_the_half_typed_one(chat_server, opened):
    alice, bob = opened(alice_on(chat_server), bob_on(chat_server))
    alice.send("half typed")
    alice.wait_until(prompt_shows("half typed"))
    bob.send(b"interrupting\n")

    def above(t: Terminal) -> None:
        prompt_shows("half typed")(t)
        rows = [row for row in t.lines() if row]
        assert rows[-2] == "[general] bob: interrupting", "bob's line just above the prompt"
        assert not any("typed[general]" in row for row in rows)
    alice.wait_until(above)
    alice.send(ENTER)
    assert bob.expect(FROM_ALICE).endswith(b" half typed")


def test_plain_terminal_history_word_kill_and_tab(chat_server, opened):
    alice, bob = opened(alice_on(chat_server), bob_on(chat_server))
    alice.wait_for("* bob joined general")
    alice.send("hello wrld" + CTRL_W + "bo" + TAB + "hi")
    alice.wait_until(prompt_shows("hello bob hi"))
    alice.send(ENTER)
    assert bob.expect(FROM_ALICE).endswith(b" hello bob hi")
    alice.send(UP)
    alice.wait_until(prompt_shows("hello bob hi"))
    alice.send(" again" + ENTER)
    assert bob.expect(FROM_ALICE).endswith(b" hello bob hi again")


def test_plain_terminal_a_long_line_scrolls_sideways_and_follows_a_resize(chat_server, opened):
    alice = opened(alice_on(chat_server))
    words = " ".join(f"w{i:02d}" for i in range(25))  # 99 cells: wider than the window
    alice.send(words)

    def scrolled(width: int):
        def check(t: Terminal) -> None:
            rows = [row for row in t.lines() if row]
            last = rows[-1] if rows else ""
            assert last.startswith(PROMPT) and last.endswith(" w24"), "the end of the line"
            assert len(last) < width and t.cursor[1] == len(last), "one row, cursor at the end"
            assert sum(PROMPT in row for row in t.lines()) == 1, "one prompt row"
        return check
    alice.wait_until(scrolled(80))
    alice.resize(24, 50)  # (pyte cuts rows, as xterm does, so the row starts where it was)
    alice.wait_until(scrolled(50))


def test_plain_terminal_after_a_resize_finds_a_rewrapped_prompt_row(chat_server, opened):
    """Narrowed, a terminal that rewraps (tmux, VTE) puts the prompt row on two rows,
    the cursor on the second: asked where the cursor is, it says so (this test
    answers for it) and the client goes up a row before drawing the prompt anew."""
    alice = opened(alice_on(chat_server))
    alice.send("x" * 60)
    alice.wait_until(prompt_shows("x" * 60))  # the cursor in cell 76
    alice.resize(24, 40)
    alice.wait_for(lambda t: b"\x1b[6n" in t.raw, why="the question: where is the cursor?")
    del alice.raw[:]
    alice.send("\x1b[12;37R")  # row 12, column 37 (1-based): 76 % 40 + 1, one row down
    alice.wait_for(lambda t: b"\x1b[1A\r\x1b[J" + PROMPT.encode() in t.raw,
                   why="one row up, then the prompt row")


def test_plain_terminal_line_typed_before_the_autojoin_goes_to_the_room():
    """A fake server that is slow to answer --room and --nick: what was typed and
    entered meanwhile shows as typed, waits, and goes once both are answered."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        alice = Terminal(["--plain", "--port", str(listener.getsockname()[1]),
                          "--room", "general", "--nick", "pip"])
        try:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"HELLO parlor/2 hi\n")
                assert read_until(conn, b"/join general\n") == b"/nick pip\n/join general\n"
                alice.send("early")
                alice.wait_for("#general pip (joining)> early")
                alice.send(ENTER)
                alice.wait_for(lambda t: "early" not in t.text(), why="the line entered")
                assert read_quiet(conn, 0.3) == b""  # not before the answers
                conn.sendall(b"REPLY nick 0 you will be pip\n"
                             b"REPLY join 0 you joined general as pip\nHERE general pip\n")
                assert read_until(conn, b"early\n") == b"early\n"
        finally:
            alice.close()


def test_plain_terminal_paste_is_counted_whole_and_offers_cancel(chat_server, opened):
    alice = alice_on(chat_server, "--pace", "12,80", rows=50)  # the note does not scroll away
    bob = opened(alice, bob_on(chat_server))[1]
    lines = [f"pasted {i:02d}" for i in range(30)]
    alice.send("".join(line + ENTER for line in lines))  # a terminal pastes rows with CR
    told = ("Sending 30 lines at 80 a second, under the server's flood limit "
            "(/cancel drops the rest).")
    alice.wait_for(lambda t: told in " ".join(t.lines()).replace(" " + MARKER, " "), why=told)
    got = [bob.expect(FROM_ALICE).decode().split(" ", 5)[5] for _ in lines]
    assert got == lines


def test_plain_from_a_file_is_not_offered_cancel(start_server, connect, tmp_path):
    server = start_server(Limits(max_rate=100, burst=16, max_queue=50))
    watcher = connect(server)
    watcher.enter("general", "watcher")
    script = tmp_path / "lines.txt"
    script.write_text("".join(f"line {i}\n" for i in range(40)))
    with script.open("rb") as stdin:
        done = run_client(port_of(server), "--room", "general", "--nick", "fil",
                          "--pace", "12,80", stdin=stdin)
    assert done.returncode == 0
    out = done.stdout.decode()
    assert "\nSending 40 lines at 80 a second, under the server's flood limit.\n" in out
    assert "/cancel" not in out
    assert said(watcher.expect(lambda m: isinstance(m, p.Chat) and m.text == "line 39"))[1] == "fil"


# ------------------------------------------------------------------ the terminal given back
def edited(modes: int) -> bool:
    """The terminal is in the client's character mode: no line discipline, no echo."""
    return not modes & (termios.ICANON | termios.ECHO | termios.ISIG)


def restored(modes: int) -> bool:
    return modes & termios.ICANON and modes & termios.ECHO and modes & termios.ISIG


@pytest.mark.parametrize("ending,status", [
    ("/quit" + ENTER, 0), (CTRL_C, 0), ("\x04", 0), ("SIGTERM", -signal.SIGTERM),
])
def test_plain_terminal_is_given_back_as_it_was(chat_server, opened, ending, status):
    alice = opened(alice_on(chat_server))
    alice.send("half typed")
    alice.wait_until(prompt_shows("half typed"))
    assert edited(alice.local_modes())
    if ending == "SIGTERM":
        alice.child.kill(signal.SIGTERM)
    else:
        alice.send("\x01\x0b" + ending)  # Ctrl-A Ctrl-K: an empty line, for Ctrl-D
    assert alice.wait_eof() == status
    assert restored(alice.local_modes())
    assert PROMPT not in alice.text(), "the prompt row is taken away"


def test_plain_terminal_dumb_keeps_the_terminals_own_line_editing(chat_server, opened):
    alice = opened(alice_on(chat_server, term="dumb"))
    assert restored(alice.local_modes())
    alice.send("typed" + ENTER)
    alice.wait_for("[general] alice: typed")


def test_plain_terminal_private_messages_actions_and_away(chat_server, opened):
    alice, bob = opened(alice_on(chat_server), bob_on(chat_server))
    bob.send(b"/msg alice psst\n/me waves\n/away out for lunch\n")
    alice.wait_for("[general] (private) bob -> you: psst")
    alice.wait_for("[general] * bob waves")
    bob.expect(b"REPLY away 0")
    alice.send("/msg bob hi" + ENTER)
    alice.wait_for("[general] (private) you -> bob: hi")
    alice.wait_for("* Sent, but bob is away (a moment): out for lunch.")
    assert bob.expect(re.compile(rb"^PRIVATE general [0-9]+ alice bob ")).endswith(b" hi")
    alice.send("/who" + ENTER)
    alice.wait_for("In general: alice, bob (away a moment: out for lunch)")
