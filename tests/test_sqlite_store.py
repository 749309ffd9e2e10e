"""The SQLite store's own behaviour: the file (WAL, schema versions, migrations), files it
must refuse, flushes that fail for real (read-only, locked, full) and recover, and a
kill -9 in the middle of a stream.  Real files in a temporary folder; no mocks.
"""
from __future__ import annotations

import os
import sqlite3
import time

import pytest

from chat.server import sqlite_store as ss
from chat.server.store import MAX_PENDING, StoreOpenError
from conftest import TIMEOUT

T0 = 1_800_000_000.0


@pytest.fixture
def db(tmp_path) -> str:
    return str(tmp_path / "history.db")


@pytest.fixture
def opened():
    """open(path, **kw) -> a store closed at teardown."""
    stores = []

    def open_(path, **kw):
        store = ss.open_store(path, **kw)
        stores.append(store)
        return store

    yield open_
    for store in stores:
        store.close()


def say(store, n, room="#a", start=0):
    return [store.add(room, "say", "alice", T0 + start + i, f"line {start + i}") for i in range(n)]


def ids(entries):
    return [entry.id for entry in entries]


def ids_on_disk(path):
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM entry ORDER BY id")]


def raw(path):
    """Another connection to the file, in autocommit mode, that fails at once when locked."""
    return sqlite3.connect(path, isolation_level=None, timeout=0)


# ------------------------------------------------------------------ the file
def test_sqlite_store_uses_wal_and_synchronous_normal(db, opened):
    store = opened(db)
    say(store, 3)
    assert store.flush()
    other = raw(db)
    assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert store._conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
    assert other.execute("PRAGMA user_version").fetchone() == (ss.SCHEMA,)
    other.close()


def test_sqlite_store_creates_its_parent_folders(tmp_path, opened):
    path = tmp_path / "a" / "b" / "history.db"
    store = opened(str(path))
    say(store, 1)
    assert store.flush()
    assert path.is_file()


def test_sqlite_store_memory_keeps_nothing_on_disk(tmp_path, monkeypatch, opened):
    monkeypatch.chdir(tmp_path)
    store = opened(":memory:")
    say(store, 3)
    assert store.flush()
    assert list(tmp_path.iterdir()) == []


def test_sqlite_store_keeps_everything_across_a_restart(db):
    store = ss.open_store(db)
    entries = say(store, 5) + [store.add("#a", "private", "alice", T0, "psst", to="bob",
                                         ends="ka kb")]
    store.put("session", "tok", '{"nick": "alice"}')
    store.close()  # close flushes
    again = ss.open_store(db)
    assert again.recent("#a", 50, viewer="kb") == entries
    assert again.items("session") == {"tok": '{"nick": "alice"}'}
    assert again.last_id() == entries[-1].id
    assert again.add("#a", "say", "bob", T0, "next").id == entries[-1].id + 1
    again.close()


def test_sqlite_store_counts_rightly_across_a_restart(db):
    store = ss.open_store(db)
    first = say(store, 5) + say(store, 3, room="#b")
    store.close()
    again = ss.open_store(db)
    later = say(again, 4, start=5)
    assert again.flush()
    assert again.since("#a", first[0].id, 2) == (later[-2:], 6)
    assert again.since("#a", 0, 2) == (later[-2:], 7)
    again.close()


def test_sqlite_store_never_reuses_ids_after_everything_was_pruned(db):
    store = ss.open_store(db, max_messages=None, max_days=1)
    entries = say(store, 5)
    assert store.flush()
    assert store.prune(T0 + 10 * 86400) == 5
    store.close()
    again = ss.open_store(db)
    assert again.recent("#a", 50) == []
    assert again.add("#a", "say", "bob", T0, "after").id == entries[-1].id + 1
    again.close()


def test_sqlite_store_prune_counts_what_was_in_the_file_at_open(db, opened):
    store = ss.open_store(db, max_messages=None)
    entries = say(store, 30)
    store.close()
    again = opened(db, max_messages=10)
    assert again.prune(T0) == 20
    assert again.recent("#a", 50) == entries[-10:]


def ids_in_the_main_file(path, tmp_path):
    """The ids a copy of the database file alone holds (without its WAL): what was checkpointed."""
    copy = tmp_path / "copy.db"
    with open(path, "rb") as f:
        copy.write_bytes(f.read())
    return ids_on_disk(str(copy))


def test_sqlite_store_checkpoints_in_prune_not_in_flush(db, tmp_path, opened):
    store = opened(db)
    say(store, 1)
    assert store.flush()
    assert store.prune(T0) == 0
    assert store._checkpointer.done.wait(TIMEOUT)
    entries = say(store, 20)
    assert store.flush()
    assert ids_in_the_main_file(db, tmp_path) == [1]  # in the WAL only, so far
    store._checkpointer.done.clear()
    assert store.prune(T0) == 0  # asks the checkpointer's thread, and returns at once
    assert store._checkpointer.done.wait(TIMEOUT)
    assert ids_in_the_main_file(db, tmp_path) == [1] + ids(entries)


def test_sqlite_store_flushes_never_checkpoint_by_themselves(db, tmp_path, opened):
    """SQLite's automatic checkpoint (which fsyncs) is off on the loop's connection."""
    store = opened(db, batch=1)
    assert store._conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (0,)
    for i in range(300):  # well past 1,000 WAL pages, SQLite's default
        store.add("#a", "say", "alice", T0 + i, "x" * 900)
        assert store.flush()
    assert os.path.getsize(db + "-wal") > 300 * 900  # all of it still in the WAL
    assert os.path.getsize(db) < 10 * 4096  # (with SQLite's default the file held it)


def plan(store, query, params) -> list[str]:
    """What SQLite will do for the query, one line a table it reads."""
    rows = store._conn.execute("EXPLAIN QUERY PLAN " + query, params).fetchall()
    return [row[3] for row in rows if " entry" in row[3]]


def test_sqlite_store_reads_and_prune_use_the_index(db, opened):
    """The queries that run on a room of a million rows search an index, never scan."""
    store = opened(db)
    params = {"room": "#a", "after": 0, "before": 9, "viewer": "", "limit": 5}
    search = "SEARCH entry USING INDEX entry_room (room=? AND id>? AND id<?)"
    assert plan(store, ss._NEWEST, params) == [search]
    assert plan(store, ss._COUNT, params) == [
        search, search, "SEARCH entry USING INDEX entry_private (room=? AND id>? AND id<?)"]
    assert plan(store, "DELETE FROM entry WHERE room = ? AND id <= ?", ("#a", 5)) == [
        "SEARCH entry USING INDEX entry_room (room=? AND id<?)"]


# ------------------------------------------------------------------ schema versions
def test_sqlite_store_applies_a_new_migration_to_an_old_file(db, monkeypatch):
    store = ss.open_store(db)
    entries = say(store, 3)
    store.close()
    step = "ALTER TABLE entry ADD COLUMN edited REAL"
    monkeypatch.setattr(ss, "MIGRATIONS", (*ss.MIGRATIONS, step))
    monkeypatch.setattr(ss, "SCHEMA", ss.SCHEMA + 1)
    again = ss.open_store(db)
    assert again.recent("#a", 10) == entries
    again.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (ss.SCHEMA,)
        assert "edited" in [row[1] for row in conn.execute("PRAGMA table_info(entry)")]


def test_sqlite_store_a_schema_1_file_keeps_its_rows_and_its_private_ones_seen_by_nobody(db):
    """Schema 1 named a private entry's viewers by nick, which changes hands: its private
    rows come through migration 2 with no ends, so nobody is sent them."""
    with raw(db) as conn:
        conn.executescript(f"BEGIN; {ss.MIGRATIONS[0]}; PRAGMA application_id = "
                           f"{ss.APPLICATION_ID}; PRAGMA user_version = 1; COMMIT;")
        conn.execute("INSERT INTO entry (id, room, kind, nick, time, text, recipient, seq) "
                     "VALUES (1, '#a', 'say', 'ann', ?, 'hi', '', 1), "
                     "(2, '#a', 'private', 'ann', ?, 'psst', 'bob', 2)", (T0, T0))
    conn.close()
    store = ss.open_store(db)
    assert [(e.id, e.text) for e in store.recent("#a", 10, viewer="bob")] == [(1, "hi")]
    assert [(e.id, e.text) for e in store.recent("#a", 10, viewer="")] == [(1, "hi")]
    assert store.since("#a", 0, 10, viewer="bob")[1] == 0
    store.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (2,)


def test_sqlite_store_a_failed_migration_leaves_the_file_as_it_was(db, monkeypatch):
    ss.open_store(db).close()
    broken = "ALTER TABLE entry ADD COLUMN edited REAL; CREATE TABLE half ("
    monkeypatch.setattr(ss, "MIGRATIONS", (*ss.MIGRATIONS, broken))
    monkeypatch.setattr(ss, "SCHEMA", ss.SCHEMA + 1)
    with pytest.raises(StoreOpenError, match=f"the history database {db} "):
        ss.open_store(db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (ss.SCHEMA - 1,)
        assert "edited" not in [row[1] for row in conn.execute("PRAGMA table_info(entry)")]


def test_sqlite_store_refuses_a_file_from_a_newer_parlor(db):
    ss.open_store(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {ss.SCHEMA + 2}")
    with pytest.raises(StoreOpenError) as error:
        ss.open_store(db)
    assert str(error.value) == (
        f"{db} was written by a newer Parlor (schema {ss.SCHEMA + 2}, this one knows "
        f"{ss.SCHEMA}): run that Parlor, or move the file aside and start the server again")


def damaged(db):
    return f"{db} is not a Parlor history database or is damaged: move it aside and start " \
           f"the server again"


def test_sqlite_store_refuses_another_programs_database(db):
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE accounts (name TEXT)")
    with pytest.raises(StoreOpenError) as error:
        ss.open_store(db)
    assert str(error.value) == damaged(db)


@pytest.mark.parametrize("content", ["garbage", "truncated"])
def test_sqlite_store_refuses_a_corrupt_file(db, content):
    if content == "garbage":
        data = b"this is not a database, just some text\n" * 200
    else:
        store = ss.open_store(db)
        say(store, 200)
        store.close()
        with open(db, "rb") as f:
            data = f.read()[:1500]  # the header, and half a first page
    with open(db, "wb") as f:
        f.write(data)
    with pytest.raises(StoreOpenError) as error:
        ss.open_store(db)
    assert str(error.value) == damaged(db)


def test_sqlite_store_takes_an_empty_file_as_a_new_database(db, opened):
    open(db, "wb").close()
    store = opened(db)
    say(store, 2)
    assert store.flush()


def test_sqlite_store_refuses_a_folder(tmp_path):
    with pytest.raises(StoreOpenError, match="is a folder: give the server a file name"):
        ss.open_store(str(tmp_path))


def test_sqlite_store_says_when_it_cannot_make_the_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    path = str(tmp_path / "file" / "sub" / "history.db")
    with pytest.raises(StoreOpenError) as error:
        ss.open_store(path)
    assert str(error.value) == (f"cannot create the folder {tmp_path / 'file' / 'sub'} for the "
                                f"history database: not a directory")


def test_sqlite_store_read_only_file_without_a_schema_is_refused(db):
    open(db, "wb").close()
    with pytest.raises(StoreOpenError) as error:
        ss.open_store(f"file:{db}?mode=ro")
    assert str(error.value) == (f"the history database {db} is read-only: fix that, or give "
                                f"the server another file (--db)")


# ------------------------------------------------------------------ flushes that fail
def test_sqlite_store_read_only_file_keeps_chat_going_in_memory(db, opened):
    store = ss.open_store(db)
    kept = say(store, 3)
    store.close()
    readonly = opened(f"file:{db}?mode=ro")
    new = say(readonly, 2, start=3)
    readonly.put("score", "alice", "1")
    assert readonly.flush() is False
    assert readonly.problem == f"the history database {db} is read-only"
    assert readonly.recent("#a", 10) == kept + new  # reads still see it all
    assert readonly.items("score") == {"alice": "1"}
    assert ids_on_disk(db) == ids(kept)


def test_sqlite_store_locked_file_recovers_with_every_row_once_in_order(db, opened):
    store = opened(db, retry_every=0, batch=1)  # each flush an SQLite transaction
    first = say(store, 3)
    assert store.flush()
    other = raw(db)
    other.execute("BEGIN EXCLUSIVE")
    waiting = say(store, 4, start=3)
    store.put("topic", "#a", '"hello"')
    started = time.monotonic()
    assert store.flush() is False
    assert time.monotonic() - started < 1.0  # at once: a locked file must not stall the room
    assert store.problem == f"the history database {db} is locked by another program"
    waiting += say(store, 2, start=7)
    assert store.flush() is False
    assert store.recent("#a", 50) == first + waiting
    assert store.since("#a", first[-1].id, 50) == (waiting, 0)
    other.execute("ROLLBACK")
    assert store.flush() is True
    assert store.problem is None
    assert ids_on_disk(db) == ids(first + waiting)
    assert other.execute("SELECT value FROM kv WHERE tbl = 'topic'").fetchall() == [('"hello"',)]
    assert store.flush() is True  # nothing left to write twice
    assert ids_on_disk(db) == ids(first + waiting)
    other.close()


def test_sqlite_store_waits_before_retrying_a_failed_flush(db, opened):
    store = opened(db, retry_every=3600, batch=1)
    other = raw(db)
    other.execute("BEGIN EXCLUSIVE")
    say(store, 2)
    assert store.flush() is False
    other.execute("ROLLBACK")
    assert store.flush() is False  # not tried again yet: a retry rewrites every waiting row
    assert ids_on_disk(db) == []
    store._retry_at = 0  # the hour has passed
    assert store.flush() is True
    assert len(ids_on_disk(db)) == 2
    other.close()


def test_sqlite_store_full_disk_recovers(db, opened):
    store = opened(db, retry_every=0, batch=1)
    first = say(store, 2)
    assert store.flush()
    size = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {size}")  # a real SQLITE_FULL
    big = [store.add("#a", "say", "alice", T0, "x" * 900) for _ in range(50)]
    assert store.flush() is False
    assert store.problem == f"the history database {db} cannot grow: the disk is full"
    assert ids_on_disk(db) == ids(first)
    store._conn.execute("PRAGMA max_page_count = 1000000")
    assert store.flush() is True
    assert ids_on_disk(db) == ids(first + big)


def test_sqlite_store_keeps_at_most_max_pending_rows_while_failing(db, opened):
    store = opened(db, retry_every=0)
    other = raw(db)
    other.execute("BEGIN EXCLUSIVE")
    entries = [store.add("#a", "say", "alice", T0, "x") for _ in range(MAX_PENDING + 5)]
    assert store.flush() is False
    assert store.dropped == 5
    assert store.recent("#a", 5) == entries[-5:]
    other.execute("ROLLBACK")
    assert store.flush() is True
    assert ids_on_disk(db) == ids(entries[5:])
    other.close()


def test_sqlite_store_error_names_without_result_codes():
    """Python 3.10 gives no sqlite_errorname: SQLite's messages say the same."""
    for message, name in [("database is locked", "SQLITE_BUSY"),
                          ("attempt to write a readonly database", "SQLITE_READONLY"),
                          ("database or disk is full", "SQLITE_FULL"),
                          ("file is not a database", "SQLITE_NOTADB"),
                          ("something new", "")]:
        assert ss.error_name(sqlite3.OperationalError(message)) == name


# ------------------------------------------------------------------ the log
def crash(store):
    """Let go of the store as a killed process would: nothing more written."""
    os.close(store._log)
    store._conn.close()
    store.lock.close()


def test_sqlite_store_flush_appends_to_the_log_and_sqlite_gets_batches(db, opened):
    store = opened(db, batch=10)
    first = say(store, 3)
    assert store.flush()
    assert ids_on_disk(db) == []  # not in SQLite yet: in the log
    assert os.path.getsize(db + ss.LOG) > 0
    assert store.recent("#a", 50) == first
    more = say(store, 7, start=3)
    assert store.flush()  # ten rows: a batch
    assert ids_on_disk(db) == ids(first + more)
    assert os.path.getsize(db + ss.LOG) == 0


def test_sqlite_store_logs_a_lone_row_as_the_replay_reads_it(db, opened):
    """A turn's one row is written to the log by hand (the hot path), as repr() of the
    record would write it: every field, quotes, backslashes and newlines kept."""
    import ast
    store = opened(db)
    entry = store.add("#a", "say", "o'brien", T0 + 0.125, 'a "quoted" \\ back\nslash')
    assert store.flush()
    with open(db + ss.LOG, "rb") as f:
        line = f.read()
    assert line == (repr(("e", *entry)) + "\n").encode()
    assert ast.literal_eval(line.decode()) == ("e", *entry)


def test_sqlite_store_a_turn_of_many_rows_goes_straight_into_sqlite(db, opened):
    store = opened(db)
    few = say(store, 2)
    assert store.flush()
    assert ids_on_disk(db) == []
    many = say(store, ss.DIRECT_ROWS, start=2)
    assert store.flush()
    assert ids_on_disk(db) == ids(few + many)  # one transaction, the logged ones too
    assert os.path.getsize(db + ss.LOG) == 0


def test_sqlite_store_prune_writes_the_logged_rows_into_sqlite(db, opened):
    store = opened(db)
    entries = say(store, 3)
    assert store.flush()
    store.prune(T0)
    assert ids_on_disk(db) == ids(entries)
    assert os.path.getsize(db + ss.LOG) == 0


def test_sqlite_store_replays_the_log_after_a_crash(db):
    store = ss.open_store(db)
    saved = say(store, 2)
    store.put("score", "alice", "1")
    store.close()
    store = ss.open_store(db)
    logged = say(store, 3, start=2) + [store.add("#a", "private", "bob", T0, "psst", to="alice",
                                                 ends="ka kb")]
    store.put("score", "alice", "2")
    store.put("score", "gone", None)
    assert store.flush()
    crash(store)
    again = ss.open_store(db)
    assert again.recent("#a", 50, viewer="ka") == saved + logged
    assert again.items("score") == {"alice": "2"}
    assert ids_on_disk(db) == ids(saved + logged)  # replayed into SQLite at once
    assert os.path.getsize(db + ss.LOG) == 0
    assert again.add("#a", "say", "bob", T0, "next").id == logged[-1].id + 1
    again.close()


def test_sqlite_store_replay_stops_at_a_torn_record(db):
    store = ss.open_store(db)
    logged = say(store, 2)
    assert store.flush()
    crash(store)
    with open(db + ss.LOG, "ab") as log:
        log.write(b"('e', 99, '#a', 'say', 'alice', 1.0, 'cut sh")  # the write a crash cut
    again = ss.open_store(db)
    assert again.recent("#a", 50) == logged
    assert again.add("#a", "say", "bob", T0, "next").id == logged[-1].id + 1
    again.close()


def test_sqlite_store_rows_logged_after_a_torn_record_come_back_after_the_next_crash(db):
    """Nothing whole to replay, so nothing to save at the start: the torn record is cut
    off the log, else the rows logged after it would sit behind it, where the next
    replay stops."""
    store = ss.open_store(db)
    crash(store)
    with open(db + ss.LOG, "ab") as log:
        log.write(b"('e', 1, '#a', 'say', 'alice', 1.0, 'cut sh")
    assert_logged_rows_survive_a_crash(db)


def test_sqlite_store_a_close_with_nothing_new_leaves_the_log_empty(db):
    store = ss.open_store(db)
    store.close()
    assert os.path.getsize(db + ss.LOG) == 0  # (a stray newline would end the next replay)
    assert_logged_rows_survive_a_crash(db)


def assert_logged_rows_survive_a_crash(db) -> None:
    store = ss.open_store(db)
    logged = say(store, 2)
    assert store.flush()
    crash(store)
    again = ss.open_store(db)
    assert again.recent("#a", 50) == logged
    again.close()


def test_sqlite_store_rows_both_in_sqlite_and_in_the_log_come_back_once(db):
    """A crash between SQLite's commit and emptying the log: the log's rows are skipped."""
    store = ss.open_store(db)
    logged = say(store, 3)
    assert store.flush()
    kept = open(db + ss.LOG, "rb").read()
    store.close()  # into SQLite, and the log emptied
    with open(db + ss.LOG, "wb") as log:
        log.write(kept)
    again = ss.open_store(db)
    assert again.recent("#a", 50) == logged
    assert ids_on_disk(db) == ids(logged)
    again.close()


def test_sqlite_store_without_a_writable_log_writes_sqlite_at_each_flush(db, opened):
    store = opened(db)
    os.close(store._log)
    store._log = os.open(os.devnull, os.O_RDONLY)  # every append now fails, as on a full disk
    entries = say(store, 2)
    assert store.flush()
    assert ids_on_disk(db) == ids(entries)
    assert store._log is None
    assert not os.path.exists(db + ss.LOG)  # nothing stale left to replay


# ------------------------------------------------------------------ kill -9
WRITER = """
import sys
from chat.server.sqlite_store import open_store
store = open_store(sys.argv[1])
for i in range(1_000_000):
    entry = store.add("#a", "say", "alice", 1.8e9 + i, f"line {i}")
    store.put("score", "alice", str(entry.id))
    if not store.flush():
        sys.exit(store.problem)
    print(entry.id, flush=True)
"""


def test_sqlite_store_kill_9_loses_nothing_that_was_flushed(db, spawn):
    child = spawn.process("-c", WRITER, db)
    printed = [int(child.stdout.expect(str.isdigit, timeout=TIMEOUT)) for _ in range(300)]
    child.popen.kill()  # SIGKILL: no close, no flush, no atexit
    assert child.wait() == -9
    printed += [int(line) for line in child.stdout.read_rest() if line.isdigit()]
    store = ss.open_store(db)
    stored = ids(store.since("#a", 0, 500)[0])
    while (older := store.before("#a", stored[0], 500)) if stored else []:
        stored = ids(older) + stored
    assert stored[:len(printed)] == printed  # every printed id, in order, once
    assert len(stored) - len(printed) <= 1  # at most the one flushed but not yet printed
    assert int(store.items("score")["alice"]) == stored[-1]
    assert store.add("#a", "say", "bob", T0, "after").id == stored[-1] + 1
    store.close()


# ------------------------------------------------------------------ the benchmark
def test_sqlite_store_benchmark_smoke_run(spawn):
    """bench/store_speed.py --quick runs to the end and prints every figure (none timed here)."""
    child = spawn.process("bench/store_speed.py", "--quick")
    out = child.stdout.read_rest(timeout=60)
    assert child.wait() == 0, child.stderr.read_rest()
    text = "\n".join(out)
    for figure in ("100 a flush: file", "recent(50)", "since(0, 50)", "file bytes per message",
                   "prune(batch=500)"):
        assert figure in text, text


def test_sqlite_store_one_file_serves_one_server_at_a_time(tmp_path):
    path = str(tmp_path / "history.db")
    first = ss.open_store(path)
    with pytest.raises(StoreOpenError) as error:
        ss.open_store(path)
    assert "in use by another Parlor server" in str(error.value) and path in str(error.value)
    first.close()
    ss.open_store(path).close()  # free again once the first is gone
