"""The client core's chat side, sans I/O: server lines in, entries and what to show out."""
from __future__ import annotations

from chat import client as c
from test_client_games import OVER, START, core_fed


def texts(core: c.ClientCore) -> list[str]:
    return [e.text for e in core.take_entries()]


def test_client_core_own_nick_change_is_told_once():
    core = core_fed("HERE general alice\n")
    core.take_entries()
    core.receive_data(b"REPLY nick 0 you are now BOB in general\nHERE general BOB\n"
                      b"NICK general alice BOB\nNICK general carol dave\n")
    assert texts(core) == ["You are now BOB in general.", "carol is now known as dave"]


def test_client_core_help_lists_quit_once_when_the_server_answers_too():
    core = core_fed()
    core.submit("/help")
    assert not any("/quit" in t for t in texts(core))  # the server's /help lists it
    assert core.data_to_send() == b"/help\n"
    core.connection_lost("gone")
    core.take_entries()
    core.submit("/help")
    assert sum("/quit" in t for t in texts(core)) == 1


def test_client_core_alone_in_a_new_room_without_a_nick():
    core = core_fed("HERE general *\nMEMBERS general 0 1 without a nick yet\n")
    assert texts(core) == ["In general: nobody else yet"]
    assert core.here_count() == 1


def test_client_core_who_counts_everyone_here():
    core = core_fed("HERE general *\nMEMBERS general 2 2 without a nick yet\n"
                    "MEMBER general alice\nMEMBER general bob\n")
    assert texts(core) == ["In general: alice, bob, 1 without a nick yet, and you (no nick yet)"]
    assert core.here_count() == 4
    core.receive_data(b"HERE general carol\nJOIN general carol\n")
    assert core.here_count() == 4
    core.receive_data(b"JOIN general dave\nPART general bob left\n")
    assert core.here_count() == 3  # dave was the one without a nick


def test_client_core_who_for_another_room_is_told_as_is():
    core = core_fed("HERE general alice\nMEMBERS den 1 2 without a nick yet\nMEMBER den bob\n")
    assert texts(core) == ["In den: bob, 2 without a nick yet"]
    core.receive_data(b"MEMBERS general 1\nMEMBER general alice\n")
    assert texts(core) == ["In general: alice"] and core.here_count() == 1


def test_client_core_place_is_where_it_will_rejoin_while_offline():
    core = core_fed("HERE general alice\n")
    assert core.place() == ("general", "alice", "")
    core.connection_lost("reset")
    assert core.place() == ("general", "alice", "offline")
    core.connection_made()
    assert core.place() == ("general", "alice", "joining")
    core.receive_data(b"HELLO parlor/1 hi\nHERE general *\nHERE general alice\n")
    assert core.place() == ("general", "alice", "")


def test_client_core_place_in_the_lobby():
    core = core_fed("HERE * *\n")
    core.connection_lost("reset")
    assert core.place() == (None, None, "offline")


def test_client_core_after_bye_the_lost_connection_is_one_short_line():
    core = core_fed("HELLO parlor/1 hi\nHERE general alice\n")
    core.take_entries()
    core.receive_data(b"BYE flooding: slow down\n")
    core.connection_lost("the server closed the connection")
    assert texts(core) == ["Server says: Flooding: slow down.", "Disconnected."]
    core.connection_made()
    core.connection_lost("reset by peer")  # no BYE this time: say what happened
    assert texts(core) == ["Lost the connection to test: reset by peer."]


def test_client_core_turned_away_again_for_the_same_reason_says_nothing_new():
    core = core_fed("BYE the server is full (1 connections); try again later\n")
    core.connection_lost("the server closed the connection")
    assert texts(core) == ["Server says: The server is full (1 connections); try again later.",
                           "Disconnected."]
    for _ in range(3):  # the shell retries: the same refusal is not news
        core.connection_made()
        core.receive_data(b"BYE the server is full (1 connections); try again later\n")
        core.connection_lost("the server closed the connection")
        assert texts(core) == [] and not core.greeted
    core.connection_made()
    core.receive_data(b"BYE shutting down\n")  # a different reason is news
    core.connection_lost("the server closed the connection")
    assert texts(core) == ["Server says: Shutting down.", "Disconnected."]


def test_client_core_greeting_is_told_per_connection():
    core = core_fed()
    assert not core.greeted
    core.receive_data(b"HELLO parlor/1 hi\n")
    assert core.greeted
    core.connection_lost("reset")
    core.connection_made()
    assert not core.greeted


def test_client_core_settled_once_the_autojoin_is_answered():
    core = c.ClientCore("test", room="general", nick="pip")
    core.connection_made()
    assert not core.settled
    core.receive_data(b"HELLO parlor/1 hi\n")
    assert core.data_to_send() == b"/nick pip\n/join general\n" and not core.settled
    core.receive_data(b"REPLY nick 0 your nick will be pip\n")
    assert not core.settled
    core.receive_data(b"REPLY join 1 no such room\n")  # a failure settles it too
    assert core.settled


def test_client_core_settled_at_hello_without_autojoin():
    core = core_fed()
    assert not core.settled
    core.receive_data(b"HELLO parlor/1 hi\n")
    assert core.settled


LOST_GAME = "The tictactoe game in #general was lost with the connection: leaving forfeits it."


def test_client_core_a_game_of_mine_lost_with_the_connection_is_told():
    core = core_fed(START)
    core.take_entries()
    core.connection_lost("reset")
    assert texts(core) == ["Lost the connection to test: reset.", LOST_GAME]
    assert core.game_panel() is None


def test_client_core_a_game_i_only_watch_or_that_is_over_is_not_told():
    watcher = core_fed("HERE general erin\n", START.replace("HERE general alice\n", ""))
    watcher.take_entries()
    watcher.connection_lost("reset")
    assert texts(watcher) == ["Lost the connection to test: reset."]
    player = core_fed(START, OVER)
    player.take_entries()
    player.connection_lost("reset")
    assert texts(player) == ["Lost the connection to test: reset."]


def test_client_core_asked_reconnect_keeps_the_room_and_nick_to_rejoin():
    core = core_fed("HERE general alice\n")
    core.take_entries()
    core.connection_lost("you asked for a new connection", asked=True)
    assert texts(core) == [f"Reconnecting to {core.address}: you asked for a new connection."]
    assert (core.room, core.nick) == (None, None)
    core.connection_made()
    core.receive_data(b"HELLO parlor/1 hi\n")
    assert core.data_to_send() == b"/nick alice\n/join general\n"
