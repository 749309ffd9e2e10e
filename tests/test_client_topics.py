"""The client side of topics, ignoring and the read marker, sans I/O: the core fed
server lines, the scrollback's marker, the frame's top line, and the settings file
(in a temporary folder)."""
from __future__ import annotations

import json
import os
import time

import pytest

from chat import protocol as p
from chat.client import core as c
from chat.client import events as ev
from chat.client import frame, settings
from chat.client.lineedit import LineEditor
from chat.client.scrollback import MARKER, Scrollback, message, notice
from test_client_games import core_fed

STAMP = "2026-12-01T10:31:05.123Z"
HERE = "HERE general alice\n"


def texts(core: c.ClientCore) -> list[str]:
    return [e.text for e in core.take_entries()]


# ------------------------------------------------------------------ topics
def test_client_topic_on_join_is_shown_once_with_who_and_when():
    core = core_fed(HERE, f"TOPIC general bob {STAMP} join ship it\n")
    when = time.strftime("%H:%M", time.localtime(p.parse_time(STAMP)))
    (shown,) = texts(core)
    assert shown.startswith("Topic of general: ship it (set by bob at ") and when in shown
    assert core.topic_text() == "ship it"
    core.connection_lost("reset")
    core.connection_made()
    core.receive_data(f"HERE general alice\nTOPIC general bob {STAMP} join ship it\n".encode())
    assert not any("Topic" in t for t in texts(core))  # the same again after a rejoin
    core.submit("/topic")
    core.receive_data(f"TOPIC general bob {STAMP} asked ship it\n".encode())
    assert any(t.startswith("Topic of general: ship it") for t in texts(core))


def test_client_topic_change_and_removal_are_notices():
    core = core_fed(HERE, f"TOPIC general bob {STAMP} changed new \x1b[2J plan\n")
    assert texts(core) == ["bob set the topic of general: new ^[[2J plan"]
    assert core.topic_text() == "new ^[[2J plan"
    core.receive_data(f"TOPIC general bob {STAMP} changed\n".encode())
    assert texts(core) == ["bob removed the topic of general"] and core.topic_text() == ""


def test_client_topic_goes_with_its_room():
    core = core_fed(HERE, f"TOPIC general bob {STAMP} join ship it\n")
    core.receive_data(b"HERE den alice\n")
    assert core.topic_text() == ""


def test_client_list_shows_each_rooms_topic():
    core = core_fed("ROOMS 2 2 2 rooms\nROOM den 1\nROOM general 3 ship it\n")
    assert texts(core) == ["Rooms; /join ROOM to enter one:", "  den (1)",
                           "  general (3): ship it"]


def test_frame_topic_is_the_top_line_cut_at_a_word():
    core = core_fed(HERE, f"TOPIC general bob {STAMP} join the plan for friday is to ship\n")
    scroll = Scrollback()
    for rows, cols in ((12, 40), (50, 160)):
        shown = frame.paint(core, scroll, LineEditor(), rows, cols, address="a:1").text()
        assert shown[0].rstrip() in (" the plan for friday is to ship",
                                     " the plan for friday is to...")
        assert len(shown) == rows and all(len(row) == cols for row in shown)
    narrow = frame.paint(core, scroll, LineEditor(), 12, 20, address="a:1").text()
    assert narrow[0] == " the plan for...    "
    tiny = frame.paint(core, scroll, LineEditor(), 5, 40, address="a:1").text()
    assert "plan" not in tiny[0]  # no row to spare


# ------------------------------------------------------------------ ignoring
def test_client_ignore_hides_their_chat_history_and_bell():
    core = core_fed(HERE)
    core.take_entries()
    core.submit("/ignore BOB")
    assert texts(core) == ["Ignoring BOB: their messages are hidden on your side "
                           "(/unignore BOB shows them again)."]
    assert ev.SaveSettings() in core.requests
    core.requests.clear()
    core.receive_data(f"MSG general 7 bob {STAMP} hey alice\nMSG general 8 carol {STAMP} hi\n"
                      f"HISTORY general 1 0 missed\nENTRY general 6 say bob * {STAMP} old\n"
                      .encode())
    assert [t for t in texts(core) if t in ("hey alice", "hi", "old")] == ["hi"]
    assert ev.Bell() not in core.requests
    assert core.last_id["general"] == 8  # seen, though hidden: a catch-up starts after it
    core.submit("/unignore bob")
    assert texts(core) == ["bob's messages are shown again."] and core.ignored_nicks() == []
    core.receive_data(f"MSG general 9 bob {STAMP} back\n".encode())
    assert texts(core) == ["back"]


@pytest.mark.parametrize("line, words", [
    ("/ignore", "You ignore nobody"),
    ("/ignore bob carol", "One nick at a time, please; usage: /ignore NICK."),
    ("/ignore b\u00f6b", "may only use"),
    ("/ignore " + "x" * 17, "too long"),
    ("/ignore alice", "You cannot ignore yourself."),
    ("/unignore", "Usage: /unignore NICK"),
    ("/unignore dave", "You do not ignore dave"),
])
def test_client_ignore_bad_input_is_a_sentence(line, words):
    core = core_fed(HERE)
    core.take_entries()
    core.submit(line)
    (said,) = texts(core)
    assert words in said
    assert core.requests == [] and core.data_to_send(0.0) == b""  # never sent


def test_client_ignore_lists_and_refuses_twice():
    core = core_fed(HERE)
    core.set_ignored(["bob", "Carol"])
    core.take_entries()
    core.submit("/ignore carol")
    core.submit("/ignore")
    assert texts(core) == ["You ignore carol already.",
                           "You ignore bob, Carol (/unignore NICK shows someone again)."]


def test_settings_round_trip_atomically_keeping_other_keys(tmp_path):
    path = tmp_path / "parlor" / settings.FILE
    assert settings.load(path) == ([], None)  # no file yet: no settings, no complaint
    assert settings.save(path, ["bob"]) is None
    data = json.loads(path.read_text())
    data["colour"] = "blue"
    path.write_text(json.dumps(data))
    assert settings.save(path, ["bob", "carol"]) is None
    assert json.loads(path.read_text()) == {"ignored": ["bob", "carol"], "colour": "blue"}
    assert settings.load(path) == (["bob", "carol"], None)
    assert os.listdir(path.parent) == [settings.FILE]  # no temporary file left


@pytest.mark.parametrize("content, words", [
    (b"{not json", "is not valid JSON"),
    (b"[1, 2]", "does not hold a JSON object"),
    (b'{"ignored": "bob"}', "no list of nicks"),
    (b"\xff\xfe", "Could not read"),
])
def test_settings_a_bad_file_is_a_sentence(tmp_path, content, words):
    path = tmp_path / settings.FILE
    path.write_bytes(content)
    nicks, problem = settings.load(path)
    assert nicks == [] and words in problem and str(path) in problem


def test_settings_names_that_are_not_nicks_are_left_out(tmp_path):
    path = tmp_path / settings.FILE
    path.write_text('{"ignored": ["bob", "not a nick", 7]}')
    nicks, problem = settings.load(path)
    assert nicks == ["bob"] and "2 names that are not nicks" in problem


def test_settings_a_folder_that_cannot_be_written_is_a_sentence(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    problem = settings.save(blocker / settings.FILE, ["bob"])  # its folder is a file
    assert problem.startswith("Could not save who you ignore to ")


def test_settings_path_is_in_the_config_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    if os.sys.platform.startswith("linux"):
        assert settings.default_path() == tmp_path / "parlor" / settings.FILE


# ------------------------------------------------------------------ the read marker
def marked(n: int = 0) -> Scrollback:
    scroll = Scrollback(read_marker=True, quiet=frozenset({"system"}),
                        dividers=frozenset({"divider"}))
    for i in range(n):
        scroll.append(message("", "bob", f"m{i}", kind="chat"))
    return scroll


def rows(scroll: Scrollback, width: int = 40, height: int = 5) -> list[str]:
    return ["".join(text for text, _ in line) for line in scroll.visible(width, height)]


def test_scrollback_marker_sits_before_what_came_while_scrolled_back():
    scroll = marked(20)
    rows(scroll)
    scroll.scroll_up(5)
    scroll.append(notice("", "carol joined", kind="system"))  # a notice does not take it
    scroll.append(message("", "bob", "new1", kind="chat"))
    scroll.append(message("", "bob", "new2", kind="chat"))
    scroll.scroll_to_bottom()
    assert rows(scroll)[-3:] == [MARKER, "bob: new1", "bob: new2"]


def test_scrollback_marker_moves_and_is_one():
    scroll = marked(3)
    rows(scroll)
    scroll.look_away()
    scroll.append(message("", "bob", "a", kind="chat"))
    scroll.append(message("", "bob", "b", kind="chat"))  # the first unseen has it, not this
    scroll.look_back()
    scroll.append(message("", "bob", "c", kind="chat"))  # seen: no marker
    scroll.look_away()
    scroll.append(message("", "bob", "d", kind="chat"))
    assert rows(scroll, height=10) == ["bob: m0", "bob: m1", "bob: m2", "bob: a", "bob: b",
                                       "bob: c", MARKER, "bob: d"]


def test_scrollback_marker_goes_above_the_dividers_before_the_message():
    scroll = marked(1)
    scroll.look_away()
    scroll.append(notice("", "Connected.", kind="system"))
    scroll.append(notice("", "--- while you were away ---", kind="divider"))
    scroll.append(message("", "bob", "missed", kind="chat"))
    assert rows(scroll)[-3:] == [MARKER, "--- while you were away ---", "bob: missed"]


def test_scrollback_scrolling_back_and_returning_with_nothing_new_marks_nothing():
    scroll = marked(20)
    rows(scroll)
    scroll.scroll_up(5)
    scroll.scroll_to_bottom()
    scroll.append(message("", "bob", "seen", kind="chat"))
    assert MARKER not in rows(scroll)


def test_scrollback_without_read_marker_never_marks():
    scroll = Scrollback()
    scroll.append(message("", "bob", "a"))
    scroll.look_away()
    scroll.append(message("", "bob", "b"))
    assert MARKER not in rows(scroll)


def test_client_core_is_caught_up_once_what_was_missed_is_in():
    core = core_fed("HELLO parlor/4 hi\n", HERE, f"MSG general 5 bob {STAMP} hi\n")
    assert core.caught_up
    core.connection_lost("reset")
    assert not core.caught_up
    core.connection_made()
    core.receive_data(b"HELLO parlor/4 hi\n")
    assert core.data_to_send(0.0).endswith(b"/join general\n/missed 5\n")
    core.receive_data(b"REPLY nick 0 you will be alice in the room you join next\n"
                      b"HERE general alice\nREPLY join 0 you joined general as alice\n")
    assert not core.caught_up  # joined, but the catch-up is still to come
    core.receive_data(f"HISTORY general 1 0 missed\n"
                      f"ENTRY general 6 say bob * {STAMP} while away\n".encode())
    assert core.caught_up


@pytest.mark.parametrize("rows, cols", [(24, 80), (24, 40)])  # beside the pane; on top of it
def test_frame_topic_line_sits_above_the_game_panel(rows, cols):
    from test_client_games import START
    core = core_fed(START, f"TOPIC general bob {STAMP} join the plan\n")
    shown = frame.paint(core, Scrollback(), LineEditor(), rows, cols, address="a:1").text()
    assert shown[0].rstrip() == " the plan"
    board_row = next(y for y, row in enumerate(shown) if "1 | 2 | 3" in row)
    title_row = next(y for y, row in enumerate(shown) if "tictactoe g1" in row)
    assert title_row == 1 and board_row == 2
