"""Games and scores that outlive a dropped connection and a restart: the board says who
it waits for, and a game in progress goes on from the same position after the server
is stopped (or killed) and started again.  The state alone with one store handed from
the first server to the second, then the real server process on a real file."""
from __future__ import annotations

import os
import random
import signal

import pytest

from chat import protocol as p
from chat.server.games import GAMES, SCORES, GameHost
from chat.server.memory_store import MemoryStore
from chat.server.state import ChatState, Outbox
from conftest import Peer

X_WINS = ["1", "4", "2", "5", "3"]  # the first player takes row 1


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Server:
    """A ChatState with a GameHost on `store`; sessions by nick; what each was sent."""

    def __init__(self, store: MemoryStore, clock: Clock, seed: int = 1) -> None:
        self.store, self.clock = store, clock
        self.state = ChatState(GameHost(random.Random(seed)), clock=clock, store=store,
                               grace=120)
        self.ids: dict[str, int] = {}
        self.tokens: dict[str, str] = {}
        self.next = 100

    def step(self, action) -> list[tuple[tuple[int, ...], p.ServerMessage]]:
        out = Outbox()
        action(out)
        for conn, session in out.adoptions:  # /resume: the connection takes the session's id
            self.ids = {n: (session if i == conn else i) for n, i in self.ids.items()}
        self.state.commit()
        return self.state.deliveries(out)

    def connect(self, nick: str) -> None:
        sid = self.ids[nick] = self.next
        self.next += 1
        sends = self.step(lambda out: self.state.connect(sid, "127.0.0.1:1", out))
        self.tokens.setdefault(nick, next(m.token for _, m in sends
                                          if isinstance(m, p.SessionToken)))

    def enter(self, nick: str, room: str = "red") -> None:
        self.connect(nick)
        self.do(nick, f"/join {room}")
        self.do(nick, f"/nick {nick}")

    def do(self, nick: str, line: str) -> list[p.ServerMessage]:
        sid = self.ids[nick]
        return [m for targets, m in self.step(lambda out: self.state.handle(sid, line, out))
                if self.ids[nick] in targets]

    def resume(self, nick: str) -> list[p.ServerMessage]:
        self.connect(nick)
        return self.do(nick, f"/resume {self.tokens[nick]}")

    def drop(self, nick: str) -> list[tuple[tuple[int, ...], p.ServerMessage]]:
        sid = self.ids[nick]
        return self.step(lambda out: self.state.disconnect(sid, "disconnected", out, hold=True))

    def stop(self) -> None:
        def down(out):
            self.state.shutdown("the server is shutting down", out)
            for sid in list(self.state.sessions):
                self.state.disconnect(sid, "the server is shutting down", out, hold=True)
        self.step(down)

    def restart(self, seed: int = 1) -> "Server":
        """Stopped, and a new server started on the same store; the clients keep their tokens."""
        self.stop()
        again = Server(self.store, self.clock, seed)
        again.tokens = self.tokens
        return again


def boards(msgs) -> list[p.BoardView]:
    return [m for m in msgs if isinstance(m, p.BoardView)]


def statuses(msgs) -> list[str]:
    return [m.text for m in msgs if isinstance(m, p.GameState)]


def duel(server: Server) -> tuple[str, str]:
    """ann challenges bob, who accepts: (who moves first, the other)."""
    server.enter("ann")
    server.enter("bob")
    server.do("ann", "/game tictactoe bob")
    got = server.do("bob", "/accept")
    first = next(m.nick for m in got if isinstance(m, p.Turn))
    return first, ("bob" if first == "ann" else "ann")


def test_game_restart_a_duel_goes_on_from_the_same_position():
    store, clock = MemoryStore(), Clock()
    one = Server(store, clock)
    first, second = duel(one)
    one.do(first, "/move 5")
    before = boards(one.do(second, "/move 1"))[-1]
    two = one.restart(seed=99)  # another rng: the game does not depend on it
    clock.now += 30
    got = two.resume(first)
    assert got[0].code == 0
    two.resume(second)
    views = two.do(first, "/games")
    assert boards(views)[-1].rows == before.rows  # the same board, id included
    assert boards(views)[-1].game_id == before.game_id
    played = two.do(first, "/move 9")
    assert [m for m in played if isinstance(m, p.GameNote) and "9" in m.text]
    assert two.do(second, "/move 3")  # and on it goes, turn by turn
    assert not [m for m in two.do(first, "/move 2") if isinstance(m, p.Reply) and m.code]


def test_game_restart_a_move_is_written_in_its_own_turn():
    """The loop flushes the store in a turn that kept something: a move keeps its game."""
    one = Server(MemoryStore(), Clock())
    first, _ = duel(one)
    assert not one.state.history.unsaved
    one.state.handle(one.ids[first], "/move 5", Outbox())
    assert one.state.history.unsaved


def test_game_restart_the_board_says_whom_it_waits_for():
    store, clock = MemoryStore(), Clock()
    one = Server(store, clock)
    first, second = duel(one)
    sends = one.drop(first)
    seen = [m for targets, m in sends if one.ids[second] in targets]
    assert f"waiting for {first} to come back, 2:00" in statuses(seen)[-1]
    clock.now += 15
    assert f"waiting for {first} to come back, 1:45" in statuses(one.do(second, "/games"))[-1]
    back = one.resume(first)
    assert back[0].code == 0
    assert "waiting" not in statuses(one.do(second, "/games"))[-1]


def restarted_duel() -> tuple[Server, str, str]:
    """A duel, the server restarted, and the second player back (the first not yet)."""
    one = Server(MemoryStore(), Clock())
    first, second = duel(one)
    two = one.restart()
    two.resume(second)
    return two, first, second


def test_game_restart_after_a_restart_the_board_waits_until_they_come_back():
    two, first, second = restarted_duel()
    status = statuses(two.do(second, "/games"))[-1]
    assert f"waiting for {first} to come back, 2:00" in status
    assert second not in status.split("waiting", 1)[1]  # (the one here is not waited for)


def test_game_restart_a_bot_game_comes_back_and_the_bot_answers():
    store, clock = MemoryStore(), Clock()
    one = Server(store, clock)
    one.enter("ann")
    got = one.do("ann", "/game tictactoe bot")
    assert [m for m in got if isinstance(m, p.Turn)][-1].nick == "ann"  # (the bot moved)
    one.do("ann", "/move 5")
    before = boards(one.do("ann", "/games"))[-1]
    two = one.restart()
    two.resume("ann")
    assert boards(two.do("ann", "/games"))[-1].rows == before.rows
    for cell in "123456789":  # the first free cell
        got = two.do("ann", f"/move {cell}")
        if not [m for m in got if isinstance(m, p.Reply) and m.code]:
            break
    assert [m for m in got if isinstance(m, p.GameNote) and m.text.startswith("bot")] or \
        [m for m in got if isinstance(m, p.GameOver)]


def test_game_restart_a_finished_game_is_gone_from_the_store_and_its_score_kept():
    store, clock = MemoryStore(), Clock()
    one = Server(store, clock)
    first, second = duel(one)
    for i, move in enumerate(X_WINS):
        one.do(first if i % 2 == 0 else second, f"/move {move}")
    assert store.items(GAMES) == {}
    assert len(store.items(SCORES)) == 1
    two = one.restart()
    two.resume(first)
    two.resume(second)
    two.do(first, f"/game tictactoe {second}")
    got = two.do(second, "/accept")
    start = next(m.text for m in got if isinstance(m, p.GameNote) and "starts" in m.text)
    assert "score: " in start and f"{first} 1" in start and f"{second} 0" in start


def test_game_restart_a_player_who_never_comes_back_forfeits():
    two, first, second = restarted_duel()
    two.clock.now += 121
    out = Outbox()
    two.state.expire(out)
    got = [m for targets, m in two.state.deliveries(out) if two.ids[second] in targets]
    over = [m for m in got if isinstance(m, p.GameOver)]
    assert over and second in over[0].text
    assert two.store.items(GAMES) == {}


def test_game_restart_a_kept_game_that_no_longer_replays_is_let_go():
    store, clock = MemoryStore(), Clock()
    one = Server(store, clock)
    duel(one)
    one.stop()
    (game_id,) = store.items(GAMES)
    store.put(GAMES, game_id, store.items(GAMES)[game_id].replace('"acts": []',
                                                                  '"acts": [["plays", "ann", "0"]]'))
    two = Server(store, clock)
    assert two.state.games.matches == []
    assert store.items(GAMES) == {}


# ------------------------------------------------------------------ the real server
def board_of(peer: Peer, game_id: str) -> tuple[str, ...]:
    peer.send("/games")
    head = peer.expect(lambda m: isinstance(m, p.Board) and m.game_id == game_id)
    return tuple(peer.expect(p.BoardRow).text for _ in range(head.count))


@pytest.mark.parametrize("end", ["sigterm", "kill-9"])
def test_game_restart_real_server_a_game_goes_on_after_a_restart(spawn, tmp_path, end):
    db = str(tmp_path / "history.db")
    first_server = spawn.server("--db", db)
    peers, tokens = {}, {}
    for nick in ("ann", "bob"):
        peer = peers[nick] = Peer(first_server.address)
        assert isinstance(peer.next(), p.Hello)
        tokens[nick] = peer.next().token
        peer.enter("red", nick)
    peers["ann"].send("/game tictactoe bob")
    peers["bob"].expect(lambda m: isinstance(m, p.GameNote) and "challenges" in m.text)
    peers["bob"].send("/accept")
    turn = peers["ann"].expect(p.Turn)
    mover = turn.nick
    other = "bob" if mover == "ann" else "ann"
    peers[mover].send("/move 5")
    peers[other].expect(lambda m: isinstance(m, p.Turn) and m.nick == other)
    head = peers[other].expect(p.Board)
    before = tuple(peers[other].expect(p.BoardRow).text for _ in range(head.count))
    if end == "kill-9":  # at once: what the players saw must be on disk already
        os.kill(first_server.popen.pid, signal.SIGKILL)
        first_server.popen.wait(10)
    else:
        first_server.stop()
    second_server = spawn.server("--db", db)
    for nick in ("ann", "bob"):
        peer = peers[nick] = Peer(second_server.address)
        peer.send(f"/resume {tokens[nick]}")
        assert peer.expect(p.Reply).code == 0
    assert board_of(peers[other], turn.game_id) == before
    peers[other].send("/move 1")
    note = peers[mover].expect(lambda m: isinstance(m, p.GameNote) and "1" in m.text)
    assert other in note.text
