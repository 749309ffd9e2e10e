"""Games over real loopback sockets against an in-process server (port 0, deadlines, no sleeps)."""
from __future__ import annotations

import random

from chat import protocol as p
from conftest import make_room

X_WINS = ["1", "4", "2", "5", "3"]
DRAW = ["1", "2", "3", "5", "4", "6", "8", "7", "9"]


def turn_of(nick: str):
    return lambda m: isinstance(m, p.Turn) and m.nick == nick


def note(prefix: str):
    return lambda m: isinstance(m, p.GameNote) and m.text.startswith(prefix)


def read_board(peer) -> list[str]:
    """The next BOARD block: its rows, checked against the count."""
    head = peer.expect(p.Board)
    rows = [peer.next() for _ in range(head.count)]
    assert all(isinstance(r, p.BoardRow) and r.game_id == head.game_id for r in rows), rows
    return [r.text for r in rows]


def duel(challenger, accepter, a: str, b: str) -> None:
    challenger.send(f"/game tictactoe {b}")
    accepter.expect(note(f"{a} challenges {b}"))
    accepter.send("/accept")


def play(players: dict, order: tuple[str, str], moves: list[str], watcher) -> list[list[str]]:
    """Each mover waits for its turn, then moves; the watcher must see every move and board."""
    boards = []
    for i, move in enumerate(moves):
        nick = order[i % 2]
        players[nick].expect(turn_of(nick))
        players[nick].send(f"/move {move}")
        said = watcher.expect(note(f"{nick} plays "))
        assert f" at {move} " in said.text
        boards.append(read_board(watcher))
    return boards


def test_games_server_win_then_draw_watched_by_a_third(server, connect):
    alice, bob, carol = make_room(connect, server, "general", "alice", "bob", "carol")
    players = {"alice": alice, "bob": bob}
    duel(alice, bob, "alice", "bob")
    carol.expect(note("tictactoe starts: alice vs bob, alice moves first"))
    read_board(carol)
    boards = play(players, ("alice", "bob"), X_WINS, carol)
    assert any("*X*" in row for row in boards[-1])
    assert carol.expect(p.GameOver).text == "alice wins with X (row 1)"
    alice.expect(p.GameOver)
    bob.expect(p.GameOver)
    alice.send("/rematch")
    bob.expect(note("alice wants a rematch"))
    bob.send("/rematch")
    carol.expect(note("tictactoe starts: bob vs alice, bob moves first (score: bob 0, alice 1)"))
    play(players, ("bob", "alice"), DRAW, carol)
    assert carol.expect(p.GameOver).text == "draw: the board is full"


def test_games_server_out_of_turn_and_taken_cell(server, connect):
    alice, bob = make_room(connect, server, "general", "alice", "bob")
    duel(alice, bob, "alice", "bob")
    bob.expect(turn_of("alice"))
    bob.send("/move 5")
    assert bob.expect(p.Reply).text == "it's not your turn: alice plays next"
    alice.expect(turn_of("alice"))
    alice.send("/5")
    bob.expect(turn_of("bob"))
    bob.send("/move 5")
    reply = bob.expect(p.Reply)
    assert (reply.command, reply.code, reply.text) == ("move", 1, "cell 5 is taken")


def test_games_server_disconnect_forfeits(server, connect):
    alice, bob = make_room(connect, server, "general", "alice", "bob")
    duel(alice, bob, "alice", "bob")
    alice.expect(turn_of("alice"))
    bob.close(reset=True)
    alice.expect(note("bob left: alice wins"))
    assert alice.expect(p.GameOver).text == "bob forfeited: alice wins"


def test_games_server_bot_never_loses(server, connect):
    (alice,) = make_room(connect, server, "general", "alice")
    rng = random.Random(7)
    alice.send("/game tictactoe bot")
    for _ in range(6):  # three games with alice first, three with the bot first
        while True:
            msg = alice.expect(lambda m: isinstance(m, (p.GameOver, p.Turn)) and
                               getattr(m, "nick", "alice") == "alice")
            if isinstance(msg, p.GameOver):
                break
            alice.send(f"/move {rng.choice(msg.text.split())}")
        assert "alice wins" not in msg.text
        alice.send("/rematch")


def test_games_server_two_rooms_at_once(server, connect):
    alice, bob, eve = make_room(connect, server, "general", "alice", "bob", "eve")
    carol, dave, fred = make_room(connect, server, "den", "carol", "dave", "fred")
    duel(alice, bob, "alice", "bob")
    duel(carol, dave, "carol", "dave")
    play({"alice": alice, "bob": bob}, ("alice", "bob"), X_WINS[:4], eve)
    play({"carol": carol, "dave": dave}, ("carol", "dave"), DRAW, fred)
    assert fred.expect(p.GameOver).text == "draw: the board is full"
    alice.expect(turn_of("alice"))
    alice.send("/move 3")
    assert eve.expect(p.GameOver).text == "alice wins with X (row 1)"
    assert {m.room for m in eve.seen if hasattr(m, "game_id")} == {"general"}
    assert {m.room for m in fred.seen if hasattr(m, "game_id")} == {"den"}


def test_games_server_a_second_accept_of_a_taken_open_challenge_says_who_took_it(server, connect):
    alice, bob, carol = make_room(connect, server, "general", "alice", "bob", "carol")
    alice.send("/game tictactoe")
    carol.expect(note("alice challenges anyone in general"))
    bob.send("/accept")
    carol.expect(note("tictactoe starts: alice vs bob"))
    taken = ("alice's challenge to anyone (tictactoe) was already taken by bob; "
             "/game tictactoe makes your own")
    for line in ("/accept", "/accept alice"):
        carol.send(line)
        reply = carol.expect(p.Reply)
        assert (reply.code, reply.text) == (1, taken)


def test_games_server_someone_who_joins_is_shown_the_running_games(server, connect):
    alice, bob = make_room(connect, server, "general", "alice", "bob")
    duel(alice, bob, "alice", "bob")
    alice.expect(turn_of("alice"))
    alice.send("/move 5")
    bob.expect(turn_of("bob"))
    carol = connect(server)
    carol.send("/nick carol")
    carol.expect(p.Reply)
    carol.send("/join general")
    got = carol.lines_until(p.Board)
    kinds = [type(m) for m in got]
    assert kinds.index(p.Members) < kinds.index(p.Info) < kinds.index(p.GameState)
    assert [m.text for m in got if isinstance(m, p.Info)] == [
        "tictactoe (g1): alice (X) vs bob (O), bob to move"]
    assert [m.nick for m in got if isinstance(m, p.Turn)] == ["bob"]
    assert " 4 |[X]| 6 " in read_rows(carol, got[-1])
    dave = connect(server)
    dave.send("/join quiet")  # a room with no game: nothing about games
    dave.expect(p.Members)
    dave.send("/who")
    assert not any(isinstance(m, (p.Info, p.GameState)) for m in dave.lines_until(p.Members))


def read_rows(peer, head) -> list[str]:
    return [peer.next().text for _ in range(head.count)]


def test_games_server_a_hangman_guesser_who_left_may_guess_again_on_coming_back(server, connect):
    alice, bob = make_room(connect, server, "general", "alice", "bob")
    alice.send("/game hangman PARLOR")
    bob.expect(note("alice starts hangman"))
    bob.send("/guess e")
    bob.expect(note("bob guesses E"))
    bob.send("/leave")
    alice.expect(lambda m: isinstance(m, p.Left) and m.nick == "bob")
    bob.send("/join general")  # as bob again: the server carries the nick along
    bob.expect(lambda m: isinstance(m, p.Here) and m.nick == "bob")
    bob.expect(p.Board)
    bob.send("/guess a")
    said = bob.expect(lambda m: isinstance(m, (p.GameNote, p.Reply)))
    assert isinstance(said, p.GameNote) and said.text == "bob guesses A: 1 in the word", said
