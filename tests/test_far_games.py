"""The room's game index as the other servers read it (chat.server.far_games): pure."""
from __future__ import annotations

import json

from chat.server.far_games import Far, challenge_record, game_record, parse_index


def test_far_games_index_reads_back_what_a_node_writes_and_leaves_out_its_own():
    items = {"g2": challenge_record("n1", "tictactoe", "ann", None),
             "g10": game_record("n1", {"name": "tictactoe", "players": ["ann", "bob"],
                                       "setup": "", "seed": 7, "bot": False, "taken_by": "",
                                       "acts": [["plays", "ann", "5"]], "duel": True}),
             "g3": challenge_record("n2", "tictactoe", "cid", "dee")}
    far = parse_index(items, "n2")
    assert [f.id for f in far] == ["g2", "g10"]  # numbered order; n2's own left out
    challenge, game = far
    assert not challenge.running and challenge.is_for("bob") and not challenge.is_for("ANN")
    assert challenge.describe() == "ann's challenge to anyone (tictactoe)"
    assert game.running and game.seats("BOB") and not game.is_for("bob")
    replayed = game.replay()  # the same board as on the node that runs it
    assert replayed.to_move == "bob" and "X" in "".join(replayed.render())


def test_far_games_index_skips_what_does_not_parse():
    items = {"g1": "not json", "g2": json.dumps({"name": "x"}), "g3": json.dumps([1]),
             "g4": json.dumps({"node": "n1", "name": "tictactoe", "seed": "many"}),
             "g5": challenge_record("n1", "tictactoe", "ann", "bob")}
    assert [f.id for f in parse_index(items)] == ["g5"]
    assert Far("g5", "n1", "tictactoe", "ann", "bob").is_for("bob", open_ok=False)
