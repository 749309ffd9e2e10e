"""The client core's chat side, sans I/O: server lines in, entries and what to show out."""
from __future__ import annotations

from chat import client as c
from test_client_games import core_fed


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
