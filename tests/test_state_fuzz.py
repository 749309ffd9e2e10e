"""Hypothesis properties of the server's pure core: the command parser never raises,
and a ChatState with the GameHost attached (as chat.server.loop builds it), fed any mix of
connects, disconnects, real commands with random arguments, game moves, random text
and raw bytes from several sessions, never raises and keeps its invariants.  No sockets.
"""
from __future__ import annotations

import random
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule)

from chat import protocol as p
from chat.server.games import BOT, GameHost
from chat.server.state import ChatState, Outbox, key
from chat.width import sanitize


def build_state(seed: int = 0) -> tuple[ChatState, GameHost]:
    """The state the way chat.server.Server builds it: a ChatState with a GameHost."""
    host = GameHost(random.Random(seed))
    return ChatState(host), host


COMMANDS = sorted(p.COMMANDS)  # a new command is fuzzed without listing it here
ARGS = ["", "general", "General", "#den", "den", "alice", "ALICE", "bob", "carol", "bot",
        "tictactoe", "tictactoe bob", "tictactoe alice", "tictactoe bot", "tictactoe carol",
        "hangman", "hangman apple", "hangman x1", "TicTacToe Bob", "5", "9", "10", "e", "p",
        "apple", "  5  ", "а", "ｂｏｂ", "bo\u200bb", "\u202ebob", "bo\x00b", "x" * 1000,
        "é" * 500, "\x1b[2J" * 100]
TEXTS = ["hello", "/", "//slash", " ", "\t", "\x1b" * 481, "\u202e" * 121, "x" * 961,
         "é" * 481, "ok \x07 \x9b \u2028 \ufeff done"]
HUGE = p.MAX_LINE - 1  # the longest line the decoder hands over

printable = st.text(st.characters(exclude_characters="\n"), max_size=40)
lines = st.one_of(
    st.builds(lambda name, arg: f"/{name} {arg}".rstrip(" ") if arg else f"/{name}",
              st.sampled_from(COMMANDS), st.one_of(st.sampled_from(ARGS), printable)),
    st.builds(lambda n: f"/{n}", st.integers(0, 12)),
    st.sampled_from(TEXTS),
    printable,
    st.builds(lambda prefix, fill: (prefix + fill * HUGE)[:HUGE], printable, st.sampled_from("aé\x1b")),
    st.builds(p.BadLine, st.sampled_from(["a line was longer than 1024 bytes; it was ignored",
                                          "a line was not valid UTF-8 (bad byte at position 0)"])),
)


class StateMachine(RuleBasedStateMachine):
    """Up to five sessions driving one ChatState + GameHost; every step's output is checked."""

    def __init__(self) -> None:
        super().__init__()
        self.state, self.host = build_state()
        self.decoders: dict[int, p.LineDecoder] = {}
        self.next_id = 1

    # -------------------------------------------------------------- driving
    def step(self, actor: int, action) -> None:
        out = Outbox()
        action(out)
        self.check_outbox(out, actor)
        for sid in dict.fromkeys(out.closes):  # the shell closes them, then tells the state
            self.decoders.pop(sid, None)
            again = Outbox()
            self.state.disconnect(sid, "quit", again)
            self.check_outbox(again, sid)

    def pick(self, who: int) -> int:
        ids = sorted(self.state.sessions)
        return ids[who % len(ids)]

    def handle(self, sid: int, line: str | p.BadLine) -> None:
        if sid in self.state.sessions:  # a /quit earlier in the same bytes ended it
            self.step(sid, lambda out: self.state.handle(sid, line, out))

    @initialize(people=st.integers(0, 3), room=st.sampled_from(["general", "den"]))
    def gather(self, people: int, room: str) -> None:
        """Most runs start with a few people named in one room, so games can start at once."""
        for nick in ["alice", "bob", "carol"][:people]:
            self.connect()
            self.enter(-1, room, nick)

    @precondition(lambda self: len(self.state.sessions) < 5)
    @rule()
    def connect(self) -> None:
        sid, self.next_id = self.next_id, self.next_id + 1
        self.decoders[sid] = p.LineDecoder()
        self.step(sid, lambda out: self.state.connect(sid, "fuzz", out))

    @precondition(lambda self: self.state.sessions)
    @rule(who=st.integers(0, 9), reason=st.sampled_from(["disconnected", "quit", "flooding"]))
    def disconnect(self, who: int, reason: str) -> None:
        sid = self.pick(who)
        self.decoders.pop(sid, None)
        self.step(sid, lambda out: self.state.disconnect(sid, reason, out))

    @precondition(lambda self: self.state.sessions)
    @rule(who=st.integers(0, 9), line=lines)
    def send_line(self, who: int, line: str | p.BadLine) -> None:
        self.handle(self.pick(who), line)

    @precondition(lambda self: self.state.sessions)
    @rule(who=st.integers(0, 9), room=st.sampled_from(["general", "den"]),
          nick=st.sampled_from(["alice", "bob", "carol", "Alice", "dave"]))
    def enter(self, who: int, room: str, nick: str) -> None:
        sid = self.pick(who)
        self.handle(sid, f"/join {room}")
        self.handle(sid, f"/nick {nick}")

    @precondition(lambda self: self.state.sessions)
    @rule(who=st.integers(0, 9), data=st.data())
    def play(self, who: int, data) -> None:
        """A game line that makes sense where the session is (so games really start and
        run), or now and then any game line at all."""
        sid = self.pick(who)
        session = self.state.sessions[sid]
        sensible = self.sensible_lines(session)
        if sensible and data.draw(st.integers(0, 3)):
            line = data.draw(st.sampled_from(sensible))
        else:
            line = data.draw(st.one_of(
                st.sampled_from(["/accept", "/decline", "/resign", "/rematch", "/games",
                                 "/game tictactoe", "/game hangman", "/decline bob"]),
                st.builds("/move {}".format, st.sampled_from("0123456789")),
                st.builds("/guess {}".format, st.sampled_from(["a", "e", "p", "z", "apple"]))))
        self.handle(sid, line)

    def sensible_lines(self, session) -> list[str]:
        if session.room is None or session.nick is None:
            return []
        room, me, host = session.room, session.nick, self.host
        mine = [m for m in host.matches if m.room is room and (m.seats(me) or not m.game.duel)]
        moves = [f"/move {move}" for m in mine for move in m.game.hint_moves(me)]
        if moves:
            return moves + ["/resign"]
        if any(c.room is room and c.is_for(me) for c in host.challenges):
            return ["/accept", "/rematch", "/decline"]
        others = [n for n in room.member_nicks() if n != me]
        return ([f"/game tictactoe {n}" for n in others] + ["/game tictactoe bot", "/rematch",
                "/game hangman apple", "/game tictactoe"])

    @precondition(lambda self: self.state.sessions)
    @rule(who=st.integers(0, 9), data=st.binary(max_size=120))
    def send_bytes(self, who: int, data: bytes) -> None:
        sid = self.pick(who)
        for item in self.decoders[sid].feed(data + b"\n"):
            self.handle(sid, item)

    # -------------------------------------------------------------- what each step sends
    def check_outbox(self, out: Outbox, actor: int) -> None:
        known = set(self.state.sessions) | {actor}
        for targets, msg in self.state.deliveries(out):
            assert set(targets) <= known, (targets, msg)
            data = p.encode(msg)
            assert data.endswith(b"\n"), msg
            for raw in data.splitlines():  # a list is a counted block of lines, sent whole
                assert len(raw) < p.MAX_LINE, msg
                line = raw.decode("utf-8")
                assert "\r" not in line, msg
                assert not [c for c in line if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0], msg
                assert sanitize(line) == line, f"bidi or hidden characters reach a client: {msg!r}"
            assert p.ServerDecoder().feed(data) == [msg], msg

    # -------------------------------------------------------------- invariants
    @invariant()
    def rooms_and_nicks_agree(self) -> None:
        state = self.state
        homes: dict[int, str] = {}
        for name, room in state.rooms.items():
            assert name == key(room.name) and room.sessions, f"empty or misfiled room {name!r}"
            assert room.ids() == tuple(room.sessions), "the fan-out's member list is stale"
            assert p.is_valid_name(room.name, p.MAX_ROOM), room.name
            for sid, session in room.sessions.items():
                assert sid not in homes, f"session {sid} is in {homes.get(sid)} and {name}"
                homes[sid] = name
                assert state.sessions.get(sid) is session and session.room is room
            named = {key(s.nick): s for s in room.sessions.values() if s.nick is not None}
            assert room.nicks == named, (room.nicks, named)
        for sid, session in state.sessions.items():
            if session.room is None:
                assert session.nick is None and sid not in homes
            else:
                assert state.rooms.get(key(session.room.name)) is session.room
            if session.nick is not None:
                assert p.is_valid_name(session.nick, p.MAX_NICK) and key(session.nick) != BOT

    @invariant()
    def games_belong_to_live_rooms(self) -> None:
        state, host = self.state, self.host
        ids = [m.id for m in host.matches] + [c.id for c in host.challenges]
        assert len(ids) == len(set(ids)), ids
        for match in host.matches:
            room = match.room
            assert state.rooms.get(key(room.name)) is room, f"{match.id} outlived {room.name}"
            assert not match.game.is_over(), match.id
            for nick in match.game.players:
                if not (match.bot and nick == BOT):
                    assert room.nicks.get(key(nick)) is not None, f"{nick} left {match.id}"
                    assert room.nicks[key(nick)].nick == nick  # games compare nicks exactly
                    duels = [m for m in host.matches if m.room is room and m.game.duel
                             and m.seats(nick)]
                    assert len(duels) <= 1, f"{nick} plays {len(duels)} duels in {room.name}"
            assert sum(m.room is room and not m.game.duel for m in host.matches) <= 1
        for challenge in host.challenges:
            room = challenge.room
            assert state.rooms.get(key(room.name)) is room, challenge
            for nick in (challenge.challenger, challenge.target):
                assert nick is None or key(nick) in room.nicks, challenge


TestChatStateFuzz = StateMachine.TestCase
TestChatStateFuzz.settings = settings(max_examples=100, stateful_step_count=50, deadline=None,
                                      suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_state_fuzz_parse_client_line_never_raises(line):
    msg = p.parse_client_line(line)
    if isinstance(msg, p.UnknownCommand):
        assert line.startswith("/") and not line.startswith("//")
        # names are lower-cased in ASCII only (the Kelvin sign must not become 'k')
        assert not any("A" <= ch <= "Z" for ch in msg.name) and msg.args == msg.args.strip()
        assert msg.name not in p.COMMANDS
    elif isinstance(msg, p.Say):
        assert msg.text == (line[1:] if line.startswith("//") else line)
    else:
        assert line.startswith("/") and not line.startswith("//")
        assert p.parse_client_line(p.encode_client(msg).decode()[:-1]) == msg


@settings(max_examples=100, deadline=None)
@given(st.lists(lines, max_size=20), st.sampled_from(string.digits))
def test_state_fuzz_one_session_in_a_game_takes_any_line(sent, cell):
    """A player mid-game (the likeliest place for a crash) sends anything at all."""
    machine = StateMachine()
    for _ in range(2):
        machine.connect()
    machine.enter(0, "general", "alice")
    machine.enter(1, "general", "bob")
    machine.handle(2, "/game tictactoe alice")
    machine.handle(1, f"/move {cell}")  # before the game: refused
    machine.handle(1, "/accept")
    assert machine.host.matches
    for i, line in enumerate(sent):
        machine.handle(1 + i % 2, line)
        machine.rooms_and_nicks_agree()
        machine.games_belong_to_live_rooms()
