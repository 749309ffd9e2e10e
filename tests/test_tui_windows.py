"""The full-screen client's Windows branch, run here: tests/as_windows.py starts the
real client with chat.client.tui.WINDOWS switched on, in a pseudo-terminal read
through pyte, against a real server.py.  What runs is what runs on Windows except
curses itself (ncurses here, PDCurses there): keys polled, not selected on; no
SIGWINCH handler and no wake-up pipe; a resize seen as KEY_RESIZE only; Ctrl-C a key.
"""
from __future__ import annotations

import re
import termios

import pytest

from chat import protocol as p
from pty_harness import CTRL_C, ENTER, RMCUP, SMCUP, RawPeer, ServerProcess, Terminal
from test_tui import NATO, wrapped

AS_WINDOWS = "tests/as_windows.py"
FROM_ALICE = re.compile(rb"^MSG general [0-9]+ alice ")


@pytest.fixture
def chat_server():
    server = ServerProcess()
    yield server
    server.stop()


@pytest.fixture
def alice(chat_server):
    term = Terminal(["--port", str(chat_server.port), "--room", "general", "--nick", "alice"],
                    program=AS_WINDOWS)
    try:
        term.wait_until(lambda t: _assert("1 here" in t.status(), "in the room"))
        yield term
    finally:
        term.close()


@pytest.fixture
def bob(chat_server):
    peer = RawPeer(chat_server.port)
    peer.send(b"/join general\n/nick bob\n")
    peer.expect(b"REPLY nick 0")
    yield peer
    peer.close()


def _assert(condition: bool, why: str) -> None:
    assert condition, why


def test_tui_windows_chats_both_ways_with_wide_characters(alice, bob):
    assert alice.screen.alternate and not alice.local_modes() & termios.ISIG  # raw mode
    alice.send("héllo 日本 ✓" + ENTER)  # get_wch: whole characters, not bytes
    line = bob.expect(FROM_ALICE)
    assert p.parse_server_line(line.decode()).text == "héllo 日本 ✓"
    bob.send("ça va, 世界?\n".encode())
    alice.wait_for("bob: ça va, 世界?")  # the socket is selected on; keys are polled


def test_tui_windows_resize_is_a_key_and_relays_out(alice):
    alice.send(NATO + ENTER)
    alice.wait_until(wrapped("alice: ", NATO))
    alice.resize(20, 60)  # no SIGWINCH handler here: curses reports KEY_RESIZE

    def relaid(t: Terminal) -> None:
        assert "#general | alice | 1 here | connected" in t.row(18)
        assert t.row(19) == "#general alice>" and t.cursor == (19, 16)
        wrapped("alice: ", NATO)(t)
    alice.wait_until(relaid)
    alice.send("still typing")
    alice.wait_for(lambda t: t.row(19) == "#general alice> still typing", why="typed text")


def test_tui_windows_ctrl_c_is_a_key_that_quits_and_gives_the_terminal_back(alice, bob):
    alice.send(CTRL_C)
    assert alice.wait_eof() == 0, alice.dump()
    assert p.parse_server_line(bob.expect(b" alice ").decode()) == \
        p.Left("general", "alice", "quit")
    raw = bytes(alice.raw)
    assert raw.rfind(RMCUP) > raw.rfind(SMCUP) >= 0
    modes = alice.local_modes()
    assert modes & termios.ICANON and modes & termios.ECHO and modes & termios.ISIG


def test_tui_windows_with_no_dim_notices_and_times_are_grey(chat_server):
    """PDCurses has no dim attribute (tests/as_windows.py sets tui.DIM to 0 as it is
    there): on a 16-colour terminal what is dimmed elsewhere is grey instead, and what
    is said stays in the terminal's own colour."""
    alice = Terminal(["--port", str(chat_server.port), "--room", "general", "--nick", "alice"],
                     program=AS_WINDOWS, term="xterm-256color")
    try:
        alice.send("hello" + ENTER)

        def grey_and_plain(t: Terminal) -> None:
            rows = t.lines()
            joined = [y for y, row in enumerate(rows) if "You joined general" in row]
            said = [y for y, row in enumerate(rows) if row.endswith("alice: hello")]
            assert joined and said, "the notice and the line"
            joined, said = joined[0], said[0]
            star = rows[joined].index("* You joined")
            assert t.screen.buffer[joined][star].fg == "brightblack", "the notice is grey"
            assert t.screen.buffer[said][0].fg == "brightblack", "its time is grey"
            text = rows[said].index("hello")
            assert t.screen.buffer[said][text].fg == "default", "what is said is not"
        alice.wait_until(grey_and_plain)
    finally:
        alice.close()


def test_tui_windows_keypad_with_numlock_off_moves_as_home_and_end(alice):
    """The keypad's 7 and 1 with NumLock off are Home and End: PDCurses says KEY_A1 and
    KEY_C1 (an xterm sends ESC O w and ESC O q for them, which ncurses names so too)."""
    alice.send("abc" + "\x1bOw" + "X")
    alice.wait_for(lambda t: t.input_line() == "#general alice> Xabc", why="X at the start")
    alice.send("\x1bOq" + "Y")
    alice.wait_for(lambda t: t.input_line() == "#general alice> XabcY", why="Y at the end")
