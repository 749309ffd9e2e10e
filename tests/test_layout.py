"""The full-screen view's geometry and bar texts as data: no curses, no terminal."""
from __future__ import annotations

from chat.client import layout as lay
from test_client_games import MOVE, START, core_fed

ADDRESS = "127.0.0.1:45860"


def bob_watching():
    return core_fed("HERE general bob\nMEMBERS general 4 0\nMEMBER general alice\n"
                    "MEMBER general bob\nMEMBER general carol\nMEMBER general dave\n",
                    START.replace("HERE general alice\n", ""))


def status(core, width: int, panel_hidden: bool = False, connection: str = "") -> str:
    return lay.fit_status(lay.status_parts(core, connection, "", ADDRESS, panel_hidden), width)


def test_layout_status_fits_80_columns_in_a_game():
    core = bob_watching()
    assert status(core, 120) == (" #general | bob | 4 here | tictactoe: alice to move | connected"
                                 f" | {ADDRESS}")
    assert status(core, 80) == " #general | bob | 4 here | tictactoe: alice to move | connected"
    assert status(core, 60) == " #general | bob | 4 here | tictactoe: alice to move"
    assert status(core, 45) == " #general | bob | tictactoe: alice to move"
    assert status(core, 40) == " #general | bob | tictactoe: alice to"  # cut between words


def test_layout_status_drops_the_board_hint_before_the_count():
    core = bob_watching()
    assert status(core, 90, panel_hidden=True) == (
        " #general | bob | 4 here | tictactoe: alice to move (widen the window for the board)")
    assert status(core, 80, panel_hidden=True) == status(core, 60)


def test_layout_status_counts_the_lines_waiting_to_go():
    core = core_fed("HERE general alice\nMEMBERS general 1 0\nMEMBER general alice\n")
    for i in range(40):
        core.submit(f"line {i}")
    core.data_to_send(0.0)
    assert status(core, 80) == (" #general | alice | 1 here | sending: 25 waiting | connected"
                                f" | {ADDRESS}")
    assert status(core, 40) == " #general | alice | sending: 25 waiting"
    assert status(core, 30) == " #general | alice | 25 to send"
    core.submit("/cancel")
    assert status(core, 80) == f" #general | alice | 1 here | connected | {ADDRESS}"


def test_layout_status_says_when_i_am_away():
    core = core_fed("HERE general alice\nMEMBERS general 1 0\nMEMBER general alice\n")
    core.submit("/away lunch")
    core.data_to_send(0.0)
    assert "you are away" not in status(core, 80)  # (not until the server says so)
    core.receive_data(b"REPLY away 0 you are away: lunch\n")
    assert status(core, 80) == f" #general | alice | you are away | 1 here | connected | {ADDRESS}"
    core.submit("/back")
    core.data_to_send(0.0)
    core.receive_data(b"REPLY back 0 welcome back\n")
    assert status(core, 80) == f" #general | alice | 1 here | connected | {ADDRESS}"


def test_layout_status_and_prompt_while_offline_show_where_it_will_rejoin():
    core = core_fed("HERE general alice\n")
    assert lay.prompt(core) == "#general alice> "
    core.connection_lost("reset")
    assert lay.prompt(core) == "#general alice (offline)> "
    assert status(core, 80, connection="DISCONNECTED, retrying") == (
        f" DISCONNECTED, retrying | #general (offline) | alice | {ADDRESS}")


def test_layout_prompt_in_the_lobby_and_without_a_nick():
    assert lay.prompt(core_fed("HERE * *\n")) == "lobby> "
    assert lay.prompt(core_fed("HERE general *\n")) == "#general> "


def test_layout_clip_words_never_cuts_inside_a_word():
    assert lay.clip_words(" a | bb cc", 8) == " a | bb"
    assert lay.clip_words(" a | bb cc", 7) == " a | bb"
    assert lay.clip_words(" abcdefgh", 5) == " abcd"  # one long word: a hard cut


def test_layout_panel_keeps_one_width_for_a_game():
    small = lay.Layout(24, 80, [" 1 | 2 | 3 "], width=11)
    wider = lay.Layout(24, 80, ["last: X at 5 (centre)", "x"], width=21)
    assert small.panel == wider.panel == (0, 48, 22, 32)
    assert small.pane == (0, 0, 22, 46)  # a blank column, then the "|" at 47
    huge = lay.Layout(24, 80, ["x"], width=40)
    assert huge.panel == (0, 38, 22, 42)


def test_layout_panel_goes_on_top_when_narrow():
    layout = lay.Layout(24, 50, ["a", "b"], width=2)
    assert layout.panel == (0, 0, 3, 50) and layout.pane == (3, 0, 19, 50)


def test_layout_message_pane_keeps_a_blank_column_before_the_panel():
    layout = lay.Layout(24, 100, [" 1 | 2 | 3 "], width=11)
    y, x, h, w = layout.pane
    assert layout.panel[1] - 1 == x + w + 1  # the "|" goes at x0 - 1, after one blank column


HANGMAN = ("GAME general g3 hangman dave the word: ____\nTURN general g3 * A B\n"
           "BOARD general g3 3\nROW general g3   +---+\nROW general g3 _ _ _ _\n"
           "ROW general g3 guesses left: 7\n")


def test_layout_panel_block_has_a_title_and_keeps_its_height():
    core = core_fed(START, MOVE)
    (duel,) = core.game_panels()
    assert lay.panel_block(duel) == ["tictactoe g1", " 1 | 2 | 3 ", " 4 |[X]| 6 ", " 7 | 8 | 9 "]
    core.receive_data(b"BOARD general g1 1\nROW general g1 alice wins\n")
    assert lay.panel_block(duel) == ["tictactoe g1", "alice wins", "", ""]


def test_layout_two_games_stack_when_tall_enough():
    core = core_fed(START, HANGMAN)
    first, second = (lay.panel_block(panel) for panel in core.game_panels())
    assert first[0] == "tictactoe g1" and second[0] == "hangman g3"
    tall = lay.Layout(30, 100, first, 11, below=second)
    assert tall.stacked and tall.panel == (0, 68, 28, 32)
    assert not lay.Layout(10, 100, first, 11, below=second).stacked  # 4 + 1 + 4 > 8 rows
    assert lay.Layout(11, 100, first, 11, below=second).stacked
    assert not lay.Layout(30, 50, first, 11, below=second).stacked  # on top: one game only
    assert not lay.Layout(30, 100, first, 11).stacked


def test_layout_prompt_gives_way_before_the_input_gets_narrow():
    full = "#general alice> "
    assert lay.fit_prompt(full, 80) == full
    assert lay.fit_prompt(full, 30) == "#general alic> "  # at most half
    assert lay.fit_prompt(full, 20) == "#genera> "  # the input keeps 10 columns
    assert lay.fit_prompt(full, 14) == ">"
    for width in range(12, 60):
        shown = lay.fit_prompt(full, width)
        assert shown.rstrip().endswith(">") and width - len(shown) >= min(10, width // 2)
