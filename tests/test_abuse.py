"""Protocol abuse over real loopback sockets: every command the server knows, with
missing, extra, empty, huge and disguised arguments, in every state a client can be
in; commands in the wrong state; names made of look-alike or invisible characters.

Each case must get a readable answer and leave the connection working.  A handler
crash is caught by the `start_server` fixture (any ERROR the server logs fails the
test) and every line the server sends is checked by Peer for size and controls.
The flood limit and the work budget are off (`max_rate=0`, `max_work=0`): these
tests send many lines on purpose.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from chat import protocol as p
from chat.server.limits import Limits

# ------------------------------------------------------------------ disguises
_CYRILLIC = str.maketrans("aceopxiyABCEHKMOPTX", "асеорхіуАВСЕНКМОРТХ")
_ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _middle(text: str, insert: str) -> str:
    half = len(text) // 2
    return text[:half] + insert + text[half:]


def _cyrillic(text: str) -> str:
    swapped = text.translate(_CYRILLIC)
    return swapped if swapped != text else "а" + text  # digits only: lead with a Cyrillic a


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _other_digits(text: str) -> str:
    swapped = text.translate(_ARABIC_DIGITS)
    return swapped if swapped != text else text + "٥"


def _sized(prefix: str, size: int, unit: str) -> str:
    """Argument text that makes `prefix + text` exactly `size` UTF-8 bytes."""
    room = size - len(prefix.encode("utf-8"))
    step = len(unit.encode("utf-8"))
    return unit * (room // step) + "a" * (room % step)


# A line may be MAX_LINE bytes including its newline: MAX_LINE - 1 is the largest
# that is handled, MAX_LINE is refused as too long.
LONGEST = p.MAX_LINE - 1

# name -> (line for command NAME whose plausible argument is ARG)
VARIANTS: dict[str, Callable[[str, str], str]] = {
    "missing": lambda name, arg: f"/{name}",
    "extra": lambda name, arg: f"/{name} {arg} extra words 5 bob",
    "empty": lambda name, arg: f"/{name} ",
    "whitespace": lambda name, arg: f"/{name} \t \u00a0 \u3000 ",
    "huge_ascii": lambda name, arg: f"/{name} " + _sized(f"/{name} ", LONGEST, "a"),
    "huge_multibyte": lambda name, arg: f"/{name} " + _sized(f"/{name} ", LONGEST, "ж"),
    "too_long": lambda name, arg: f"/{name} " + _sized(f"/{name} ", p.MAX_LINE, "a"),
    "far_too_long": lambda name, arg: f"/{name} " + "é" * 5000,
    "cyrillic": lambda name, arg: f"/{name} {_cyrillic(arg)}",
    "fullwidth": lambda name, arg: f"/{name} {_fullwidth(arg)}",
    "zero_width": lambda name, arg: f"/{name} {_middle(arg, chr(0x200B))}",
    "rtl_override": lambda name, arg: f"/{name} \u202e{arg}",
    "combining": lambda name, arg: f"/{name} " + "".join(c + "\u0301" for c in arg),
    "nul": lambda name, arg: f"/{name} {_middle(arg, chr(0))}",
    "other_digits": lambda name, arg: f"/{name} {_other_digits(arg)}",
}

# The argument a command would plausibly take, so a disguise is a near miss.
PLAUSIBLE = {"join": "general", "who": "general", "nick": "alice", "game": "tictactoe bob",
             "accept": "bob", "decline": "bob", "move": "5", "m": "5", "guess": "e",
             "pong": "7", "5": "5"}
SILENT = {"pong"}  # answers nothing, by design (PROTOCOL.md)
STATE_CHANGES = (p.Here, p.Bye, p.GameNote, p.GameOver, p.Joined, p.Left, p.Renamed)
STATES = ("lobby", "room", "nick", "game")

# ------------------------------------------------------------------ a subject in a state
_serial = itertools.count(1)


class Subject:
    """One test client brought into a state (with an opponent for "game")."""

    def __init__(self, server, connect, state: str) -> None:
        n = next(_serial)
        self.peer = connect(server)
        self.others = []
        room, nick = f"abuse{n}", f"s{n}"
        if state == "room":
            self.peer.enter(room)
        elif state == "nick":
            self.peer.enter(room, nick)
        elif state == "game":
            self.peer.enter(room, nick)
            rival = connect(server)
            rival.enter(room, f"o{n}")
            self.others.append(rival)
            self.peer.send(f"/game tictactoe o{n}")
            rival.expect(lambda m: isinstance(m, p.GameNote) and "challenges" in m.text)
            rival.send("/accept")
            board = self.peer.expect(p.Board)
            for _ in range(board.count):
                assert isinstance(self.peer.next(), p.BoardRow)

    def close(self) -> None:
        for peer in (self.peer, *self.others):
            peer.close()


def answer_to(peer, line: str) -> tuple[list[p.ServerMessage], bool]:
    """Send `line`, then a probe (/who of a room that does not exist) whose reply marks
    the end of the answer.  Returns the answer and whether the server closed instead."""
    token = f"probe{next(_serial)}"
    peer.send(line)
    peer.send(f"/who {token}")
    got = []
    while (raw := peer.readline()) is not None:
        msg = p.parse_server_line(raw)
        peer.seen.append(msg)
        if isinstance(msg, p.Reply) and msg.command == "who" and token in msg.text:
            return got, False
        got.append(msg)
    return got, True


def assert_readable(line: str, answer: list[p.ServerMessage], closed: bool, name: str) -> None:
    case = f"{line[:60]!r}... answered {answer[:6]!r}"
    if name not in SILENT:
        assert answer, f"no answer to {case}"
    for msg in answer:
        if isinstance(msg, (p.Reply, p.Error, p.Bye)):
            assert msg.text.strip(), f"an empty sentence for {case}"
        if isinstance(msg, p.Error):
            assert "failed to handle" not in msg.text, f"a handler crashed on {case}"
    if closed:  # only a command that says goodbye may end the connection
        assert any(isinstance(m, p.Bye) for m in answer), f"closed without a BYE on {case}"


def command_names(server) -> list[str]:
    """Every command name (aliases too) of the protocol, plus `/5` (a digit move)."""
    return sorted(p.COMMANDS) + ["5"]


@pytest.fixture
def server(start_server):
    """The in-process server without the flood limit and the work budget: these tests
    send many lines."""
    return start_server(Limits(max_rate=0, max_work=0))


# ------------------------------------------------------------------ the matrix
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_abuse_every_command_every_argument_every_state(server, connect, state, variant):
    names = command_names(server)
    assert {"join", "nick", "game", "move", "accept", "resign", "rematch"} <= set(names)
    subject = Subject(server, connect, state)
    for name in names:
        line = VARIANTS[variant](name, PLAUSIBLE.get(name, "general"))
        answer, closed = answer_to(subject.peer, line)
        assert_readable(line, answer, closed, name)
        if closed or any(isinstance(m, STATE_CHANGES) or (isinstance(m, p.Reply) and m.code == 0)
                         for m in answer):
            subject.close()  # it moved: the next command starts again from `state`
            subject = Subject(server, connect, state)
    subject.close()


def test_abuse_line_sizes_are_exact(server, connect):
    peer = connect(server)
    peer.enter("general", "alice")
    longest = "x" * (p.MAX_TEXT)
    assert peer.say(longest).text == longest
    answer, _ = answer_to(peer, "x" * (p.MAX_TEXT + 1))
    assert [type(m) for m in answer] == [p.Error] and f"limit is {p.MAX_TEXT}" in answer[0].text
    for size, refused in ((LONGEST, False), (p.MAX_LINE, True)):
        answer, _ = answer_to(peer, "/join " + _sized("/join ", size, "a"))
        assert len(answer) == 1, answer
        if refused:
            assert isinstance(answer[0], p.Error) and "longer than" in answer[0].text
        else:
            assert isinstance(answer[0], p.Reply) and answer[0].code == 1, answer
    assert peer.say("still here").nick == "alice"


@pytest.mark.parametrize("line", [
    "/ｊｏｉｎ general", "/јoin general", "/join\u200b general", "/\u202ejoin general",
    "/jo\u0301in general", "/jo\x00in general", "/" + "j" * 900, "/", "/ general", "/٥", "/²",
    "/\u00a0join general",
])
def test_abuse_disguised_command_names_are_unknown(server, connect, line):
    peer = connect(server)
    peer.enter("general", "alice")
    answer, _ = answer_to(peer, line)
    assert len(answer) == 1 and isinstance(answer[0], p.Reply), answer
    reply = answer[0]
    assert reply.code == 1 and "there is no command" in reply.text, reply
    assert peer.say("still here").room == "general"


def test_abuse_command_names_ignore_case(server, connect):
    peer = connect(server)
    peer.send("/JOIN general")
    assert peer.expect(p.Here) == p.Here("general", p.NOBODY)
    peer.send("/NiCk alice")
    reply = peer.expect(lambda m: isinstance(m, p.Reply) and m.command == "nick")
    assert reply == p.Reply("nick", 0, "you are now alice in general")


# ------------------------------------------------------------------ wrong state
def refusal(peer, line: str) -> str:
    answer, closed = answer_to(peer, line)
    assert not closed and len(answer) == 1, answer
    msg = answer[0]
    assert isinstance(msg, (p.Reply, p.Error)), msg
    if isinstance(msg, p.Reply):
        assert msg.code == 1, msg
    return msg.text


def test_abuse_wrong_state_in_the_lobby(server, connect):
    peer = connect(server)
    lobby = "you are in the lobby: /join ROOM first, then /nick NAME"
    assert refusal(peer, "hello?") == "you are in the lobby: /join ROOM first (/list shows the rooms)"
    assert refusal(peer, "/leave") == "you are not in a room"
    assert refusal(peer, "/who") == "you are in the lobby: /who ROOM, or /join ROOM first"
    for line in ("/move 5", "/accept", "/decline", "/resign", "/rematch",
                 "/game tictactoe bob", "/game tictactoe bot"):
        assert refusal(peer, line) == lobby, line
    assert refusal(peer, "/games") == "you are in the lobby: /join ROOM first"
    assert refusal(peer, "/5") == "there is no command /5; /help lists the commands"


def test_abuse_wrong_state_in_a_room_without_a_nick(server, connect):
    peer = connect(server)
    peer.enter("general")
    no_nick = "pick a nick first: /nick NAME (you are in general)"
    assert refusal(peer, "hello?") == "pick a nick before you talk in general: /nick NAME"
    for line in ("/accept", "/decline", "/resign", "/rematch", "/game tictactoe bot"):
        assert refusal(peer, line) == no_nick, line
    assert refusal(peer, "/move 5") == no_nick
    peer.send("/nick alice")
    assert peer.expect(p.Reply).code == 0
    assert peer.say("now I can talk").nick == "alice"


def test_abuse_wrong_state_with_a_nick_and_no_game(server, connect):
    peer = connect(server)
    peer.enter("general", "alice")
    assert refusal(peer, "/move 5") == "no game is running in general; /game lists the games you can start"
    assert refusal(peer, "/guess e") == "no game is running in general; /game lists the games you can start"
    assert refusal(peer, "/5") == "no game is running in general; /game lists the games you can start"
    assert refusal(peer, "/accept") == "nobody has challenged you in general"
    assert refusal(peer, "/accept bob") == "bob has not challenged you"
    assert refusal(peer, "/decline") == "nobody has challenged you in general"
    assert refusal(peer, "/resign") == "you are not playing a game here"
    assert refusal(peer, "/rematch") .startswith("you have no finished two-player game in general to play again")
    assert refusal(peer, "/game tictactoe alice").startswith("you can't challenge yourself")
    assert refusal(peer, "/game tictactoe dave") == "there is no dave in general; /who lists who is here"
    assert refusal(peer, "/game chess") == "no game 'chess': available games are hangman, tictactoe"
    assert peer.say("fine").nick == "alice"


def test_abuse_nick_in_the_lobby_is_kept_for_the_next_room(server, connect):
    peer = connect(server)
    peer.send("/nick alice")
    assert peer.expect(p.Reply) == p.Reply("nick", 0, "you will be alice in the room you join next")
    peer.send("/join general")
    assert peer.expect(p.Reply) == p.Reply("join", 0, "you joined general as alice")


def test_abuse_rematch_after_a_room_game_is_refused(server, connect):
    alice, bob = connect(server), connect(server)
    alice.enter("general", "alice")
    bob.enter("general", "bob")
    alice.send("/game hangman ox")
    bob.expect(p.Board)
    bob.send("/move ox")
    bob.expect(p.GameOver)
    assert refusal(bob, "/rematch").startswith("you have no finished two-player game in general")


# ------------------------------------------------------------------ names
LOOKALIKES = [
    "аlice",          # Cyrillic а
    "ａｌｉｃｅ",       # fullwidth
    "ali\u200bce",    # zero-width space
    "alice\u200d",    # zero-width joiner
    "\u202ealice",    # right-to-left override
    "ali\u0301ce",    # combining acute
    "ali\x00ce",      # NUL
    "alıce",          # dotless i
    "ſam",            # long s: casefolds to "sam"
    "\u212aate",      # Kelvin sign: lower-cases to "k"
    "al ice",         # a space
    "ali\tce",        # a tab
    "ａ",
    "al\u00a0ice",    # no-break space (around a name, spaces are trimmed)
    "bob\ufeff",      # byte order mark
    "١٢٣",            # Arabic-Indic digits
]


@pytest.mark.parametrize("name", LOOKALIKES, ids=[ascii(n) for n in LOOKALIKES])
def test_abuse_lookalike_names_are_refused(server, connect, name):
    peer = connect(server)
    peer.send(f"/join {name}")
    reply = peer.expect(p.Reply)
    assert (reply.command, reply.code) == ("join", 1), reply
    assert "may only use ASCII letters (A-Z, a-z), digits" in reply.text, reply
    peer.enter("general")
    peer.send(f"/nick {name}")
    reply = peer.expect(p.Reply)
    assert (reply.command, reply.code) == ("nick", 1), reply
    assert "may only use ASCII letters (A-Z, a-z), digits" in reply.text or "too long" in reply.text, reply
    peer.send("/list")
    assert peer.expect(p.RoomCount).count == 1
    assert peer.next() == p.RoomEntry("general", 1)


def test_abuse_nick_case_variants_clash(server, connect):
    alice, other = connect(server), connect(server)
    alice.enter("general", "alice")
    other.enter("general")
    for variant in ("Alice", "ALICE", "aLiCe", "alice"):
        other.send(f"/nick {variant}")
        reply = other.expect(p.Reply)
        assert (reply.command, reply.code) == ("nick", 2), reply
        assert f"nick '{variant}' is taken in general" in reply.text
    for reserved in ("bot", "BOT", "Bot"):
        other.send(f"/nick {reserved}")
        assert other.expect(p.Reply) == p.Reply("nick", 1, f"{reserved!r} is reserved")
    alice.send("/nick ALICE")  # your own nick in another case is a rename, not a clash
    assert alice.expect(p.Reply) == p.Reply("nick", 0, "you are now ALICE in general")
    other.expect(p.Renamed)
    other.send("/who")
    assert other.expect(p.Members).count == 1
    assert other.next() == p.Member("general", "ALICE")


def test_abuse_room_case_variants_are_one_room(server, connect):
    alice, bob = connect(server), connect(server)
    alice.enter("General", "alice")
    bob.send("/join #GENERAL")
    assert bob.expect(p.Here) == p.Here("General", p.NOBODY)
    bob.send("/nick ALICE")
    assert bob.expect(lambda m: isinstance(m, p.Reply) and m.command == "nick").code == 2
    bob.send("/list")
    assert bob.expect(p.RoomCount).count == 1
    assert bob.next() == p.RoomEntry("General", 2)
