"""Private messages, /me and away in the client, sans I/O: the core's entries, the bell,
what it sends; the full-screen frame and line mode's lines.  No sockets, no pty."""
from __future__ import annotations

import dataclasses

import pytest

from chat import protocol as p
from chat.client import core as c
from chat.client import events as ev
from chat.client import frame as fr
from chat.client import scrollback as sb
from chat.client.plain import format_entry
from test_client_core import Clock
from test_client_games import core_fed
from test_frame import AT_0930, View, chatting

STAMP = "2024-01-01T09:30:00.000Z"


def entries(core: c.ClientCore) -> list[tuple[str, str, str, str]]:
    return [(e.kind, e.nick, e.to, e.text) for e in core.take_entries()]


def test_client_direct_private_messages_both_ways_show_me_as_you():
    core = core_fed("HERE general alice\n")
    core.take_entries()
    core.receive_data(f"PRIVATE general 4 bob alice {STAMP} psst\n"
                      f"PRIVATE general 5 alice bob {STAMP} what?\n".encode())
    assert entries(core) == [(c.PRIVATE, "bob", "you", "psst"),
                             (c.PRIVATE_SENT, "you", "bob", "what?")]
    assert core.last_id == {"general": 5}  # a catch-up after a drop starts after them
    assert core.members[0] == "bob"  # Tab offers who wrote last first


def test_client_direct_a_private_message_rings_like_a_mention_and_bell_off_silences_it():
    clock = Clock()
    core = c.ClientCore("test", clock=clock)
    core.connection_made()
    core.receive_data(f"HERE general alice\nPRIVATE general 4 alice bob {STAMP} mine\n".encode())
    assert core.requests == []  # my own: no bell
    core.receive_data(f"PRIVATE general 5 bob alice {STAMP} one\n"
                      f"PRIVATE general 6 bob alice {STAMP} two\n".encode())
    assert core.requests == [ev.Bell()]  # a burst rings once (the mention's limit)
    clock.now += c.BELL_GAP
    core.submit("/bell off")
    core.receive_data(f"PRIVATE general 7 bob alice {STAMP} three\n".encode())
    assert core.requests == [ev.Bell()]


def test_client_direct_an_action_and_its_replay():
    core = core_fed("HERE general alice\n")
    core.take_entries()
    core.receive_data(f"ACTION general 3 bob {STAMP} waves\n"
                      f"HISTORY general 2 0 join\n"
                      f"ENTRY general 1 action bob * {STAMP} waved\n"
                      f"ENTRY general 2 private bob alice {STAMP} old secret\n".encode())
    got = entries(core)
    assert got[0] == (c.ACTION, "bob", "", "waves")
    assert (c.PAST_ACTION, "bob", "", "waved") in got
    assert (c.PAST_PRIVATE, "bob", "you", "old secret") in got


def test_client_direct_who_shows_who_is_away():
    core = core_fed("HERE general alice\nMEMBERS general 2 0\nMEMBER general alice\n"
                    "MEMBER general bob away 5 min: lunch \x1b\n")
    assert [e.text for e in core.take_entries()] == ["In general: alice, bob (away 5 min: lunch ^[)"]


@pytest.mark.parametrize("typed, sent", [
    ("/msg bob hi", [b"/msg bob hi\n"]),
    ("/w bob " + "x " * 600, [b"/msg bob " + b"x " * 449 + b"x\n", b"/msg bob " + b"x " * 149 + b"x\n"]),
    ("/me " + "y" * 1000, [b"/me " + b"y" * p.MAX_TEXT + b"\n", b"/me " + b"y" * 100 + b"\n"]),
    ("/r " + "z" * 901, [b"/r " + b"z" * p.MAX_TEXT + b"\n", b"/r z\n"]),
    ("/msg", [b"/msg\n"]),  # (the server says the usage)
])
def test_client_direct_long_text_goes_in_pieces_within_the_limit(typed, sent):
    core = core_fed("HELLO parlor/4 hi\nHERE general alice\n")
    core.submit(typed)
    assert core.data_to_send(0.0).splitlines(True) == sent


# ------------------------------------------------------------------ the full-screen frame
def test_frame_private_messages_are_set_apart_with_the_nicks_in_their_colours():
    view = chatting().feed(f"PRIVATE general 3 bob alice {STAMP} psst\n"
                           f"PRIVATE general 4 alice bob {STAMP} hi\n"
                           f"ACTION general 5 bob {STAMP} waves\n")
    frame = view.paint(10, 50)
    rows = frame.text()
    assert rows[5:8] == ["09:30 (private) bob -> you: psst".ljust(50),
                         "09:30 (private) you -> bob: hi".ljust(50),
                         "09:30 * bob waves".ljust(50)]
    runs = [[(text, style) for _, text, style in frame.rows[y] if style != "time"]
            for y in (5, 6, 7)]
    assert runs == [
        [(" ", "text"), ("(private) ", "private"), ("bob", "nick:bob"), (" -> ", "private"),
         ("you", "own"), (": psst", "private")],
        [(" ", "text"), ("(private) ", "private"), ("you", "own"), (" -> ", "private"),
         ("bob", "nick:bob"), (": hi", "private")],
        [(" * ", "text"), ("bob", "nick:bob"), (" waves", "text")]]


def test_frame_status_bar_counts_the_private_messages_below_while_scrolled_back():
    view = View(f"HELLO parlor/4 hi\nHERE general alice\nMEMBERS general 2 0\n"
                f"MEMBER general alice\nMEMBER general bob\n"
                + "".join(f"MSG general {i} bob {STAMP} line {i}\n" for i in range(20)))
    view.scroll = sb.Scrollback(counted=frozenset({c.PRIVATE}))
    for entry in view.core.take_entries():
        view.scroll.append(fr.to_scroll_entry(dataclasses.replace(entry, time=AT_0930)))
    view.feed(*(f"MSG general {i} bob {STAMP} line {i}\n" for i in range(20, 30)))
    view.paint(10, 60)
    view.scroll.page_up()
    view.feed(f"PRIVATE general 40 bob alice {STAMP} psst\nMSG general 41 bob {STAMP} more\n"
              f"PRIVATE general 42 alice bob {STAMP} mine\n")
    assert view.paint(10, 60).text()[8].startswith(" MORE BELOW (3 new, 1 private) | #general")
    view.scroll.scroll_to_bottom()
    view.scroll.page_up()
    assert view.paint(10, 60).text()[8].startswith(" scrolled back | #general")


def test_scrollback_counts_a_kind_only_below_the_pane():
    scroll = sb.Scrollback(counted=frozenset({"p"}))
    scroll.extend(sb.Entry("", ((f"line {i}", "text"),)) for i in range(10))
    scroll.visible(20, 3)
    scroll.scroll_up(2)
    scroll.extend(sb.Entry("", (("x", "text"),), kind) for kind in ("p", "q", "p"))
    assert (scroll.unread, scroll.unread_counted) == (3, 2)
    scroll.scroll_down(3)  # the first of them in the pane now
    assert (scroll.unread, scroll.unread_counted) == (2, 1)
    scroll.scroll_to_bottom()
    assert scroll.unread_counted == 0


# ------------------------------------------------------------------ line mode
@pytest.mark.parametrize("entry, line", [
    (c.Entry(c.PRIVATE, "psst", "bob", "general", AT_0930, "you"),
     "[general] (private) bob -> you: psst"),
    (c.Entry(c.PRIVATE_SENT, "hi", "you", "general", AT_0930, "bob"),
     "[general] (private) you -> bob: hi"),
    (c.Entry(c.ACTION, "waves", "bob", "general", AT_0930), "[general] * bob waves"),
    (c.Entry(c.PAST_PRIVATE, "old", "bob", "general", AT_0930, "you"),
     "2024-01-01 09:30 [general] (private) bob -> you: old"),
    (c.Entry(c.PAST_ACTION, "waved", "bob", "general", AT_0930), "2024-01-01 09:30 [general] * bob waved"),
])
def test_plain_format_private_and_action(entry, line):
    assert format_entry(entry) == line
