"""The client core's side of history, sans I/O: the replay on join, older pages,
and catching up after a reconnect; and the scrollback taking pages above."""
from __future__ import annotations

import time

from chat import protocol as p
from chat.client import core as c
from chat.client import scrollback as sb
from test_client_games import core_fed

DAY1 = time.mktime((2026, 11, 30, 22, 0, 0, 0, 0, -1))  # local time: Monday evening
DAY2 = DAY1 + 4 * 3600  # after midnight: Tuesday


def entry(i: int, when: float, nick: str = "bob", text: str = "", kind: str = p.SAY) -> str:
    stamp = p.format_time(when)
    return f"ENTRY general {i} {kind} {nick} * {stamp} {text or f'message {i}'}\n"


def page(why: str, *lines: str, older: int = 0) -> bytes:
    return (f"HISTORY general {len(lines)} {older} {why}\n" + "".join(lines)).encode()


def test_client_history_join_replay_is_dimmed_dated_and_ends_in_now():
    core = core_fed("HERE general alice\n")
    core.take_entries()
    core.receive_data(page(p.ON_JOIN, entry(1, DAY1), entry(2, DAY2),
                           entry(3, DAY2, "*", "bob joined", p.NOTICE), older=1))
    got = [(e.kind, e.text) for e in core.take_entries()]
    assert got == [(c.DIVIDER, "Monday 30 November 2026"), (c.PAST, "message 1"),
                   (c.DIVIDER, "Tuesday 1 December 2026"), (c.PAST, "message 2"),
                   (c.PAST_NOTICE, "bob joined"), (c.DIVIDER, c.NOW_LINE)]
    assert core.last_id == {"general": 3}


def test_client_history_slash_history_asks_before_the_oldest_shown():
    core = core_fed("HERE general alice\n")
    core.receive_data(page(p.ON_JOIN, entry(40, DAY1), entry(41, DAY1), older=1))
    core.data_to_send(0.0)
    core.submit("/history 10")
    assert core.data_to_send(0.0) == b"/history 10 40\n"


def test_client_history_an_older_page_goes_above_not_below():
    core = core_fed("HERE general alice\n")
    core.receive_data(page(p.ON_JOIN, entry(40, DAY2), older=1))
    core.take_entries()
    core.data_to_send(0.0)
    assert core.fetch_older()
    assert not core.fetch_older()  # one page at a time
    assert core.data_to_send(0.0) == f"/history {c.HISTORY_PAGE} 40\n".encode()
    core.receive_data(page(p.PAGE, entry(38, DAY2), entry(39, DAY2), older=0))
    assert [e.text for e in core.take_entries()] == []
    older = [e.text for e in core.take_older()]
    assert older[0] == "The beginning of this room's history."
    assert older[-2:] == ["message 38", "message 39"]
    assert not core.fetch_older()  # nothing older is kept


def test_client_history_reconnect_catches_up_from_the_last_id_seen():
    core = core_fed("HERE general alice\n")
    core.receive_data(b"MSG general 7 bob 2026-12-01T10:31:05.123Z hi\n")
    core.data_to_send(0.0)
    core.connection_lost("reset")
    core.connection_made()
    core.receive_data(b"HELLO parlor/4 hi\n")
    assert core.data_to_send(0.0) == b"/nick alice\n/join general\n/missed 7\n"
    core.receive_data(b"HERE general alice\n" + page(p.ON_JOIN, entry(6, DAY2), entry(7, DAY2)))
    core.take_entries()
    core.receive_data(page(p.CAUGHT_UP, entry(9, DAY2), entry(12, DAY2), older=3))
    got = [(e.kind, e.text) for e in core.take_entries()]
    assert got[0] == (c.DIVIDER, c.AWAY_LINE)
    assert "3 earlier messages" in got[1][1]
    assert [t for k, t in got if k == c.PAST] == ["message 9", "message 12"]
    assert got[-1] == (c.DIVIDER, c.NOW_LINE)
    assert core.last_id["general"] == 12


def test_client_history_a_refused_catch_up_lets_the_next_replay_show():
    core = core_fed("HERE general alice\n")
    core.receive_data(b"MSG general 7 bob 2026-12-01T10:31:05.123Z hi\n")
    core.connection_lost("reset")
    core.connection_made()
    core.receive_data(b"HELLO parlor/4 hi\nHERE general alice\n"
                      b"REPLY missed 1 there is no message 7 yet\n")
    core.take_entries()
    core.receive_data(page(p.ON_JOIN, entry(1, DAY2)))
    assert c.PAST in [e.kind for e in core.take_entries()]


def line(text: str) -> sb.Entry:
    return sb.Entry("10:00", ((text, "text"),), "chat", 1)


def test_scrollback_prepend_goes_above_and_keeps_the_pane_still():
    scroll = sb.Scrollback()
    scroll.extend(line(f"now {i}") for i in range(10))
    scroll.visible(40, 4)
    scroll.page_up()
    scroll.page_up()
    scroll.page_up()
    assert scroll.at_top
    before = scroll.visible(40, 4)
    scroll.prepend([line(f"old {i}") for i in range(5)])
    assert scroll.visible(40, 4) == before and not scroll.at_top
    scroll.page_up()
    assert "old" in "".join(text for text, _ in scroll.visible(40, 4)[0])
    assert [e.segments[0][0] for e in scroll.entries][:2] == ["old 0", "old 1"]
