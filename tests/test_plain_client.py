"""The line-mode client as a real subprocess (`client.py --plain`, stdin a pipe)
against a real server; its stdout is read line by line with a deadline.
"""
from __future__ import annotations

import re
import signal
import socket

from chat import protocol as p

RAW_LINE = re.compile(r"^(?:%s)\b" % "|".join(p.KEYWORDS))  # a protocol line leaking through


def port_of(server) -> str:
    return str(server.address[1])


def assert_friendly(lines: list[str]) -> None:
    for line in lines:
        assert not RAW_LINE.match(line), f"raw protocol line shown to the user: {line!r}"
        assert "Traceback" not in line and "\x1b" not in line, line


def test_plain_client_two_clients_chat(server, spawn):
    ann = spawn.client("--port", port_of(server), "--room", "red", "--nick", "ann")
    ann.stdout.expect("In red: ann")
    bob = spawn.client("--port", port_of(server), "--room", "red", "--nick", "bob")
    bob.stdout.expect("In red:")
    ann.stdout.expect("* bob joined red")
    bob.write("hello from bob")
    assert ann.stdout.expect("hello from bob") == "[red] bob: hello from bob"
    ann.write("hi bob, ann here")
    assert bob.stdout.expect("ann here") == "[red] ann: hi bob, ann here"
    for client in (ann, bob):
        client.close_stdin()
        assert client.wait() == 0
        assert_friendly(client.stdout.lines + client.stdout.read_rest())
    assert ann.stderr.read_rest() == []


def test_plain_client_autojoin_with_room_and_nick(server, spawn, connect):
    watcher = connect(server)
    watcher.enter("Lounge", "watcher")
    client = spawn.client("--port", port_of(server), "--room", "#lounge", "--nick", "ann")
    assert client.stdout.expect("You joined") == "* You joined Lounge as ann."
    assert watcher.expect(p.Joined) == p.Joined("Lounge", "ann")
    watcher.say("welcome ann")
    assert client.stdout.expect("welcome") == "[Lounge] watcher: welcome ann"


def test_plain_client_nick_alone_applies_to_the_first_join(server, spawn):
    client = spawn.client("--port", port_of(server), "--nick", "ann")
    client.stdout.expect("/list shows the rooms")  # the lobby hint: no room yet
    client.write("/join red")
    assert client.stdout.expect("You joined") == "* You joined red as ann."
    client.write("/who")
    client.stdout.expect("In red: ann")


def test_plain_client_taken_nick_is_a_sentence(server, spawn, connect):
    holder = connect(server)
    holder.enter("red", "bob")
    client = spawn.client("--port", port_of(server), "--room", "red", "--nick", "BOB")
    joined = client.stdout.expect("You joined red")
    assert "BOB is taken here" in joined and joined.endswith(".")
    client.write("/nick bob")
    taken = client.stdout.expect("taken in red")
    assert taken == "! Nick 'bob' is taken in red, pick another."
    client.close_stdin()
    assert client.wait() == 0
    assert_friendly(client.stdout.lines + client.stdout.read_rest())


def test_plain_client_control_characters_are_shown_harmlessly(server, spawn, connect):
    client = spawn.client("--port", port_of(server), "--room", "red", "--nick", "ann")
    client.stdout.expect("In red:")
    evil = connect(server)
    evil.enter("red", "evil")
    evil.send("\x1b[2J\x1b]0;pwned\x07 gotcha")
    assert client.stdout.expect("gotcha") == "[red] evil: ^[[2J^[]0;pwned^G gotcha"


def test_plain_client_splits_long_input(server, spawn, connect):
    reader = connect(server)
    reader.enter("red", "reader")
    client = spawn.client("--port", port_of(server), "--room", "red", "--nick", "ann")
    reader.expect(p.Joined)
    words = " ".join(f"w{i:04d}" for i in range(400))  # 2399 bytes: three messages
    client.write(words)
    got = [reader.expect(p.Chat).text for _ in range(3)]
    assert all(len(t.encode()) <= p.MAX_TEXT for t in got)
    assert " ".join(got) == words


def test_plain_client_stdin_eof_exits_0(server, spawn):
    client = spawn.client("--port", port_of(server))
    client.stdout.expect("Connected to")
    client.close_stdin()
    assert client.wait() == 0
    assert client.stdout.read_rest()[-1] == "* Server says: Goodbye."
    assert client.stderr.read_rest() == []


def test_plain_client_connection_refused(spawn):
    with socket.socket() as probe:  # a port that was free a moment ago, now closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = spawn.client("--port", str(port))
    assert client.wait() == 1
    assert client.stdout.read_rest() == []
    (line,) = client.stderr.read_rest()
    assert "python3 server.py" in line and str(port) in line
    assert "Traceback" not in line


def test_plain_client_server_stops(server, spawn):
    port = port_of(server)
    client = spawn.client("--port", port, "--room", "red", "--nick", "ann")
    client.stdout.expect("In red:")
    server.stop("back soon")
    assert client.wait() == 1
    assert client.stdout.read_rest() == [
        "* Server says: Back soon.",
        f"! Lost the connection to 127.0.0.1:{port}: the server closed the connection."]


def test_plain_client_server_killed(spawn):
    server = spawn.server()
    client = spawn.client("--port", str(server.address[1]), "--room", "red", "--nick", "ann")
    client.stdout.expect("In red:")
    server.popen.send_signal(signal.SIGKILL)
    assert client.wait() == 1
    (line,) = client.stdout.read_rest()
    assert line.startswith(f"! Lost the connection to 127.0.0.1:{server.address[1]}: ")
    assert client.stderr.read_rest() == []


def test_plain_client_ctrl_c_ends_the_line_then_says_goodbye(server, spawn):
    client = spawn.client("--port", port_of(server), "--room", "red", "--nick", "ann")
    client.stdout.expect("In red:")
    client.popen.send_signal(signal.SIGINT)
    assert client.wait() == 0
    rest = client.stdout.read_rest()
    assert rest[:1] == [""], rest  # the terminal echoed ^C: the shell prompt gets a new line
    assert client.stderr.read_rest() == []
