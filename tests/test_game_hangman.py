"""Hangman rules, guesses, endings and rendering."""

import random

import pytest

from game import IllegalMoveError, InvalidMoveError, Outcome
from game.base import RENDER_HEIGHT, RENDER_WIDTH
from game.hangman import LIVES, WORDS, Hangman

SETTER = "alice"


def new_game(word="parlor"):
    return Hangman.start((SETTER,), word)


def test_hangman_class_attributes():
    assert Hangman.name == "hangman"
    assert not Hangman.duel and not Hangman.has_bot
    assert "/move" in Hangman.move_help


def test_hangman_word_stored_upper_case():
    game = new_game("  Parlor ")
    assert game.word == "PARLOR"
    assert game.players == (SETTER,)
    assert game.to_move is None
    assert game.masked() == "_ _ _ _ _ _"


@pytest.mark.parametrize("setup,pattern", [
    ("c4t", "letters A-Z only, not 'c4t'"),
    ("two words", "^the word must be one word of letters A-Z, not 2 words$"),
    ("café", "letters A-Z only"),
    ("a", "2 to 24 letters long, not 1"),
    ("x" * 25, "2 to 24 letters long, not 25"),
])
def test_hangman_bad_setup(setup, pattern):
    with pytest.raises(InvalidMoveError, match=pattern):
        new_game(setup)


def test_hangman_setup_bounds_accepted():
    assert new_game("ab").word == "AB"
    assert new_game("x" * 24).word == "X" * 24


@pytest.mark.parametrize("setup", ["", "   "])
def test_hangman_random_word_when_setup_empty(setup):
    game = Hangman.start((SETTER,), setup, random.Random(5))
    assert game.word.lower() in WORDS
    again = Hangman.start((SETTER,), setup, random.Random(5))
    assert again.word == game.word
    assert len({Hangman.start((SETTER,), "", random.Random(s)).word
                for s in range(30)}) > 5


def test_hangman_builtin_words_are_usable():
    assert len(WORDS) >= 50 and len(set(WORDS)) == len(WORDS)
    assert all(w.isalpha() and w.islower() and 4 <= len(w) <= 10 for w in WORDS)


def test_hangman_letter_guess_reports_count():
    game = new_game()
    assert game.play("bob", "r") == "bob guesses R: 2 in the word"
    assert game.play("carol", "P") == "carol guesses P: 1 in the word"
    assert game.masked() == "P _ R _ _ R"
    assert game.players == (SETTER, "bob", "carol")


def test_hangman_case_insensitive():
    game = new_game()
    game.play("bob", "e")
    with pytest.raises(IllegalMoveError, match="^E was already guessed$"):
        game.play("carol", "E")
    assert game.play("carol", "pArLoR") == "carol guesses PARLOR: right!"


def test_hangman_repeated_guesses():
    game = new_game()
    game.play("bob", "a")
    with pytest.raises(IllegalMoveError, match="^A was already guessed$"):
        game.play("bob", "a")
    game.play("bob", "parsec")
    with pytest.raises(IllegalMoveError, match="^PARSEC was already guessed$"):
        game.play("carol", "parsec")
    assert game.misses == 1


def test_hangman_wrong_letter_costs_a_life():
    game = new_game()
    assert game.play("bob", "z") == "bob guesses Z: not in the word, 5 guesses left"
    assert game.misses == 1


def test_hangman_whole_word_right_wins():
    game = new_game()
    game.play("bob", "r")
    assert game.play("dave", "parlor") == "dave guesses PARLOR: right!"
    assert game.outcome() == Outcome(("dave",), "win", "dave wins: the word was PARLOR")


def test_hangman_whole_word_wrong_costs_a_life():
    game = new_game()
    assert game.play("dave", "parsec") == "dave guesses PARSEC: wrong, 5 guesses left"
    assert game.misses == 1 and game.outcome() is None


def test_hangman_word_of_wrong_length_is_refused_without_cost():
    game = new_game()
    with pytest.raises(IllegalMoveError, match="^the word has 6 letters, not 4$"):
        game.play("dave", "park")
    assert game.misses == 0


def test_hangman_last_letter_wins():
    game = new_game("abba")
    game.play("bob", "a")
    game.play("carol", "b")
    assert game.outcome().winners == ("carol",)
    assert game.outcome().reason == "win"


def test_hangman_loss_after_six_wrong():
    game = new_game()
    for letter in "zxqwvu"[:LIVES - 1]:
        game.play("bob", letter)
        assert game.outcome() is None
    assert game.play("bob", "k") == "bob guesses K: not in the word, no guesses left"
    assert game.outcome() == Outcome((), "lost", "the word was PARLOR: nobody guessed it")
    with pytest.raises(IllegalMoveError, match="^the game is over$"):
        game.play("carol", "p")
    assert game.hint_moves("carol") == []


@pytest.mark.parametrize("text", ["", "  ", "3", "e!", "two words", "é"])
def test_hangman_unparseable_guess(text):
    with pytest.raises(InvalidMoveError, match="^guess a letter or the whole word"):
        new_game().parse_move(text)


def test_hangman_unparseable_guess_quotes_input():
    with pytest.raises(InvalidMoveError) as info:
        new_game().parse_move("e3")
    assert str(info.value) == "guess a letter or the whole word, not 'e3'"


def test_hangman_setter_cannot_guess():
    game = new_game()
    assert not game.can_move(SETTER)
    assert game.hint_moves(SETTER) == []
    with pytest.raises(IllegalMoveError, match="^you set the word, so you can't guess$"):
        game.play(SETTER, "e")


def test_hangman_starter_of_a_random_word_may_guess():
    game = Hangman.start((SETTER,), "", random.Random(1))
    assert game.can_move(SETTER) and len(game.hint_moves(SETTER)) == 26
    assert game.play(SETTER, "e").startswith("alice guesses E: ")
    assert game.players == (SETTER,)
    assert game.status().startswith("the word: ")
    assert game.render()[-1] == "alice drew a random word"


def test_hangman_anyone_else_can_guess():
    game = new_game()
    assert game.can_move("anyone")
    assert len(game.hint_moves("anyone")) == 26
    game.play("anyone", "e")
    assert "E" not in game.hint_moves("someone")


@pytest.mark.parametrize("move", [None, 5, "e", "", "E3"])
def test_hangman_is_legal_never_raises(move):
    assert new_game().is_legal("bob", move) is False


@pytest.mark.parametrize("method,reason,summary", [
    ("resign", "resign", "alice ended the game: the word was PARLOR"),
    ("forfeit", "forfeit", "alice left: the word was PARLOR"),
])
def test_hangman_setter_ends_game(method, reason, summary):
    game = new_game()
    getattr(game, method)(SETTER)
    assert game.outcome() == Outcome((), reason, summary)
    with pytest.raises(IllegalMoveError, match="the game is over"):
        game.play("bob", "e")
    with pytest.raises(IllegalMoveError, match="the game is over"):
        game.resign(SETTER)


@pytest.mark.parametrize("method", ["resign", "forfeit"])
def test_hangman_guesser_withdraws(method):
    game = new_game()
    game.play("bob", "e")
    getattr(game, method)("bob")
    assert game.outcome() is None
    assert game.players == (SETTER,)
    game.play("carol", "a")  # play goes on for the others


def test_hangman_a_guesser_who_resigned_may_not_guess_again():
    game = new_game()
    game.play("bob", "e")
    game.resign("bob")
    with pytest.raises(IllegalMoveError, match="^you gave up on this word"):
        game.play("bob", "a")


def test_hangman_a_guesser_who_left_may_guess_again_on_coming_back():
    game = new_game()
    game.play("bob", "e")
    game.forfeit("bob")  # bob left the room
    assert game.play("bob", "i") == "bob guesses I: not in the word, 4 guesses left"
    assert game.players == (SETTER, "bob")


def test_hangman_resign_by_non_player():
    with pytest.raises(IllegalMoveError, match="^carol is not playing this game$"):
        new_game().resign("carol")


def test_hangman_status():
    game = new_game()
    game.play("bob", "r")
    assert game.status() == "alice's word: __R__R, 6 guesses left"
    game.play("bob", "parlor")
    assert game.status() == "bob wins: the word was PARLOR"


def check_render(game):
    lines = game.render()
    assert 1 <= len(lines) <= RENDER_HEIGHT
    assert all(len(line) <= RENDER_WIDTH for line in lines)
    return lines


def test_hangman_render_gallows_grows():
    game = new_game()
    drawings = [check_render(game)[:6]]
    for letter in "zxqwvu":
        game.play("bob", letter)
        drawings.append(check_render(game)[:6])
    inked = ["".join(d).count("O") + "".join(d).count("/") + "".join(d).count("\\")
             + "".join(d[3:5]).count("|") - 2 for d in drawings]
    assert inked == [0, 1, 2, 3, 4, 5, 6]
    assert game.render()[6] == "P A R L O R"  # the word is revealed


def test_hangman_render_in_play():
    game = new_game()
    game.play("bob", "r")
    game.play("bob", "z")
    lines = check_render(game)
    assert "_ _ R _ _ R" in lines
    assert "wrong: Z" in lines
    assert "guesses left: 5" in lines
    assert "last: bob guessed Z" in lines
    assert lines[-1] == "alice set the word"


def test_hangman_render_win_emphasised():
    game = new_game()
    game.play("bob", "parlor")
    lines = check_render(game)
    assert "*P A R L O R*" in lines
    assert lines[-1] == "bob wins: the word was PARLOR"


def test_hangman_render_long_word_and_nicks_fit():
    word = "abcdefghijklmnopqrstuvwx"
    game = Hangman.start(("s" * 40,), word)
    game.play("g" * 40, "q")
    game.play("g" * 40, "z" * 24)
    check_render(game)
    for letter in "yz":
        game.play("h" * 40, letter)
    game.play("h" * 40, "b" * 24)
    game.play("h" * 40, "c" * 24)
    game.play("h" * 40, "d" * 24)
    assert game.outcome().reason == "lost"
    lines = check_render(game)
    assert word.upper() in lines
