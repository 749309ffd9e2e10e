"""The full-screen view's screen as data: server lines into a client core, a frame out,
compared row by row at several sizes.  No pty, no curses."""
from __future__ import annotations

import dataclasses
import time

from chat import protocol as p
from chat.client import core as c
from chat.client import frame as fr
from chat.client import scrollback as sb
from chat.client.lineedit import LineEditor
from chat.width import text_width
from test_client_games import MOVE, START
from test_gamehost import Hall

ADDRESS = "127.0.0.1:5000"
AT_0930 = time.mktime((2024, 1, 1, 9, 30, 0, 0, 1, -1))  # every entry's clock says 09:30
GREETED = ("HELLO parlor/2 hi\nHERE general alice\nMEMBERS general 2 0\n"
           "MEMBER general alice\nMEMBER general bob\n")
NATO = ("alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima "
        "mike november oscar papa quebec romeo sierra tango uniform victor whiskey")


class View:
    """What the full-screen client holds (a core with boards in the panel, a scrollback,
    a line editor), fed server lines and painted at any size."""

    def __init__(self, *chunks: str, room: str | None = "general",
                 nick: str | None = "alice", size: tuple[int, int] = (24, 80)) -> None:
        self.core = c.ClientCore(ADDRESS, room=room, nick=nick)
        self.size = size  # the window's (h, w) while lines come in: where boards go
        self.core.shows_panel = lambda panel: fr.panel_shows(self.core, panel, *self.size)
        self.core.connection_made()
        self.scroll = sb.Scrollback()
        self.editor = LineEditor()
        self.feed(*chunks)

    def feed(self, *chunks: str) -> View:
        for chunk in chunks:
            self.core.receive_data(chunk.encode())
        self.core.data_to_send(time.monotonic())  # the autojoin goes, as the shell sends it
        entries = self.core.take_entries()
        self.scroll.extend(fr.to_scroll_entry(dataclasses.replace(e, time=AT_0930))
                           for e in entries)
        return self

    def paint(self, h: int, w: int, connection: str = "") -> fr.Frame:
        return fr.paint(self.core, self.scroll, self.editor, h, w, address=ADDRESS,
                        connection=connection)


def chatting() -> View:
    return View(GREETED, "MSG general 1 bob 2024-01-01T09:30:00.000Z hello alice\nMSG general 1 alice 2024-01-01T09:30:00.000Z hi bob\n")


def column(rows: list[str], x: int) -> str:
    return "".join(row[x] for row in rows)


HANGMAN = ("GAME general g2 hangman bob the word: P _ R L _ R\nTURN general g2 * A B C\n"
           "BOARD general g2 3\nROW general g2  word: P _ R L _ R\nROW general g2  wrong: E\n"
           "ROW general g2  6 misses left\n")
WON = ("GAME general g1 tictactoe alice,bob alice wins\nTURN general g1 *\nBOARD general g1 3\n"
       "ROW general g1 *X*|*X*|*X*\nROW general g1  4 | O | O \nROW general g1  7 | 8 | 9 \n")


# ------------------------------------------------------------------ chat
def test_frame_chat_at_40x8_row_by_row():
    shown = chatting().paint(8, 40)
    assert shown.text() == [
        " " * 40,
        "09:30 Connected to 127.0.0.1:5000       ",
        "      (parlor/2).                       ",
        "09:30 In general: alice, bob            ",
        "09:30 bob: hello alice                  ",
        "09:30 alice: hi bob                     ",
        " #general | alice | 2 here | connected  ",
        "#general alice>                         ",
    ]
    assert shown.cursor == (7, 16)


def test_frame_nicks_are_styled_mine_apart_and_a_mention_marked():
    shown = chatting().paint(8, 40)
    assert shown.rows[4] == ((0, "09:30", "time"), (5, " ", "text"), (6, "bob", "nick:bob"),
                             (9, ": ", "text"), (11, "hello alice", "mention"))
    assert shown.rows[5] == ((0, "09:30", "time"), (5, " ", "text"), (6, "alice", "own"),
                             (11, ": hi bob", "text"))
    assert shown.rows[3][-1] == (6, "In general: alice, bob", "info")


def test_frame_notices_and_errors_are_marked():
    view = chatting().feed("JOIN general carol\nERROR nope that failed\n")
    rows = view.paint(8, 40).rows
    assert rows[-4][2:] == ((6, "* carol joined general", "notice"),)
    assert rows[-3][2:] == ((6, "! Nope that failed.", "error"),)


def test_frame_long_message_wraps_under_its_text():
    rows = chatting().feed(f"MSG general 1 bob 2024-01-01T09:30:00.000Z {NATO}\n").paint(10, 40).text()
    assert rows[2:8] == [
        "09:30 bob: alpha bravo charlie delta    ",
        "           echo foxtrot golf hotel india",
        "           juliett kilo lima mike       ",
        "           november oscar papa quebec   ",
        "           romeo sierra tango uniform   ",
        "           victor whiskey               ",
    ]


def test_frame_a_resize_rewraps_the_same_entries():
    view = chatting().feed(f"MSG general 1 bob 2024-01-01T09:30:00.000Z {NATO}\n")
    wide = view.paint(24, 160).text()
    assert wide[21].rstrip() == f"09:30 bob: {NATO}"
    assert view.paint(10, 40).text()[7] == "           victor whiskey               "
    assert view.paint(24, 160).text() == wide


def test_frame_scrolled_back_then_more_below_with_the_count():
    view = chatting().feed(f"MSG general 1 bob 2024-01-01T09:30:00.000Z {NATO}\n")
    view.paint(10, 40)
    view.scroll.page_up()  # a pane of 8 rows: 7 up
    rows = view.paint(10, 40).text()
    assert rows[0] == "09:30 Connected to 127.0.0.1:5000       "
    assert rows[8] == " scrolled back | #general | alice       "
    view.feed("MSG general 1 bob 2024-01-01T09:30:00.000Z one\nMSG general 1 bob 2024-01-01T09:30:00.000Z two\nMSG general 1 bob 2024-01-01T09:30:00.000Z three\n")
    rows = view.paint(10, 40).text()
    assert rows[0] == "09:30 Connected to 127.0.0.1:5000       "  # pinned: it did not move
    assert rows[8] == " MORE BELOW (3 new) | #general | alice  "
    view.scroll.scroll_to_bottom()
    rows = view.paint(10, 40).text()
    assert rows[7] == "09:30 bob: three                        "
    assert rows[8] == " #general | alice | 2 here | connected  "


# ------------------------------------------------------------------ the status bar
def test_frame_status_bar_fills_its_row_and_shrinks_with_the_width():
    view = chatting()
    bars = {w: view.paint(8, w).rows[6] for w in (80, 40, 30, 20)}
    assert bars[80] == ((0, f" #general | alice | 2 here | connected | {ADDRESS}".ljust(80),
                         "status"),)
    assert bars[40] == ((0, " #general | alice | 2 here | connected  ", "status"),)
    assert bars[30] == ((0, " #general | alice | 2 here    ", "status"),)
    assert bars[20] == ((0, " #general | alice   ", "status"),)


def test_frame_offline_shows_where_it_will_rejoin():
    view = chatting()
    view.core.reconnects = True  # as the full-screen client sets it: the first wait is 1 s
    view.core.connection_lost("reset")
    view.feed()
    state = view.core.connection_state(time.monotonic())
    assert state == "DISCONNECTED, reconnecting in 1 s"
    rows = view.paint(8, 80, connection=state).text()
    assert rows[6].rstrip() == (" DISCONNECTED, reconnecting in 1 s | #general (offline) | alice"
                                f" | {ADDRESS}")
    assert rows[7].rstrip() == "#general alice (offline)>"
    assert rows[3].startswith("09:30 ! Lost the connection to 127.0.0.1:5000: reset.")
    assert view.paint(8, 80).cursor == (7, len("#general alice (offline)> "))
    narrow = view.paint(8, 40, connection=state).text()  # the countdown gives way first
    assert narrow[6].rstrip() == " reconnecting in 1 s | #general"
    assert view.paint(8, 41, connection=state).text()[6] == " reconnecting in 1 s | #general (offline)"


def test_frame_joining_and_the_lobby():
    joining = View("HELLO parlor/1 hi\n")
    rows = joining.paint(8, 80).text()
    assert rows[7].rstrip() == "#general alice (joining)>"
    assert rows[6].rstrip() == f" #general (joining) | alice | connected | {ADDRESS}"
    lobby = View(room=None, nick=None)  # connected, not greeted yet: not "connected"
    shown = lobby.paint(8, 80, connection=lobby.core.connection_state(0.0))
    assert shown.text()[6].rstrip() == f" connecting... | lobby | {ADDRESS}"
    assert shown.text()[7].rstrip() == "lobby>" and shown.cursor == (7, 7)


# ------------------------------------------------------------------ the input line
def test_frame_long_input_scrolls_and_the_cursor_follows():
    view = chatting()
    view.editor.insert("".join(f"{i % 10}" for i in range(100)))
    shown = view.paint(8, 40)
    prompt = "#general alice> "
    assert shown.rows[7][0] == (0, prompt, "prompt")
    assert shown.rows[7][1] == (16, "8901234567890123456789", "text")  # the last 22 typed
    assert shown.cursor == (7, 38)  # just after them, the last column left free
    view.editor.left()
    view.editor.left()
    assert view.paint(8, 40).cursor == (7, 36)
    view.editor.home()
    shown = view.paint(8, 40)
    assert shown.text()[7].startswith(prompt + "0123456789") and shown.cursor == (7, 16)


def test_frame_prompt_gives_way_to_the_input_and_still_ends_in_a_marker():
    view = chatting()
    view.editor.insert("typed")
    shown = view.paint(6, 20)
    assert shown.text()[5] == "#genera> " + "typed      "  # not '#general atyped'
    assert shown.cursor == (5, 14)
    assert view.paint(6, 13).text()[5] == ">typed       "


# ------------------------------------------------------------------ too small
def test_frame_too_small_says_so_and_nothing_else():
    view = chatting()
    for h, w in ((2, 10), (2, 40), (24, 11)):
        shown = view.paint(h, w)
        assert shown.text()[0] == "window too small"[:w].ljust(w)
        assert all(row == " " * w for row in shown.text()[1:])
        assert shown.rows[0] == ((0, "window too small"[:w], "error"),) and shown.cursor is None
    smallest = view.paint(3, 12)  # the smallest usable window: a row each
    assert smallest.text() == ["  hi bob    ", " #general   ", ">           "]
    assert smallest.cursor == (2, 1)


# ------------------------------------------------------------------ game panels
def test_frame_panel_beside_the_pane_at_80x24():
    view = View(GREETED, START)
    view.feed(f"MSG general 1 bob 2024-01-01T09:30:00.000Z {'y' * 60}\n")
    rows = view.paint(24, 80).text()
    assert column(rows[:22], 47) == "|" * 22 and column(rows[:22], 46) == " " * 22
    assert [row[48:] for row in rows[:5]] == [
        " tictactoe g1".ljust(32), "  1 | 2 | 3".ljust(32), "  4 | 5 | 6".ljust(32),
        "  7 | 8 | 9".ljust(32), " " * 32]
    assert rows[19][:47] == "        moves first" + " " * 28
    assert rows[20][:47] == "09:30 bob: " + "y" * 35 + " "  # a long word cut at the pane's edge
    assert rows[21][:47] == "           " + "y" * 25 + " " * 11
    assert not any("1 | 2 | 3" in row[:47] for row in rows)  # the board is in the panel only
    assert rows[22] == f" #general | alice | 2 here | tictactoe: your move | connected | {ADDRESS}  "


def test_frame_panel_styles_title_board_and_separator():
    shown = View(GREETED, START).paint(24, 80)
    assert shown.rows[0][-2:] == ((47, "|", "time"), (49, "tictactoe g1", "title"))
    assert shown.rows[2][-2:] == ((47, "|", "time"), (49, " 4 | 5 | 6 ", "panel"))


def test_frame_panel_keeps_its_place_as_the_board_changes_and_keeps_right_at_160x50():
    view = View(GREETED, START, MOVE)
    rows = view.paint(24, 80).text()
    assert column(rows[:22], 47) == "|" * 22 and rows[2][48:].rstrip() == "  4 |[X]| 6"
    view.feed("BOARD general g1 1\nROW general g1 ok\n")  # fewer, narrower rows
    rows = view.paint(24, 80).text()
    assert column(rows[:22], 47) == "|" * 22
    assert [row[48:].rstrip() for row in rows[:5]] == [" tictactoe g1", " ok", "", "", ""]
    wide = view.paint(50, 160).text()
    assert column(wide[:48], 127) == "|" * 48 and wide[0][128:].rstrip() == " tictactoe g1"
    assert wide[47][:127].rstrip() == "09:30 * alice plays X at 5 (centre)"
    assert wide[48] == (f" #general | alice | 2 here | tictactoe: bob to move | connected"
                        f" | {ADDRESS}").ljust(160)


def test_frame_panel_on_top_when_narrow_then_hidden_when_short():
    view = View(GREETED, START)
    rows = view.paint(12, 40).text()
    assert rows[:5] == [" tictactoe g1".ljust(40), "  1 | 2 | 3".ljust(40),
                        "  4 | 5 | 6".ljust(40), "  7 | 8 | 9".ljust(40), " " * 40]
    assert rows[5:10] == [
        "09:30 Connected to 127.0.0.1:5000       ",
        "      (parlor/2).                       ",
        "09:30 In general: alice, bob            ",
        "09:30 * tictactoe starts: alice vs bob, ",
        "        alice moves first               ",
    ]
    rows = view.paint(8, 40).text()  # 6 rows of pane: 5 for the board would leave 1
    assert not any("1 | 2 | 3" in row for row in rows)
    assert rows[4:] == [
        "09:30 * tictactoe starts: alice vs bob, ",
        "        alice moves first               ",
        " #general | alice | tictactoe: your move",  # no room for the hint
        "#general alice>                         ",
    ]


def test_frame_hidden_panel_says_to_widen_the_window():
    wide_board = "x" * 85  # wider than a 100-column window can show beside the chat
    view = View(GREETED, "GAME general g1 wide alice,bob alice to move\nTURN general g1 alice 1\n"
                f"BOARD general g1 3\nROW general g1 {wide_board}\nROW general g1 a\n"
                "ROW general g1 b\n")
    rows = view.paint(8, 100).text()
    assert not any(wide_board in row for row in rows)
    assert rows[6].rstrip() == (" #general | alice | 2 here | wide: your move "
                                "(widen the window for the board) | connected")
    assert view.paint(12, 100).text()[1].rstrip() == " " + wide_board  # taller: on top


def test_frame_two_boards_stacked_my_duel_on_top():
    shown = View(GREETED, START, HANGMAN).paint(30, 100)
    panel = [row[68:].rstrip() for row in shown.text()[:28]]
    assert column(shown.text()[:28], 67) == "|" * 28
    assert panel[:6] == [" tictactoe g1", "  1 | 2 | 3", "  4 | 5 | 6", "  7 | 8 | 9", "",
                         " hangman g2"]
    assert panel[6:9] == ["  word: P _ R L _ R", "  wrong: E", "  6 misses left"]
    assert shown.text()[28].startswith(" #general | alice | 2 here | tictactoe: your move")
    short = View(GREETED, START, HANGMAN).paint(10, 100).text()  # 8 rows: no room for both
    assert short[0][68:].rstrip() == " tictactoe g1" and short[4][68:].strip() == ""
    assert not any("hangman" in row or "wrong" in row for row in short)


def test_frame_emphasis_runs_are_styled_and_spaced():
    shown = View(GREETED, START, WON).paint(24, 80)
    assert shown.text()[1][48:].rstrip() == "  X | X | X"
    assert shown.runs("emphasis") == [(1, 49, " X "), (1, 53, " X "), (1, 57, " X ")]
    assert [run for run in shown.rows[1] if run[2] == "panel"] == [(52, "|", "panel"),
                                                                  (56, "|", "panel")]


def test_frame_wide_characters_take_two_cells_of_the_row():
    rows = chatting().feed("MSG general 1 bob 2024-01-01T09:30:00.000Z 日本語 ok\n").paint(8, 40).text()
    assert rows[5] == "09:30 bob: 日本語 ok" + " " * 20  # three characters, six cells
    assert text_width(rows[5]) == 40


# ------------------------------------------------------------------ boards with no room
class Played(View):
    """alice's full-screen client fed what a real game host sends her (no sockets); what
    she types goes to both, so the core knows what it asked."""

    def __init__(self, size: tuple[int, int], *others: str) -> None:
        self.hall = Hall()
        for nick in ("alice", *others):
            self.hall.enter(nick)
        super().__init__(GREETED, size=size)

    def do(self, line: str, nick: str = "alice") -> Played:
        if nick == "alice":
            self.core.submit(line)
        self.hall.do(nick, line)
        return self.feed("".join(p.encode(m).decode() for m in self.hall.got("alice")))


def test_frame_a_board_the_panel_has_no_room_for_goes_in_the_pane_after_each_move():
    view = Played((12, 40)).do("/game tictactoe bot").do("/5")
    assert view.paint(12, 40).text()[:10] == [row.ljust(40) for row in (
        "09:30 * bot plays O at 9 (bottom-right)",
        "         1 | 2 | 3", "        ---+---+---", "         4 | X | 6", "        ---+---+---",
        "         7 | 8 |[O]", "", "        X alice  O bot", "        last: O at 9 (bottom-right)",
        "        alice (X) to move")]
    tall = view.paint(40, 40).text()  # the pane has had each board after its move
    assert sum("4 |[X]| 6" in row for row in tall) == 1  # alice's move's board, then the bot's
    assert sum("last: O at 9" in row for row in tall) == 2  # the pane's, and the panel's now


def test_frame_games_prints_the_boards_even_beside_the_panel():
    view = Played((24, 80)).do("/game tictactoe bot")
    assert not any("1 | 2 | 3" in row[:47] for row in view.paint(24, 80).text())
    rows = view.do("/games").paint(24, 80).text()
    at = next(i for i, row in enumerate(rows) if "tictactoe (g1): alice (X) vs bot" in row)
    assert [row[:47].rstrip() for row in rows[at + 2:at + 4]] == [
        "         1 | 2 | 3", "        ---+---+---"]
    assert rows[0][48:].rstrip() == " tictactoe g1"  # and the panel still shows it
    rows = view.do("/5").paint(24, 80).text()  # the answer is over: boards stay in the panel
    assert rows[21][:47].rstrip() == "09:30 * bot plays O at 9 (bottom-right)"


def test_frame_a_resize_that_leaves_no_room_for_the_panel_puts_the_board_in_the_pane():
    view = Played((24, 80)).do("/game tictactoe bot").do("/5")
    view.size = (12, 40)
    view.core.refit()
    view.core.refit()  # once only
    rows = view.feed().paint(12, 40).text()
    assert rows[0].rstrip() == "09:30 * bot plays O at 9 (bottom-right)"
    assert rows[5].rstrip() == "         7 | 8 |[O]" and rows[9].rstrip() == "        alice (X) to move"
    view.size = (24, 80)
    view.core.refit()
    rows = view.feed().paint(24, 80).text()  # room again: the panel is back
    assert rows[0][48:].rstrip() == " tictactoe g1" and rows[5][48:].rstrip() == "  7 | 8 |[O]"


DIAGONAL = ["3", "1", "5", "2", "7"]  # X takes 3-5-7


def test_frame_the_final_board_in_the_pane_is_drawn_whole():
    view = Played((24, 80), "bob").do("/game tictactoe bob").do("/accept", "bob")
    for i, move in enumerate(DIAGONAL):
        view.do(f"/move {move}", ("alice", "bob")[i % 2])
    rows = [row[:47].rstrip() for row in view.paint(24, 80).text()[:22]]
    status = rows.index("        alice wins with X (diagonal 3-5-7)")  # one row, not two
    assert rows[status - 1] == "        last: X at 7 (bottom-left)"
    assert rows[status + 1].startswith("09:30 * score: alice 1, bob 0")
    small = Played((12, 40), "bob").do("/game tictactoe bob").do("/accept", "bob")
    for i, move in enumerate(DIAGONAL):
        small.do(f"/move {move}", ("alice", "bob")[i % 2])
    rows = small.paint(40, 40).text()  # the last move's board is the final one: not again
    assert sum("*X*| 8 | 9" in row for row in rows) == 1
    assert sum("last: X at 7" in row for row in rows) == 1


FAMILY = "\U0001F468\u200d\U0001F469\u200d\U0001F467"  # man, ZWJ, woman, ZWJ, girl


def test_frame_a_joined_emoji_is_drawn_as_curses_can_its_emoji_side_by_side():
    rows = chatting().feed(f"MSG general 1 bob 2024-01-01T09:30:00.000Z {FAMILY} ok e\u0301 "
                           "a\u200cb\n").paint(8, 40)
    assert rows.text()[5] == "09:30 bob: \U0001F468\U0001F469\U0001F467 ok e\u0301 a\u200cb" + " " * 15
    assert text_width(rows.text()[5]) == 40  # the joiners gone: six cells, as counted
    assert not any("\u200d" in text for _, text, _ in rows.rows[5])
