"""The message store's contract (chat.server.store.Store), run against every implementation.

One fixture, `make_store`, opens a store of each implementation; a new implementation
(Redis) joins every test here by adding an entry to IMPLEMENTATIONS.  The pure helpers of
chat.server.store are tested at the end, without any store.
"""
from __future__ import annotations

import pytest

from chat.server import store as st
from chat.server.memory_store import MemoryStore
from chat.server.sqlite_store import open_store
from chat.server.store import Entry
from chat.server.redis_store import open_redis_store
from redis_harness import shared_redis  # noqa: F401 (a fixture)

DAY = 86400.0
T0 = 1_800_000_000.0  # a server time (2027)

IMPLEMENTATIONS = {
    "sqlite-file": lambda tmp_path, **kw: open_store(str(tmp_path / "history.db"), **kw),
    "sqlite-memory": lambda tmp_path, **kw: open_store(":memory:", **kw),
    "python-memory": lambda tmp_path, **kw: MemoryStore(**kw),
    # (one redis-server for the module; each store under its own prefix)
    "redis": lambda tmp_path, redis, **kw: open_redis_store(redis.url, f"test:{tmp_path}:", **kw),
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def make_store(request, tmp_path):
    """make_store(**retention) -> a new, empty store; every one is closed at teardown."""
    opened = []

    def make(**retention) -> st.Store:
        if request.param == "redis":
            retention["redis"] = request.getfixturevalue("shared_redis")
        store = IMPLEMENTATIONS[request.param](tmp_path / str(len(opened)), **retention)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store) -> st.Store:
    return make_store()


# Reads must see the same whether the entries were flushed, are still buffered, or both.
WRITTEN = {"buffered": lambda i, n: False, "flushed": lambda i, n: True,
           "half": lambda i, n: i < n // 2}


@pytest.fixture(params=sorted(WRITTEN))
def written(request):
    return WRITTEN[request.param]


def fill(store, room: str, n: int, flushed=WRITTEN["buffered"], start: float = T0) -> list[Entry]:
    """n entries said in `room`, a second apart; those `flushed(i, n)` picks are flushed
    before the others are added."""
    entries = []
    for i in range(n):
        entries.append(store.add(room, "say", f"nick{i % 3}", start + i, f"message {i}"))
        if flushed(i, n):
            assert store.flush()
    return entries


def ids(entries) -> list[int]:
    return [entry.id for entry in entries]


# ------------------------------------------------------------------ add and ids
def test_store_add_returns_the_entry_with_a_new_increasing_id(store):
    first = store.add("#a", "say", "alice", T0, "hello")
    second = store.add("#b", "action", "bob", T0 + 1, "waves")
    assert first == Entry(first.id, "#a", "say", "alice", T0, "hello", "")
    assert second.id > first.id
    assert store.last_id() == second.id


def test_store_last_id_is_zero_when_empty(store):
    assert store.last_id() == 0


def test_store_ids_keep_growing_across_flushes(store, written):
    entries = fill(store, "#a", 10, written) + fill(store, "#b", 10, written)
    assert ids(entries) == sorted(set(ids(entries)))
    assert store.last_id() == entries[-1].id


def test_store_add_refuses_what_the_server_should_never_make(store):
    with pytest.raises(ValueError, match="kind"):
        store.add("#a", "shout", "alice", T0, "hi")
    with pytest.raises(ValueError, match="recipient"):
        store.add("#a", "private", "alice", T0, "hi")
    with pytest.raises(ValueError, match="recipient"):
        store.add("#a", "say", "alice", T0, "hi", to="bob")
    assert store.last_id() == 0  # nothing was given an id


def test_store_keeps_text_and_names_exactly_as_given(store):
    text = "'); DROP TABLE entry; -- \"quoted\" ünïcode 中文 %s ?"
    entry = store.add("#it's", "notice", "", T0, text)
    assert store.flush()
    assert store.recent("#it's", 5) == [entry]


def test_store_rooms_that_look_like_sql_see_only_their_rows(store):
    fill(store, "#a", 3)
    sneaky = store.add("#a' OR '1'='1", "say", "eve", T0, "x")
    assert store.flush()
    assert store.recent("#a' OR '1'='1", 50) == [sneaky]
    assert len(store.recent("#a", 50)) == 3
    assert store.recent("#A", 50) == []  # room names are keys: the caller folds them


# ------------------------------------------------------------------ reads
def test_store_recent_is_the_newest_oldest_first(store, written):
    entries = fill(store, "#a", 30, written)
    assert store.recent("#a", 10) == entries[-10:]
    assert store.recent("#a", 100) == entries


def test_store_reads_keep_rooms_apart(store, written):
    a = fill(store, "#a", 6, written)
    b = fill(store, "#b", 6, written)
    assert store.recent("#a", 50) == a
    assert store.recent("#b", 50) == b
    assert store.recent("#nobody", 50) == []
    assert store.since("#nobody", 0, 50) == ([], 0)
    assert store.before("#nobody", 10**9, 50) == []


def test_store_reads_see_buffered_entries_after_written_ones(store):
    old = fill(store, "#a", 5, WRITTEN["flushed"])
    new = fill(store, "#a", 5)
    assert store.recent("#a", 7) == old[-2:] + new
    assert store.before("#a", new[2].id, 4) == old[-2:] + new[:2]
    assert store.since("#a", old[1].id, 6) == (old[-1:] + new, 2)


def test_store_before_pages_back_through_everything_once(store, written):
    entries = fill(store, "#a", 47, written)
    seen, oldest = [], store.last_id() + 1
    while page := store.before("#a", oldest, 10):
        assert len(page) <= 10
        seen = page + seen
        oldest = page[0].id
    assert seen == entries


def test_store_before_is_the_limit_just_before(store, written):
    entries = fill(store, "#a", 20, written)
    assert store.before("#a", entries[12].id, 5) == entries[7:12]
    assert store.before("#a", entries[2].id, 5) == entries[:2]
    assert store.before("#a", entries[0].id, 5) == []


def test_store_since_returns_the_newest_and_counts_the_rest(store, written):
    entries = fill(store, "#a", 30, written)
    assert store.since("#a", entries[9].id, 5) == (entries[-5:], 15)
    assert store.since("#a", entries[24].id, 5) == (entries[25:], 0)
    assert store.since("#a", entries[-1].id, 5) == ([], 0)
    assert store.since("#a", 0, 500) == (entries, 0)


def test_store_since_then_before_covers_the_gap_exactly(store, written):
    """A catch-up: the newest page, then /history pages back to what was seen."""
    seen = fill(store, "#a", 10, written)
    missed = fill(store, "#a", 25, written)
    page, more = store.since("#a", seen[-1].id, 10)
    assert (page, more) == (missed[-10:], 15)
    rest = store.before("#a", page[0].id, more)
    assert rest + page == missed


def test_store_since_counts_only_the_rooms_entries(store, written):
    a = fill(store, "#a", 5, written)
    fill(store, "#b", 20, written)
    more_a = fill(store, "#a", 5, written)
    assert store.since("#a", a[-1].id, 2) == (more_a[-2:], 3)


@pytest.mark.parametrize("asked, given", [(0, 1), (-5, 1), (1, 1), (500, 500), (501, 500),
                                          (10**9, 500)])
def test_store_reads_clamp_the_limit(store, asked, given):
    entries = fill(store, "#a", 600)
    assert store.flush()
    assert len(store.recent("#a", asked)) == given
    assert len(store.before("#a", entries[-1].id + 1, asked)) == given
    page, more = store.since("#a", 0, asked)
    assert (len(page), more) == (given, 600 - given)


# ------------------------------------------------------------------ private entries
def add_private(store, nick="Alice", to="bob", ends="k1 k2"):
    return store.add("#a", "private", nick, T0, "psst", to=to, ends=ends)


@pytest.mark.parametrize("viewer", ["k1", "k2"])
def test_store_private_entries_show_to_their_two_ends(store, written, viewer):
    public = fill(store, "#a", 2, written)
    secret = add_private(store)
    if written(0, 1):
        assert store.flush()
    assert store.recent("#a", 10, viewer=viewer) == public + [secret]
    assert store.before("#a", secret.id + 1, 10, viewer=viewer) == public + [secret]
    assert store.since("#a", 0, 10, viewer=viewer) == (public + [secret], 0)


@pytest.mark.parametrize("viewer", ["", "k", "k1 k2", "K1", "1", "alice", "bob", " k1", "%"])
def test_store_private_entries_hide_from_everyone_else(store, written, viewer):
    """Not their nicks either: a nick changes hands, an end's key does not."""
    public = fill(store, "#a", 2, written)
    add_private(store, nick="alice", to="bob")
    if written(0, 1):
        assert store.flush()
    assert store.recent("#a", 10, viewer=viewer) == public
    assert store.since("#a", 0, 10, viewer=viewer) == (public, 0)
    assert store.since("#a", 0, 1, viewer=viewer) == (public[1:], 1)  # not counted either


def test_store_private_entry_is_seen_by_nobody_unnamed(store):
    add_private(store, nick="", to="bob")
    assert store.recent("#a", 10, viewer="") == []


# ------------------------------------------------------------------ key/value tables
def test_store_put_and_items(store, written):
    store.put("session", "tok1", '{"nick": "alice"}')
    store.put("session", "tok2", '{"nick": "bob"}')
    store.put("topic", "tok1", '"other table"')
    if written(0, 1):
        assert store.flush()
    store.put("session", "tok2", '{"nick": "bobby"}')  # replaces
    assert store.items("session") == {"tok1": '{"nick": "alice"}', "tok2": '{"nick": "bobby"}'}
    assert store.items("topic") == {"tok1": '"other table"'}
    assert store.items("nothing") == {}


def test_store_put_none_deletes(store, written):
    store.put("score", "a", "1")
    store.put("score", "b", "2")
    if written(0, 1):
        assert store.flush()
    store.put("score", "a", None)
    store.put("score", "never", None)
    assert store.items("score") == {"b": "2"}
    assert store.flush()
    assert store.items("score") == {"b": "2"}


# ------------------------------------------------------------------ flush and problem
def test_store_flush_succeeds_with_no_problem(store):
    fill(store, "#a", 3)
    store.put("t", "k", "v")
    assert store.flush() is True
    assert store.problem is None
    assert store.flush() is True  # nothing to write


# ------------------------------------------------------------------ retention
def test_store_prune_keeps_the_newest_max_messages_per_room(make_store):
    store = make_store(max_messages=10, max_days=None)
    a = fill(store, "#a", 25)
    b = fill(store, "#b", 8)
    assert store.flush()
    assert store.prune(T0 + 100) == 15
    assert store.since("#a", 0, 500) == (a[-10:], 0)
    assert store.since("#b", 0, 500) == (b, 0)
    assert store.prune(T0 + 100) == 0


def test_store_prune_removes_what_is_older_than_max_days(make_store):
    store = make_store(max_messages=None, max_days=2)
    old = fill(store, "#a", 5, start=T0)
    young = fill(store, "#b", 5, start=T0 + 2 * DAY)
    young += fill(store, "#a", 5, start=T0 + 2 * DAY)
    assert store.flush()
    now = T0 + 2 * DAY + 2.5  # the first three are more than two days old
    assert store.prune(now) == 3
    assert store.recent("#a", 50) == old[3:] + young[5:]
    assert store.prune(now + 10) == 2
    assert store.recent("#a", 50) == young[5:]
    assert store.recent("#b", 50) == young[:5]


def test_store_prune_never_removes_a_young_entry_when_the_clock_went_back(make_store):
    store = make_store(max_messages=None, max_days=1)
    first = store.add("#a", "say", "alice", T0, "old")
    young = store.add("#a", "say", "alice", T0 + 10 * DAY, "young")
    store.add("#a", "say", "alice", T0, "said after the clock was set back")
    assert store.flush()
    assert store.prune(T0 + 10 * DAY) >= 1
    kept = store.recent("#a", 50)
    assert young in kept and first not in kept


def test_store_prune_goes_in_batches_oldest_first(make_store):
    store = make_store(max_messages=5, max_days=None)
    entries = fill(store, "#a", 30)
    assert store.flush()
    assert store.prune(T0, batch=10) == 10
    assert store.recent("#a", 500) == entries[10:]
    assert store.prune(T0, batch=10) == 10
    assert store.prune(T0, batch=10) == 5
    assert store.recent("#a", 500) == entries[-5:]


def test_store_prune_shares_its_batch_between_age_and_count(make_store):
    store = make_store(max_messages=3, max_days=1)
    fill(store, "#a", 4, start=T0)
    fill(store, "#b", 10, start=T0 + 5 * DAY)
    assert store.flush()
    assert store.prune(T0 + 5 * DAY, batch=6) == 6  # four too old, then two of #b's seven
    assert store.recent("#a", 50) == []
    assert len(store.recent("#b", 50)) == 8
    assert store.prune(T0 + 5 * DAY, batch=6) == 5
    assert len(store.recent("#b", 50)) == 3


def test_store_since_counts_right_after_a_prune(make_store, written):
    store = make_store(max_messages=10, max_days=None)
    fill(store, "#a", 15, WRITTEN["flushed"])
    fill(store, "#b", 3, WRITTEN["flushed"])
    assert store.prune(T0) == 5
    kept = store.recent("#a", 50)
    later = fill(store, "#a", 6, written)
    assert store.since("#a", 0, 4) == (later[-4:], 12)
    assert store.since("#a", kept[3].id, 4) == (later[-4:], 8)


def test_store_since_counts_around_hidden_private_entries(store, written):
    entries = []
    for i in range(12):
        entries.append(store.add("#a", "say", "alice", T0 + i, f"line {i}"))
        store.add("#a", "private", "carol", T0 + i, "psst", to="dave", ends="kc kd")
        if written(i, 12):
            assert store.flush()
    assert store.since("#a", entries[1].id, 3, viewer="ka") == (entries[-3:], 7)
    page, more = store.since("#a", entries[1].id, 3, viewer="kd")
    assert (len(page), more) == (3, 10 + 10 + 1 - 3)  # dave sees his own ten too


def test_store_ids_never_go_back_after_a_prune(make_store):
    store = make_store(max_messages=1, max_days=None)
    entries = fill(store, "#a", 5)
    assert store.flush()
    store.prune(T0)
    assert store.add("#a", "say", "x", T0, "later").id > entries[-1].id


# ------------------------------------------------------------------ the pure helpers
def entry(id_, kind="say", nick="alice", to="", room="#a", ends=""):
    return Entry(id_, room, kind, nick, T0, "text", to, ends)


def test_store_can_see_private_only_for_its_ends():
    secret = entry(1, "private", "Alice", to="Bob", ends="ka kb")
    viewers = ("ka", "kb", "", "alice", "bob", "ka kb", "k")
    assert [v for v in viewers if st.can_see(secret, v)] == ["ka", "kb"]
    assert st.can_see(entry(2), "")


def test_store_pending_drops_the_oldest_beyond_its_limit_and_counts_them():
    pending = st.Pending(limit=3)
    for i in range(1, 6):
        pending.add(entry(i))
    assert ids(pending.entries) == [3, 4, 5]
    assert pending.dropped == 2


def test_store_pending_newest_filters_and_counts():
    pending = st.Pending()
    for i in range(1, 11):
        pending.add(entry(i, room="#a" if i % 2 else "#b"))
    got, more = pending.newest("#a", "", after_id=1, before_id=9, limit=2)
    assert (ids(got), more) == ([5, 7], 1)  # 3, 5, 7 match; the oldest is left out


def test_store_pending_merged_applies_puts_over_what_is_written():
    pending = st.Pending()
    pending.puts.update({("t", "new"): "1", ("t", "gone"): None, ("u", "other"): "2"})
    assert pending.merged("t", {"gone": "0", "kept": "3"}) == {"kept": "3", "new": "1"}
    assert bool(pending) and not st.Pending()


@pytest.mark.parametrize("kind, to, ends", [
    ("private", "bob", ""), ("private", "bob", "ka  kb"), ("say", "", "ka kb"),
    ("private", "", "ka kb")])
def test_store_check_entry_refuses_a_private_entry_without_its_two_ends(kind, to, ends):
    with pytest.raises(ValueError):
        st.check_entry(kind, to, ends)


def test_store_check_entry_accepts_every_kind():
    for kind in st.KINDS:
        st.check_entry(kind, *(("bob", "ka kb") if kind == st.PRIVATE else ("", "")))
