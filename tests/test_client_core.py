"""The client core's chat side, sans I/O: server lines in, entries and what to show out."""
from __future__ import annotations

from chat import protocol as p
from chat.client import core as c
from chat.client import events as ev
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
    assert core.data_to_send(0.0) == b"/help\n"
    core.connection_lost("gone")
    core.take_entries()
    core.submit("/help")
    assert sum("/quit" in t for t in texts(core)) == 1


def test_client_core_alone_in_a_new_room_without_a_nick():
    core = core_fed("HERE general *\nMEMBERS general 0 1 1 without a nick yet\n")
    assert texts(core) == ["In general: nobody else yet"]
    assert core.here_count() == 1


def test_client_core_who_counts_everyone_here():
    core = core_fed("HERE general *\nMEMBERS general 2 2 2 without a nick yet\n"
                    "MEMBER general alice\nMEMBER general bob\n")
    assert texts(core) == ["In general: alice, bob, 1 without a nick yet, and you (no nick yet)"]
    assert core.here_count() == 4
    core.receive_data(b"HERE general carol\nJOIN general carol\n")
    assert core.here_count() == 4
    core.receive_data(b"JOIN general dave\nPART general bob left\n")
    assert core.here_count() == 3  # dave was the one without a nick


def test_client_core_who_for_another_room_is_told_as_is():
    core = core_fed("HERE general alice\nMEMBERS den 1 2 2 without a nick yet\nMEMBER den bob\n")
    assert texts(core) == ["In den: bob, 2 without a nick yet"]
    core.receive_data(b"MEMBERS general 1 0\nMEMBER general alice\n")
    assert texts(core) == ["In general: alice"] and core.here_count() == 1


def test_client_core_place_is_where_it_will_rejoin_while_offline():
    core = core_fed("HERE general alice\n")
    assert core.place() == ("general", "alice", "")
    core.connection_lost("reset")
    assert core.place() == ("general", "alice", "offline")
    core.connection_made()
    assert core.place() == ("general", "alice", "joining")
    core.receive_data(b"HELLO parlor/4 hi\nHERE general *\nHERE general alice\n")
    assert core.place() == ("general", "alice", "")


def test_client_core_place_in_the_lobby():
    core = core_fed("HERE * *\n")
    core.connection_lost("reset")
    assert core.place() == (None, None, "offline")


def test_client_core_after_bye_the_lost_connection_is_one_short_line():
    core = core_fed("HELLO parlor/4 hi\nHERE general alice\n")
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
    core.receive_data(b"HELLO parlor/4 hi\n")
    assert core.greeted
    core.connection_lost("reset")
    core.connection_made()
    assert not core.greeted


def test_client_core_settled_once_the_autojoin_is_answered():
    core = c.ClientCore("test", room="general", nick="pip")
    core.connection_made()
    assert not core.settled
    core.receive_data(b"HELLO parlor/4 hi\n")
    assert core.data_to_send(0.0) == b"/nick pip\n/join general\n" and not core.settled
    core.receive_data(b"REPLY nick 0 your nick will be pip\n")
    assert not core.settled
    core.receive_data(b"REPLY join 1 no such room\n")  # a failure settles it too
    assert core.settled


def test_client_core_settled_at_hello_without_autojoin():
    core = core_fed()
    assert not core.settled
    core.receive_data(b"HELLO parlor/4 hi\n")
    assert core.settled


LOST_GAME = "The tictactoe game in #general ended with the connection to the server."


def test_client_core_a_game_of_mine_lost_with_the_connection_is_told():
    core = core_fed(START)
    core.take_entries()
    core.connection_lost("reset")
    assert texts(core) == ["Lost the connection to test: reset.", LOST_GAME]
    assert core.game_panel() is None


def test_client_core_a_game_kept_for_a_resume_is_said_to_wait():
    core = core_fed(START)
    core.receive_data(b"SESSION tok1 120 if the connection drops, /resume tok1 within 120 s\n")
    core.take_entries()
    core.connection_lost("reset")
    assert texts(core)[-1] == "The tictactoe game in #general waits 120 s for you to come back."


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
    core.receive_data(b"HELLO parlor/4 hi\n")
    assert core.data_to_send(0.0) == b"/nick alice\n/join general\n"


# ------------------------------------------------------------------ pacing what we send
def lines_of(data: bytes) -> list[str]:
    return data.decode().splitlines()


def pasted(count: int, **pace) -> c.ClientCore:
    """A core in #general that was just handed `count` lines at once."""
    core = c.ClientCore("test", **pace)
    core.connection_made()
    core.receive_data(b"HERE general alice\n")
    for i in range(count):
        core.submit(f"line {i}")
    return core


def test_client_core_pace_sits_under_the_server_flood_limit():
    from chat.server.limits import Limits
    assert c.SEND_BURST < Limits.burst and c.SEND_RATE < Limits.max_rate


def test_client_core_pace_sends_a_burst_then_holds_the_rest():
    core = pasted(20)
    assert lines_of(core.data_to_send(100.0)) == [f"line {i}" for i in range(c.SEND_BURST)]
    assert core.waiting == 20 - c.SEND_BURST
    assert core.data_to_send(100.0) == b""  # no time has passed: nothing more
    assert core.next_send_at() == 100.0 + 1 / c.SEND_RATE


def test_client_core_pace_sends_at_the_rate_in_order():
    core = pasted(30, send_burst=5, send_rate=4.0)
    assert len(lines_of(core.data_to_send(0.0))) == 5
    assert core.data_to_send(0.2) == b"" and core.next_send_at() == 0.25
    assert lines_of(core.data_to_send(0.25)) == ["line 5"]
    assert lines_of(core.data_to_send(1.25)) == ["line 6", "line 7", "line 8", "line 9"]
    core.submit("typed meanwhile")  # goes after what already waits
    sent = lines_of(core.data_to_send(100.0))  # a long pause refills only the burst
    assert sent == [f"line {i}" for i in range(10, 15)]
    rest = []
    for t in (1000.0, 2000.0, 3000.0, 4000.0):
        rest += lines_of(core.data_to_send(t))
    assert rest == [*(f"line {i}" for i in range(15, 30)), "typed meanwhile"]
    assert core.waiting == 0 and core.next_send_at() is None


def test_client_core_pace_keeps_time_however_often_it_is_asked():
    core = pasted(40)
    went_at = {}
    for tick in range(1001):  # every 10 ms for 10 s
        for line in lines_of(core.data_to_send(tick / 100)):
            went_at[line] = tick / 100
    assert list(went_at) == [f"line {i}" for i in range(40)]
    assert [went_at[f"line {i}"] for i in (0, 14, 15, 16, 39)] == [0.0, 0.0, 0.25, 0.5, 6.25]


def test_client_core_pace_lets_a_ping_answer_past_the_queue():
    core = pasted(20)
    core.data_to_send(0.0)
    core.receive_data(b"PING 42\n")
    assert lines_of(core.data_to_send(0.0)) == ["/pong 42"]  # no token left, yet it goes
    assert core.next_send_at() == 0.25  # not charged: the user's lines keep their pace
    assert lines_of(core.data_to_send(0.25)) == ["line 15"]


def test_client_core_pace_lets_quit_past_the_queue_and_drops_the_rest():
    core = pasted(20)
    core.data_to_send(0.0)
    core.submit("/quit")
    assert core.data_to_send(0.0) == b"/quit\n"
    assert core.waiting == 0 and core.quitting
    core.connection_lost("the server closed the connection")
    assert not any("not sent" in t for t in texts(core))  # leaving: not news


def test_client_core_pace_says_once_that_lines_wait():
    core = pasted(20)
    core.take_entries()
    core.data_to_send(0.0)
    said = texts(core)
    assert said == ["Sending 20 lines at 4 a second, under the server's flood limit "
                    "(/cancel drops the rest)."]
    core.submit("one more")
    core.data_to_send(0.25)
    assert texts(core) == []  # the same batch
    core.data_to_send(100.0)
    core.data_to_send(200.0)
    assert core.waiting == 0
    for i in range(40):  # a new batch is told again
        core.submit(f"again {i}")
    core.data_to_send(200.0)
    assert texts(core) == [said[0].replace("20 lines", "40 lines")]


def test_client_core_pace_note_offers_cancel_only_to_a_person_typing():
    core = pasted(0)
    core.interactive = False  # stdin is a file: nobody can type /cancel into it
    for i in range(20):
        core.submit(f"line {i}")
    core.take_entries()
    core.data_to_send(0.0)
    assert texts(core) == ["Sending 20 lines at 4 a second, under the server's flood limit."]


def test_client_core_a_line_that_fits_the_pace_says_nothing():
    core = pasted(c.SEND_BURST)
    core.take_entries()
    assert len(lines_of(core.data_to_send(0.0))) == c.SEND_BURST
    assert texts(core) == [] and core.next_send_at() is None


def test_client_core_cancel_drops_the_waiting_lines():
    core = pasted(20)
    core.data_to_send(0.0)
    core.take_entries()
    core.submit("/cancel")
    assert texts(core) == ["Dropped 5 lines waiting to go."]
    assert core.waiting == 0 and core.next_send_at() is None
    assert core.data_to_send(10.0) == b""  # nothing went to the server for /cancel
    core.submit("/cancel")
    assert texts(core) == ["Nothing is waiting to go."]
    core.submit("after")
    assert core.data_to_send(10.0) == b"after\n"


def test_client_core_cancel_is_in_the_local_help():
    core = pasted(0)
    core.connection_lost("gone")
    core.take_entries()
    core.submit("/help")
    assert any(t.lstrip().startswith("/cancel") for t in texts(core))


def test_client_core_lines_waiting_when_the_connection_drops_are_told_lost():
    core = pasted(20)
    core.data_to_send(0.0)
    core.take_entries()
    core.connection_lost("reset")
    assert texts(core) == ["Lost the connection to test: reset.",
                           "5 lines still waiting to go were not sent."]
    assert core.waiting == 0
    core.connection_made()  # a new connection: a whole burst again
    core.receive_data(b"HELLO parlor/4 hi\nHERE general alice\n")
    for i in range(c.SEND_BURST):
        core.submit(f"new {i}")
    assert len(lines_of(core.data_to_send(0.1))) == c.SEND_BURST


def test_client_core_long_text_is_paced_piece_by_piece():
    core = pasted(0, send_burst=1, send_rate=1.0)
    core.submit(" ".join(f"w{i:04d}" for i in range(400)))  # three messages
    pieces = [core.data_to_send(t) for t in (0.0, 0.5, 1.0, 2.0)]
    assert [len(lines_of(piece)) for piece in pieces] == [1, 0, 1, 1]


def test_client_core_pace_of_zero_sends_everything_at_once():
    core = pasted(300, send_rate=0)
    assert len(lines_of(core.data_to_send(0.0))) == 300
    assert core.waiting == 0 and core.next_send_at() is None


def test_client_core_bell_alone_says_how_it_is():
    core = core_fed()
    core.take_entries()
    core.submit("/bell")
    assert texts(core) == ["Mention bell is on (/bell on|off)."]


def test_client_core_a_first_line_that_is_not_hello_is_not_parlor():
    core = c.ClientCore("127.0.0.1:80")
    core.connection_made()
    core.receive_data(b"SSH-2.0-OpenSSH_9.2\r\nmore noise\n")
    assert texts(core) == ["127.0.0.1:80 is not a Parlor server (its first line: "
                           "'SSH-2.0-OpenSSH_9.2'); check --host and --port."]
    assert core.requests == [ev.NotParlor()] and core.foreign
    core.receive_data(b"HELLO parlor/4 too late\n")
    assert texts(core) == []


def test_client_core_a_full_server_is_still_parlor():
    core = c.ClientCore("127.0.0.1:5220")
    core.connection_made()
    core.receive_data(b"BYE the server is full (3 connections); try again later\n")
    assert not core.foreign and ev.NotParlor() not in core.requests


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


STAMP = "2026-12-01T10:31:05.123Z"


def test_client_core_a_burst_of_mentions_rings_the_bell_once():
    clock = Clock()
    core = c.ClientCore("test", clock=clock)
    core.connection_made()
    core.receive_data(b"HERE general alice\n")
    mentions = "".join(f"MSG general 1 eve {STAMP} alice! {i}\n" for i in range(22))
    core.receive_data(mentions.encode())
    assert core.requests == [ev.Bell()]
    clock.now += c.BELL_GAP - 0.1
    core.receive_data(f"MSG general 1 eve {STAMP} alice?\n".encode())
    assert core.requests == [ev.Bell()]
    clock.now += 0.2
    core.receive_data(f"MSG general 1 eve {STAMP} alice...\n".encode())
    assert core.requests == [ev.Bell(), ev.Bell()]


def test_client_core_pings_never_hold_back_what_the_user_types():
    clock = Clock()
    core = c.ClientCore("test", send_burst=2, send_rate=1.0, clock=clock)
    core.connection_made()
    core.receive_data(b"HELLO parlor/4 hi\nHERE general alice\n" + b"PING t1\n" * 200)
    core.submit("hello")
    sent = core.data_to_send(clock.now)
    assert sent == b"/pong t1\nhello\n"  # one answer, and the line goes at once
    clock.now += c.PONG_GAP
    core.receive_data(b"PING t2\nPING t3\n")
    assert core.data_to_send(clock.now) == b"/pong t2\n"


def test_client_core_a_block_claiming_a_billion_items_keeps_the_first_ones():
    core = core_fed("HERE general alice\n")
    core.take_entries()
    rows = "".join(f"ROW general g1 row {i}\n" for i in range(1000))
    rooms = "".join(f"ROOM r{i} 1\n" for i in range(3000))
    nicks = "".join(f"MEMBER general n{i}\n" for i in range(3000))
    core.receive_data(f"BOARD general g1 1000000000\n{rows}INFO end of the board\n".encode())
    core.receive_data(f"ROOMS 1000000000 3000 lots\n{rooms}MEMBERS general 3000 0\n{nicks}".encode())
    panel = core.game_panel()
    assert len(panel.lines) == p.MAX_ITEMS["rows"] + 1 and panel.lines[-1] == "(936 more rows)"
    *board, end, rooms_line, members_line = texts(core)  # line mode prints the board too
    assert board == panel.lines and end == "end of the board"
    assert rooms_line.endswith(", and 1000 more (/list WORD shows the rooms with WORD in their "
                               "name). /join ROOM to enter one.")
    assert members_line.endswith(", 1000 more") and len(core.members) == p.MAX_ITEMS["nicks"]


def test_client_core_many_games_and_nicks_take_constant_work_each():
    """A hostile server's 20,000 games and 20,000 nicks: bounded panels and members."""
    core = core_fed("HERE general alice\n")
    games = "".join(f"GAME general g{i} tictactoe a,b x\n" for i in range(20_000))
    talk = "".join(f"MSG general 1 n{i} {STAMP} hi\nJOIN general j{i}\n" for i in range(20_000))
    core.receive_data(games.encode() + talk.encode())
    assert len(core.panels) == c.MAX_PANELS
    assert c.MAX_MEMBERS <= len(core.members) <= 2 * c.MAX_MEMBERS
    assert core.members[0] == "n19999"  # the latest speaker first


# ------------------------------------------------------------------ Tab after a command
LISTED_ROOMS = "ROOMS 3 3 3 rooms\nROOM den 2\nROOM general 1\nROOM quiet-corner 1\n"


def test_client_core_tab_offers_rooms_after_join_and_who():
    core = core_fed("HERE general alice\n", LISTED_ROOMS)
    assert core.argument_words("/join ") == ["den", "quiet-corner"]  # not the room I am in
    assert core.argument_words("/JOIN q") == ["den", "quiet-corner"]  # the editor picks by prefix
    assert core.argument_words("/who ") == ["den", "general", "quiet-corner"]
    assert core.argument_words("/join #") == ["#den", "#quiet-corner"]
    assert core.argument_words("/join den ") == []  # one room only
    core.receive_data(b"HERE Attic alice\n")  # a room it went to counts too
    assert core.argument_words("/join ") == ["den", "general", "quiet-corner"]
    assert core.argument_words("/who ") == ["Attic", "den", "general", "quiet-corner"]


def test_client_core_tab_offers_games_after_game_then_nicks():
    core = core_fed("HERE general alice\n")
    assert core.argument_words("/game ") == ["hangman", "tictactoe"]
    assert core.argument_words("/game tictactoe ") is None  # a nick, as anywhere
    core.receive_data(b"GAME general g1 chess alice,bob alice to move\n")
    assert core.argument_words("/game c") == ["hangman", "tictactoe", "chess"]


def test_client_core_tab_offers_moves_after_move_and_nicks_elsewhere():
    core = core_fed(START)
    assert core.argument_words("/move ") == [*"123456789"]
    assert core.argument_words("/m 1") == [*"123456789"]
    for line in ("hello ", "/accept ", "/jo", "//join ", ""):
        assert core.argument_words(line) is None, line


def test_client_core_an_answer_that_starts_with_a_nick_keeps_its_case():
    core = core_fed("HERE red ann\nMEMBERS red 2 0\nMEMBER red ann\nMEMBER red eve\n")
    core.take_entries()
    core.receive_data(b"PART red eve removed by ann\nREPLY kick 0 eve was removed by ann: be nice\n"
                      b"REPLY msg 1 eve is not here\nREPLY join 0 you joined red\n")
    assert texts(core)[1:] == ["eve was removed by ann: be nice.", "eve is not here.",
                               "You joined red."]
