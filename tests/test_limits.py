"""The server's limits over real loopback sockets: flood rate, client count,
registration and ping timeouts, connection storms, a slow consumer's memory, and
SIGTERM in the middle of traffic.  Every wait has a deadline; nothing sleeps.
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from chat import protocol as p
from chat.server.limits import Limits, build_parser, limits_from_args

from conftest import TIMEOUT, Peer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import hostile  # noqa: E402


def is_chat(text: str):
    return lambda m: isinstance(m, p.Chat) and m.text == text


def chats(peer: Peer, nick: str) -> list[str]:
    return [m.text for m in peer.seen if isinstance(m, p.Chat) and m.nick == nick]


def wait_for(condition, what: str, timeout: float = TIMEOUT) -> None:
    """Poll `condition` (cheap, side-effect free) until it holds; fail with `what`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)  # polling a condition, not synchronising on time


# ------------------------------------------------------------------ settings
def test_limits_every_setting_is_a_flag_with_its_default():
    args = build_parser().parse_args([])
    assert limits_from_args(args) == Limits()
    args = build_parser().parse_args(["--max-rate", "2.5", "--burst", "3", "--max-clients", "7",
                                      "--max-line", "2048", "--ping-interval", "9"])
    limits = limits_from_args(args)
    assert (limits.max_rate, limits.burst, limits.max_clients, limits.max_line,
            limits.ping_interval) == (2.5, 3, 7, 2048, 9)


def test_limits_help_shows_the_defaults(spawn):
    proc = spawn.process("server.py", "--help")
    assert proc.wait() == 0
    text = "\n".join(proc.stdout.read_rest())
    for flag in ("--max-rate", "--burst", "--max-queue", "--max-clients", "--max-line",
                 "--max-pending", "--register-timeout", "--ping-interval", "--ping-timeout",
                 "--spin"):
        assert flag in text
    assert "(default 5)" in text and "(default 1,000)" in text and "1,048,576" in text


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux-only")
def test_limits_spinning_is_off_on_one_cpu():
    from chat.server.loop import Server
    from chat.server.main import build_state
    mine = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(mine)})
        single = Server(build_state(), "127.0.0.1", 0, spin_us=100)
    finally:
        os.sched_setaffinity(0, mine)
    single._close_all()
    assert single.spin == 0.0
    if len(mine) > 1:
        several = Server(build_state(), "127.0.0.1", 0, spin_us=100)
        several._close_all()
        assert several.spin == 100e-6


# ------------------------------------------------------------------ flood
def test_limits_flood_is_cut_off_and_the_room_goes_on(start_server, connect):
    server = start_server(Limits(max_rate=5, burst=10, max_queue=40))
    ann, bob = connect(server), connect(server)
    ann.enter("red", "ann")
    bob.enter("red", "bob")
    ann.send("".join(f"flood {i}\n" for i in range(30)).encode())
    warning = ann.expect(p.Error)  # throttled, and past half the queue: warned
    assert "lines a second" in warning.text and "disconnected" in warning.text
    ann.send("".join(f"flood {i}\n" for i in range(30, 200)).encode())
    bye = ann.expect(p.Bye)
    assert "flooding" in bye.text and "5 lines a second" in bye.text
    ann.expect_closed()
    # What was relayed of the flood came in order, with no gap, before ann left.
    got = bob.lines_until(lambda m: isinstance(m, p.Left) and m.nick == "ann")
    assert "flooding" in got[-1].reason
    relayed = chats(bob, "ann")
    assert 5 <= len(relayed) < 200  # the burst (less /join and /nick), then what trickled
    assert relayed == [f"flood {i}" for i in range(len(relayed))]
    bob.say("the room goes on")


def test_limits_flood_bye_comes_after_the_answers_and_is_never_lost(start_server, connect):
    server = start_server(Limits(max_rate=5, burst=10, max_queue=40))
    for n in range(3):
        ann = connect(server)
        ann.enter("red", f"ann{n}")
        # One write far past the queue, and more behind it that the server will not read:
        # closing with unread input would reset the connection and could lose the BYE.
        ann.send("".join(f"f {i}\n" for i in range(5000)).encode())
        got = ann.expect_closed()
        assert isinstance(got[-1], p.Bye), got[-3:]
        assert "the 4992 lines still waiting were dropped" in got[-1].text
        relayed = [m.text for m in got if isinstance(m, p.Chat)]
        assert relayed == [f"f {i}" for i in range(len(relayed))] and relayed


def test_limits_a_burst_under_the_queue_is_delayed_not_lost(start_server, connect):
    server = start_server(Limits(max_rate=40, burst=5, max_queue=50))
    ann, bob = connect(server), connect(server)
    ann.enter("red", "ann")
    bob.enter("red", "bob")
    start = time.monotonic()
    ann.send("".join(f"paste {i}\n" for i in range(25)).encode())
    bob.lines_until(is_chat("paste 24"))
    # 20 lines past the burst at 40 a second cannot all be through in under half a second.
    assert time.monotonic() - start >= 20 / 40 * 0.9
    assert chats(bob, "ann") == [f"paste {i}" for i in range(25)]
    assert not any(isinstance(m, (p.Error, p.Bye)) for m in ann.seen)


def test_limits_past_half_the_queue_warns_once(start_server, connect):
    server = start_server(Limits(max_rate=50, burst=2, max_queue=20))
    ann = connect(server)
    ann.enter("red", "ann")
    ann.send("".join(f"w {i}\n" for i in range(20)).encode())
    got = ann.lines_until(is_chat("w 19"))
    warnings = [m for m in got if isinstance(m, p.Error)]
    assert len(warnings) == 1 and "past 20 you will be disconnected" in warnings[0].text
    assert chats(ann, "ann") == [f"w {i}" for i in range(20)]


def test_limits_a_flooder_does_not_slow_the_others(start_server, connect):
    # A burst of 4: /join and /nick, then two lines at once (a burst of 2 made ann's
    # first two lines wait a second for nothing).
    server = start_server(Limits(max_rate=2, burst=4, max_queue=1000))
    ann, bob, cy = connect(server), connect(server), connect(server)
    ann.enter("red", "ann")
    bob.enter("red", "bob")
    cy.enter("red", "cy")
    ann.send("".join(f"slow {i}\n" for i in range(300)).encode())  # 150 s of held lines
    bob.lines_until(is_chat("slow 1"))
    # bob's own budget is untouched: his lines are relayed at once, ann's keep waiting.
    bob.say("me first")
    assert cy.expect(lambda m: isinstance(m, p.Chat) and m.nick == "bob").text == "me first"
    assert len(chats(cy, "ann")) < 10


def _crowd(server, room: str, count: int) -> list[socket.socket]:
    """`count` members of `room` on `server` (a Server or a ServerProcess) that never
    read (what the server sends them waits in their kernel buffers: kilobytes each)."""
    socks = []
    for i in range(count):
        sock = socket.create_connection(server.address, timeout=TIMEOUT)
        sock.sendall(f"/join {room}\n/nick m{i}\n".encode())
        socks.append(sock)
    return socks


def _members_answers(peer: Peer) -> int:
    """MEMBERS lines `peer` has been sent so far: those read, and those waiting unread."""
    peer.sock.setblocking(False)
    try:
        while data := peer.sock.recv(65536):
            peer._buffer += data
    except BlockingIOError:
        pass
    finally:
        peer.sock.settimeout(TIMEOUT)
    return sum(isinstance(m, p.Members) for m in peer.seen) + peer._buffer.count(b"MEMBERS ")


def test_limits_heavy_commands_are_held_while_another_room_chats(start_server, connect):
    # A /who of 300 costs the server far more than a chat line (~0.1 ms here): with a
    # small work burst (0.5 ms: more than joining costs) a few go at once, and each one
    # after them waits for its share of the server's time (2 ms a second), while bob
    # is answered at once.
    server = start_server(Limits(max_work=2.0, work_burst=0.5, max_per_address=0,
                                 connect_rate=0))
    asker, bob = connect(server), connect(server)
    asker.enter("big", "asker")
    bob.enter("calm", "bob")
    crowd = _crowd(server, "big", 300)
    try:
        for _ in range(300):  # until all 300 are in
            asker.expect(p.Joined)
        asker.send("/who\n" * 20)  # at once: within the flood limit's burst of 20
        caution = asker.expect(p.Error)
        assert caution.text.startswith("slow down: your last commands asked the server")
        bob.say("am I slowed down?")
        assert _members_answers(asker) < 20  # bob was answered while the asker's wait
        got = asker.lines_until(lambda m: isinstance(m, p.Members) and
                                sum(isinstance(x, p.Members) for x in asker.seen) == 21,
                                timeout=3 * TIMEOUT)
        assert not any(isinstance(m, (p.Bye, p.Error)) for m in got)  # held, not dropped
        assert got[-1].count == 301  # join + 20 /who, each answered in full
    finally:
        for sock in crowd:
            sock.close()


def test_limits_a_light_line_is_not_queued_behind_heavy_ones(spawn, connect):
    # 40 askers send 20 /who each of a room of 300 (~0.1 ms each: about 80 ms of work),
    # then say "done"; all within budgets big enough never to hold them.  One loop turn
    # does about 1 ms of lines, the rest waiting for the next turns, so bob's chat,
    # sent after them all, is handled before most of the askers' "done" (the server
    # stamps both); and every asker is answered in full.
    proc = spawn.server("--work-burst", "1000", "--burst", "100", *NO_ADMISSION)
    bob = connect(proc.address)
    bob.enter("calm", "bob")
    watcher = connect(proc.address)
    watcher.enter("big", "watcher")
    crowd = _crowd(proc, "big", 300)
    try:
        for _ in range(300):
            watcher.expect(p.Joined)
        askers = [connect(proc.address) for _ in range(40)]
        for i, asker in enumerate(askers):
            asker.enter("big", f"a{i}")
        for asker in askers:
            asker.send("/who\n" * 20 + "done\n")
        light = bob.say("light")
        done = [asker.expect(lambda m, me=f"a{i}": isinstance(m, p.Chat) and m.nick == me)
                for i, asker in enumerate(askers)]  # their own "done": after their answers
        later = [m.nick for m in done if m.time > light.time]
        assert len(later) >= len(askers) // 2, (light.time, [m.time for m in done])
        for asker in askers:
            answers = [m for m in asker.seen if isinstance(m, p.Members)]
            assert len(answers) == 21 and {m.count for m in answers[1:]} == {341}
    finally:
        for sock in crowd:
            sock.close()


# All the storm's connections come from one address: no per-address limits for it.
NO_ADMISSION = ("--max-per-address", "0", "--connect-rate", "0")


# ------------------------------------------------------------------ client count
def test_limits_max_clients_turns_the_next_one_away(start_server, connect):
    server = start_server(Limits(max_clients=3))
    peers = [connect(server) for _ in range(3)]
    extra = connect(server, hello=False)
    bye = extra.next()
    assert isinstance(bye, p.Bye) and "full" in bye.text and "3" in bye.text
    extra.expect_closed()
    peers[0].send("/quit")
    peers[0].expect_closed()
    wait_for(lambda: len(server.conns) == 2, "the server to forget the one that quit")
    assert isinstance(connect(server, hello=False).next(), p.Hello)


# ------------------------------------------------------------------ timeouts
def test_limits_a_silent_connection_is_pinged_then_dropped(start_server, connect):
    server = start_server(Limits(register_timeout=0.4))
    mute = connect(server)
    assert isinstance(mute.next(), p.Ping)
    bye = mute.next()
    assert isinstance(bye, p.Bye) and "said nothing" in bye.text
    mute.expect_closed()


def test_limits_a_new_connection_is_timed_from_its_connect(start_server, connect):
    server = start_server(Limits(register_timeout=0.4))
    first = connect(server)
    first.close()
    time.sleep(0.6)  # the stimulus, not a synchronisation: the server sits idle a while
    late = connect(server)
    assert isinstance(late.next(), p.Ping)  # a PING first: its silence starts at connect
    assert isinstance(late.next(), p.Bye)


def test_limits_answering_the_ping_keeps_a_new_connection(start_server, connect):
    server = start_server(Limits(register_timeout=0.3, ping_interval=30))
    shy = connect(server)
    ping = shy.expect(p.Ping)
    shy.send(f"/pong {ping.token}")
    mute = connect(server)
    mute.expect_closed()  # a later connection that never answers comes and goes...
    shy.send("/list")     # ...while the one that answered is still served
    assert isinstance(shy.expect(p.RoomCount), p.RoomCount)


def test_limits_a_dead_peer_is_noticed_by_ping(start_server, connect):
    server = start_server(Limits(ping_interval=0.3, ping_timeout=0.3))
    ann, bob = connect(server), connect(server)
    ann.enter("red", "ann")
    bob.enter("red", "bob")
    # bob answers every PING; ann has gone quiet (a dead peer looks the same).
    pings = 0
    while True:
        msg = bob.next()
        if isinstance(msg, p.Ping):
            pings += 1
            bob.send(f"/pong {msg.token}")
        elif isinstance(msg, p.Left):
            break
    assert msg.nick == "ann" and "no answer to PING" in msg.reason
    assert pings >= 1
    bye = ann.expect(p.Bye)
    assert "no answer to PING" in bye.text
    ann.expect_closed()
    bob.say("still here")


# ------------------------------------------------------------------ connection storms
def _open_sockets(pid: int) -> int:
    """The server's open sockets.  Not every fd: the history store's reader opens the
    WAL file on its first read, which a storm's join can make at any moment."""
    folder = f"/proc/{pid}/fd"
    links = []
    for fd in os.listdir(folder):
        try:
            links.append(os.readlink(f"{folder}/{fd}"))
        except FileNotFoundError:  # closed since the listing
            pass
    return sum(link.startswith("socket:") for link in links)


def _storm(address, rounds: int) -> None:
    """Connects ended every way bench/hostile.py knows (RST, RST mid-line, after a nick,
    FIN, half-close, connect-and-idle)."""
    idle: list[socket.socket] = []
    for i in range(rounds):
        hostile.end_abruptly(socket.create_connection(address, timeout=TIMEOUT), i, idle)
    for sock in idle:
        sock.close()


def test_limits_connection_storm_leaks_no_fd_and_no_nick(spawn, connect):
    # (--resume-grace 0: with a grace, the dropped ones' nicks are held that long, on purpose)
    proc = spawn.server("--max-rate", "0", "--resume-grace", "0", *NO_ADMISSION)
    watcher = connect(proc.address)
    watcher.enter("storm", "watcher")
    baseline = _open_sockets(proc.popen.pid)
    _storm(proc.address, 1500)
    wait_for(lambda: _open_sockets(proc.popen.pid) <= baseline, "the server to close every storm socket")
    watcher.send("/who")
    members = watcher.expect(p.Members)
    nicks = [watcher.next().nick for _ in range(members.count)]
    assert nicks == ["watcher"]
    watcher.say("calm again")


def test_limits_idle_connections_are_reclaimed(spawn, connect):
    proc = spawn.server("--register-timeout", "0.5", *NO_ADMISSION)
    baseline = _open_sockets(proc.popen.pid)
    idle = [socket.create_connection(proc.address, timeout=TIMEOUT) for _ in range(200)]
    wait_for(lambda: _open_sockets(proc.popen.pid) >= baseline + 200, "the idle connections to arrive")
    wait_for(lambda: _open_sockets(proc.popen.pid) <= baseline, "the idle connections to be dropped")
    for sock in idle:
        sock.close()


# ------------------------------------------------------------------ slow consumer memory
def _rss_kib(pid: int, field: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def test_limits_slow_consumer_memory_stays_flat(spawn, connect):
    max_pending = 256 * 1024
    proc = spawn.server("--max-rate", "0", "--max-work", "0", "--max-pending", str(max_pending))
    talker, listener = connect(proc.address), connect(proc.address)
    talker.enter("red", "talker")
    listener.enter("red", "listener")
    slow = connect(proc.address, rcvbuf=4096)
    slow.enter("red", "slow")  # from here on it never reads
    listener.expect(lambda m: m == p.Joined("red", "slow"))
    before = _rss_kib(proc.popen.pid)
    payload = "m" * 880
    left = None
    for batch in range(400):  # up to ~12 MB through the room
        lines = [f"{batch}-{i} {payload}" for i in range(32)]
        talker.send("".join(line + "\n" for line in lines).encode())
        listener.lines_until(is_chat(lines[-1]))
        talker.lines_until(is_chat(lines[-1]))
        left = left or next((m for m in listener.seen if isinstance(m, p.Left)), None)
        if left and batch >= 200:
            break
    assert left is not None and left.nick == "slow" and "not reading" in left.reason
    peak = _rss_kib(proc.popen.pid, "VmHWM")
    after = _rss_kib(proc.popen.pid)
    # The server holds at most max_pending for the slow peer plus buffers for the
    # readers: a generous bound that a leak of the ~12 MB sent would break.
    assert peak - before < 8 * 1024, (before, peak, after)
    assert after - before < 4 * 1024, (before, peak, after)


# ------------------------------------------------------------------ shutdown
def test_limits_sigterm_mid_traffic_flushes_what_was_accepted(spawn, connect):
    proc = spawn.server("--max-rate", "0")
    ann, bob = connect(proc.address), connect(proc.address)
    ann.enter("red", "ann")
    bob.enter("red", "bob")
    ann.send("".join(f"n {i}\n" for i in range(2000)).encode())
    bob.lines_until(is_chat("n 100"))
    proc.popen.send_signal(signal.SIGTERM)
    for peer in (ann, bob):
        peer.lines_until(p.Bye)
        peer.expect_closed()
        peer.close()  # as a client does: the server waits (2 s at most) for that
    assert proc.wait() == 0
    # Every message the server relayed reached both, in order, with no gap.
    seen_by_ann, seen_by_bob = chats(ann, "ann"), chats(bob, "ann")
    assert seen_by_bob == seen_by_ann
    assert seen_by_bob == [f"n {i}" for i in range(len(seen_by_bob))]
    assert len(seen_by_bob) > 100


def test_limits_a_half_close_keeps_the_held_lines_and_their_answers(start_server, connect):
    """`cat file | nc -N`: lines past the burst, then the end of input.  What the flood
    limit held is still handled, in order, and the answers flushed before the close."""
    server = start_server(Limits(max_rate=2, burst=5, max_queue=50))
    ann, bob = connect(server), connect(server)
    ann.enter("red", "ann")
    bob.enter("red", "bob")
    ann.send("".join(f"line {i}\n" for i in range(30)).encode() + b"/help\n")
    ann.sock.shutdown(socket.SHUT_WR)
    got = ann.expect_closed()
    assert [m.text for m in got if isinstance(m, p.Chat)] == [f"line {i}" for i in range(30)]
    assert sum(isinstance(m, p.Info) for m in got) >= 8  # the answer to the last line, /help
    bob.lines_until(lambda m: isinstance(m, p.Left) and m.nick == "ann")
    assert chats(bob, "ann") == [f"line {i}" for i in range(30)]
    assert [m.reason for m in bob.seen if isinstance(m, p.Left)] == ["disconnected"]


def test_limits_sigterm_handles_the_lines_already_read(spawn, connect):
    proc = spawn.server("--max-rate", "1", "--burst", "7")  # /join, /nick and 5 lines
    ann, bob = connect(proc.address), connect(proc.address)
    ann.enter("red", "ann")
    bob.enter("red", "bob")
    ann.send("".join(f"held {i}\n" for i in range(30)).encode())
    # The burst is through, so the server has read the write it came in (one recv takes
    # up to 64 KiB); the other 25 wait for their turn at a line a second.
    bob.lines_until(is_chat("held 4"))
    proc.popen.send_signal(signal.SIGTERM)
    bob.lines_until(p.Bye)
    assert proc.wait() == 0  # (ann and bob never hang up: it stops waiting for them in 2 s)
    assert chats(bob, "ann") == [f"held {i}" for i in range(30)]


@pytest.mark.parametrize("argv", [
    ["server.py", "--port", "99999"], ["server.py", "--port", "-1"],
    ["client.py", "--port", "99999"], ["client.py", "--serve", "--port", "-1"],
    ["client.py", "--plain", "--port", "http"],
])
def test_limits_a_port_out_of_range_is_a_usage_error(spawn, argv):
    proc = spawn.process(*argv)
    assert proc.wait() == 2
    err = "\n".join(proc.stderr.read_rest())
    assert "usage:" in err and "--port" in err and "Traceback" not in err
    assert "0-65535" in err or "not a port number" in err


def test_limits_a_garbage_collection_is_not_counted_as_work():
    """The loop takes the collector's pauses out of what a line is charged (they are the
    whole process's garbage: in this test process, other tests'), so that a collection
    never holds a connection's lines for seconds under a small work budget."""
    import gc
    from chat.server import loop
    before = loop.GC_TIME[0]
    junk = [[i] for i in range(200_000)]
    for item in junk:
        item.append(item)  # cycles: the collector has work to do
    del junk
    gc.collect()
    assert loop.GC_TIME[0] > before
