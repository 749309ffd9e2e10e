"""chat.client.lineedit: keys, history, Tab completion and the scrolled view, as data."""

import pytest

from chat.client import lineedit
from chat.client.lineedit import LineEditor, complete, completions, scroll_view
from chat.width import char_width, text_width

COMMANDS = ["join", "nick", "names", "quit", "play"]
NICKS = ["Alice", "alex", "bob", "ALICE"]


def editor(text="", cursor=None):
    ed = LineEditor(text)
    if cursor is not None:
        ed.cursor = cursor
    return ed


def state(ed):
    """The line with the cursor drawn as '|'."""
    return ed.text[:ed.cursor] + "|" + ed.text[ed.cursor:]


# --- movement and editing keys ----------------------------------------------

def test_lineedit_insert_at_cursor():
    ed = editor("held", 2)
    ed.insert("llo wor")
    assert state(ed) == "hello wor|ld"


def test_lineedit_insert_empty_is_a_no_op():
    ed = editor("abc", 1)
    ed.insert("")
    assert state(ed) == "a|bc"


def test_lineedit_insert_turns_breaks_into_spaces_and_drops_controls():
    ed = editor()
    ed.insert("a\tb\r\nc\nd\x1b[2J\x07\x9be")
    assert state(ed) == "a b c d[2Je|"


def test_lineedit_insert_keeps_wide_and_combining_characters():
    ed = editor()
    ed.insert("中😀e\u0301")
    assert ed.text == "中😀e\u0301" and ed.cursor == 4


@pytest.mark.parametrize("key, before, after", [
    ("left", "ab|c", "a|bc"),
    ("left", "|abc", "|abc"),
    ("right", "a|bc", "ab|c"),
    ("right", "abc|", "abc|"),
    ("home", "ab|c", "|abc"),
    ("home", "|abc", "|abc"),
    ("end", "a|bc", "abc|"),
    ("end", "abc|", "abc|"),
    ("backspace", "ab|c", "a|c"),
    ("backspace", "|abc", "|abc"),
    ("backspace", "abc|", "ab|"),
    ("delete", "a|bc", "a|c"),
    ("delete", "abc|", "abc|"),
    ("delete", "|abc", "|bc"),
    ("kill_to_start", "hello |world", "|world"),
    ("kill_to_start", "|hello", "|hello"),
    ("kill_to_end", "hello |world", "hello |"),
    ("kill_to_end", "hello|", "hello|"),
    ("kill_word", "say hello|", "say |"),
    ("kill_word", "say hello   |", "say |"),
    ("kill_word", "say hel|lo", "say |lo"),
    ("kill_word", "a /path/to/x|", "a |"),
    ("kill_word", "   |x", "|x"),
    ("kill_word", "|abc", "|abc"),
    ("word_left", "one two|", "one |two"),
    ("word_left", "one two  |", "one |two  "),
    ("word_left", "one t|wo", "one |two"),
    ("word_left", "|one", "|one"),
    ("word_left", "a.b|", "a.|b"),
    ("word_right", "|one two", "one| two"),
    ("word_right", "one| two", "one two|"),
    ("word_right", "one two|", "one two|"),
    ("kill_word_right", "say |hello there", "say | there"),
    ("kill_word_right", "say| hello there", "say| there"),
    ("kill_word_right", "say hel|lo", "say hel|"),
    ("kill_word_right", "abc|", "abc|"),
    ("left", "中|文", "|中文"),
    ("right", "😀|😀", "😀😀|"),
    ("backspace", "中文|", "中|"),
    ("delete", "|中文", "|文"),
])
def test_lineedit_keys(key, before, after):
    ed = editor(before.replace("|", ""), before.index("|"))
    getattr(ed, key)()
    assert state(ed) == after


def test_lineedit_keys_step_over_combining_marks():
    ed = editor("ae\u0301b", 3)  # after "e" + acute
    ed.left()
    assert ed.cursor == 1
    ed.right()
    assert ed.cursor == 3
    ed.backspace()
    assert state(ed) == "a|b"


def test_lineedit_delete_takes_the_marks_with_the_character():
    ed = editor("e\u0301x", 0)
    ed.delete()
    assert state(ed) == "|x"


FAMILY = "\U0001F468\u200d\U0001F469\u200d\U0001F467"  # man ZWJ woman ZWJ girl
CODER = "\U0001F469\u200d\U0001F4BB"  # woman ZWJ laptop
WAVE = "\U0001F44B\U0001F3FD"  # waving hand, medium skin tone
RAINBOW = "\U0001F3F3\ufe0f\u200d\U0001F308"  # white flag VS16 ZWJ rainbow


@pytest.mark.parametrize("emoji", [FAMILY, CODER, WAVE, RAINBOW, CODER + "\ufe0f"])
def test_lineedit_backspace_deletes_a_whole_joined_emoji(emoji):
    ed = editor()
    ed.insert("q" + emoji)
    ed.backspace()
    assert state(ed) == "q|"


@pytest.mark.parametrize("emoji", [FAMILY, CODER, WAVE, RAINBOW])
def test_lineedit_cursor_never_lands_inside_a_joined_emoji(emoji):
    ed = editor("r" + emoji + "s")
    ed.left()
    ed.left()
    ed.insert("|")
    assert ed.text == "r|" + emoji + "s"
    ed.right()
    assert ed.cursor == len(ed.text) - 1
    ed = editor("r" + emoji + "s", 1)
    ed.delete()
    assert state(ed) == "r|s"


def test_lineedit_view_never_starts_inside_a_joined_emoji():
    text = "x" * 10 + CODER * 6
    stops = [0]
    while stops[-1] < len(text):
        stops.append(lineedit.move_right(text, stops[-1])[1])
    for width in range(2, 12):
        for cursor in stops:
            shown, col, offset = scroll_view(text, cursor, width, len(text))
            assert not shown.startswith(("\u200d", "\U0001F4BB")), (width, cursor, shown)


def test_lineedit_edits_are_pure_functions():
    assert lineedit.kill_word("say hello", 9) == ("say ", 4)
    assert lineedit.insert("ac", 1, "b") == ("abc", 2)
    assert lineedit.move_home("abc", 2) == ("abc", 0)


# --- history ----------------------------------------------------------------

def typed(ed, line):
    ed.insert(line)
    return ed.submit()


def test_lineedit_submit_returns_and_clears():
    ed = editor()
    assert typed(ed, "hello") == "hello"
    assert state(ed) == "|"
    assert ed.history == ["hello"]


def test_lineedit_submit_skips_blank_and_repeated_lines():
    ed = editor()
    for line in ["one", "", "   ", "one", "two", "one"]:
        typed(ed, line)
    assert ed.history == ["one", "two", "one"]


def test_lineedit_submit_returns_blank_lines_too():
    assert typed(editor(), "") == ""


def test_lineedit_history_is_capped():
    ed = editor()
    for i in range(lineedit.HISTORY_LIMIT + 20):
        typed(ed, f"line {i}")
    assert len(ed.history) == lineedit.HISTORY_LIMIT
    assert ed.history[-1] == f"line {lineedit.HISTORY_LIMIT + 19}"
    assert ed.history[0] == "line 20"


def test_lineedit_history_prev_and_next_walk_the_lines():
    ed = editor()
    for line in ["one", "two", "three"]:
        typed(ed, line)
    ed.history_prev()
    assert state(ed) == "three|"
    ed.history_prev()
    ed.history_prev()
    assert state(ed) == "one|"
    ed.history_prev()  # already at the oldest
    assert state(ed) == "one|"
    ed.history_next()
    assert state(ed) == "two|"


def test_lineedit_history_keeps_the_draft():
    ed = editor()
    typed(ed, "old")
    ed.insert("half typ")
    ed.left()
    ed.history_prev()
    assert ed.text == "old"
    ed.history_next()
    assert state(ed) == "half typ|"
    ed.history_next()  # already at the draft
    assert state(ed) == "half typ|"


def test_lineedit_history_with_no_history_is_a_no_op():
    ed = editor("draft")
    ed.history_prev()
    ed.history_next()
    assert state(ed) == "draft|"


def test_lineedit_history_edits_survive_navigation_until_submit():
    ed = editor()
    typed(ed, "one")
    typed(ed, "two")
    ed.history_prev()
    ed.insert("!")
    ed.history_prev()
    ed.history_next()
    assert ed.text == "two!"
    assert ed.submit() == "two!"
    assert ed.history == ["one", "two", "two!"]
    ed.history_prev()
    ed.history_prev()
    assert ed.text == "two"  # the recalled line itself was never changed


def test_lineedit_history_from_constructor():
    ed = LineEditor(history=["a", "b"])
    ed.history_prev()
    assert ed.text == "b"


# --- completion -------------------------------------------------------------

def tab(ed, commands=COMMANDS, nicks=NICKS):
    return ed.complete(commands, nicks)


def test_lineedit_complete_command_unique_adds_space():
    ed = editor("/jo")
    assert tab(ed)
    assert state(ed) == "/join |"


def test_lineedit_complete_command_accepts_names_with_slash_and_any_case():
    ed = editor("/Q")
    tab(ed, commands=["/quit"])
    assert state(ed) == "/quit |"


def test_lineedit_complete_command_cycles_without_space():
    ed = editor("/n")
    tab(ed)
    assert state(ed) == "/nick|"
    tab(ed)
    assert state(ed) == "/names|"
    tab(ed)
    assert state(ed) == "/nick|"


def test_lineedit_complete_slash_word_later_in_line_completes_nicks():
    ed = editor("see /al")
    assert not tab(ed)
    assert state(ed) == "see /al|"


def test_lineedit_complete_nick_at_start_adds_colon():
    ed = editor("b")
    tab(ed)
    assert state(ed) == "bob: |"


def test_lineedit_complete_nick_after_leading_spaces_counts_as_start():
    ed = editor("  b")
    tab(ed)
    assert state(ed) == "  bob: |"


def test_lineedit_complete_nick_mid_line_adds_space():
    ed = editor("hi b")
    tab(ed)
    assert state(ed) == "hi bob |"


def test_lineedit_complete_nick_case_insensitive_priority_order_and_cycle():
    ed = editor("hi AL")
    tab(ed)
    assert state(ed) == "hi Alice |"
    tab(ed)
    assert state(ed) == "hi alex |"
    tab(ed)  # "ALICE" is the same nick as "Alice": listed once
    assert state(ed) == "hi Alice |"


def test_lineedit_complete_cycles_at_start_of_line():
    ed = editor("a")
    tab(ed)
    tab(ed)
    assert state(ed) == "alex: |"


def test_lineedit_complete_any_edit_resets_the_cycle():
    ed = editor("a")
    tab(ed)
    assert ed.text == "Alice: "
    ed.insert("b")
    tab(ed)  # completes the new word "b" rather than cycling
    assert state(ed) == "Alice: bob |"


def test_lineedit_complete_keeps_text_after_cursor():
    ed = editor("hey b, how", 5)
    tab(ed)
    assert state(ed) == "hey bob |, how"
    tab(ed)  # one match: cycling stays put
    assert state(ed) == "hey bob |, how"


def test_lineedit_complete_no_match_changes_nothing():
    ed = editor("hi zed")
    assert not tab(ed)
    assert state(ed) == "hi zed|"


def test_lineedit_complete_empty_word_offers_recent_speakers():
    ed = editor()
    tab(ed, nicks=["carol", "dave"])
    assert state(ed) == "carol: |"
    tab(ed, nicks=["carol", "dave"])
    assert state(ed) == "dave: |"


def test_lineedit_complete_wide_nick():
    ed = editor("say 中")
    tab(ed, nicks=["中文名"])
    assert state(ed) == "say 中文名 |"


def test_complete_pure_function():
    assert complete("/pl", 3, COMMANDS, NICKS) == ("/play ", 6)
    assert complete("hi al", 5, COMMANDS, NICKS) == ("hi Alice ", 9)
    assert complete("zz", 2, COMMANDS, NICKS) == ("zz", 2)


def test_completions_lists_the_choices():
    found = completions("/n", 2, COMMANDS, NICKS)
    assert (found.start, found.end, found.choices) == (0, 2, ("/nick", "/names"))
    assert completions("x", 1, COMMANDS, []) is None


# --- horizontal view ---------------------------------------------------------

def check_view(ed, width):
    shown, col = ed.view(width)
    assert text_width(shown) <= width
    assert 0 <= col < width
    return shown, col


def test_lineedit_view_short_text_fits():
    ed = editor("hello", 2)
    assert ed.view(10) == ("hello", 2)


def test_lineedit_view_empty_line():
    assert editor().view(10) == ("", 0)


def test_lineedit_view_cursor_at_end_scrolls_to_keep_it_on_screen():
    ed = editor("abcdefghij")
    assert check_view(ed, 5) == ("ghij", 4)


def test_lineedit_view_exact_fit_leaves_room_for_the_cursor():
    ed = editor("abcde")
    assert ed.view(5) == ("bcde", 4)
    ed.home()
    assert ed.view(5) == ("abcde", 0)


def test_lineedit_view_cursor_at_start_shows_the_start():
    ed = editor("abcdefghij")
    ed.view(5)
    ed.home()
    assert check_view(ed, 5) == ("abcde", 0)


def test_lineedit_view_does_not_jump_while_cursor_stays_inside():
    ed = editor("abcdefghij")
    ed.view(5)  # shows "ghij"
    ed.left()
    ed.left()
    assert check_view(ed, 5) == ("ghij", 2)


def test_lineedit_view_moving_left_past_the_edge_shows_context():
    ed = editor("abcdefghijklmnop")
    ed.view(6)
    for _ in range(6):
        ed.left()
    shown, col = check_view(ed, 6)
    assert shown[col] == ed.text[ed.cursor] == "k"
    assert col > 0  # some text to the left of the cursor stays visible


def test_lineedit_view_deleting_pulls_the_text_back():
    ed = editor("abcdefghij")
    ed.view(5)
    ed.kill_word()
    assert ed.view(5) == ("", 0)
    ed.insert("xy")
    assert ed.view(5) == ("xy", 2)


def test_lineedit_view_wide_characters_at_end():
    ed = editor("中文字符串")  # 10 cells
    shown, col = check_view(ed, 7)
    assert shown == "字符串" and col == 6


def test_lineedit_view_wide_character_under_the_cursor_is_shown_whole():
    ed = editor("中文字符串")
    ed.view(7)
    ed.left()  # cursor on 串
    assert check_view(ed, 7) == ("字符串", 4)


def test_lineedit_view_scrolls_so_a_wide_character_under_the_cursor_fits():
    ed = editor("abcdef中", 6)
    assert check_view(ed, 7) == ("bcdef中", 5)


def test_lineedit_view_cursor_cell_counts_wide_characters():
    ed = editor("a中b😀c", 3)  # cursor on "😀"
    assert ed.view(20) == ("a中b😀c", 4)
    ed.right()
    assert ed.view(20) == ("a中b😀c", 6)


@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 8, 40])
def test_scroll_view_every_cursor_position_is_visible(width):
    text = "ab中文😀cd e\u0301f 字"
    stops = [0]
    while stops[-1] < len(text):
        stops.append(lineedit.move_right(text, stops[-1])[1])
    offset = 0
    for cursor in stops + stops[::-1] + stops:
        shown, col, offset = scroll_view(text, cursor, width, offset)
        assert text[offset:].startswith(shown)
        assert text_width(shown) <= width
        assert col == text_width(text[offset:cursor]) < width
        under = char_width(text[cursor]) if cursor < len(text) else 0
        if under <= width:
            assert text_width(shown) >= col + under


def test_scroll_view_zero_width():
    assert scroll_view("abc", 1, 0) == ("", 0, 1)


def test_scroll_view_one_cell_wide_char_under_cursor():
    shown, col, _ = scroll_view("中文", 0, 1)
    assert (shown, col) == ("", 0)


def test_lineedit_history_never_keeps_a_password():
    editor = LineEditor()
    for line in ("hello", "/pass hunter2", "/PASS  other"):
        editor.insert(line)
        assert editor.submit() == line
    editor.history_prev()
    assert editor.text == "hello"
    assert editor.history == ["hello"]
