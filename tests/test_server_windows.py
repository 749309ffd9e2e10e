"""What the server and line mode do for Windows that can be checked here: the signals
that stop the server (Ctrl-Break where it exists), the ceiling select() puts on
--max-clients there and the refusal of a shared port without SO_REUSEPORT (pure),
Ctrl-C on the real server.py, and line mode printing a
character its stdout's code page lacks (a Windows pipe's ANSI code page).
"""
from __future__ import annotations

import signal
from types import SimpleNamespace

from chat import protocol as p
from chat.server.limits import WINDOWS_SELECT, Limits, build_parser, fit_select
from chat.server.main import reuse_port_problem, stop_signals
from test_plain_client import port_of


def test_server_stop_signals_add_ctrl_break_where_it_exists():
    windows = SimpleNamespace(SIGINT=2, SIGTERM=15, SIGBREAK=21)  # the signal module there
    assert stop_signals(windows) == [2, 15, 21]
    assert stop_signals() == [signal.SIGINT, signal.SIGTERM]  # here: no SIGBREAK


def test_limits_fit_select_lowers_max_clients_on_windows_only_and_says_so():
    limits = Limits()  # 1000 by default
    said = fit_select(limits, "win32")
    assert limits.max_clients == 448 < WINDOWS_SELECT
    assert said == ("--max-clients 1000 is more than select() can watch on Windows "
                    "(512 sockets): at most 448 connections at once here")
    assert fit_select(limits, "win32") is None and limits.max_clients == 448  # fits now
    few = Limits(max_clients=300)
    assert fit_select(few, "win32") is None and few.max_clients == 300
    many = Limits(max_clients=5000)
    assert fit_select(many, "linux") is None and many.max_clients == 5000


def test_server_nodes_sharing_a_port_are_refused_with_a_sentence_without_so_reuseport():
    parse = build_parser().parse_args
    for argv in (["--reuse-port"], ["--redis", "redis://127.0.0.1:6379", "--nodes", "2"]):
        problem = reuse_port_problem(parse(argv), available=False)  # (Windows)
        assert problem.startswith("--reuse-port and --nodes share one port") \
            and "port of its own" in problem
        assert reuse_port_problem(parse(argv), available=True) is None
    assert reuse_port_problem(parse([]), available=False) is None


def test_server_process_ctrl_c_tells_everyone_and_exits_0(spawn, connect):
    proc = spawn.server()
    ann = connect(proc.address)
    ann.enter("lounge", "ann")
    proc.popen.send_signal(signal.SIGINT)  # Ctrl-C in its console (Windows: no SIGTERM)
    assert isinstance(ann.expect(p.Bye), p.Bye)
    ann.expect_closed()
    assert proc.wait() == 0
    assert "Traceback" not in "\n".join(proc.stderr.read_rest())


def test_plain_client_prints_what_its_code_page_lacks_as_question_marks(server, spawn, connect,
                                                                         monkeypatch):
    monkeypatch.setenv("PYTHONIOENCODING", "cp1252")  # as a pipe is written on Windows
    bob = connect(server)
    bob.enter("red", "bob")
    client = spawn.client("--port", port_of(server), "--room", "red", "--nick", "ann")
    client.stdout.expect("You joined red")
    bob.say("日本 café")
    assert client.stdout.expect("bob:") == "[red] bob: ?? caf\ufffd"  # é in cp1252, read as UTF-8
    bob.say("still here")
    client.stdout.expect("still here")
    client.close_stdin()
    assert client.wait() == 0
    assert client.stderr.read_rest() == []


def test_server_on_a_select_selector_lingers_only_within_the_spare(start_server, connect,
                                                                  monkeypatch):
    """On Windows the loop's selector is select()-based and watches 512 sockets at most;
    goodbyes that linger (their FIN sent, their input drained for LINGER seconds) must
    not push the loop past that: beyond SELECT_LINGER_CAP the socket is closed at once.
    Every client still gets its BYE (it sent nothing after /quit: a plain FIN)."""
    import selectors

    from chat.server import loop
    from chat.server.loop import SELECT_LINGER_CAP
    from test_limits import wait_for
    monkeypatch.setattr(loop, "LINGER", 60.0)  # none of them ends its linger during the test
    server = start_server(selector=selectors.SelectSelector())
    peers = [connect(server) for _ in range(SELECT_LINGER_CAP + 8)]
    for peer in peers:
        peer.send("/quit")
    for peer in peers:
        assert any(isinstance(m, p.Bye) for m in peer.expect_closed())
    wait_for(lambda: not server.conns, "every connection closed")
    assert len(server._lingering) == SELECT_LINGER_CAP  # (the peers have not closed theirs)
