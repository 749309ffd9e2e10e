"""The room's game index as the other servers read it (chat.server.far_games): pure."""
from __future__ import annotations

import json

from chat.server.far_games import (LEFT, Cluster, Far, challenge_record, game_record,
                                   index_table, parse_index)
from chat.server.history import History
from chat.server.memory_store import MemoryStore
from chat.server.state import Outbox, Room, Session


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


class Nearby:
    """A presence (chat.server.presence) of the server n1, with seats and players
    claimed as Redis would: first come, first served."""
    node = "n1"

    def __init__(self) -> None:
        self.held: dict[str, str] = {}

    def claim_seat(self, game_id, nick):
        return self._hold(f"seat {game_id}", nick)

    def claim_player(self, room_key, nick, game_id):
        return self._hold(f"{room_key} {nick.casefold()}", game_id)

    def release_player(self, room_key, nick, game_id):
        if self.held.get(f"{room_key} {nick.casefold()}") == game_id:
            del self.held[f"{room_key} {nick.casefold()}"]

    def _hold(self, what, who):
        if self.held.setdefault(what, who) == who:
            return None
        return self.held[what]


def cluster_in() -> tuple[Cluster, History]:
    history = History(MemoryStore(), lambda: 0.0)
    cluster = Cluster("bot")
    cluster.attach(history, Nearby())
    return cluster, history


def test_far_games_alone_there_is_nothing_elsewhere_and_every_claim_is_free():
    cluster, room = Cluster("bot"), Room("lounge")
    ann = Session(1, "", room, "ann")
    assert cluster.entries(room) == [] and cluster.seat(ann) is None
    assert cluster.claim_players(ann, "g1", ("ann", "bob")) is None
    assert cluster.claim_seat(ann, "g1", "bob", "tictactoe") is None


def test_far_games_a_cluster_reads_the_others_games_and_claims_seats_and_players():
    room = Room("lounge")
    cluster, history = cluster_in()
    history.put(index_table("lounge"), "g1", challenge_record("n2", "tictactoe", "cid", None))
    history.put(index_table("lounge"), "g2", challenge_record("n1", "tictactoe", "ann", None))
    ann, bob = Session(1, "", room, "ann"), Session(2, "", room, "bob")
    assert [f.id for f in cluster.challenges(bob, "", True)] == ["g1"]  # (n1's own: not far)
    assert cluster.claim_seat(ann, "g1", "cid", "tictactoe") is None
    assert "already taken by ann" in cluster.claim_seat(bob, "g1", "cid", "tictactoe")
    assert cluster.claim_players(ann, "g3", ("ann", "bob")) is None
    assert cluster.claim_players(bob, "g4", ("bob", "cid")) == \
        "you are already playing (g3): finish it or /resign first"
    assert cluster.claim_players(ann, "g4", ("cid", "dee")) is None  # (none kept on refusal)
    cluster.release_players(room, "g3", ("ann", "bob"))
    cluster.release_players(room, "g4", ("cid", "dee"))
    assert cluster.claim_players(bob, "g5", ("bob", "bot")) is None  # (the bot: never claimed)


def test_far_games_a_far_player_has_one_stand_in_and_acts_go_to_the_games_node():
    room = Room("lounge")
    cluster, _ = cluster_in()
    bob = cluster.standin(room, "n2", "k2", "bob")
    assert bob.id < 0 and cluster.standin(room, "n2", "k2", "bob") is bob
    assert cluster.holder(room, "bob") is bob  # (no bob here: the stand-in sits for him)
    assert cluster.standin(room, "n2", "-", "bob") is bob  # (a dead node's, by nick)
    out = Outbox()
    cluster.forward(bob, "n3", out, LEFT, "left")  # a stand-in's acts are its node's to tell
    ann = Session(1, "", room, "ann", token="t")
    cluster.forward(ann, "n2", out, LEFT, "left")
    assert out.sends == [(("!", "lounge", "n2", "", ann.key, "ann"), "left left")]
    cluster.drop_standins(room, "BOB")
    assert cluster.standin(room, "n2", "k2", "bob") is not bob
