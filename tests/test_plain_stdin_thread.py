"""Line mode with stdin read by a thread into a socket pair (chat.client.stdin_thread),
as on Windows, where select takes sockets only: here chosen with
PARLOR_STDIN_THREAD=1.  The real `client.py --plain` against a real server, with stdin
a pipe, a regular file, and a pseudo-terminal (read through pyte); each test checks
that the reader thread is really there (the process has two threads, not one).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import termios

import pytest

from chat import protocol as p
from chat.client import stdin_thread
from conftest import said
from pty_harness import Terminal
from test_plain_client import ROOT, TIMEOUT, port_of, threads
from test_plain_terminal import bob_on, chat_server, edited, restored  # noqa: F401 (a fixture)

THREAD = {stdin_thread.ENV: "1"}
CTRL_C, CTRL_D, ENTER = "\x03", "\x04", "\r"


@pytest.fixture
def thread_env(monkeypatch):
    monkeypatch.setenv(stdin_thread.ENV, "1")  # (children inherit it)


# ------------------------------------------------------------------ the choice, pure
@pytest.mark.parametrize("platform,env,selectable,expected", [
    ("linux", {}, True, False),
    ("linux", {"PARLOR_STDIN_THREAD": "1"}, True, True),
    ("linux", {"PARLOR_STDIN_THREAD": "0"}, True, False),
    ("linux", {"PARLOR_STDIN_THREAD": ""}, True, False),
    ("darwin", {}, False, True),  # select refused this stdin
    ("win32", {}, True, True),
    ("win32", {"PARLOR_STDIN_THREAD": "0"}, True, True),  # Windows has no other way
])
def test_stdin_thread_is_wanted_on_windows_when_refused_or_asked(platform, env, selectable,
                                                                  expected):
    assert stdin_thread.wanted(platform, env, selectable) is expected


def test_stdin_thread_selectable_takes_a_pipe_and_not_what_select_refuses():
    r, w = os.pipe()
    try:
        assert stdin_thread.selectable(r)
    finally:
        os.close(r)
        os.close(w)
    assert not stdin_thread.selectable(-1)  # select refuses it (ValueError), as Windows
    #                                         refuses a console or a pipe (OSError)


# ------------------------------------------------------------------ piped
def test_plain_stdin_thread_reads_a_piped_file_to_its_end(server, connect, tmp_path, thread_env):
    """`type lines.txt | py client.py`: CR LF line ends, a last line with no newline,
    UTF-8; every line is said, then the end of input says goodbye."""
    watcher = connect(server)
    watcher.enter("general", "watcher")
    lines = [f"line {i:02d} é" for i in range(12)] + ["last, with no newline"]
    client = subprocess.Popen(
        [sys.executable, "client.py", "--plain", "--port", port_of(server),
         "--room", "general", "--nick", "fil"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert watcher.expect(p.Joined).nick == "fil"
        assert threads(client.pid) == 2, "no reader thread"
        out, err = client.communicate("\r\n".join(lines).encode(), timeout=TIMEOUT)
    finally:
        if client.poll() is None:
            client.kill()
            client.communicate()
    assert [watcher.expect(p.Chat).text for _ in lines] == lines
    assert client.returncode == 0 and err == b""
    assert out.decode().splitlines()[-1] == "* Server says: Goodbye."


def test_plain_stdin_thread_ctrl_c_quits(server, spawn, connect, thread_env):
    watcher = connect(server)
    watcher.enter("red", "watcher")
    client = spawn.client("--port", port_of(server), "--room", "red", "--nick", "ann")
    client.stdout.expect("In red:")
    assert threads(client.popen.pid) == 2, "no reader thread"
    client.popen.send_signal(signal.SIGINT)  # with stdin open: the thread still waits on it
    assert client.wait() == 0
    left = watcher.expect(lambda m: isinstance(m, p.Left) and m.nick == "ann")
    assert left.reason == "quit"  # it said /quit; it did not just drop the connection
    assert client.stdout.read_rest()[:1] == [""]
    assert client.stderr.read_rest() == []


# ------------------------------------------------------------------ in a terminal
@pytest.fixture
def alice(chat_server):
    """alice in line mode in a pty, stdin read by the thread: the terminal keeps its own
    line editing (cooked mode), as a Windows console does; no prompt row."""
    term = Terminal(["--plain", "--port", str(chat_server.port), "--room", "general",
                     "--nick", "alice"], env=THREAD)
    try:
        term.wait_for("You joined general as alice")
        assert threads(term.child.pid) == 2, "no reader thread"
        assert restored(term.local_modes()) and not edited(term.local_modes())
        yield term
    finally:
        term.close()


def test_plain_stdin_thread_terminal_paste_sends_each_line(chat_server, alice):
    bob = bob_on(chat_server)
    try:
        alice.send("one é" + ENTER + "two" + ENTER + "three" + ENTER)  # a paste: all at once
        for text in ("one é", "two", "three"):
            assert said(p.parse_server_line(bob.expect(b" alice ").decode()))[2] == text
        alice.wait_for("[general] alice: three")
    finally:
        bob.close()


def test_plain_stdin_thread_terminal_ctrl_d_ends_the_input(alice):
    alice.send("bye all" + ENTER)
    alice.wait_for("[general] alice: bye all")
    alice.send(CTRL_D)  # the terminal's own end of file, on an empty line
    assert alice.wait_eof() == 0
    assert "* Server says: Goodbye." in alice.text()


def test_plain_stdin_thread_terminal_ctrl_c_quits_and_leaves_the_modes(chat_server, alice):
    bob = bob_on(chat_server)
    try:
        alice.send("half a li")
        alice.send(CTRL_C)  # the terminal's interrupt key: SIGINT
        assert alice.wait_eof() == 0
        left = p.parse_server_line(bob.expect(p.encode(p.Left("general", "alice", "quit"))
                                              .rstrip(b"\n")).decode())
        assert left == p.Left("general", "alice", "quit")
    finally:
        bob.close()
    assert "Traceback" not in alice.text()
    modes = alice.local_modes()
    assert restored(modes) and modes & termios.ICANON
