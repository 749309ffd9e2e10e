"""chat.client.scrollback: wrapping, bounds and the scroll position, the screen as data."""

import pytest

from chat.client import scrollback
from chat.client.scrollback import Entry, Scrollback, message, notice, wrap
from chat.width import text_width


def plain(lines):
    return ["".join(text for text, _ in line) for line in lines]


def filled(n):
    sb = Scrollback()
    for i in range(n):
        sb.append(notice("", f"m{i}"))
    return sb


# --- entries ------------------------------------------------------------------

def test_entry_segments_are_sanitized_on_the_way_in():
    entry = message("14:05", "eve\x1b[2J", "hi \x1b]0;pwned\x07 \u202eevil")
    assert entry.segments == (("eve^[[2J", "speaker"), (": ", "text"),
                              ("hi ^[]0;pwned^G <U+202E>evil", "text"))


def test_entry_accepts_lists_of_segments():
    entry = Entry("", [("a", "x"), ("b", "y")])
    assert entry.segments == (("a", "x"), ("b", "y"))


# --- wrap -----------------------------------------------------------------------

def test_wrap_short_message_is_one_styled_line():
    assert wrap(message("14:05", "bob", "hi there"), 40) == [
        [("14:05", "time"), (" ", "text"), ("bob", "speaker"), (": hi there", "text")],
    ]


def test_wrap_hanging_indent_under_the_body():
    entry = message("14:05", "bob", "the quick brown fox jumps over the lazy dog")
    assert plain(wrap(entry, 30)) == [
        "14:05 bob: the quick brown fox",
        "           jumps over the lazy",
        "           dog",
    ]


def test_wrap_notice_hangs_under_the_text_after_the_time():
    entry = notice("09:00", "alice has joined the room #games today")
    assert plain(wrap(entry, 20)) == [
        "09:00 alice has",
        "      joined the",
        "      room #games",
        "      today",
    ]


def test_wrap_no_timestamp_no_prefix_means_no_indent():
    assert plain(wrap(notice("", "aaa bbb ccc"), 7)) == ["aaa bbb", "ccc"]


def test_wrap_wide_prefix_uses_a_small_indent():
    entry = message("14:05", "a_very_long_nickname", "one two three four")
    lines = plain(wrap(entry, 40))
    assert lines[0].startswith("14:05 a_very_long_nickname: one")
    entry = message("14:05", "a_very_long_nickname", "one two three four five six")
    assert plain(wrap(entry, 30)) == [
        "14:05 a_very_long_nickname:",
        "  one two three four five six",
    ]


def test_wrap_breaks_words_longer_than_the_line():
    entry = notice("", "see http://example.com/abcdefghijklmnop")
    assert plain(wrap(entry, 10)) == [
        "see http:/",
        "/example.c",
        "om/abcdefg",
        "hijklmnop",
    ]


def test_wrap_long_word_respects_the_hanging_indent():
    entry = message("", "al", "x" * 20)
    lines = plain(wrap(entry, 10))
    assert lines == ["al: xxxxxx", "    xxxxxx", "    xxxxxx", "    xx"]


def test_wrap_drops_spaces_at_the_break_but_keeps_inner_spacing():
    entry = notice("", "a  b    c")
    assert plain(wrap(entry, 4)) == ["a  b", "c"]


def test_wrap_wide_characters_never_overflow():
    entry = message("14:05", "李", "中文字符串很长很长很长 😀😀😀 ok")
    for width in range(1, 30):
        for line in wrap(entry, width):
            assert text_width("".join(t for t, _ in line)) <= width


def test_wrap_cjk_breaks_between_characters():
    entry = notice("", "中文字符串")
    assert plain(wrap(entry, 5)) == ["中文", "字符", "串"]


def test_wrap_keeps_combining_marks_with_their_base():
    entry = notice("", "e\u0301" * 6)
    assert plain(wrap(entry, 3)) == ["e\u0301" * 3] * 2


def test_wrap_keeps_styles_across_breaks():
    entry = Entry("", (("red words here", "red"), (" blue words", "blue")))
    assert wrap(entry, 10) == [
        [("red words", "red")],
        [("here", "red"), (" blue", "blue")],
        [("words", "blue")],
    ]


def test_wrap_empty_message_is_one_line():
    assert plain(wrap(message("14:05", "bob", ""), 20)) == ["14:05 bob:"]  # no trailing space


def test_wrap_zero_width_is_nothing():
    assert wrap(message("14:05", "bob", "hi"), 0) == []


@pytest.mark.parametrize("width", range(1, 25))
def test_wrap_never_wider_than_the_width_and_loses_no_words(width):
    text = "lorem ipsum dolor sit amet, consectetur adipiscing elit supercalifragilistic"
    entry = message("14:05", "nick", text)
    lines = plain(wrap(entry, width))
    assert all(text_width(line) <= width for line in lines)
    if width >= 2:
        assert "".join(line.strip() for line in lines).replace(" ", "") == \
            ("14:05nick:" + text).replace(" ", "")


# --- the pane -------------------------------------------------------------------

def test_scrollback_empty_shows_nothing():
    sb = Scrollback()
    assert sb.visible(20, 5) == [] and sb.at_bottom and sb.unread == 0


def test_scrollback_shows_the_newest_at_the_bottom():
    sb = filled(10)
    assert plain(sb.visible(10, 3)) == ["m7", "m8", "m9"]


def test_scrollback_fewer_lines_than_height():
    sb = filled(2)
    assert plain(sb.visible(10, 5)) == ["m0", "m1"]


def test_scrollback_wrapped_entries_fill_from_the_bottom():
    sb = Scrollback()
    sb.append(notice("", "one"))
    sb.append(notice("", "aaa bbb ccc"))
    assert plain(sb.visible(3, 3)) == ["aaa", "bbb", "ccc"]
    assert plain(sb.visible(7, 3)) == ["one", "aaa bbb", "ccc"]


def test_scrollback_resize_rewraps():
    sb = Scrollback()
    sb.append(message("14:05", "bob", "the quick brown fox jumps over the lazy dog"))
    assert plain(sb.visible(30, 5)) == [
        "14:05 bob: the quick brown fox", "           jumps over the lazy", "           dog"]
    assert plain(sb.visible(60, 5)) == ["14:05 bob: the quick brown fox jumps over the lazy dog"]
    assert all(text_width(line) <= 20 for line in plain(sb.visible(20, 10)))


def test_scrollback_is_bounded():
    sb = Scrollback(max_entries=5)
    for i in range(12):
        sb.append(notice("", f"m{i}"))
    assert len(sb) == 5
    assert [e.segments[0][0] for e in sb.entries] == ["m7", "m8", "m9", "m10", "m11"]
    assert plain(sb.visible(10, 10)) == ["m7", "m8", "m9", "m10", "m11"]


def test_scrollback_clear():
    sb = filled(50)
    sb.visible(10, 5)
    sb.scroll_up(10)
    sb.append(notice("", "x"))
    sb.clear()
    assert len(sb) == 0 and sb.visible(10, 5) == [] and sb.at_bottom and sb.unread == 0
    sb.append(notice("", "after"))
    assert plain(sb.visible(10, 5)) == ["after"]


def test_scrollback_scroll_up_and_down_by_lines():
    sb = filled(20)
    sb.visible(10, 4)
    sb.scroll_up(3)
    assert not sb.at_bottom
    assert plain(sb.visible(10, 4)) == ["m13", "m14", "m15", "m16"]
    sb.scroll_down(1)
    assert plain(sb.visible(10, 4)) == ["m14", "m15", "m16", "m17"]
    sb.scroll_down(2)
    assert sb.at_bottom
    assert plain(sb.visible(10, 4)) == ["m16", "m17", "m18", "m19"]


def test_scrollback_scroll_moves_through_wrapped_lines():
    sb = Scrollback()
    sb.append(notice("", "aa bb cc dd"))
    sb.append(notice("", "ee"))
    sb.visible(2, 2)
    sb.scroll_up(1)
    assert plain(sb.visible(2, 2)) == ["cc", "dd"]
    sb.scroll_up(2)
    assert plain(sb.visible(2, 2)) == ["aa", "bb"]


def test_scrollback_page_up_and_down():
    sb = filled(30)
    sb.visible(10, 5)
    sb.page_up()  # a page keeps one line of context
    assert plain(sb.visible(10, 5)) == ["m21", "m22", "m23", "m24", "m25"]
    sb.page_up()
    assert plain(sb.visible(10, 5))[-1] == "m21"
    sb.page_down()
    sb.page_down()
    assert sb.at_bottom


def test_scrollback_cannot_scroll_above_the_top():
    sb = filled(10)
    sb.visible(10, 4)
    sb.scroll_up(1000)
    assert plain(sb.visible(10, 4)) == ["m0", "m1", "m2", "m3"]
    sb.scroll_down(6)
    assert sb.at_bottom


def test_scrollback_scrolling_when_everything_fits_stays_at_bottom():
    sb = filled(3)
    sb.visible(10, 5)
    sb.scroll_up(2)
    assert sb.at_bottom
    assert plain(sb.visible(10, 5)) == ["m0", "m1", "m2"]


def test_scrollback_scroll_down_at_bottom_is_a_no_op():
    sb = filled(10)
    sb.visible(10, 4)
    sb.scroll_down(5)
    assert sb.at_bottom and plain(sb.visible(10, 4))[-1] == "m9"


def test_scrollback_scroll_to_bottom():
    sb = filled(40)
    sb.visible(10, 4)
    sb.scroll_up(20)
    sb.append(notice("", "new"))
    sb.scroll_to_bottom()
    assert sb.at_bottom and sb.unread == 0
    assert plain(sb.visible(10, 4))[-1] == "new"


def test_scrollback_new_entries_do_not_move_a_scrolled_back_view():
    sb = filled(100)
    sb.visible(10, 5)
    sb.scroll_up(20)
    before = sb.visible(10, 5)
    for i in range(30):
        sb.append(notice("", f"new{i}"))
    assert sb.visible(10, 5) == before
    assert sb.unread == 30


def test_scrollback_new_entries_at_the_bottom_scroll_the_view():
    sb = filled(10)
    sb.visible(10, 3)
    sb.append(notice("", "new"))
    assert plain(sb.visible(10, 3)) == ["m8", "m9", "new"] and sb.unread == 0


def test_scrollback_unread_shrinks_as_you_scroll_down_to_them():
    sb = filled(20)
    sb.visible(10, 4)
    sb.scroll_up(10)
    for i in range(6):
        sb.append(notice("", f"new{i}"))
    assert sb.unread == 6
    sb.scroll_down(12)  # bottom line is now m19 + 2 = new1
    assert plain(sb.visible(10, 4))[-1] == "new1"
    assert sb.unread == 4
    sb.scroll_down(100)
    assert sb.at_bottom and sb.unread == 0


def test_scrollback_unread_counts_only_new_arrivals():
    sb = filled(50)
    sb.visible(10, 4)
    sb.scroll_up(30)
    assert sb.unread == 0
    sb.append(notice("", "new"))
    assert sb.unread == 1


def test_scrollback_resize_while_scrolled_back_keeps_the_top_entry():
    sb = Scrollback()
    for i in range(30):
        sb.append(notice("", f"entry {i} has some words"))
    sb.visible(30, 5)
    sb.scroll_up(10)
    top = plain(sb.visible(30, 5))[0]
    assert plain(sb.visible(8, 5))[0] == top.split(" has")[0]
    assert not sb.at_bottom


def test_scrollback_taller_pane_near_the_top_returns_to_bottom():
    sb = filled(10)
    sb.visible(10, 3)
    sb.scroll_up(100)
    assert plain(sb.visible(10, 20)) == [f"m{i}" for i in range(10)]
    assert sb.at_bottom


def test_scrollback_dropping_the_pinned_entry_clamps_to_the_oldest():
    sb = Scrollback(max_entries=20)
    for i in range(20):
        sb.append(notice("", f"m{i}"))
    sb.visible(10, 4)
    sb.scroll_up(100)
    for i in range(5):
        sb.append(notice("", f"new{i}"))
    assert plain(sb.visible(10, 4)) == ["m5", "m6", "m7", "m8"]


def test_scrollback_visible_returns_copies():
    sb = filled(3)
    lines = sb.visible(10, 3)
    lines[0].append(("x", "y"))
    assert plain(sb.visible(10, 3)) == ["m0", "m1", "m2"]


def test_scrollback_degenerate_sizes():
    sb = filled(3)
    assert sb.visible(0, 5) == [] and sb.visible(5, 0) == []
    assert plain(sb.visible(1, 1)) == ["2"]  # "m2" wraps to "m", "2"


# --- performance: only what is shown is wrapped -----------------------------------

@pytest.fixture
def counted_wrap(monkeypatch):
    calls = []
    real = scrollback.wrap

    def counting(entry, width):
        calls.append(entry)
        return real(entry, width)

    monkeypatch.setattr(scrollback, "wrap", counting)
    return calls


def test_scrollback_bottom_screen_wraps_only_what_it_shows(counted_wrap):
    sb = Scrollback()
    for i in range(10_000):
        sb.append(message("14:05", "bob", f"message number {i}"))
    assert counted_wrap == []  # appending wraps nothing
    sb.visible(80, 24)
    assert len(counted_wrap) <= 24
    sb.visible(80, 24)
    assert len(counted_wrap) <= 24  # cached


def test_scrollback_burst_of_appends_then_render(counted_wrap):
    sb = Scrollback()
    for i in range(10_000):
        sb.append(message("14:05", "bob", f"old {i}"))
    sb.visible(80, 24)
    counted_wrap.clear()
    for i in range(5_000):
        sb.append(message("14:06", "eve", f"burst {i}"))
    lines = plain(sb.visible(80, 24))
    assert len(sb) == 10_000
    assert lines[-1] == "14:06 eve: burst 4999"
    assert len(counted_wrap) <= 24


def test_scrollback_resize_rewraps_only_what_it_shows(counted_wrap):
    sb = Scrollback()
    for i in range(10_000):
        sb.append(message("14:05", "bob", f"message number {i}"))
    sb.visible(80, 24)
    sb.visible(40, 24)
    assert len(counted_wrap) <= 48


def test_scrollback_scrolling_wraps_only_what_it_passes(counted_wrap):
    sb = Scrollback()
    for i in range(10_000):
        sb.append(message("14:05", "bob", f"message number {i}"))
    sb.visible(80, 24)
    sb.page_up()
    sb.visible(80, 24)
    assert len(counted_wrap) <= 3 * 24
