"""The history store in an SQLite file (the standard library's sqlite3): a shell, it does I/O.

Two files.  flush(), called every loop turn that kept something, appends the turn's rows
to PATH-log with one write(): once it returns they are the operating system's, so a
killed server (kill -9) loses nothing flushed.  (A turn that kept DIRECT_ROWS or more
is one SQLite transaction instead, which then costs less than the log.)  The rows go on into SQLite (WAL mode,
synchronous=NORMAL) in batches of up to BATCH_ROWS, at least every BATCH_AGE seconds,
and then the log is emptied; opening the store replays what the log holds beyond the
file.  (One SQLite transaction costs about 45 us, most of a chat round trip; a write()
costs 3 us, and a batch 4-5 us a row.)  An OS crash or power cut can lose the last
seconds.  SQLite's WAL is copied into the file (a checkpoint, which fsyncs) by a
thread of its own when prune() asks, never by the loop's commits.  The schema is created and
migrated here.  Without a log (an SQLite URI, or a log that cannot be written) every
flush() is one SQLite transaction, as safe and slower; ":memory:", which a crash loses
anyway, is written in batches with no log.
"""
from __future__ import annotations

import ast
import math
import os
import sqlite3
import threading
import time as clock
from collections import Counter
from collections.abc import Iterable

from chat.server.store import (MAX_DAYS, MAX_MESSAGES, PRIVATE, Entry, Pending, StoreOpenError,
                               check_entry, clamp)

APPLICATION_ID = 0x50726C72  # "Prlr" in the file's header: this file is Parlor's
# Each migration takes the file from version N to N + 1; append, never edit.
MIGRATIONS = (
    """
    CREATE TABLE entry (
        id INTEGER PRIMARY KEY,
        room TEXT NOT NULL,
        kind TEXT NOT NULL,
        nick TEXT NOT NULL,
        time REAL NOT NULL,
        text TEXT NOT NULL,
        recipient TEXT NOT NULL DEFAULT '',
        seq INTEGER NOT NULL  -- 1, 2, 3... within the room: counts a range in two look-ups
    );
    CREATE INDEX entry_room ON entry (room, id);
    CREATE INDEX entry_private ON entry (room, id) WHERE kind = 'private';
    CREATE TABLE kv (
        tbl TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (tbl, key)
    ) WITHOUT ROWID;
    CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    """,
    # A private entry is seen by its two ends, named by key (a session's), not by nick.
    # Private entries written before have none: nobody sees them.
    """
    ALTER TABLE entry ADD COLUMN ends TEXT NOT NULL DEFAULT '';
    """,
)
SCHEMA = len(MIGRATIONS)
RETRY_EVERY = 1.0  # seconds between flush attempts once one failed (a retry rewrites it all)
BATCH_ROWS = 256   # rows logged but not in SQLite that make a flush write them there
BATCH_AGE = 1.0    # seconds a logged row may wait for SQLite (the loop's housekeeping flushes)
DIRECT_ROWS = 24   # a turn that kept this many goes straight into SQLite: a transaction costs
                   # about 45 us and a row 4; the log 2 a row, and the row goes to SQLite later
LOG = "-log"       # PATH + LOG: the turns' rows, until they are in SQLite

assert PRIVATE == "private"  # spelled in the partial index above, which takes no parameter
_COLUMNS = "id, room, kind, nick, time, text, recipient, ends"
# (a key is one word: a viewer with a space in it is nobody's)
_SEEN = ("(:viewer <> '' AND instr(:viewer, ' ') = 0 "
         "AND instr(' ' || ends || ' ', ' ' || :viewer || ' ') > 0)")
_RANGE = "room = :room AND id > :after AND id < :before"
_NEWEST = (f"SELECT {_COLUMNS} FROM entry WHERE {_RANGE} AND (kind <> 'private' OR {_SEEN}) "
           f"ORDER BY id DESC LIMIT :limit")
# The entries in the range: the seq of its newest minus that of its oldest, plus one, less
# the private ones the viewer may not see (found through their own small index).
_COUNT = (f"SELECT max(0, coalesce("
          f"(SELECT seq FROM entry WHERE {_RANGE} ORDER BY id DESC LIMIT 1) - "
          f"(SELECT seq FROM entry WHERE {_RANGE} ORDER BY id LIMIT 1) + 1, 0)) - "
          f"(SELECT count(*) FROM entry WHERE kind = 'private' AND {_RANGE} AND NOT {_SEEN})")
_INSERT = f"INSERT INTO entry ({_COLUMNS}, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_PRUNED = "pruned through"  # meta: the highest id prune deleted (so ids are never reused)
_PUT = "INSERT OR REPLACE INTO kv (tbl, key, value) VALUES (?, ?, ?)"
_DELETE = "DELETE FROM kv WHERE tbl = ? AND key = ?"

# What went wrong, by SQLite's primary result code, as the end of a sentence.
_TROUBLE = {
    "SQLITE_READONLY": "is read-only",
    "SQLITE_BUSY": "is locked by another program",
    "SQLITE_LOCKED": "is locked by another program",
    "SQLITE_FULL": "cannot grow: the disk is full",
    "SQLITE_IOERR": "cannot be written: the disk reports an input/output error",
    "SQLITE_CORRUPT": "is damaged",
    "SQLITE_NOTADB": "is damaged",
    "SQLITE_CONSTRAINT": "is being written by another program too (another Parlor server?)",
    "SQLITE_CANTOPEN": "cannot be opened",
    "SQLITE_PERM": "cannot be opened: permission denied",
}
# Python before 3.11 gives no result code: the same, by SQLite's (stable) messages.
_MESSAGES = {"readonly": "SQLITE_READONLY", "locked": "SQLITE_BUSY", "full": "SQLITE_FULL",
             "i/o": "SQLITE_IOERR", "malformed": "SQLITE_CORRUPT", "not a database":
             "SQLITE_NOTADB", "constraint": "SQLITE_CONSTRAINT", "unable to open":
             "SQLITE_CANTOPEN"}


def error_name(exc: sqlite3.Error) -> str:
    """SQLite's primary result code for the error ("SQLITE_BUSY"), or ""."""
    name = getattr(exc, "sqlite_errorname", None)
    if name:
        return "_".join(name.split("_")[:2])  # SQLITE_READONLY_DBMOVED -> SQLITE_READONLY
    text = str(exc).lower()
    return next((code for fragment, code in _MESSAGES.items() if fragment in text), "")


def trouble(path: str, exc: sqlite3.Error) -> str:
    """The sentence for a failed write or read."""
    what = _TROUBLE.get(error_name(exc), f"cannot be used ({exc})")
    return f"the history database {path} {what}"


class SqliteStore:
    """The Store interface (chat.server.store) over one SQLite connection."""

    def __init__(self, conn: sqlite3.Connection, path: str, max_messages: int | None,
                 max_days: float | None, retry_every: float = RETRY_EVERY,
                 batch: int = BATCH_ROWS) -> None:
        self.path = path
        self.lock = None  # the open lock file that keeps the database to this server
        self.problem: str | None = None
        self._log: int | None = None  # the log's file descriptor (None: no log)
        self._log_path: str | None = None
        self._logged = 0  # the highest entry id the log holds
        self._unlogged: dict[tuple[str, str], str | None] = {}  # puts since the last append
        self._batch = batch
        self._batched = path == ":memory:"  # with a log, too: only a file without one may not
        self._waiting_since: float | None = None  # when the oldest row not in SQLite came
        self._conn = conn
        self._max_messages = max_messages
        self._max_days = max_days
        self._retry_every = retry_every
        self._retry_at = -math.inf
        self._checkpoint_due = False  # written to the WAL since the last checkpoint
        self._checkpointer: Checkpointer | None = None
        self._pending = Pending()
        self._last_id = _high_water(conn)
        rooms = conn.execute("SELECT room, count(*), max(id) FROM entry GROUP BY room").fetchall()
        self._counts = Counter({room: n for room, n, _ in rooms})  # written rows per room
        self._seq = {room: conn.execute("SELECT seq FROM entry WHERE id = ?", (last,)).fetchone()[0]
                     for room, _, last in rooms}  # the last seq written in each room

    @property
    def dropped(self) -> int:
        """Entries lost because flushes kept failing and the buffer was full."""
        return self._pending.dropped

    # ------------------------------------------------------------------ writing
    def add(self, room: str, kind: str, nick: str, time: float, text: str,
            to: str = "", ends: str = "") -> Entry:
        check_entry(kind, to, ends)
        self._last_id += 1
        entry = Entry(self._last_id, room, kind, nick, time, text, to, ends)
        self._pending.add(entry)
        return entry

    def put(self, table: str, key: str, value: str | None) -> None:
        self._pending.puts[(table, key)] = value
        if self._log is not None:
            self._unlogged[(table, key)] = value

    def flush(self) -> bool:
        """Make what is buffered safe from a crash of this process: append it to the log,
        and write it into SQLite when a batch is due (or when there is no log).  While
        waiting to retry a failed SQLite write, that is not tried; the answer is False
        as long as the last SQLite write failed."""
        now = clock.monotonic()
        if self._log is not None:
            fresh = self._fresh()
            if fresh >= DIRECT_ROWS and now >= self._retry_at and self._save():
                return True  # many rows: one transaction costs less than the log
            if (fresh or self._unlogged) and not self._append(fresh):
                self._drop_log()  # a full disk, say: SQLite's own transactions are the fallback
        if not self._pending or now < self._retry_at:
            return self.problem is None
        if self._waiting_since is None:
            self._waiting_since = now
        if (self._batched and now - self._waiting_since < BATCH_AGE
                and len(self._pending.entries) + len(self._pending.puts) < self._batch):
            return self.problem is None
        return self._save()

    def _fresh(self) -> int:
        """How many buffered entries the log lacks: the newest (ids are given in order)."""
        return min(self._last_id - self._logged, len(self._pending.entries))

    def _append(self, fresh: int) -> bool:
        """The newest `fresh` buffered entries and the puts the log lacks, appended
        with one write(); False if it failed."""
        entries = self._pending.entries
        if not fresh and not self._unlogged:
            return True  # (nothing: not even a newline, which would end a replay there)
        if fresh == 1 and not self._unlogged:  # (a chat line a turn: the common case)
            e = entries[-1]  # (the repr of ('e', *e), written out: a third faster)
            data = (f"('e', {e[0]!r}, {e[1]!r}, {e[2]!r}, {e[3]!r}, {e[4]!r}, {e[5]!r}, "
                    f"{e[6]!r}, {e[7]!r})\n").encode()
        else:
            records = [repr(("e", *entries[-i])) for i in range(fresh, 0, -1)]
            records.extend(repr(("p", table, key, value))
                           for (table, key), value in self._unlogged.items())
            data = ("\n".join(records) + "\n").encode()
        try:
            if os.write(self._log, data) != len(data):
                return False
        except OSError:
            return False
        if entries:
            self._logged = entries[-1].id
        self._unlogged.clear()
        return True

    def _drop_log(self) -> None:
        """Stop logging (the log may end in a torn record, which replay skips)."""
        os.close(self._log)
        self._log, self._batched = None, False
        self._unlogged.clear()

    def _save(self) -> bool:
        """Write the buffer into SQLite in one transaction; then the log can be emptied."""
        seqs: dict[str, int] = {}  # the rooms' new last seqs, kept only if it all lands
        try:
            self._write(self._numbered(seqs))
        except sqlite3.Error as exc:
            self._rollback()
            self.problem = trouble(self.path, exc)
            self._retry_at = clock.monotonic() + self._retry_every
            return False
        self._counts.update(entry.room for entry in self._pending.entries)
        self._seq.update(seqs)
        self._pending.clear()
        self._waiting_since = None
        self._checkpoint_due = True
        self.problem = None
        self._empty_log()
        return True

    def _empty_log(self) -> None:
        if self._log is None and self._log_path is not None:  # given up: let it not replay
            try:
                os.unlink(self._log_path)
                self._log_path = None
            except OSError:
                pass
        elif self._log is not None:
            try:
                os.ftruncate(self._log, 0)
            except OSError:  # its puts, replayed, would undo newer ones: log no more
                self._drop_log()

    def _numbered(self, seqs: dict[str, int]) -> list[tuple]:
        """The buffered entries as rows, each with its seq in its room."""
        rows = []
        for e in self._pending.entries:
            seqs[e.room] = seq = (seqs.get(e.room) or self._seq.get(e.room, 0)) + 1
            rows.append((e.id, e.room, e.kind, e.nick, e.time, e.text, e.to, e.ends, seq))
        return rows

    def _write(self, rows: Iterable[tuple]) -> None:
        puts = self._pending.puts.items()
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(_INSERT, rows)
        if puts:
            conn.executemany(_PUT, ((t, k, v) for (t, k), v in puts if v is not None))
            conn.executemany(_DELETE, ((t, k) for (t, k), v in puts if v is None))
        conn.execute("COMMIT")

    def _rollback(self) -> None:
        if self._conn.in_transaction:  # some errors (a full disk) roll back by themselves
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the transaction is gone either way; the next flush begins anew

    # ------------------------------------------------------------------ reading
    def recent(self, room: str, limit: int, viewer: str = "") -> list[Entry]:
        return self._newest(room, 0, math.inf, clamp(limit), viewer, count=False)[0]

    def before(self, room: str, before_id: int, limit: int, viewer: str = "") -> list[Entry]:
        return self._newest(room, 0, before_id, clamp(limit), viewer, count=False)[0]

    def since(self, room: str, after_id: int, limit: int,
              viewer: str = "") -> tuple[list[Entry], int]:
        return self._newest(room, after_id, math.inf, clamp(limit), viewer, count=True)

    def _newest(self, room: str, after_id: int, before_id: float, limit: int, viewer: str,
                count: bool) -> tuple[list[Entry], int]:
        """The newest `limit` entries with after_id < id < before_id, oldest first, and
        (when `count`) how many more there are: the buffer first, then the file, whose
        ids are all older than the buffer's."""
        got, more = self._pending.newest(room, viewer, after_id, before_id, limit)
        params = {"room": room, "after": after_id, "viewer": viewer,
                  "before": got[0].id if got else min(before_id, self._last_id + 1)}
        try:
            if len(got) < limit:
                rows = self._conn.execute(_NEWEST, {**params, "limit": limit - len(got)})
                older = [Entry(*row) for row in rows]
                older.reverse()
                got = older + got
            if count:
                params["before"] = got[0].id if got else params["before"]
                more += self._conn.execute(_COUNT, params).fetchone()[0]
        except sqlite3.Error as exc:  # a damaged page: what the buffer holds still shows
            self.problem = trouble(self.path, exc)
        return got, more

    def fresh(self, table: str, keys: list[str]) -> dict[str, str | None] | None:
        return None  # (only this server writes it)

    def items(self, table: str) -> dict[str, str]:
        try:
            written = dict(self._conn.execute("SELECT key, value FROM kv WHERE tbl = ?",
                                              (table,)))
        except sqlite3.Error as exc:
            self.problem = trouble(self.path, exc)
            written = {}
        return self._pending.merged(table, written)

    def last_id(self) -> int:
        return self._last_id

    # ------------------------------------------------------------------ retention
    def prune(self, now: float, batch: int = 500) -> int:
        """Delete at most `batch` written entries beyond retention: first those older than
        max_days (the oldest ids first), then each room's oldest beyond max_messages.
        Then copy the WAL into the file (a checkpoint), here in an idle moment, so that
        a flush on the fan-out path seldom has to (an automatic one took 10-16 ms).
        The logged rows go into SQLite first: this is an idle moment too."""
        if self._pending and clock.monotonic() >= self._retry_at and not self._save():
            return 0
        try:
            gone = self._prune_old(now, batch)
            for room in [r for r, n in self._counts.items() if self._over(n)]:
                if gone >= batch:
                    break
                gone += self._prune_room(room, min(batch - gone, self._counts[room]
                                                   - self._max_messages))
            if self._checkpoint_due or gone:
                if self._checkpointer is not None:
                    self._checkpointer.due.set()
                else:
                    self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                self._checkpoint_due = False
        except sqlite3.Error as exc:
            self._rollback()
            self.problem = trouble(self.path, exc)
            return 0
        return gone

    def _over(self, count: int) -> bool:
        return self._max_messages is not None and count > self._max_messages

    def _prune_old(self, now: float, batch: int) -> int:
        if self._max_days is None:
            return 0
        cutoff = now - self._max_days * 86400
        oldest = self._conn.execute("SELECT time FROM entry ORDER BY id LIMIT 1").fetchone()
        if oldest is None or oldest[0] >= cutoff:
            return 0  # (the usual case, each second: one row read, not a batch)
        rows = self._conn.execute("SELECT id, room, time FROM entry ORDER BY id LIMIT ?",
                                  (batch,)).fetchall()
        # The oldest rows by id, up to the first young one: a clock set back never
        # makes this skip ahead, and the read is bounded by `batch`.
        old = []
        for row in rows:
            if row[2] >= cutoff:
                break
            old.append(row)
        if old:
            self._delete_through(old[-1][0], None)
            self._counts.subtract(row[1] for row in old)
        return len(old)

    def _prune_room(self, room: str, n: int) -> int:
        row = self._conn.execute("SELECT id FROM entry WHERE room = ? ORDER BY id "
                                 "LIMIT 1 OFFSET ?", (room, n - 1)).fetchone()
        if row is None:
            return 0
        self._delete_through(row[0], room)
        self._counts[room] -= n
        return n

    def _delete_through(self, last: int, room: str | None) -> None:
        """Delete every entry with id <= last (of `room`, when one is given), noting the
        highest id deleted in the same transaction."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        if room is None:
            conn.execute("DELETE FROM entry WHERE id <= ?", (last,))
        else:
            conn.execute("DELETE FROM entry WHERE room = ? AND id <= ?", (room, last))
        conn.execute("INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE "
                     "SET value = max(value, excluded.value)", (_PRUNED, last))
        conn.execute("COMMIT")

    def close(self) -> None:
        """Write everything into SQLite if it can be (else the log keeps it for next time)."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
        if self._log is not None:
            self._append(self._fresh())
        if self._pending:
            self._retry_at = -math.inf
            self._save()
        if self._log is not None:
            os.close(self._log)
        self._conn.close()
        if self.lock is not None:
            self.lock.close()

    # ------------------------------------------------------------------ the log
    def use_log(self, log_path: str) -> None:
        """Replay what the log at `log_path` holds beyond the file into the buffer (a
        record cut short by a crash ends the replay), write it into SQLite if that
        works, and log from now on.  Raises OSError if the log cannot be opened."""
        fd = os.open(log_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        whole = 0  # bytes of whole records from the start
        with os.fdopen(os.dup(fd), "rb") as f:
            for line in f:
                try:  # a record is the repr() of a tuple of str, int, float and None
                    record = ast.literal_eval(line.decode()) if line.endswith(b"\n") else None
                except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError,
                        RecursionError):
                    record = None
                if not isinstance(record, tuple) or not record:
                    break
                whole += len(line)
                if record[0] == "e" and 8 <= len(record) <= 1 + len(Entry._fields) \
                        and type(record[1]) is int \
                        and record[1] > self._last_id:
                    self._pending.add(Entry(*record[1:]))
                    self._last_id = record[1]
                elif record[0] == "p" and len(record) == 4:
                    self._pending.puts[(record[1], record[2])] = record[3]
        if os.fstat(fd).st_size > whole:  # a torn record: what comes next must not
            os.ftruncate(fd, whole)          # follow it, where a replay would stop
        self._log, self._log_path, self._logged = fd, log_path, self._last_id
        self._batched = True
        if self._pending:
            self._save()


class Checkpointer:
    """Copies the WAL into the database file (a PASSIVE checkpoint) when told to, in a
    thread of its own with its own connection, so the loop never waits for it: a
    checkpoint fsyncs the WAL and the file (2-5 ms here, growing with the file), and
    sqlite3 lets go of the GIL for the whole statement.  The loop's connection has
    SQLite's automatic checkpoints turned off, so its commits never fsync; a PASSIVE
    checkpoint never blocks its writes."""

    def __init__(self, path: str) -> None:
        self.due = threading.Event()
        self.done = threading.Event()  # set after each checkpoint (for whoever waits)
        self._stopping = False
        self._thread = threading.Thread(target=self._run, args=(path,), daemon=True,
                                        name="parlor-checkpoint")
        self._thread.start()

    def _run(self, path: str) -> None:
        conn = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            while True:
                self.due.wait()
                self.due.clear()
                if self._stopping:
                    return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    pass  # busy, or a disk in trouble: the loop's writes say so; next time
                self.done.set()
        finally:
            conn.close()

    def stop(self) -> None:
        self._stopping = True
        self.due.set()
        self._thread.join()


# ------------------------------------------------------------------ opening
def open_store(path: str, max_messages: int | None = MAX_MESSAGES,
               max_days: float | None = MAX_DAYS, *,
               retry_every: float = RETRY_EVERY, batch: int = BATCH_ROWS) -> SqliteStore:
    """Open (creating or migrating) the history database at `path`; ":memory:" keeps
    nothing on disk, and an SQLite URI ("file:/x.db?mode=ro") is taken as one.
    Raises StoreOpenError with a sentence saying what is wrong and what to do."""
    name = _display_name(path)
    conn = _connect(path, name)
    lock = None
    try:
        if path != ":memory:" and not path.startswith("file:"):
            lock = _hold(path, name)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        _migrate(conn, name)
        store = SqliteStore(conn, name, max_messages, max_days, retry_every, batch)
        if lock is not None:
            store.use_log(path + LOG)
            conn.execute("PRAGMA wal_autocheckpoint = 0")  # the Checkpointer's work
            store._checkpointer = Checkpointer(path)
    except OSError as exc:
        conn.close()
        if lock is not None:
            lock.close()
        raise StoreOpenError(f"cannot open {path + LOG}, the history database's log: "
                             f"{(exc.strerror or str(exc)).lower()}") from None
    except (sqlite3.Error, StoreOpenError) as exc:
        conn.close()
        if lock is not None:
            lock.close()
        if isinstance(exc, StoreOpenError):
            raise
        raise StoreOpenError(_open_problem(name, exc)) from None
    store.lock = lock
    return store


def _hold(path: str, name: str):
    """Keep the file to this server while it runs (ids are handed out from memory, so
    two servers on one file would give the same ids twice): an OS lock on PATH-lock,
    which goes when the process does, however it ends.  Other programs may still read
    the database.  The open lock file, to keep."""
    lock = open(path + "-lock", "a+b")
    try:
        if os.name == "nt":
            import msvcrt
            msvcrt.locking(lock.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise StoreOpenError(f"the history database {name} is in use by another Parlor "
                             f"server: stop that one, or give this server another file "
                             f"(--db)") from None
    return lock


def _display_name(path: str) -> str:
    if path.startswith("file:"):
        return path[len("file:"):].partition("?")[0]
    return path


def _connect(path: str, name: str) -> sqlite3.Connection:
    if path != ":memory:" and not path.startswith("file:"):
        folder = os.path.dirname(os.path.abspath(path))
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise StoreOpenError(f"cannot create the folder {folder} for the history "
                                 f"database: {exc.strerror.lower()}") from None
        if os.path.isdir(path):
            raise StoreOpenError(f"the history database {path} is a folder: give the server "
                                 f"a file name (--db)")
    try:
        # timeout=0: a locked file fails at once (the room must not wait); the next
        # flush retries.  The loop may run in another thread than the one that opened it.
        return sqlite3.connect(path, timeout=0, isolation_level=None, uri=path.startswith(
            "file:"), check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreOpenError(_open_problem(name, exc)) from None


def _open_problem(name: str, exc: sqlite3.Error) -> str:
    code = error_name(exc)
    if code in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
        return (f"{name} is not a Parlor history database or is damaged: move it aside and "
                f"start the server again")
    if code == "SQLITE_CANTOPEN" and not os.access(os.path.dirname(os.path.abspath(name)),
                                                   os.W_OK):
        return f"cannot open the history database {name}: permission denied"
    return f"{trouble(name, exc)}: fix that, or give the server another file (--db)"


def _high_water(conn: sqlite3.Connection) -> int:
    """The highest id ever written, pruned ones included."""
    row = conn.execute("SELECT max(coalesce((SELECT max(id) FROM entry), 0), coalesce("
                       "(SELECT value FROM meta WHERE name = ?), 0))", (_PRUNED,)).fetchone()
    return row[0]


def _migrate(conn: sqlite3.Connection, name: str) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    app = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if app != APPLICATION_ID and (app != 0 or tables):
        raise StoreOpenError(f"{name} is not a Parlor history database or is damaged: move "
                             f"it aside and start the server again")
    if version > SCHEMA:
        raise StoreOpenError(f"{name} was written by a newer Parlor (schema {version}, this "
                             f"one knows {SCHEMA}): run that Parlor, or move the file aside "
                             f"and start the server again")
    for number in range(version, SCHEMA):
        # executescript commits first, so each step is its own transaction, applied whole.
        conn.executescript(f"BEGIN IMMEDIATE; {MIGRATIONS[number]}; "
                           f"PRAGMA application_id = {APPLICATION_ID}; "
                           f"PRAGMA user_version = {number + 1}; COMMIT;")
