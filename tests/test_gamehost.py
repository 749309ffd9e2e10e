"""The game host, sans I/O: ChatState + GameHost driven line by line, no sockets.

Every message the state sends is checked to fit one wire line.
"""
from __future__ import annotations

import itertools
import random
from collections import defaultdict

import pytest

from chat import protocol as p
from chat.server.games import MAX_SCORES, GameHost
from chat.server import matches
from chat.server.state import ChatState, Outbox

X_WINS = ["1", "4", "2", "5", "3"]  # the first player takes row 1
DRAW = ["1", "2", "3", "5", "4", "6", "8", "7", "9"]


class Hall:
    """A ChatState with a GameHost, and what each nick was sent."""

    def __init__(self, seed: int = 0) -> None:
        self.host = GameHost(random.Random(seed))
        self.state = ChatState(self.host)
        self.ids: dict[str, int] = {}  # a name reused by a new session names the new one
        self.inbox: dict[int, list[p.ServerMessage]] = defaultdict(list)
        self._sids = itertools.count(1)  # never reused, as in the server

    def enter(self, nick: str, room: str = "general", named: bool = True) -> None:
        """A new session joins `room` and takes the nick (or, not `named`, none)."""
        sid = self.ids[nick] = next(self._sids)
        self._step(lambda out: self.state.connect(sid, "test", out))
        self.do(nick, f"/join {room}")
        if named:
            self.do(nick, f"/nick {nick}")
        self.got(nick)

    def do(self, nick: str, line: str) -> list[p.ServerMessage]:
        """Send one line as `nick`; returns what `nick` was sent in that step."""
        sid = self.ids[nick]
        sends = self._step(lambda out: self.state.handle(sid, line, out))
        return [msg for targets, msg in sends if sid in targets]

    def drop(self, nick: str) -> None:
        sid = self.ids.pop(nick)
        self._step(lambda out: self.state.disconnect(sid, "disconnected", out))

    def _step(self, action) -> list:
        out = Outbox()
        action(out)
        sends = self.state.deliveries(out)
        for targets, msg in sends:
            assert max(map(len, p.encode(msg).splitlines(True))) <= p.MAX_LINE, msg
            for target in targets:
                self.inbox[target].append(msg)
        return sends

    def got(self, nick: str) -> list[p.ServerMessage]:
        """Everything `nick` was sent since the last call."""
        msgs, self.inbox[self.ids[nick]] = self.inbox[self.ids[nick]], []
        return msgs

    def refusal(self, nick: str, line: str) -> str:
        replies = [m for m in self.do(nick, line) if isinstance(m, p.Reply)]
        assert len(replies) == 1 and replies[0].code == 1, replies
        return replies[0].text

    def play(self, first: str, second: str, moves: list[str]) -> None:
        for i, move in enumerate(moves):
            sent = self.do((first, second)[i % 2], f"/move {move}")
            assert not any(isinstance(m, p.Reply) for m in sent), sent


def of(msgs, cls) -> list:
    return [m for m in msgs if isinstance(m, cls)]


def texts(msgs, cls=p.GameNote) -> list[str]:
    return [m.text for m in of(msgs, cls)]


@pytest.fixture
def hall() -> Hall:
    hall = Hall()
    for nick in ("alice", "bob", "carol"):
        hall.enter(nick)
    return hall


def start_duel(hall: Hall, a: str = "alice", b: str = "bob") -> None:
    hall.do(a, f"/game tictactoe {b}")
    hall.do(b, "/accept")


# ------------------------------------------------------------------ listing and help
def test_gamehost_game_lists_games_with_how_to_start(hall):
    infos = texts(hall.do("alice", "/game"), p.Info)
    assert any("tictactoe" in t and "/game tictactoe bot" in t for t in infos)
    assert any("hangman" in t and "/game hangman [WORD]" in t for t in infos)


def test_gamehost_help_lists_game_commands(hall):
    help_text = "\n".join(texts(hall.do("alice", "/help"), p.Info))
    for command in ("/game", "/accept", "/decline", "/move", "/resign", "/rematch", "/games"):
        assert command in help_text


def test_gamehost_bot_nick_is_reserved(hall):
    assert hall.refusal("alice", "/nick bot") == "'bot' is reserved"
    assert hall.refusal("alice", "/nick BOT") == "'BOT' is reserved"


# ------------------------------------------------------------------ challenges
def test_gamehost_challenge_then_accept_starts_for_the_room(hall):
    hall.do("alice", "/game TicTacToe bob")
    note = "alice challenges bob to tictactoe: bob, type /accept or /decline"
    assert texts(hall.got("carol")) == [note]
    hall.do("bob", "/accept")
    seen = hall.got("carol")
    assert texts(seen)[0].startswith("tictactoe starts: alice vs bob, alice moves first")
    turn = of(seen, p.Turn)[0]
    assert (turn.nick, turn.text) == ("alice", "1 2 3 4 5 6 7 8 9")
    board = of(seen, p.BoardView)[0]
    assert len(board.rows) == 8 and board.game_id == turn.game_id
    state = of(seen, p.GameState)[0]
    assert (state.game, state.players) == ("tictactoe", ("alice", "bob"))


def test_gamehost_decline_and_withdraw(hall):
    hall.do("alice", "/game tictactoe bob")
    hall.do("bob", "/decline")
    assert "bob declines alice's challenge (tictactoe)" in texts(hall.got("carol"))
    assert hall.refusal("bob", "/accept") == "nobody has challenged you in general"
    hall.do("alice", "/game tictactoe bob")
    hall.do("alice", "/decline")
    assert "alice withdraws the challenge to bob (tictactoe)" in texts(hall.got("carol"))
    assert hall.refusal("bob", "/accept") == "nobody has challenged you in general"


def test_gamehost_open_challenge_anyone_may_accept(hall):
    hall.do("alice", "/game tictactoe")
    assert "alice challenges anyone in general to tictactoe" in texts(hall.got("bob"))[0]
    assert hall.refusal("alice", "/accept") == "nobody has challenged you in general"
    hall.do("carol", "/accept")
    assert texts(hall.got("bob"))[0].startswith("tictactoe starts: alice vs carol")


def test_gamehost_several_challenges_need_a_nick(hall):
    hall.do("alice", "/game tictactoe bob")
    hall.do("carol", "/game tictactoe bob")
    assert "several challenges wait for you (from alice, carol)" in hall.refusal("bob", "/accept")
    assert hall.refusal("bob", "/accept dave") == "dave has not challenged you"
    hall.got("alice")
    hall.do("bob", "/accept Carol")
    notes = texts(hall.got("alice"))
    assert "alice's challenge to bob (tictactoe) is off: bob is playing now" in notes
    assert any(n.startswith("tictactoe starts: carol vs bob") for n in notes)


@pytest.mark.parametrize("line,sentence", [
    ("/game tictactoe alice", "you can't challenge yourself"),
    ("/game tictactoe dave", "there is no dave in general"),
    ("/game tictactoe b@d", "may only use"),
    ("/game chess bob", "no game 'chess': available games are"),
])
def test_gamehost_bad_challenges_get_sentences(hall, line, sentence):
    assert sentence in hall.refusal("alice", line)


def test_gamehost_challenge_needs_a_room_and_a_nick():
    hall = Hall()
    hall.ids["zed"] = 1
    hall._step(lambda out: hall.state.connect(1, "test", out))
    assert "lobby" in hall.refusal("zed", "/game tictactoe bot")
    hall.do("zed", "/join general")
    assert "pick a nick first" in hall.refusal("zed", "/game tictactoe bot")


def test_gamehost_cannot_challenge_a_busy_player(hall):
    start_duel(hall)
    assert hall.refusal("carol", "/game tictactoe bob") == "bob is already playing tictactoe"
    assert "you are already playing tictactoe" in hall.refusal("alice", "/game tictactoe carol")


# ------------------------------------------------------------------ moves
def test_gamehost_wrong_moves_get_the_right_sentences(hall):
    assert hall.refusal("alice", "/move 5").startswith("no game is running in general")
    start_duel(hall)
    assert hall.refusal("bob", "/move 5") == "it's not your turn: alice plays next"
    hall.do("alice", "/m 5")
    assert hall.refusal("bob", "/move 5") == "cell 5 is taken"
    assert hall.refusal("bob", "/move 10") == "no such cell '10': cells are 1-9"
    assert hall.refusal("bob", "/move").startswith("what is your move?")
    assert hall.refusal("carol", "/move 1").startswith("you are not playing")


def test_gamehost_a_move_is_told_in_words_then_shown(hall):
    start_duel(hall)
    hall.got("carol")
    hall.do("alice", "/move 5")
    seen = hall.got("carol")
    assert [type(m) for m in seen[:3]] == [p.GameNote, p.GameState, p.Turn]
    assert seen[0].text == "alice plays X at 5 (centre)"
    assert seen[2].nick == "bob" and "5" not in seen[2].text.split()
    rows = [row for m in of(seen, p.BoardView) for row in m.rows]
    assert any("[X]" in row for row in rows)


def test_gamehost_digits_are_a_move_and_say_when_there_is_no_game(hall):
    assert hall.refusal("alice", "/5").startswith("no game is running in general")
    start_duel(hall)
    hall.do("alice", "/5")
    assert texts(hall.got("carol"))[-1] == "alice plays X at 5 (centre)"
    assert hall.refusal("carol", "/5").startswith("you are not playing")
    hall.do("alice", "/resign")
    assert hall.refusal("alice", "/4").startswith("no game is running in general")


def test_gamehost_a_duel_player_can_guess_in_the_room_game(hall):
    start_duel(hall)
    hall.do("carol", "/game hangman quokka")
    hall.got("carol")
    hall.do("bob", "/guess k")  # bob waits for alice in the duel
    hall.do("alice", "/guess e")  # alice's turn in the duel, but E is no cell
    hall.do("alice", "/5")
    assert hall.refusal("bob", "/move 10") == (  # bob plays both now, and 10 fits neither
        "tictactoe (g1): no such cell '10': cells are 1-9; "
        "hangman (g2): guess a letter or the whole word, not '10'")
    assert hall.refusal("carol", "/guess 4") == "guess a letter or the whole word, not '4'"
    assert texts(hall.got("carol")) == ["bob guesses K: 2 in the word",
                                        "alice guesses E: not in the word, 5 guesses left",
                                        "alice plays X at 5 (centre)"]


def test_gamehost_declining_an_open_challenge_explains_it(hall):
    hall.do("alice", "/game tictactoe")
    assert hall.refusal("bob", "/decline") == ("the challenge from alice is open to anyone: "
                                               "leave it for someone else, or /accept to play")
    hall.do("bob", "/accept")
    assert "tictactoe" in [m.game for m in hall.got("carol") if isinstance(m, p.GameState)]


def test_gamehost_resign_asks_which_when_you_play_two(hall):
    start_duel(hall)
    hall.do("carol", "/game hangman quokka")
    hall.do("alice", "/guess e")  # alice is in the duel and the room game now
    assert hall.refusal("alice", "/resign") == (
        "you are playing tictactoe (g1) and hangman (g2): /resign g1 or /resign g2")
    hall.got("carol")
    hall.do("alice", "/resign g1")
    assert texts(hall.got("carol"), p.GameOver) == ["alice resigned: bob wins"]
    hall.do("bob", "/guess k")  # the room game goes on
    assert texts(hall.got("carol"))[-1] == "bob guesses K: 2 in the word"


def test_gamehost_a_duel_player_may_start_the_room_game(hall):
    start_duel(hall)
    hall.do("alice", "/game hangman quokka")
    assert "hangman" in [m.game for m in hall.got("carol") if isinstance(m, p.GameState)]


def test_gamehost_a_room_game_ending_keeps_the_duel_rematch(hall):
    start_duel(hall)
    hall.do("alice", "/resign")
    hall.do("carol", "/game hangman ox")
    hall.do("alice", "/guess ox")  # alice wins the room game after her duel
    hall.got("carol")
    hall.do("bob", "/rematch")
    assert any("rematch" in t for t in texts(hall.got("carol")))


def test_gamehost_a_room_game_does_not_keep_you_from_a_duel(hall):
    hall.do("carol", "/game hangman quokka")
    hall.do("alice", "/guess e")
    hall.do("alice", "/game tictactoe bob")
    hall.do("bob", "/accept")
    assert texts(hall.got("carol"), p.GameState)[-1] == "alice (X) vs bob (O), alice to move"


def test_gamehost_scores_go_with_their_room(hall):
    start_duel(hall)
    hall.play("alice", "bob", X_WINS)
    assert hall.host.records.rooms["general"].scores
    for nick in ("alice", "bob", "carol"):
        hall.do(nick, "/leave")
    assert not hall.host.records.rooms and not len(hall.host.records)


def test_gamehost_win_ends_the_game_with_gameover_and_score(hall):
    start_duel(hall)
    hall.got("carol")
    hall.play("alice", "bob", X_WINS)
    seen = hall.got("carol")
    assert texts(seen, p.GameOver) == ["alice wins with X (row 1)"]
    assert texts(seen)[-1] == "score: alice 1, bob 0; /rematch to play again"
    assert hall.refusal("bob", "/move 9").startswith("no game is running")


# ------------------------------------------------------------------ the bot
def test_gamehost_bot_game_to_completion(hall):
    rng = random.Random(4)
    seen = hall.do("alice", "/game tictactoe bot")
    for _ in range(9):
        if of(seen, p.GameOver):
            break
        turn = of(seen, p.Turn)[-1]
        assert turn.nick == "alice"
        seen = hall.do("alice", f"/move {rng.choice(turn.text.split())}")
        bot_notes = [t for t in texts(seen) if t.startswith("bot plays")]
        assert len(bot_notes) == 1 or of(seen, p.GameOver)
    over = texts(seen, p.GameOver)
    assert over and "alice wins" not in over[0]


def test_gamehost_bot_rematch_swaps_and_bot_opens(hall):
    hall.do("alice", "/game tictactoe bot")
    hall.do("alice", "/resign")
    seen = hall.do("alice", "/rematch")
    notes = texts(seen)
    assert notes[0].startswith("tictactoe starts: bot vs alice, bot moves first (score: bot 1, alice 0)")
    assert notes[1].startswith("bot plays X at")
    assert of(seen, p.Turn)[-1].nick == "alice"


# ------------------------------------------------------------------ resign, rematch
def test_gamehost_resign(hall):
    start_duel(hall)
    hall.got("carol")
    hall.do("bob", "/resign")
    seen = hall.got("carol")
    assert "bob resigns" not in texts(seen)  # GAMEOVER says it, once
    assert texts(seen, p.GameOver) == ["bob resigned: alice wins"]
    assert hall.refusal("bob", "/resign") == "you are not playing a game here"


def test_gamehost_rematch_swaps_sides_and_keeps_score(hall):
    start_duel(hall)
    hall.play("alice", "bob", X_WINS)                      # alice 1
    hall.do("alice", "/rematch")
    note = texts(hall.got("bob"))[-1]
    assert "alice wants a rematch of tictactoe with bob (score: bob 0, alice 1), bob moving first" in note
    hall.do("bob", "/rematch")
    hall.play("bob", "alice", DRAW)                        # a draw
    hall.do("bob", "/rematch")
    hall.do("alice", "/accept")
    hall.play("alice", "bob", X_WINS)                      # alice 2
    hall.do("alice", "/rematch")
    seen = hall.do("bob", "/rematch")
    assert texts(seen)[0].startswith("tictactoe starts: bob vs alice, bob moves first "
                                     "(score: bob 0, alice 2, 1 draw)")
    hall.play("bob", "alice", X_WINS)                      # bob 1
    assert texts(hall.got("carol"))[-1] == "score: bob 1, alice 2, 1 draw; /rematch to play again"


def test_gamehost_rematch_needs_a_finished_duel(hall):
    assert hall.refusal("alice", "/rematch") .startswith("you have no finished two-player game in general to play again")


# ------------------------------------------------------------------ leaving
def test_gamehost_leaving_forfeits(hall):
    start_duel(hall)
    hall.got("carol")
    hall.do("bob", "/leave")
    seen = hall.got("carol")
    assert texts(seen)[0] == "bob left: alice wins"
    assert texts(seen, p.GameOver) == ["bob forfeited: alice wins"]


def test_gamehost_disconnect_forfeits_and_cancels_challenges(hall):
    start_duel(hall)
    hall.do("carol", "/game tictactoe")
    hall.got("alice")
    hall.drop("bob")
    seen = hall.got("alice")
    assert texts(seen, p.GameOver) == ["bob forfeited: alice wins"]
    hall.drop("carol")
    assert "carol's challenge to anyone (tictactoe) is off: carol left" in texts(hall.got("alice"))
    assert hall.host.matches == [] and hall.host.challenges == []


def test_gamehost_no_nick_change_while_playing(hall):
    start_duel(hall)
    assert "you are playing tictactoe" in hall.refusal("alice", "/nick alicia")
    hall.do("alice", "/resign")
    assert of(hall.do("alice", "/nick alicia"), p.Reply)[0].code == 0



# ------------------------------------------------------------------ scores and offers belong to people
def bot_start_note(hall: Hall, nick: str) -> str:
    return texts(hall.do(nick, "/game tictactoe bot"))[0].partition(".")[0]


def test_gamehost_records_die_with_the_room_whoever_leaves_last():
    hall = Hall()
    hall.enter("alice")
    hall.enter("zed", named=False)
    hall.do("alice", "/game tictactoe bot")
    hall.do("alice", "/resign")                            # bot 1
    hall.do("alice", "/leave")
    hall.do("zed", "/leave")                               # the last one out has no nick
    hall.enter("alice")                                    # someone new, in a new general
    assert bot_start_note(hall, "alice") == "tictactoe starts: alice vs bot, alice moves first"
    assert not hall.host.records.rooms                     # nothing of the old general is kept


def test_gamehost_a_new_bob_inherits_neither_rematch_nor_score(hall):
    start_duel(hall)
    hall.play("alice", "bob", X_WINS)                      # alice 1, bob 0
    hall.do("bob", "/leave")
    hall.enter("bob")                                      # a new session takes the nick
    hall.got("bob")
    assert hall.refusal("alice", "/rematch").startswith(
        "you have no finished two-player game in general to play again")
    assert hall.refusal("bob", "/rematch").startswith(
        "you have no finished two-player game in general to play again")
    assert not texts(hall.got("bob"))
    hall.got("carol")
    start_duel(hall)
    assert texts(hall.got("carol"))[1].startswith(
        "tictactoe starts: alice vs bob, alice moves first. ")  # no score: 0-0
    hall.play("alice", "bob", DRAW)
    assert texts(hall.got("carol"))[-1] == "score: alice 0, bob 0, 1 draw; /rematch to play again"


def test_gamehost_rematch_follows_the_people_through_a_rename(hall):
    start_duel(hall)
    hall.play("alice", "bob", X_WINS)                      # alice 1, bob 0
    hall.do("bob", "/nick robert")
    hall.do("carol", "/leave")                             # someone else leaving changes nothing
    hall.do("alice", "/rematch")
    assert texts(hall.got("bob"))[-1].startswith(
        "alice wants a rematch of tictactoe with robert (score: robert 0, alice 1), "
        "robert moving first")
    seen = hall.do("bob", "/rematch")
    assert texts(seen)[0].startswith("tictactoe starts: robert vs alice, robert moves first "
                                     "(score: robert 0, alice 1)")


def test_gamehost_a_teardown_touches_only_its_own_room(hall):
    records = hall.host.records
    for i in range(MAX_SCORES):                            # the table full of another room's
        records.tally("den", matches.score_key("tictactoe", (-1 - i, matches.BOT_SEAT)))
    den = records.rooms["den"]
    den_scores, den_count = den.scores, len(den.scores)
    start_duel(hall)
    hall.play("alice", "bob", X_WINS)
    assert len(records) == MAX_SCORES and len(den.scores) == den_count - 1  # the oldest went
    assert set(records.rooms) == {"den", "general"}
    for nick in ("alice", "bob", "carol"):
        hall.do(nick, "/leave")
    assert set(records.rooms) == {"den"} and records.rooms["den"] is den
    assert den.scores is den_scores and len(den.scores) == den_count - 1
    assert len(records) == den_count - 1


# ------------------------------------------------------------------ hangman: the secret
def test_gamehost_hangman_word_never_sent_before_the_end(hall):
    hall.enter("dave")
    hall.do("alice", "/game hangman Quokka")
    for letter in "QUOKZ":
        hall.do("bob", f"/guess {letter}")
    nicks = ("alice", "bob", "carol", "dave")
    sent = [m for nick in nicks for m in hall.got(nick)]
    assert of(sent, p.BoardView) and not any("quokka" in repr(m).lower() for m in sent)
    hall.do("carol", "/guess a")  # the last letter: now the word may be shown
    assert texts(hall.got("dave"), p.GameOver) == ["carol wins: the word was QUOKKA"]


def test_gamehost_hangman_bad_setup_is_not_echoed(hall):
    text = hall.refusal("alice", "/game hangman c4tz")
    assert "c4tz" not in text and "letters A-Z only" in text
    text = hall.refusal("alice", "/game hangman two words")
    assert text == "the word must be one word of letters A-Z, not 2 words"


def test_gamehost_hangman_starter_of_a_random_word_may_guess(hall):
    hall.do("alice", "/game hangman")
    assert texts(hall.do("alice", "/guess e"))[0].startswith("alice guesses E: ")


def test_gamehost_one_open_game_per_room(hall):
    hall.do("alice", "/game hangman quokka")
    assert "hangman is already running in general" in hall.refusal("bob", "/game hangman")
    assert hall.refusal("alice", "/move e") == "you set the word, so you can't guess"
    seen = hall.do("carol", "/move e")
    assert texts(seen)[0].startswith("carol guesses E")
    assert of(seen, p.Turn)[0].nick == p.NOBODY and of(seen, p.Turn)[0].text


# ------------------------------------------------------------------ many games
def test_gamehost_two_duels_in_one_room(hall):
    hall.enter("dave")
    start_duel(hall)
    hall.do("carol", "/game tictactoe dave")
    hall.do("dave", "/accept")
    hall.do("alice", "/move 1")
    hall.do("carol", "/move 9")
    infos = texts(hall.do("bob", "/games"), p.Info)
    assert len(infos) == 2 and "bob to move" in infos[0] and "dave to move" in infos[1]


def test_gamehost_two_rooms_at_once():
    hall = Hall()
    for nick, room in (("alice", "general"), ("bob", "general"), ("carol", "den"), ("dave", "den")):
        hall.enter(nick, room)
    start_duel(hall, "alice", "bob")
    start_duel(hall, "carol", "dave")
    hall.play("alice", "bob", X_WINS)
    hall.play("carol", "dave", DRAW)
    general, den = hall.got("bob"), hall.got("dave")
    assert {m.room for m in general if hasattr(m, "game_id")} == {"general"}
    assert {m.room for m in den if hasattr(m, "game_id")} == {"den"}
    assert texts(general, p.GameOver) == ["alice wins with X (row 1)"]
    assert texts(den, p.GameOver) == ["draw: the board is full"]


def test_gamehost_games_shows_running_games_and_boards(hall):
    start_duel(hall)
    hall.do("alice", "/move 5")
    hall.do("carol", "/game tictactoe")
    hall.enter("dave")
    seen = hall.do("dave", "/games")
    infos = texts(seen, p.Info)
    assert infos[0] == "tictactoe (g1): alice (X) vs bob (O), bob to move"
    assert "carol's challenge to anyone (tictactoe) waits for an answer" in infos
    assert of(seen, p.Turn)[0].nick == "bob" and of(seen, p.BoardView)


def test_gamehost_games_when_none(hall):
    assert texts(hall.do("alice", "/games"), p.Info)[0].startswith("No games are running in general")


def test_gamehost_a_player_who_leaves_is_told_the_forfeit():
    hall = Hall()
    hall.enter("alice")
    hall.enter("bob")
    hall.do("alice", "/game tictactoe bot")
    told = [m.text for m in hall.do("alice", "/leave") if isinstance(m, p.GameNote)]
    assert told == ["leaving forfeits tictactoe: bot wins"]
    assert "alice left: bot wins" in texts(hall.got("bob"))


def test_gamehost_a_move_while_a_challenge_waits_says_so():
    hall = Hall()
    hall.enter("alice")
    hall.enter("bob")
    hall.do("alice", "/game tictactoe bob")
    assert hall.refusal("alice", "/5") == ("alice's challenge to bob (tictactoe) waits for an "
                                           "answer: the game starts once bob types /accept")
    assert "waits for an answer" in hall.refusal("bob", "/move 5")


def test_gamehost_declining_names_the_challenge_without_the_decliner_twice():
    hall = Hall()
    hall.enter("alice")
    hall.enter("carol")
    hall.do("alice", "/game tictactoe carol")
    hall.got("alice")
    hall.do("carol", "/decline")
    assert texts(hall.got("alice")) == ["carol declines alice's challenge (tictactoe)"]


def test_gamehost_a_long_nick_is_named_whole_when_refused():
    hall = Hall()
    hall.enter("alice")
    assert hall.refusal("alice", "/nick averyveryverylongname") == (
        "nick name 'averyveryverylongname' is too long: at most 16 characters")
