"""The history store in an SQLite file (the standard library's sqlite3): a shell, it does I/O.

WAL mode with synchronous=NORMAL: each flush() commits to the write-ahead log, so what a
flush wrote reaches the operating system before flush() returns and a killed server
(kill -9) loses nothing flushed; an OS crash or power cut can lose the last transactions.
prune() checkpoints the log in idle moments.  The schema is created and migrated here.
"""
from __future__ import annotations

import math
import os
import sqlite3
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
                 max_days: float | None, retry_every: float = RETRY_EVERY) -> None:
        self.path = path
        self.lock = None  # the open lock file that keeps the database to this server
        self.problem: str | None = None
        self._conn = conn
        self._max_messages = max_messages
        self._max_days = max_days
        self._retry_every = retry_every
        self._retry_at = -math.inf
        self._checkpoint_due = False  # written to the WAL since the last checkpoint
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

    def flush(self) -> bool:
        """Write what is buffered in one transaction.  With nothing buffered, or while
        waiting to retry a failed write, nothing is tried and the answer is the last one."""
        if not self._pending or clock.monotonic() < self._retry_at:
            return self.problem is None
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
        self._checkpoint_due = True
        self.problem = None
        return True

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
        a flush on the fan-out path seldom has to (an automatic one took 10-16 ms)."""
        try:
            gone = self._prune_old(now, batch)
            for room in [r for r, n in self._counts.items() if self._over(n)]:
                if gone >= batch:
                    break
                gone += self._prune_room(room, min(batch - gone, self._counts[room]
                                                   - self._max_messages))
            if self._checkpoint_due or gone:
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
        self.flush()
        self._conn.close()
        if self.lock is not None:
            self.lock.close()


# ------------------------------------------------------------------ opening
def open_store(path: str, max_messages: int | None = MAX_MESSAGES,
               max_days: float | None = MAX_DAYS, *,
               retry_every: float = RETRY_EVERY) -> SqliteStore:
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
        store = SqliteStore(conn, name, max_messages, max_days, retry_every)
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
