"""Game integrity over real loopback sockets: moves by the wrong people, at the wrong
time or from the wrong place are refused with a sentence, replayed and concurrent
moves apply once, and players and spectators always see the same game.
"""
from __future__ import annotations

import pytest

from chat import protocol as p
from conftest import make_room
from chat.server.limits import Limits

DRAW = ["1", "2", "3", "5", "4", "6", "8", "7", "9"]
X_WINS = ["1", "4", "2", "5", "3"]


@pytest.fixture
def server(start_server):
    """No flood limit: several tests send moves back to back on purpose."""
    return start_server(Limits(max_rate=0))


def note(text: str):
    return lambda m: isinstance(m, p.GameNote) and text in m.text


def reply_to(command: str):
    return lambda m: isinstance(m, p.Reply) and m.command == command


def read_view(peer) -> tuple:
    """The GAME, TURN and BOARD block that follow a game note, as one comparable value."""
    state, turn, board = peer.next(), peer.next(), peer.next()
    assert (type(state), type(turn), type(board)) == (p.GameState, p.Turn, p.Board), \
        (state, turn, board)
    rows = [peer.next() for _ in range(board.count)]
    assert all(isinstance(r, p.BoardRow) and r.game_id == board.game_id for r in rows), rows
    return state, turn, board, tuple(r.text for r in rows)


def start_duel(challenger, accepter, a: str, b: str, watchers=()) -> str:
    """alice challenges bob, bob accepts; everyone reads up to the first board.
    Returns the game id."""
    challenger.send(f"/game tictactoe {b}")
    accepter.expect(note(f"{a} challenges {b}"))
    accepter.send("/accept")
    views = []
    for peer in (challenger, accepter, *watchers):
        peer.expect(note("tictactoe starts"))
        views.append(read_view(peer))
    assert all(v == views[0] for v in views), views
    return views[0][1].game_id


def refused(peer, line: str, command: str = "move") -> str:
    peer.send(line)
    reply = peer.expect(reply_to(command))
    assert reply.code == 1, reply
    return reply.text


def quiet(peer) -> None:
    """Nothing game-related reached `peer` since its last read: /who answers first."""
    peer.send("/who")
    before = peer.lines_until(p.Members)[:-1]
    assert not [m for m in before if hasattr(m, "game_id")], before
    for _ in range(peer.seen[-1].count):
        peer.next()


# ------------------------------------------------------------------ wrong people
def test_game_integrity_spectator_moves_are_refused(server, connect):
    alice, bob, carol = make_room(connect, server, "general", "alice", "bob", "carol")
    start_duel(alice, bob, "alice", "bob", [carol])
    not_playing = "you are not playing; /games shows who is"
    assert refused(carol, "/move 5") == not_playing
    assert refused(carol, "/m 1") == not_playing
    assert refused(carol, "/guess 1") == not_playing
    assert refused(carol, "/5") == not_playing
    assert refused(carol, "/resign", "resign") == "you are not playing a game here"
    assert refused(carol, "/accept", "accept") == "nobody has challenged you in general"
    nameless = connect(server)
    nameless.enter("general")
    assert refused(nameless, "/move 5") == "pick a nick first: /nick NAME (you are in general)"
    alice.send("/move 5")  # the game is untouched: alice still opens
    assert carol.expect(note("alice plays X at 5")).game_id == bob.expect(p.GameNote).game_id


def test_game_integrity_out_of_turn_and_replayed_moves(server, connect):
    alice, bob, carol = make_room(connect, server, "general", "alice", "bob", "carol")
    start_duel(alice, bob, "alice", "bob", [carol])
    assert refused(bob, "/move 5") == "it's not your turn: alice plays next"
    alice.send("/move 5")
    alice.send("/move 5")  # replayed at once
    assert alice.expect(reply_to("move")).text == "it's not your turn: bob plays next"
    assert refused(bob, "/move 5") == "cell 5 is taken"  # bob replays alice's move
    bob.send("/move 1")
    carol.expect(note("alice plays X at 5"))
    first = read_view(carol)
    carol.expect(note("bob plays O at 1"))
    second = read_view(carol)
    assert (first[1].nick, second[1].nick) == ("bob", "alice")
    assert refused(bob, "/move 1") == "it's not your turn: alice plays next"
    quiet(carol)
    moves = [m.text for m in carol.seen if isinstance(m, p.GameNote) and " plays " in m.text]
    assert moves == ["alice plays X at 5 (centre)", "bob plays O at 1 (top-left)"]


def test_game_integrity_moves_after_the_game_ended(server, connect):
    alice, bob, carol, dave = make_room(connect, server, "general", "alice", "bob", "carol", "dave")
    start_duel(alice, bob, "alice", "bob", [carol])
    for i, cell in enumerate(X_WINS):
        mover = (alice, bob)[i % 2]
        if i:  # start_duel read up to the first turn
            mover.expect(lambda m: isinstance(m, p.Turn) and m.nick == ("alice", "bob")[i % 2])
        mover.send(f"/move {cell}")
    assert carol.expect(p.GameOver).text == "alice wins with X (row 1)"
    bob.expect(p.GameOver)
    alice.expect(p.GameOver)
    over = "no game is running in general; /game lists the games you can start"
    assert refused(alice, "/move 9") == over
    assert refused(bob, "/move 9") == over
    assert refused(bob, "/resign", "resign") == "you are not playing a game here"
    start_duel(carol, dave, "carol", "dave")  # another game in the room: still not theirs
    assert refused(alice, "/move 9") == "you are not playing; /games shows who is"
    assert refused(bob, "/9") == "you are not playing; /games shows who is"
    assert refused(alice, "/resign", "resign") == "you are not playing a game here"
    assert refused(alice, "/accept", "accept") == "nobody has challenged you in general"


def test_game_integrity_resigned_game_takes_no_moves(server, connect):
    alice, bob = make_room(connect, server, "general", "alice", "bob")
    start_duel(alice, bob, "alice", "bob")
    alice.send("/resign")
    assert bob.expect(p.GameOver).text == "alice resigned: bob wins"
    over = "no game is running in general; /game lists the games you can start"
    assert refused(bob, "/move 1") == over
    assert refused(alice, "/move 1") == over


# ------------------------------------------------------------------ wrong places
def test_game_integrity_moves_from_another_room_or_the_lobby(server, connect):
    alice, bob, carol = make_room(connect, server, "general", "alice", "bob", "carol")
    start_duel(alice, bob, "alice", "bob", [carol])
    (elsewhere,) = make_room(connect, server, "den", "alice")  # the same nick, another room
    assert refused(elsewhere, "/move 5") == ("no game is running in den; "
                                             "/game lists the games you can start")
    assert refused(elsewhere, "/resign", "resign") == "you are not playing a game here"
    lobby = connect(server)
    lobby.send("/nick alice")
    lobby.expect(reply_to("nick"))
    lobby_says = "you are in the lobby: /join ROOM first, then /nick NAME"
    assert refused(lobby, "/move 5") == lobby_says
    assert refused(lobby, "/resign", "resign") == lobby_says
    assert refused(lobby, "/5", "5") == "there is no command /5; /help lists the commands"
    quiet(carol)  # nothing happened in general
    alice.send("/move 5")
    carol.expect(note("alice plays X at 5"))


def test_game_integrity_accept_only_in_the_challenge_room(server, connect):
    alice, bob, carol = make_room(connect, server, "general", "alice", "bob", "carol")
    dave, bob_elsewhere = make_room(connect, server, "den", "dave", "bob")
    alice.send("/game tictactoe")  # open to anyone, in general only
    carol.expect(note("alice challenges anyone in general"))
    assert refused(dave, "/accept", "accept") == "nobody has challenged you in den"
    assert refused(dave, "/accept alice", "accept") == "alice has not challenged you"
    alice.send("/game tictactoe bob")  # bob in general, not bob in den
    carol.expect(note("alice challenges bob"))
    assert refused(bob_elsewhere, "/accept", "accept") == "nobody has challenged you in den"
    assert refused(bob_elsewhere, "/decline", "decline") == "nobody has challenged you in den"
    bob_elsewhere.send("/join general")  # not while bob holds the nick there
    assert bob_elsewhere.expect(reply_to("join")).text == ("you joined general; bob is taken "
                                                           "here; pick a nick with /nick NAME")
    quiet(dave)
    bob.send("/join den")  # bob leaves general: the challenge to him is off
    assert carol.expect(note("is off")).text == ("alice's challenge to bob (tictactoe) is off: "
                                                 "bob left")
    assert refused(bob, "/accept", "accept") == "nobody has challenged you in den"


# ------------------------------------------------------------------ concurrency and sync
def read_round(peer, refusal_due: bool) -> tuple[p.GameNote, tuple, p.Reply | None]:
    """One round of a peer's stream, in order: the move's note and view, and (for the
    player whose move came second) the refusal, which may arrive before or after them."""
    move = view = refusal = None
    while move is None or (refusal_due and refusal is None):
        msg = peer.next()
        if isinstance(msg, p.GameNote) and " plays " in msg.text:
            assert move is None, f"a second move applied in one round: {msg}"
            move, view = msg, read_view(peer)
        elif isinstance(msg, p.Reply):
            assert refusal_due and refusal is None, f"an unexpected reply: {msg}"
            refusal = msg
    return move, view, refusal


def test_game_integrity_concurrent_moves_apply_once_and_views_agree(server, connect):
    alice, bob, carol = make_room(connect, server, "general", "alice", "bob", "carol")
    start_duel(alice, bob, "alice", "bob", [carol])
    players = {"alice": alice, "bob": bob}
    for i, cell in enumerate(DRAW):
        mover, other = ("alice", "bob") if i % 2 == 0 else ("bob", "alice")
        first, second = (mover, other) if i % 3 else (other, mover)
        players[first].send(f"/move {cell}")  # both at once: only the mover's may apply
        players[second].send(f"/move {cell}")
        rounds = {name: read_round(peer, name == other)
                  for name, peer in (("alice", alice), ("bob", bob), ("carol", carol))}
        refusal = rounds[other][2]
        assert refusal.code == 1 and refusal.text in (
            f"it's not your turn: {mover} plays next", f"cell {cell} is taken",
            "no game is running in general; /game lists the games you can start"), refusal
        notes = {r[0] for r in rounds.values()}
        views = [r[1] for r in rounds.values()]
        assert len(notes) == 1 and views[0] == views[1] == views[2], (notes, views)
        assert notes.pop().text.startswith(f"{mover} plays X" if mover == "alice" else
                                           f"{mover} plays O")
        turn = views[0][1]
        if i < len(DRAW) - 1:
            assert turn.nick == other
            assert sorted(turn.text.split()) == sorted(set("123456789") - set(DRAW[:i + 1]))
    for peer in (alice, bob, carol):
        over = [m for m in peer.seen if isinstance(m, p.GameOver)] or [peer.expect(p.GameOver)]
        assert [m.text for m in over] == ["draw: the board is full"]
    carol.expect(note("score: alice 0, bob 0, 1 draw"))
    quiet(carol)
    replies = [m for m in alice.seen + bob.seen if isinstance(m, p.Reply) and m.command == "move"]
    assert len(replies) == len(DRAW)  # one refusal per round, none for the mover


def game_lines(peer) -> list[p.ServerMessage]:
    return [m for m in peer.seen if hasattr(m, "game_id")]


def test_game_integrity_views_agree_for_a_bot_game_and_a_late_joiner(server, connect):
    alice, carol = make_room(connect, server, "general", "alice", "carol")
    alice.send("/game tictactoe bot")
    moves = 0
    while not isinstance(msg := alice.expect(lambda m: isinstance(m, (p.Turn, p.GameOver))
                                             and getattr(m, "nick", "alice") == "alice"),
                         p.GameOver):
        alice.send(f"/move {msg.text.split()[-1]}")
        moves += 1
    for peer in (alice, carol):
        peer.expect(note("score: "))
    assert moves >= 3
    assert game_lines(alice) == game_lines(carol)
    boards = [m for m in game_lines(carol) if isinstance(m, p.Board)]
    assert len(boards) == len([m for m in game_lines(carol)
                               if isinstance(m, p.GameNote) and " plays " in m.text]) + 1
    alice.send("/rematch")  # the bot opens this time; a late joiner sees the same board
    carol.expect(note("bot plays "))
    bot_view = read_view(carol)
    late = connect(server)
    late.enter("general", "dave")
    late.send("/games")
    assert "alice" in late.expect(p.Info).text
    assert read_view(late) == bot_view


def test_game_integrity_room_game_views_agree(server, connect):
    alice, bob, carol, dave = make_room(connect, server, "general", "alice", "bob", "carol", "dave")
    alice.send("/game hangman parlor")
    for peer in (alice, bob, carol, dave):
        peer.expect(note("alice starts hangman"))
        read_view(peer)
    guesses = [(bob, "p"), (carol, "z"), (bob, "a"), (carol, "a"), (dave, "parlor")]
    for guesser, letter in guesses:
        guesser.send(f"/move {letter}")
        if letter == "a" and guesser is carol:
            assert guesser.expect(reply_to("move")).text == "A was already guessed"
            continue
        views = [(peer.expect(note(" guesses ")).text, read_view(peer))
                 for peer in (alice, bob, carol, dave)]
        assert all(v == views[0] for v in views), views
    for peer in (alice, bob, carol, dave):
        assert peer.expect(p.GameOver).text == "dave wins: the word was PARLOR"
    assert refused(bob, "/move e") == ("no game is running in general; "
                                       "/game lists the games you can start")
    assert refused(alice, "/move e") == ("no game is running in general; "
                                         "/game lists the games you can start")


# ------------------------------------------------------------------ leaving mid-game
LEAVES = {
    "leave": lambda peer: peer.send("/leave"),
    "part": lambda peer: peer.send("/part"),
    "join": lambda peer: peer.send("/join den"),
    "quit": lambda peer: peer.send("/quit"),
    "close": lambda peer: peer.close(),
    "reset": lambda peer: peer.close(reset=True),
}
REASONS = {"leave": "left", "part": "left", "join": "left", "quit": "quit"}


@pytest.mark.parametrize("how", sorted(LEAVES))
def test_game_integrity_leaving_mid_game_forfeits(server, connect, how):
    alice, bob, carol = make_room(connect, server, "general", "alice", "bob", "carol")
    start_duel(alice, bob, "alice", "bob", [carol])
    alice.send("/move 5")
    bob.expect(lambda m: isinstance(m, p.Turn) and m.nick == "bob")
    LEAVES[how](bob)
    for peer in (alice, carol):
        assert peer.expect(note("bob left")).text == "bob left: alice wins"
        read_view(peer)
        assert peer.next().text == "bob forfeited: alice wins"
        assert peer.next().text == "score: alice 1, bob 0; /rematch to play again"
        left = peer.next()
        assert isinstance(left, p.Left) and left.nick == "bob", left
        assert left.reason.startswith(REASONS.get(how, ("disconnected", "connection"))), left
    over = "no game is running in general; /game lists the games you can start"
    assert refused(alice, "/move 1") == over
    assert refused(alice, "/rematch", "rematch") == ("there is no bob in general; "
                                                     "/who lists who is here")
    back = connect(server)
    back.enter("general", "bob")  # bob again: the forfeited game does not come back
    assert refused(back, "/move 1") == over
    assert refused(back, "/rematch", "rematch") .startswith("you have no finished two-player game in general to play again")


def test_game_integrity_spectator_leaving_changes_nothing(server, connect):
    alice, bob, carol = make_room(connect, server, "general", "alice", "bob", "carol")
    start_duel(alice, bob, "alice", "bob", [carol])
    carol.close(reset=True)
    got = alice.lines_until(p.Left)
    assert len(got) == 1 and got[0].nick == "carol", got  # and no game line before it
    alice.send("/move 5")
    bob.expect(note("alice plays X at 5"))


def test_game_integrity_hangman_leavers(server, connect):
    alice, bob, carol = make_room(connect, server, "general", "alice", "bob", "carol")
    alice.send("/game hangman parlor")
    carol.expect(note("alice starts hangman"))
    bob.send("/move e")
    carol.expect(note("bob guesses E"))
    bob.send("/leave")  # a guesser leaving only withdraws
    assert carol.expect(note("bob left")).text == "bob left; play goes on"
    carol.send("/move p")
    alice.expect(note("carol guesses P"))
    alice.close(reset=True)  # the setter leaving ends it
    assert carol.expect(note("alice left")).text == "alice left: nobody wins"
    assert carol.expect(p.GameOver).text == "alice left: the word was PARLOR"


def test_game_integrity_leaving_forfeits_every_game_you_play(server, connect):
    alice, bob, carol = make_room(connect, server, "general", "alice", "bob", "carol")
    start_duel(alice, bob, "alice", "bob", [carol])
    carol.send("/game hangman parlor")
    alice.expect(note("carol starts hangman"))
    alice.send("/move hangman e")  # alice also guesses in the room game
    carol.expect(note("alice guesses E"))
    alice.close()
    assert carol.expect(note("alice left")).text == "alice left: bob wins"
    assert carol.expect(note("alice left")).text == "alice left; play goes on"
    carol.expect(p.Left)
    back = connect(server)
    back.enter("general", "alice")  # a newcomer with her nick does not inherit her seat
    back.send("/nick alicia")
    assert back.expect(reply_to("nick")).code == 0


def test_game_integrity_player_keeps_nick_during_a_game(server, connect):
    alice, bob = make_room(connect, server, "general", "alice", "bob")
    start_duel(alice, bob, "alice", "bob")
    assert refused(bob, "/nick robert", "nick") == ("you are playing tictactoe: finish it or "
                                                    "/resign before you change your nick")
    alice.send("/resign")
    bob.expect(p.GameOver)
    bob.send("/nick robert")
    assert bob.expect(reply_to("nick")).code == 0
