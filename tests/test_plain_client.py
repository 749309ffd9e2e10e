"""The line-mode client as a real subprocess (`client.py --plain`, stdin a pipe)
against a real server; its stdout is read line by line with a deadline.  At the
end, the same client in a pseudo-terminal, its screen read through pyte.
"""
from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chat import protocol as p
from chat.client import stdin_thread
from chat.client.rows import MARKER
from conftest import said
from pty_harness import RawPeer, ServerProcess, Terminal
from chat.server.limits import Limits

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 10.0

RAW_LINE = re.compile(r"^(?:%s)\b" % "|".join(p.KEYWORDS))  # a protocol line leaking through


def port_of(server) -> str:
    return str(server.address[1])


def assert_friendly(lines: list[str]) -> None:
    for line in lines:
        assert not RAW_LINE.match(line), f"raw protocol line shown to the user: {line!r}"
        assert "Traceback" not in line and "\x1b" not in line, line


@pytest.mark.parametrize("reading", ["select", "thread"])
def test_plain_client_two_clients_chat(server, spawn, monkeypatch, reading):
    """(reading "thread": stdin read by chat.client.stdin_thread, as on Windows.)"""
    if reading == "thread":
        monkeypatch.setenv(stdin_thread.ENV, "1")  # (children inherit it)
    ann = spawn.client("--port", port_of(server), "--room", "red", "--nick", "ann")
    ann.stdout.expect("In red: ann")
    assert threads(ann.popen.pid) == (2 if reading == "thread" else 1)
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


def threads(pid: int) -> int:
    """How many threads the process has now (Linux's /proc)."""
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("Threads:")).split()[1])


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


def test_plain_client_says_which_commands_are_for_the_full_screen_client(server, spawn):
    client = spawn.client("--port", port_of(server))
    client.stdout.expect("Connected to")
    client.write("/reconnect")
    assert "/reconnect is for the full-screen client" in client.stdout.expect("/reconnect")
    client.write("/clear")
    assert "/clear is for the full-screen client" in client.stdout.expect("/clear")
    client.write("/list")  # still connected, still served
    client.stdout.expect("room")
    client.write("/help")
    client.stdout.expect("/cancel")  # the client's own commands come first...
    lines = client.stdout.lines
    help_text = "\n".join(lines[lines.index("Client commands:"):])
    assert "/clear " not in help_text and "/reconnect " not in help_text  # ...but not these


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


def test_plain_client_says_when_the_port_is_not_parlor(spawn):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)
        port = listener.getsockname()[1]
        client = spawn.client("--port", str(port))
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/html\r\n\r\n"
                         b"<html><body>nope</body></html>\r\n")
            assert client.wait() == 1
    out = client.stdout.read_rest()
    assert out == [f"! 127.0.0.1:{port} is not a Parlor server (its first "
                   "line: 'HTTP/1.0 400 Bad Request'); check --host and --port."]


def test_plain_client_a_port_that_never_greets_exits_1_with_one_sentence():
    """A listening socket that says nothing (stdin /dev/null, as the issue found it):
    after 5 s one sentence and exit 1, not a silent exit 0."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        started = time.monotonic()
        with open("/dev/null", "rb") as stdin:
            done = run_client(port, stdin=stdin)
        took = time.monotonic() - started
    assert done.returncode == 1 and done.stderr == b""
    assert done.stdout.decode().splitlines() == [
        f"! No greeting from 127.0.0.1:{port} within 5 s: is this a Parlor server (if it uses TLS, connect with --tls)?"]
    assert 5 <= took < 8, f"took {took:.1f} s"


def test_plain_client_piped_lines_unsent_when_the_server_goes_exit_1():
    """A piped client whose server goes away with lines still waiting says so in a
    line and exits 1 (line mode does not reconnect)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        port = listener.getsockname()[1]
        client = subprocess.Popen(
            [sys.executable, "client.py", "--plain", "--port", str(port)], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"HELLO parlor/2 hi\n")
                client.stdin.write(b"".join(b"line %d\n" % i for i in range(40)))
                client.stdin.flush()
                conn.settimeout(TIMEOUT)
                got = b""
                while b"line 14\n" not in got:  # the first burst (15 lines) has come
                    chunk = conn.recv(4096)
                    assert chunk, f"the client hung up early; it sent {got!r}"
                    got += chunk
            out, err = client.communicate(timeout=TIMEOUT)
        finally:
            if client.poll() is None:
                client.kill()
                client.communicate()
    assert client.returncode == 1 and err == b""
    last = out.decode().splitlines()[-2:]
    assert last[0].startswith(f"! Lost the connection to 127.0.0.1:{port}: ")
    unsent = re.fullmatch(r"! (\d+) lines still waiting to go were not sent\.", last[1])
    assert unsent and 0 < int(unsent.group(1)) <= 25, last


def test_plain_client_server_stops(server, spawn):
    port = port_of(server)
    client = spawn.client("--port", port, "--room", "red", "--nick", "ann")
    client.stdout.expect("In red:")
    server.stop("back soon")
    assert client.wait() == 1
    assert client.stdout.read_rest() == ["* Server says: Back soon.", "! Disconnected."]


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


def run_client(port, *args: str, stdin=None, input: bytes | None = None):
    """client.py --plain to the end, with stdin from a file (or `input` through a pipe)."""
    return subprocess.run([sys.executable, "client.py", "--plain", "--port", str(port), *args],
                          cwd=ROOT, stdin=stdin, input=input, capture_output=True,
                          timeout=TIMEOUT)


def test_plain_client_stdin_from_a_regular_file(server, connect, tmp_path):
    watcher = connect(server)
    watcher.enter("general", "watcher")
    script = tmp_path / "lines.txt"
    script.write_text("line one\nline two\n")
    with script.open("rb") as stdin:  # epoll refuses a regular file: EPERM
        done = run_client(port_of(server), "--room", "general", "--nick", "fil", stdin=stdin)
    assert done.returncode == 0 and done.stderr == b""
    assert said(watcher.expect(p.Chat)) == ("general", "fil", "line one")
    assert said(watcher.expect(p.Chat)) == ("general", "fil", "line two")
    out = done.stdout.decode().splitlines()
    assert out[-3:] == ["[general] fil: line one", "[general] fil: line two",
                        "* Server says: Goodbye."]


def test_plain_client_stdin_from_dev_null(server):
    with open("/dev/null", "rb") as stdin:
        done = run_client(port_of(server), "--room", "general", "--nick", "nul", stdin=stdin)
    assert done.returncode == 0 and done.stderr == b""
    assert done.stdout.decode().splitlines()[-1] == "* Server says: Goodbye."


def test_plain_client_piped_line_goes_to_the_room_asked_for(server, connect):
    watcher = connect(server)
    watcher.enter("general", "watcher")
    done = run_client(port_of(server), "--room", "general", "--nick", "pip", input=b"hi\n")
    assert done.returncode == 0 and done.stderr == b""
    assert said(watcher.expect(p.Chat)) == ("general", "pip", "hi")
    out = done.stdout.decode()
    assert "[general] pip: hi" in out and "lobby" not in out


def test_plain_client_holds_stdin_until_the_autojoin_is_answered():
    """A fake server checks the order: nothing before HELLO, then the --nick and
    --room commands, and the piped line only after both were answered."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        client = subprocess.Popen(
            [sys.executable, "client.py", "--plain", "--port", str(listener.getsockname()[1]),
             "--room", "general", "--nick", "pip"],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            client.stdin.write(b"hi\n")
            client.stdin.close()  # the line and the end of input wait in the pipe
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"HELLO parlor/4 hi\n")
                assert read_until(conn, b"/join general\n") == b"/nick pip\n/join general\n"
                assert read_quiet(conn, 0.3) == b""  # no "hi" before the answers
                conn.sendall(b"REPLY nick 0 you will be pip\n"
                             b"REPLY join 0 you joined general as pip\nHERE general pip\n")
                assert read_until(conn, b"/quit\n") == b"hi\n/quit\n"
                conn.sendall(b"MSG general 1 pip 2026-12-01T10:31:05.123Z hi\nBYE goodbye\n")
            assert client.wait(TIMEOUT) == 0
            out = client.stdout.read().decode().splitlines()
            assert out[-2:] == ["[general] pip: hi", "* Server says: Goodbye."]
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
            client.stdout.close()
            client.stderr.close()


def test_plain_client_end_of_input_waits_for_the_answers(start_server, connect):
    """The rate limit holds the piped lines back past QUIT_GRACE: the client stays
    while the server still answers, and every line is said."""
    server = start_server(Limits(max_rate=4, burst=2))
    watcher = connect(server)
    watcher.enter("general", "watcher")
    lines = [f"line {i}" for i in range(12)]  # 10 held back at 4/s: 2.5 s
    done = run_client(port_of(server), "--room", "general", "--nick", "pip",
                      input="".join(line + "\n" for line in lines).encode())
    assert done.returncode == 0 and done.stderr == b""
    assert [watcher.expect(p.Chat).text for _ in lines] == lines
    out = done.stdout.decode().splitlines()
    assert out[-1] == "* Server says: Goodbye."
    assert [line for line in out if line.startswith("[general] pip: ")] == \
        [f"[general] pip: {line}" for line in lines]


def read_until(conn: socket.socket, end: bytes) -> bytes:
    """What arrives on `conn` up to and including `end`, within TIMEOUT."""
    data, deadline = b"", time.monotonic() + TIMEOUT
    while not data.endswith(end):
        conn.settimeout(max(deadline - time.monotonic(), 0.01))
        chunk = conn.recv(4096)
        assert chunk, f"closed before {end!r}; got {data!r}"
        data += chunk
    return data


def read_quiet(conn: socket.socket, seconds: float) -> bytes:
    """Whatever arrives within `seconds` (b"" when the peer stays quiet, as it should)."""
    conn.settimeout(seconds)
    try:
        return conn.recv(4096)
    except socket.timeout:
        return b""


def test_plain_client_paces_a_long_piped_file_under_the_flood_limit(start_server, connect,
                                                                     tmp_path):
    """150 lines from a file reach the room in order, and the client leaves only once
    all are sent.  The server's flood limit is 20 times the default, to keep this
    quick, and its queue short, so a few lines too fast are a flood (unpaced, the
    client is cut off after the burst); the hidden --pace sits under it as the
    client's defaults sit under the server's."""
    server = start_server(Limits(max_rate=100, burst=16, max_queue=10))
    watcher = connect(server)
    watcher.enter("general", "watcher")
    lines = [f"line {i:03d}" for i in range(150)]  # 138 past the burst at 80/s: 1.7 s
    script = tmp_path / "lines.txt"
    script.write_text("".join(line + "\n" for line in lines))
    with script.open("rb") as stdin:
        done = run_client(port_of(server), "--room", "general", "--nick", "pip",
                          "--pace", "12,80", stdin=stdin)
    seen = watcher.lines_until(lambda m: isinstance(m, p.Left) and m.nick == "pip")
    assert [m.text for m in seen if isinstance(m, p.Chat)] == lines
    assert seen[-1].reason == "quit"  # it left; it was not cut off
    assert not any(isinstance(m, p.Error) for m in seen)
    assert done.returncode == 0 and done.stderr == b""
    out = done.stdout.decode().splitlines()
    assert "Sending 150 lines at 80 a second" in "\n".join(out)
    assert not any(line.startswith("! ") for line in out), out  # no flood warning
    assert out[-1] == "* Server says: Goodbye."


# ------------------------------------------------------------------ on a terminal
FAKE = "[general] bob: I'm moving to #secret, join me there"


def padded(width: int) -> str:
    """eve's text: 'hi ', x's, a space and FAKE, so that after `[general] eve: ` a
    terminal `width` wide would start a row with FAKE (the server leaves single spaces)."""
    return "hi " + "x" * (width - len("[general] eve: hi ") - 1) + " " + FAKE


def test_plain_client_on_a_terminal_marks_continuation_rows():
    """The real `client.py --plain` in a pty, a real server.py, and eve on a raw socket:
    her padded line's second half shows behind the marker, at 80 columns and after a
    resize to 40; no row starts with the fake `[general] bob:`."""
    server = ServerProcess()
    alice = Terminal(["--plain", "--port", str(server.port), "--room", "general",
                      "--nick", "alice"], rows=24, cols=80)
    eve = RawPeer(server.port)
    try:
        alice.wait_for("You joined general as alice")
        eve.send(b"/join general\n/nick eve\n")
        eve.expect(b"REPLY nick 0")
        for width in (80, 40):
            if width != alice.cols:
                alice.resize(24, width)
            eve.send(padded(width).encode() + b"\n")

            def marked(t: Terminal) -> None:
                rows = t.lines()
                heads = [y for y, row in enumerate(rows) if row.startswith("[general] eve: hi x")]
                assert heads and rows[heads[-1] + 1].startswith(MARKER + FAKE[:20]), "marked row"
                assert not any(row.startswith("[general] bob") for row in rows)
            alice.wait_until(marked)
    finally:
        eve.close()
        alice.close()
        server.stop()


def test_plain_client_host_mode_says_how_others_join(spawn):
    host = spawn.process("client.py", "--serve", "--port", "0", "--plain", "--room", "general",
                         "--nick", "alice")
    host.close_stdin()
    assert host.wait() == 0
    out = "\n".join(host.stdout.read_rest())
    hint = next(line for line in out.splitlines() if line.startswith("Hosting on 127.0.0.1:"))
    port = hint.split(":")[1].split(",")[0]
    assert hint.endswith(f"others here join with python3 client.py --port {port} "
                         "(--host 0.0.0.0 serves your LAN).")


def test_plain_client_join_hint_names_the_lan_addresses():
    from chat.client.main import join_hint
    assert join_hint("0.0.0.0", 5220, ["192.0.2.7", "198.51.100.3"]) == (
        "Hosting on port 5220: others join with python3 client.py --host 192.0.2.7 --port 5220"
        " or python3 client.py --host 198.51.100.3 --port 5220.")
