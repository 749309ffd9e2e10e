"""The client core's game side, sans I/O: server bytes in, panel, turn, completion and plain text out."""
from __future__ import annotations

import pytest

from chat.client import core as c
from chat import protocol as p
from chat.client.plain import format_entry
from test_gamehost import Hall, X_WINS

START = """\
HERE general alice
GNOTE general g1 tictactoe starts: alice vs bob, alice moves first
GAME general g1 tictactoe alice,bob alice (X) vs bob (O), alice to move
TURN general g1 alice 1 2 3 4 5 6 7 8 9
BOARD general g1 3
ROW general g1  1 | 2 | 3 
ROW general g1  4 | 5 | 6 
ROW general g1  7 | 8 | 9 
"""
MOVE = """\
GNOTE general g1 alice plays X at 5 (centre)
GAME general g1 tictactoe alice,bob alice (X) vs bob (O), bob to move
TURN general g1 bob 1 2 3 4 6 7 8 9
BOARD general g1 3
ROW general g1  1 | 2 | 3 
ROW general g1  4 |[X]| 6 
ROW general g1  7 | 8 | 9 
"""
OVER = """\
GNOTE general g1 bob resigns
GAME general g1 tictactoe alice,bob bob resigned: alice wins
TURN general g1 *
BOARD general g1 1
ROW general g1 bob resigned: alice wins
GAMEOVER general g1 bob resigned: alice wins
"""


def core_fed(*chunks: str, bytewise: bool = False) -> c.ClientCore:
    core = c.ClientCore("test")
    core.connection_made()
    for chunk in chunks:
        data = chunk.encode("utf-8")
        if bytewise:
            for i in range(len(data)):
                core.receive_data(data[i:i + 1])
        else:
            core.receive_data(data)
    return core


@pytest.mark.parametrize("bytewise", [False, True])
def test_client_games_panel_built_from_the_board_block(bytewise):
    core = core_fed(START, bytewise=bytewise)
    panel = core.game_panel()
    assert (panel.room, panel.key, panel.title) == ("general", "g1", "tictactoe")
    assert panel.lines == [" 1 | 2 | 3 ", " 4 | 5 | 6 ", " 7 | 8 | 9 "]
    assert panel.status == "alice (X) vs bob (O), alice to move"
    assert panel.turn == "alice" and not panel.over
    assert core.my_turn
    assert core.game_status() == "tictactoe: your move"
    assert core.completion_words() == ["/move", *"123456789"]


def test_client_games_other_players_turn():
    core = core_fed(START, MOVE)
    assert not core.my_turn
    assert core.game_status() == "tictactoe: bob to move"
    assert core.completion_words() == ["/move"]
    assert core.game_panel().lines[1] == " 4 |[X]| 6 "


def test_client_games_game_over_stays_until_another_starts():
    core = core_fed(START, MOVE, OVER)
    panel = core.game_panel()
    assert panel.over and core.game_status() == "tictactoe: over"
    assert not core.my_turn and core.completion_words() == []
    notices = [e.text for e in core.take_entries() if e.kind == c.NOTICE]
    assert notices[-1] == "Game over: bob resigned: alice wins"
    core.receive_data(b"GAME general g2 tictactoe bob,alice bob (X) vs alice (O), bob to move\n")
    assert core.game_panel().key == "g2" and "g1" not in core.panels


def test_client_games_a_panel_view_moves_the_final_board_into_the_pane():
    core = c.ClientCore("test")
    core.shows_panel = lambda panel: True  # a full-screen view with room for the panel
    core.connection_made()
    core.receive_data((START + MOVE + OVER).encode())
    texts = [(e.kind, e.text) for e in core.take_entries()]
    over = texts.index((c.NOTICE, "Game over: bob resigned: alice wins"))
    assert [t for kind, t in texts[over + 1:] if kind == c.BOARD] == ["bob resigned: alice wins"]
    assert not any(kind == c.BOARD for kind, _ in texts[:over])  # boards stay in the panel
    assert core.game_panel() is None and core.game_status() == ""


WATCHED = (b"GAME general g2 tictactoe carol,dave carol (X) vs dave (O), carol to move\n"
           b"TURN general g2 carol 1 2 3\n")


def test_client_games_most_recently_updated_panel_is_shown():
    core = core_fed("HERE general erin\n", START.replace("HERE general alice\n", ""))
    core.receive_data(WATCHED)
    assert core.game_panel().key == "g2"  # erin watches both: the latest one
    core.receive_data(MOVE.encode())
    assert core.game_panel().key == "g1"


def test_client_games_my_game_is_shown_over_one_i_watch():
    core = core_fed(START)
    core.receive_data(WATCHED)
    assert core.game_panel().key == "g1"  # alice's move in g1
    assert core.my_turn and core.completion_words() == ["/move", *"123456789"]
    core.receive_data(MOVE.encode() + WATCHED)
    assert core.game_panel().key == "g1" and not core.my_turn  # still her game
    core.receive_data(b"GAME general g3 hangman dave the word: ____\nTURN general g3 * A B\n")
    assert core.game_panel().key == "g1"  # a room game she has not joined
    core.receive_data(b"GNOTE general g3 alice guesses E: not in the word\n"
                      b"GAME general g3 hangman dave,alice the word: ____\n"
                      b"TURN general g3 * A B\n")
    assert core.game_panel().key == "g1"  # she plays both: her duel beats anyone's turn
    assert [panel.key for panel in core.game_panels()] == ["g1", "g3", "g2"]
    core.receive_data(b"GAME general g1 tictactoe alice,bob alice (X) vs bob (O), alice to move\n"
                      b"TURN general g1 alice 1 2\nGNOTE general g3 carol guesses A: wrong\n"
                      b"TURN general g3 * B C\n")
    assert core.game_panel().key == "g1"  # waiting for her by name beats anyone's turn


def test_client_games_my_duel_stays_shown_after_my_move_while_i_guess_in_hangman():
    """alice plays tictactoe with bob and has guessed in the room's hangman: after her
    move (bob to move now) the panel stays on the duel, not the hangman anyone may play."""
    core = core_fed(START, "GAME general g3 hangman dave the word: ____\nTURN general g3 * A B\n"
                           "GNOTE general g3 alice guesses E: not in the word\n"
                           "GAME general g3 hangman dave,alice the word: ____\n"
                           "TURN general g3 * A B\n")
    core.receive_data(MOVE.encode())
    assert core.game_panel().key == "g1"
    core.receive_data(b"GNOTE general g3 carol guesses A: wrong\nTURN general g3 * B\n")
    assert core.game_panel().key == "g1"  # a later hangman guess does not take it over
    assert [panel.key for panel in core.game_panels()] == ["g1", "g3"]
    core.receive_data(OVER.encode())  # the duel over: her room game comes first
    assert [panel.key for panel in core.game_panels()] == ["g3", "g1"]


def test_client_games_panel_width_is_the_widest_row_so_far():
    core = core_fed(START)
    assert core.game_panel().width == 11
    core.receive_data(b"BOARD general g1 2\nROW general g1 last: X at 5 (centre)\n"
                      b"ROW general g1 x\n")
    core.receive_data(MOVE.encode())
    assert core.game_panel().width == len("last: X at 5 (centre)")


def test_client_games_leaving_the_room_drops_the_panel():
    core = core_fed(START)
    core.receive_data(b"HERE * *\n")
    assert core.game_panel() is None and core.game_status() == "" and not core.my_turn


def test_client_games_other_rooms_are_ignored():
    core = core_fed("HERE den alice\n", START.replace("HERE general alice\n", ""))
    assert core.game_panel() is None and core.panels == {}


def test_client_games_anyone_may_move():
    core = core_fed("HERE general carol\nGAME general g3 hangman alice alice's word: ____\n"
                    "TURN general g3 * A B C\n")
    assert core.game_status() == "hangman: anyone may move"
    assert core.my_turn and core.completion_words() == ["/move", "A", "B", "C"]


def test_client_games_rows_are_sanitised():
    core = core_fed("HERE general alice\nBOARD general g1 1\nROW general g1 a\x1b[2Jb\n")
    assert core.game_panel().lines == ["a^[[2Jb"]


def test_client_games_plain_shows_the_move_in_words_then_the_board():
    core = core_fed(START)
    core.take_entries()
    core.receive_data(MOVE.encode())
    lines = [format_entry(e) for e in core.take_entries()]
    assert lines == ["* alice plays X at 5 (centre)",
                     "     1 | 2 | 3 ", "     4 |[X]| 6 ", "     7 | 8 | 9 "]


def test_client_games_no_board_entries_when_the_view_draws_a_panel():
    core = core_fed()
    core.shows_panel = lambda panel: True
    core.receive_data(START.encode())
    assert not [e for e in core.take_entries() if e.kind == c.BOARD]
    assert len(core.game_panel().lines) == 3


def test_client_games_follows_a_real_game_from_the_server_state():
    hall = Hall()
    hall.enter("alice")
    hall.enter("bob")
    hall.do("alice", "/game tictactoe bob")
    hall.do("bob", "/accept")
    hall.play("alice", "bob", X_WINS)
    core = core_fed("HERE general bob\n", "".join(p.encode(m).decode() for m in hall.got("bob")))
    panel = core.game_panel()
    assert panel.over and panel.status == "alice wins with X (row 1)"
    assert panel.lines[0] == "*X*|*X*|*X*"


def panel_view() -> c.ClientCore:
    """A core as a full-screen view with room for the panel drives it."""
    core = core_fed("HERE general alice\n")
    core.shows_panel = lambda panel: True
    return core


def boards(core: c.ClientCore) -> list[str]:
    return [e.text for e in core.take_entries() if e.kind == c.BOARD]


LISTED = ("INFO tictactoe (g1): alice (X) vs bob (O), bob to move\n"
          "INFO carol's challenge to anyone (tictactoe) waits for an answer\n"
          + MOVE.split("\n", 1)[1] + WATCHED.decode() + "BOARD general g2 1\nROW general g2 c\n")


def test_client_games_the_answer_to_games_puts_every_board_in_the_pane():
    core = panel_view()
    core.submit("/games")
    core.receive_data(LISTED.encode())
    assert boards(core) == [" 1 | 2 | 3 ", " 4 |[X]| 6 ", " 7 | 8 | 9 ", "c"]
    core.receive_data(MOVE.encode())  # a move after the answer: its board is in the panel
    core.receive_data(b"GAME general g2 tictactoe carol,dave carol to move\n"
                      b"TURN general g2 carol 1\nBOARD general g2 1\nROW general g2 d\n")
    assert boards(core) == []


def test_client_games_a_refused_games_leaves_later_boards_in_the_panel():
    core = panel_view()
    core.submit("/games")
    core.receive_data(b"REPLY games 1 you are in the lobby: /join ROOM first\n")
    core.receive_data(b"INFO Commands:\n" + START.split("\n", 1)[1].encode())
    assert boards(core) == []
