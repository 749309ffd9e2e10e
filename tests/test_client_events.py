"""The client core's requests to its view are typed events (chat/client/events.py)."""
from __future__ import annotations

from chat import protocol as p
from chat.client import events as ev
from chat.client.plain import LINE_MODE_CANNOT
from test_client_games import core_fed


def test_client_events_local_commands_ask_the_view():
    core = core_fed("HERE general alice\n")
    core.submit("/clear")
    core.submit("/reconnect")
    assert core.requests == [ev.ClearPane(), ev.Reconnect()]


def test_client_events_a_mention_rings_only_with_the_bell_on():
    core = core_fed("HERE general alice\n")
    core.receive_data(b"MSG general 1 bob 2026-12-01T10:31:05.123Z hi alice\n")
    assert core.requests == [ev.Bell()]
    core.requests.clear()
    core.submit("/bell off")
    core.receive_data(b"MSG general 1 bob 2026-12-01T10:31:05.123Z alice?\n"
                      b"MSG general 1 bob 2026-12-01T10:31:06.000Z no mention\n")
    assert core.requests == []


def test_client_events_line_mode_lacks_the_pane_and_the_reconnect():
    core = core_fed("HERE general alice\n")
    assert {command for command, _ in LINE_MODE_CANNOT.values()} == {p.ClearPane, p.Reconnect}
    core.view_lacks = {p.ClearPane, p.Reconnect}
    core.connection_lost("reset")
    core.take_entries()
    core.submit("/help")
    helped = " ".join(e.text for e in core.take_entries())
    assert "/bell" in helped and "/clear" not in helped and "/reconnect" not in helped
