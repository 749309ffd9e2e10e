"""History end to end: the real server.py with a real SQLite file, stopped, killed
and started again; what clients were sent must be in the history, once, in order.
"""
from __future__ import annotations

import os
import signal
import sqlite3

from chat import protocol as p
from conftest import Peer


def history_on_join(peer: Peer, room: str) -> list[p.Past]:
    """/join ROOM and the ENTRY lines that come back (read up to the MEMBERS block)."""
    peer.send(f"/join {room}")
    got = peer.lines_until(p.Members)
    return [m for m in got if isinstance(m, p.Past)]


def test_history_server_restart_keeps_the_rooms_past(spawn, tmp_path):
    db = str(tmp_path / "history.db")
    first = spawn.server("--db", db)
    ann = Peer(first.address)
    ann.enter("red", "ann")
    sent = [ann.say(f"before the restart {i}") for i in range(3)]
    first.stop()
    second = spawn.server("--db", db)
    bob = Peer(second.address)
    past = [e for e in history_on_join(bob, "red") if e.kind == p.SAY]
    assert [(e.id, e.nick, e.text) for e in past] == [(m.id, m.nick, m.text) for m in sent]
    bob.send("/nick bob")
    after = bob.say("after the restart")
    assert after.id > sent[-1].id  # ids go on from where they were


def test_history_server_kill_9_loses_nothing_any_client_saw(spawn, tmp_path):
    db = str(tmp_path / "history.db")
    server = spawn.server("--db", db, "--max-rate", "0")
    talker, watcher = Peer(server.address), Peer(server.address)
    talker.enter("red", "talker")
    watcher.enter("red", "watcher")
    talker.send("".join(f"burst {i}\n" for i in range(300)))
    seen = [watcher.expect(p.Chat) for _ in range(40)]  # some way into the stream...
    os.kill(server.popen.pid, signal.SIGKILL)  # ...then no goodbye and no clean close
    server.popen.wait(10)
    seen += [m for m in watcher.expect_closed() if isinstance(m, p.Chat)]
    restarted = spawn.server("--db", db)
    kept = [e for e in history_on_join(Peer(restarted.address), "red") if e.kind == p.SAY]
    assert seen and len(seen) <= 300
    # every line the watcher got is kept, in order, once (join sends the last 50; page
    # back for the rest straight from the file)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, text FROM entry WHERE kind = 'say' ORDER BY id").fetchall()
    texts = [text for _, text in rows]
    assert texts == [f"burst {i}" for i in range(len(texts))]
    assert [m.text for m in seen] == texts[:len(seen)]
    assert [e.text for e in kept] == texts[-len(kept):]


def test_history_server_a_corrupt_file_is_one_sentence(spawn, tmp_path):
    db = tmp_path / "history.db"
    db.write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    proc = spawn.process("server.py", "--port", "0", "--db", str(db))
    assert proc.wait() == 1
    err = proc.stderr.read_rest()
    assert any(str(db) in line and "move it aside" in line for line in err), err
    assert not any("Traceback" in line for line in err), err


def test_history_server_missed_after_a_drop_is_exact(spawn, tmp_path):
    # (--resume-grace 0: bob comes back as anyone would, without his session)
    server = spawn.server("--db", str(tmp_path / "h.db"), "--resume-grace", "0")
    ann, bob = Peer(server.address), Peer(server.address)
    ann.enter("red", "ann")
    bob.enter("red", "bob")
    ann.say("seen")
    last = bob.expect(lambda m: isinstance(m, p.Chat) and m.text == "seen")
    bob.close()
    missed = [ann.say(f"while bob was away {i}") for i in range(5)]
    bob = Peer(server.address)
    bob.enter("red", "bob")
    bob.send(f"/missed {last.id}")
    got = bob.lines_until(lambda m: isinstance(m, p.Past) and m.id == missed[-1].id)
    entries = [m for m in got if isinstance(m, p.Past) and m.kind == p.SAY]
    assert [e.id for e in entries] == [m.id for m in missed]
