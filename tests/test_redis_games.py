"""Games across nodes: real server.py processes with --redis against a real redis-server
(tests/redis_harness.py), players on different nodes and a spectator on a third.
"""
from __future__ import annotations

import time

import pytest

from chat import protocol as p
from conftest import TIMEOUT, Peer
from redis_harness import redis_server  # noqa: F401 (a fixture)
from test_games_server import X_WINS, note, turn_of
from test_redis_nodes import joined


@pytest.fixture
def nodes(spawn, redis_server):
    """nodes(N): N server.py processes on one Redis; at the end, none logged a traceback
    (a failure the server survives still shows there)."""
    started = []

    def start(count: int) -> list:
        started.extend(spawn.server("--redis", redis_server.url) for _ in range(count))
        return started[-count:]

    yield start
    for node in started:
        if node.popen.poll() is None:
            node.popen.terminate()
            node.popen.wait(TIMEOUT)
        log = "\n".join(node.stderr.read_rest())
        assert "Traceback" not in log, log


def seen_by(peer: Peer, nick: str) -> None:
    peer.expect(lambda m: isinstance(m, p.Joined) and m.nick == nick)


def duel_across(a, b) -> tuple[Peer, Peer]:
    """ann on node `a` and bob on node `b`, in a tictactoe game run by `a` (ann's), ann
    to move."""
    ann, bob = joined(a.address, "lounge", "ann"), joined(b.address, "lounge", "bob")
    seen_by(ann, "bob")
    ann.send("/game tictactoe bob")  # bob is on the other node
    bob.expect(note("ann challenges bob to tictactoe"))
    bob.send("/accept")
    bob.expect(turn_of("ann"))
    return ann, bob


def board_until_over(peer: Peer) -> tuple[list[str], str]:
    """Every line of the game until its GAMEOVER: (the last board's rows, the summary)."""
    rows: list[str] = []
    while True:
        msg = peer.next()
        if isinstance(msg, p.Board):
            rows = [peer.next().text for _ in range(msg.count)]
        elif isinstance(msg, p.GameOver):
            return rows, msg.text


def test_redis_games_a_duel_across_nodes_watched_from_a_third(nodes):
    a, b, c = nodes(3)
    cid = joined(c.address, "lounge", "cid")
    cid.send("/game tictactoe nobody")  # nobody of that nick on any node
    assert "there is no nobody in lounge" in cid.expect(p.Reply).text
    ann, bob = duel_across(a, b)
    cid.expect(note("tictactoe starts: ann vs bob, ann moves first"))
    players = {"ann": ann, "bob": bob}
    for i, move in enumerate(X_WINS):
        nick = ("ann", "bob")[i % 2]
        players[nick].expect(turn_of(nick))
        players[nick].send(f"/move {move}")
    finals = [board_until_over(peer) for peer in (ann, bob, cid)]
    assert finals[0] == finals[1] == finals[2]
    rows, summary = finals[0]
    assert summary == "ann wins with X (row 1)" and any("*X*" in row for row in rows)
    ann.send("/rematch")  # not across nodes yet: it says so, and how to play again
    assert "/game tictactoe bob challenges them again" in ann.expect(p.Reply).text


def test_redis_games_a_move_out_of_turn_is_told_to_its_player_only(nodes):
    a, b = nodes(2)
    ann, bob = duel_across(a, b)
    bob.send("/move 5")  # ann moves first: the refusal comes back to bob, on node B
    said = bob.lines_until(p.Reply)
    assert not any(isinstance(m, p.Error) for m in said)
    assert said[-1].command == "move" and said[-1].code == 1 and "not your turn" in said[-1].text
    ann.send("/move 1")
    said = ann.lines_until(lambda m: isinstance(m, p.GameNote) and m.text.startswith("ann plays"))
    assert not any(isinstance(m, p.Reply) and m.command == "move" for m in said)
    bob.send("/resign")
    assert ann.expect(p.GameOver).text == "bob resigned: ann wins"


def test_redis_games_an_open_challenge_taken_on_two_nodes_at_once_seats_one(nodes):
    a, b, c = nodes(3)
    ann = joined(a.address, "lounge", "ann")
    bob, cid = joined(b.address, "lounge", "bob"), joined(c.address, "lounge", "cid")
    seen_by(ann, "cid")
    ann.send("/game tictactoe")  # to anyone
    bob.expect(note("ann challenges anyone"))
    cid.expect(note("ann challenges anyone"))
    bob.send("/accept")
    cid.send("/accept")
    start = ann.expect(note("tictactoe starts"))
    taker = "bob" if "ann vs bob" in start.text else "cid"
    loser = cid if taker == "bob" else bob
    reply = loser.expect(lambda m: isinstance(m, p.Reply) and m.command == "accept")
    assert reply.code == 1 and f"already taken by {taker}" in reply.text
    lines = ann.lines_until(lambda m: isinstance(m, p.Turn))
    assert not any(isinstance(m, p.GameNote) and "starts" in m.text for m in lines)


def test_redis_games_an_open_challenge_accepted_on_another_node(nodes):
    a, b = nodes(2)
    ann, bob = joined(a.address, "lounge", "ann"), joined(b.address, "lounge", "bob")
    seen_by(ann, "bob")
    ann.send("/game tictactoe")
    bob.expect(note("ann challenges anyone"))
    bob.send("/accept")
    assert bob.expect(note("tictactoe starts")).text.startswith("tictactoe starts: ann vs bob")
    dee = joined(b.address, "lounge", "dee")  # too late: told who took it
    dee.send("/accept")
    assert "was already taken by bob" in dee.expect(p.Reply).text


def game_lines(peer: Peer) -> list[p.ServerMessage]:
    """The game's lines the peer sees, up to its GAMEOVER."""
    return [m for m in peer.lines_until(lambda m: isinstance(m, p.GameOver))
            if isinstance(m, (p.GameNote, p.GameState, p.Turn, p.Board, p.BoardRow, p.GameOver))]


def test_redis_games_a_bot_game_on_one_node_is_the_same_on_another(nodes):
    a, b = nodes(2)
    ann, cid = joined(a.address, "lounge", "ann"), joined(a.address, "lounge", "cid")
    bob = joined(b.address, "lounge", "bob")
    seen_by(ann, "bob")
    seen_by(cid, "bob")
    ann.send("/game tictactoe bot")
    moves = 0
    while True:  # ann plays the first free cell each turn
        msg = ann.expect(lambda m: isinstance(m, (p.Turn, p.GameOver)))
        if isinstance(msg, p.GameOver):
            break
        if msg.nick == "ann":
            ann.send(f"/move {msg.text.split()[0]}")
            moves += 1
    here, there = game_lines(cid), game_lines(bob)  # on the game's node, and on another
    assert here == there
    bot_moves = [m for m in there if isinstance(m, p.GameNote) and m.text.startswith("bot plays")]
    assert moves - 1 <= len(bot_moves) <= moves  # once each: not once per node


def test_redis_games_a_dead_nodes_players_forfeit_within_the_heartbeat_bound(nodes):
    a, b, c = nodes(3)
    ann, bob = duel_across(a, b)  # run by node A, which dies: its game ends there
    dee, cid = joined(a.address, "lounge", "dee"), joined(c.address, "lounge", "cid")
    seen_by(ann, "cid")
    cid.send("/game tictactoe dee")  # run by node C: its player on A forfeits
    dee.expect(note("cid challenges dee"))
    dee.send("/accept")
    cid.expect(turn_of("cid"))
    a.popen.kill()
    killed = time.monotonic()
    for peer in (bob, cid):  # (both games are in the room: each sees both end)
        overs = {peer.expect(p.GameOver, timeout=15).text for _ in range(2)}
        assert overs == {"ann forfeited: bob wins", "dee forfeited: cid wins"}
    assert time.monotonic() - killed < 10.5
    bob.send("/game tictactoe bot")  # and they are free to play again
    assert bob.expect(note("tictactoe starts")).text.startswith("tictactoe starts: bob vs bot")


def last_board(peer: Peer, until) -> list[str]:
    """The rows of the last board the peer sees up to a line that `until` takes."""
    rows, lines = [], peer.lines_until(until)
    for i, msg in enumerate(lines):
        if isinstance(msg, p.Board):
            rows = [m.text for m in lines[i + 1:i + 1 + msg.count]]
    return rows


def test_redis_games_someone_who_joins_on_a_third_node_is_shown_the_game(nodes):
    a, b, c = nodes(3)
    ann, bob = duel_across(a, b)
    ann.send("/move 1")
    bob.expect(turn_of("bob"))
    bob.send("/move 5")
    seen = last_board(bob, lambda m: isinstance(m, p.BoardRow) and m.text == "ann (X) to move")
    cid = Peer(c.address)  # joins after: shown the game as its node has it
    cid.send("/join lounge")
    status = cid.expect(lambda m: isinstance(m, p.Info) and m.text.startswith("tictactoe ("))
    assert status.text.endswith("ann (X) vs bob (O), ann to move")
    assert cid.expect(p.GameState).players == ("ann", "bob")
    assert cid.expect(p.Turn).nick == "ann"
    head = cid.expect(p.Board)
    assert [cid.next().text for _ in range(head.count)] == seen
    dee = joined(a.address, "lounge", "dee")
    dee.send("/game tictactoe")  # a challenge waiting elsewhere is shown too
    cid.expect(note("dee challenges anyone"))
    cid.send("/games")
    lines = cid.lines_until(lambda m: isinstance(m, p.Info) and "waits for an answer" in m.text)
    assert lines[-1].text == "dee's challenge to anyone (tictactoe) waits for an answer"


def test_redis_games_two_accepts_at_once_on_two_nodes_start_one_duel(nodes):
    a, b, c = nodes(3)
    ann, bob = joined(a.address, "lounge", "ann"), joined(b.address, "lounge", "bob")
    cid = joined(c.address, "lounge", "cid")
    seen_by(ann, "cid")
    ann.send("/game tictactoe bob")  # run by node A
    cid.send("/game tictactoe bob")  # run by node C
    for _ in range(2):  # (in either order)
        bob.expect(lambda m: isinstance(m, p.GameNote) and "challenges bob" in m.text)
    bob.send("/accept ann\n/accept cid")  # in one turn: both go on before either starts
    said: list = []
    refused = lambda m: isinstance(m, p.Reply) and m.command == "accept"  # noqa: E731
    while not (any(map(note("tictactoe starts"), said)) and any(map(refused, said))):
        said.append(bob.next())
    assert "already playing" in next(filter(refused, said)).text
    bob.send("/games")  # one game runs, the other challenge waits
    infos = [m.text for m in bob.lines_until(
        lambda m: isinstance(m, p.Info) and "waits for an answer" in m.text) if isinstance(m, p.Info)]
    assert len([t for t in infos if t.startswith("tictactoe (")]) == 1
    assert len([t for t in infos if "waits for an answer" in t]) == 1
    assert len([m for m in said if note("tictactoe starts")(m)]) == 1


def test_redis_games_a_room_game_is_played_from_another_node(nodes):
    a, b = nodes(2)
    ann, bob = joined(a.address, "lounge", "ann"), joined(b.address, "lounge", "bob")
    seen_by(ann, "bob")
    ann.send("/game hangman PARLOR")  # run by node A, for everyone in the room
    bob.expect(note("ann starts hangman"))
    bob.send("/guess e")  # from node B
    assert bob.expect(lambda m: isinstance(m, (p.GameNote, p.Reply))).text == \
        "bob guesses E: not in the word, 5 guesses left"
    ann.send("/leave")  # the word's setter leaves: the game is over, there and here
    assert bob.expect(p.GameOver).text == "ann left: the word was PARLOR"
    bob.send("/game hangman CHAT")  # the room is free for a new one
    assert bob.expect(note("bob starts hangman")).text.startswith("bob starts hangman")
