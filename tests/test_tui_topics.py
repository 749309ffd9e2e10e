"""Topics, ignoring and the read marker as a user sees them: the real client.py in a
pseudo-terminal (full screen, and line mode), read through pyte, against a real
server.py, with others on raw sockets.  Nothing sleeps: every wait has a deadline."""
from __future__ import annotations

import json

import pytest

from chat.client.scrollback import MARKER
from pty_harness import ENTER, RawPeer, Terminal
from test_plain_terminal import alice_on
from test_tui import chat_server, join, pane, raw_peers, servers, terminals  # noqa: F401 (fixtures)

PGUP, END = "\x1b[5~", "\x1bOF"  # as an xterm sends them in keypad mode


def test_tui_topic_is_the_top_line_changes_are_told_and_it_fits_small_and_big(
        chat_server, terminals, raw_peers):
    bob = raw_peers(chat_server.port, "bob")
    bob.send(b"/topic the plan for friday is to ship the release and then rest\n")
    bob.expect(b"TOPIC general bob")
    small = join(terminals, chat_server.port, "alice", others=1, rows=12, cols=40)
    big = join(terminals, chat_server.port, "carol", others=2, rows=50, cols=160)

    def topic_on_top(t: Terminal) -> None:
        assert t.row(0).startswith(" the plan for friday")
        assert "Topic of general: the plan for" in t.text()  # (wrapped at 40 columns)
        assert "(set by bob at " in t.text()
    for t in (small, big):
        t.wait_until(topic_on_top)
    assert small.row(0) == " the plan for friday is to ship the..."  # cut at a word
    assert big.row(0).rstrip() == " the plan for friday is to ship the release and then rest"

    small.send("/topic lunch at noon" + ENTER)

    def changed(t: Terminal) -> None:
        assert t.row(0).rstrip() == " lunch at noon"
        assert "alice set the topic of general:" in t.text()
        assert t.status().startswith(" #general | ")  # the bars stay where they were
    for t in (small, big):
        t.wait_until(changed)
    bob.expect(b"TOPIC general alice")


def test_tui_read_marker_after_scrolling_back(chat_server, terminals, raw_peers):
    bob = raw_peers(chat_server.port, "bob")
    alice = join(terminals, chat_server.port, "alice", others=1, rows=12, cols=60)
    for i in range(20):
        bob.send(f"line {i}\n".encode())
    alice.wait_for("bob: line 19")
    alice.send(PGUP)
    alice.wait_for(lambda t: "scrolled back" in t.status(), why="scrolled back")
    bob.send(b"after you looked\n")
    alice.wait_for(lambda t: "1 new" in t.status(), why="one new message counted")
    alice.send(END)

    def marked(t: Terminal) -> None:
        rows = [row.strip() for row in pane(t)]
        assert MARKER in rows, "the marker"
        at = rows.index(MARKER)
        assert rows[at - 1].endswith("bob: line 19") and rows[at + 1].endswith(
            "bob: after you looked")
    alice.wait_until(marked)


def test_tui_read_marker_after_being_away(chat_server, terminals, raw_peers):
    bob = raw_peers(chat_server.port, "bob")
    alice = join(terminals, chat_server.port, "alice", others=1, rows=12, cols=60)
    bob.send(b"before\n")
    alice.wait_for("bob: before")
    alice.send("/away lunch" + ENTER)
    alice.wait_for("You are away: lunch.")
    bob.send(b"while you ate\n")
    alice.wait_for("bob: while you ate")
    alice.send("/back" + ENTER)
    alice.wait_for("Welcome back")
    bob.send(b"after\n")
    alice.wait_for("bob: after")

    def marked(t: Terminal) -> None:
        rows = [row.strip() for row in pane(t)]
        assert rows.count(MARKER) == 1, "one marker"
        assert rows[rows.index(MARKER) + 1].endswith("bob: while you ate")
    alice.wait_until(marked)


def test_tui_read_marker_after_a_reconnect_sits_before_what_was_missed(servers, terminals,
                                                                        tmp_path):
    db = str(tmp_path / "history.db")
    first = servers(0, "--db", db)
    port = first.port
    alice = join(terminals, port, "alice")
    alice.send("seen before" + ENTER)  # the last message alice saw: the catch-up starts there
    alice.wait_for("alice: seen before")
    first.kill()
    # 4 s before alice's next try (the third wait or a later one) is time enough for bob.
    alice.wait_for(lambda t: "reconnecting in 4 s" in t.status(), why="4 s to the next try",
                   timeout=20)
    servers(port, "--db", db)
    bob = RawPeer(port)
    try:
        bob.send(b"/join general\n/nick bob\nsaid while you were gone\n")
        bob.expect(b"said while you were gone")
        alice.send(ENTER)  # reconnect now

        def caught_up(t: Terminal) -> None:
            rows = [row.strip() for row in pane(t)]
            assert MARKER in rows, "the marker"
            at = rows.index(MARKER)
            assert rows[at + 1] == "--- while you were away ---"
            assert any(r.endswith("bob: said while you were gone") for r in rows[at + 1:])
        alice.wait_until(caught_up)
    finally:
        bob.close()


# ------------------------------------------------------------------ line mode
def test_plain_terminal_topic_on_join_in_list_and_when_changed(chat_server, raw_peers):
    bob = raw_peers(chat_server.port, "bob")
    bob.send(b"/topic ship it\n")
    bob.expect(b"TOPIC general bob")
    alice = alice_on(chat_server)
    try:
        alice.wait_for("Topic of general: ship it (set by bob at ")
        alice.send("/list" + ENTER)
        alice.wait_for("  general (2): ship it")
        bob.send(b"/topic -delete\n")
        alice.wait_for("* bob removed the topic of general")
        alice.send("/topic" + ENTER)
        alice.wait_for("* There is no topic in general; /topic TEXT sets one.")
    finally:
        alice.close()


def test_plain_terminal_ignore_hides_and_is_kept_for_the_next_run(chat_server, raw_peers,
                                                                  monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    bob, carol = raw_peers(chat_server.port, "bob"), raw_peers(chat_server.port, "carol")
    alice = alice_on(chat_server)
    try:
        alice.send("/ignore bob" + ENTER)
        alice.wait_for("Ignoring bob: their messages are hidden on your side")
        bob.send(b"you cannot see this\n")
        carol.send(b"but this you can\n")
        alice.wait_for("[general] carol: but this you can")
        assert "you cannot see this" not in alice.text()
        alice.send("/quit" + ENTER)  # (a hang-up would hold the nick for the grace)
        assert alice.wait_eof() == 0
    finally:
        alice.close()
    kept = json.loads((tmp_path / "parlor" / "settings.json").read_text())
    assert kept == {"ignored": ["bob"]}
    again = alice_on(chat_server)
    try:
        again.send("/ignore" + ENTER)
        again.wait_for("You ignore bob (/unignore NICK shows someone again).")
        bob.send(b"still hidden\n")
        carol.send(b"still shown\n")
        again.wait_for("[general] carol: still shown")
        assert "still hidden" not in again.text()
    finally:
        again.close()


def test_plain_terminal_a_bad_settings_file_is_a_sentence(chat_server, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "parlor").mkdir()
    (tmp_path / "parlor" / "settings.json").write_text("{oops")
    alice = alice_on(chat_server)
    try:
        # The sentence names the file, so where it wraps depends on the path's length:
        # read it with the line mode's wrapping ("  | " before each continuation) undone.
        def told(t: Terminal) -> None:
            flat = " ".join(row.strip().removeprefix("| ") for row in t.lines())
            assert "is not valid JSON" in flat and "nobody is ignored for now" in flat
        alice.wait_until(told)
    finally:
        alice.close()
