"""The game host, sans I/O: challenges, running games, moves, the bot and scores, per room.

`GameHost()` is handed to ChatState, which passes it the game commands and tells it
of leaves and nick changes; it drives games only through game.registry and the Game
interface: it never names a game.  Must not import socket, selectors, select,
curses or threading.
"""
from __future__ import annotations

import itertools
import json
import logging
import random
import time
from collections.abc import Callable

import game  # noqa: F401  (importing the package registers the built-in games)
from chat import protocol as p
from chat.server.matches import (BOT_SEAT, Challenge, Match, Person, Records, Score, fit,
                                 fit_text, fitness, how_to_start, leaver_note, left_note, redact,
                                 rematch_problem, score_key, where_problem, why_not)
from chat.server.far_games import (DO, LEFT, PLAYS, RENAMED, RESIGNS, Cluster, Far,
                                   challenge_record, do, game_record, replay)
from chat.server.presence import GONE, Presence
from chat.server.state import Outbox, Room, Session, key
from chat.server.history import History
from chat.width import sanitize
from game import registry
from game.base import Game, GameError

GONE_GAME = "the server it ran on stopped answering"

BOT = "bot"
MAX_BOT_MOVES = 64  # consecutive bot moves in one step: a guard against a game that loops
MAX_REPLY = 400  # characters of a game's error sentence echoed back
MAX_SCORES = 10_000  # running scores kept (pairs of players per room and game)
GAMES = "running"  # the store's table of running games, by game id
FORFEITS = "forfeits"  # what a player does in a game: PLAYS, RESIGNS or this
SCORES = "scores"  # the store's table of running scores, by room, game and the pair's tokens
log = logging.getLogger("parlor.server")

HELP = [
    "Games (a game's board and moves are shown to the whole room):",
    "  /game              the games you can play, and how to start one",
    "  /game NAME NICK    challenge NICK (/game NAME alone: anyone here; NAME bot: the bot)",
    "  /accept [NICK]     accept a challenge (/decline [NICK] refuses, or withdraws yours)",
    "  /move TEXT         make a move (also /m, /guess; /5 is /move 5)",
    "  /resign            give up the game you are playing",
    "  /rematch           play your last game again, the other side starting",
    "  /games             the games running here, with their boards",
]


class GameHost:
    """The game commands of every room; ChatState hands it their messages and tells it
    of nick changes and leaves (the RoomGames interface in chat.server.state)."""
    handles = frozenset({p.StartGame, p.ListGames, p.Accept, p.Decline, p.Move, p.Resign,
                         p.Rematch})
    reserved_nicks = frozenset({key(BOT)})
    help_lines = HELP

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()
        self.matches: list[Match] = []  # running games, oldest first
        self.challenges: list[Challenge] = []
        self.records = Records(MAX_SCORES, self._score_gone)  # scores, last duels
        self.clock: Callable[[], float] = time.time
        self._store: History | None = None  # where running games and scores are kept
        self._score_names: dict[tuple, str] = {}  # (room key, score key) -> its key there
        self._ids = itertools.count(1)
        self.cluster = Cluster(BOT)  # the other servers (several servers), if any
        self._rooms: dict[str, Room] = {}
        self._handlers = {
            p.StartGame: self._on_game, p.ListGames: self._on_games, p.Accept: self._on_accept,
            p.Decline: self._on_decline, p.Move: self._on_move, p.Resign: self._on_resign,
            p.Rematch: self._on_rematch,
        }

    def handle(self, session: Session, msg: object, out: Outbox) -> None:
        self._handlers[type(msg)](session, msg, out)

    # -------------------------------------------------------------- lookups
    def _match_of(self, room: Room, nick: str) -> Match | None:
        """The oldest running game `nick` plays in `room` (a duel, and maybe the room game)."""
        return next((m for m in self.matches if m.room is room and m.seats(nick)), None)

    def _duel_of(self, room: Room, nick: str) -> Match | None:
        """The duel `nick` plays in `room`: one at a time (the room game does not count)."""
        return next((m for m in self.matches
                     if m.room is room and m.game.duel and m.seats(nick)), None)

    def _open_match(self, room: Room) -> Match | None:
        """The room's running game for everyone (not a duel), if any."""
        return next((m for m in self.matches if m.room is room and not m.game.duel), None)

    def _route(self, session: Session, text: str) -> tuple[Match | None, str, str]:
        """(game, move text, problem) for a move: a game named by its id or name first
        (`/move g2 E`), else the one whose parser and rules take the text, else ask."""
        nick = session.nick
        games = self._playable(session)
        if not games:
            return None, text, self._no_route(session)
        first, _, rest = text.strip().partition(" ")
        named = [m for m in games if key(first) in (key(m.id), key(m.game.name))]
        if len(named) == 1 and rest.strip():
            return named[0], rest.strip(), ""
        fits = {m.id: fitness(m.game, nick, text) for m in games}
        best = [m for m in games if fits[m.id] == max(fits.values())]
        if len(best) == 1:
            return best[0], text, ""
        if not fits[best[0].id][0]:  # legal in none of them: say why, game by game
            return None, text, "; ".join(f"{m.game.name} ({m.id}): "
                                         f"{why_not(m.game, nick, text)}" for m in best)
        return None, text, "which game? " + ", or ".join(
            f"{p.typed(p.Move, f'{m.id} {text.strip()}')} for {m.game.name} ({m.id})"
            for m in best)

    def _playable(self, session: Session) -> list[Match]:
        """The games here `session` may move in: theirs, and the room game."""
        nick, room = session.nick, session.room
        return [m for m in self.matches if m.room is room and nick is not None
                and (m.seats(nick) or not m.game.duel)]

    def _new_id(self) -> str:
        node = self.cluster.node
        if node:  # one count for the whole cluster (or, Redis away, this node's own)
            return self.cluster.presence.game_id() or f"g{next(self._ids)}-{node}"
        return f"g{next(self._ids)}"

    # -------------------------------------------------------------- games on other servers
    # In a cluster, a game is run by one node: the challenger's (who starts it).  The
    # room's index (far_games) tells the other nodes what runs where; their players'
    # game commands are forwarded to that node through the room's stream, where a
    # stand-in session plays for them and its answers go back to their node.
    def _far_games(self, room: Room) -> tuple[list[Match], list[Far]]:
        """The room's games other servers run, each replayed here from its moves (the
        same board as there), and their challenges."""
        running, waiting = [], []
        for far in self.cluster.entries(room):
            if not far.running:
                waiting.append(far)
                continue
            try:
                running.append(Match(far.id, room, far.replay(), far.bot))
            except (GameError, ValueError, TypeError):
                continue  # (one that does not replay here: its rules differ)
        return running, waiting

    def on_far(self, room_key: str, node: str, far_key: str, nick: str, text: str,
               out: Outbox) -> None:
        """What the player `nick` (session `far_key` on the server `node`) did about a
        game this server runs, forwarded in the room's order: a stand-in does it here,
        and what it is told goes back to them."""
        room = self._rooms.get(room_key)
        kind, _, rest = text.partition(" ")
        if room is None:  # (the room's games went with its last member here)
            msg = p.parse_client_line(rest) if kind == DO else None
            if type(msg) in self.handles:
                out.sends.append((out.far(room_key, node, far_key), p.reply(
                    msg, 1, "that game is over: nobody who played it is here any more")))
            return
        standin = self.cluster.standin(room, node, far_key, nick)
        start = len(out.sends)
        if kind == DO:
            msg = p.parse_client_line(rest)
            if type(msg) in self.handles:
                self.handle(standin, msg, out)
        elif kind == LEFT:
            self._forfeit_all(standin, room, nick, out)
        elif kind == RENAMED:
            self.on_renamed(standin, rest, out)
        for i in range(start, len(out.sends)):
            if out.sends[i][0] == (standin.id,):
                out.sends[i] = (out.far(room_key, node, far_key), out.sends[i][1])
        if kind == LEFT:  # (by their node, or for a dead one by nick: "-" its key)
            self.cluster.drop_standins(room, nick)

    def node_gone(self, node: str, freed: list[tuple[str, str, str]], out: Outbox) -> None:
        """The server `node` stopped answering and its users' nicks were freed (room key,
        room, nick): the games it ran end (its players forfeit: a duel is the other
        player's; a room game ends), and those its players sit in elsewhere hear they left."""
        rooms: dict[str, tuple[str, set[str]]] = {}
        for room_key, name, nick in freed:
            rooms.setdefault(room_key, (name, set()))[1].add(nick)
        for room_key, (name, nicks) in rooms.items():
            room = self._rooms.get(room_key) or Room(name)
            for far in self.cluster.all_entries(room_key):
                if far.node == node:
                    self._end_far(room, far, nicks, out)
                    continue
                for nick in sorted(n for n in nicks if far.involves(n)):
                    out.forward(room_key, far.node, "-", nick, f"{LEFT} {GONE}", node)

    def _end_far(self, room: Room, far: Far, nicks: set[str], out: Outbox) -> None:
        """A game or challenge whose server is gone: forfeited by its players who were
        there, told to the room, and out of the index."""
        self.cluster.index(room, far.id, None)
        if far.duel:
            self.cluster.release_players(room, far.id, far.players)
        if not far.running:
            _note(room, far.id, f"{far.describe()} is off: {GONE_GAME}", out)
            return
        try:
            game = far.replay()
        except GameError:
            return
        for nick in game.players if far.duel else ():
            if nick in nicks and not game.is_over():
                game.forfeit(nick)
        match = Match(far.id, room, game, far.bot)
        for msg in self._view(match):
            out.to_room(room, msg)
        outcome = game.outcome()
        text = f"{far.name} ends: {GONE_GAME}" if outcome is None else outcome.summary
        out.to_room(room, fit(p.GameOver(room.name, far.id, sanitize(text))))

    def _add_challenge(self, challenge: Challenge) -> None:
        self.challenges.append(challenge)
        self.cluster.index(challenge.room, challenge.id, challenge_record(
            self.cluster.node, challenge.cls.name, challenge.challenger, challenge.target))

    def _remove_challenge(self, challenge: Challenge) -> None:
        self.challenges.remove(challenge)
        self.cluster.index(challenge.room, challenge.id, None)

    # -------------------------------------------------------------- /game
    def _on_game(self, session: Session, msg: p.StartGame, out: Outbox) -> None:
        args = msg.args
        if not args:
            self._list_games(session, out)
            return
        name, _, rest = args.partition(" ")
        try:
            cls = registry.get(name)
        except GameError as exc:
            _refuse(session, p.StartGame, str(exc), out)
            return
        # One duel at a time; a duel player may still start (or join) the room game.
        problem = where_problem(session) or (self._busy_problem(session) if cls.duel else None)
        if problem:
            _refuse(session, p.StartGame, problem, out)
        elif cls.duel:
            self._challenge(session, cls, rest.strip(), out)
        else:
            self._start_open(session, cls, rest, out)

    def _list_games(self, session: Session, out: Outbox) -> None:
        out.to(session.id, p.Info("Games you can play:"))
        for cls in registry.available():
            out.to(session.id, p.Info(fit_text(f"  {cls.name}: {cls.summary}. {how_to_start(cls)}")))
        out.to(session.id, p.Info("Then /move TEXT (also /m, /guess, /5) plays; /games shows "
                                  "what is running here."))

    def _busy_problem(self, session: Session) -> str | None:
        match = self._duel_of(session.room, session.nick) or \
            self.cluster.duel(session.room, session.nick)
        if match is None:
            return None
        return f"you are already playing {_name(match)}: finish it or /resign first"

    def _challenge(self, session: Session, cls: type[Game], target: str, out: Outbox) -> None:
        if key(target) == BOT:
            self._start_bot(session, cls, out)
            return
        other = None
        if target:
            other, problem = self._opponent(session, cls, target)
            if problem:
                _refuse(session, p.StartGame, problem, out)
                return
        me, room = session.nick, session.room
        self._cancel(room, lambda c: key(c.challenger) == key(me), f"{me} made a new challenge", out)
        challenge = Challenge(self._new_id(), room, cls, me, other)
        self._add_challenge(challenge)
        if other:
            note = f"{me} challenges {other} to {cls.name}: {other}, type /accept or /decline"
        else:
            note = f"{me} challenges anyone in {room.name} to {cls.name}: type /accept to play"
        _note(room, challenge.id, note, out)

    def _opponent(self, session: Session, cls: type[Game], target: str) -> tuple[str | None, str]:
        """The nick `target` names in the room, or a sentence saying why not."""
        room = session.room
        problem = p.nick_problem(target)
        if problem:
            return None, f"{problem}; usage: /game {cls.name} [NICK|bot]"
        if key(target) == key(session.nick):
            return None, f"you can't challenge yourself; /game {cls.name} bot plays the bot" \
                if cls.has_bot else "you can't challenge yourself"
        other = room.nicks.get(key(target))
        far = self.cluster.presence.where(key(room.name), target) if other is None else None
        if other is None and far is None:
            return None, f"there is no {target} in {room.name}; /who lists who is here"
        nick = other.nick if other is not None else far[2]  # (as they spell it)
        busy = self._duel_of(room, nick) or next(
            (f for f in self.cluster.entries(room) if f.running and f.duel and f.seats(nick)), None)
        if busy:
            return None, f"{nick} is already playing {_name(busy)}"
        return nick, ""

    def _start_bot(self, session: Session, cls: type[Game], out: Outbox) -> None:
        if not cls.has_bot:
            _refuse(session, p.StartGame, f"{cls.name} has no bot; challenge someone with "
                                     f"/game {cls.name} NICK", out)
            return
        self._start_with_bot(session, cls, (session.nick, BOT), p.StartGame, out)

    def _start_with_bot(self, session: Session, cls: type[Game], players: tuple[str, ...],
                        command: type, out: Outbox) -> None:
        game_id = self._new_id()
        problem = self.cluster.claim_players(session, game_id, (session.nick,))
        if problem:
            _refuse(session, command, problem, out)
        else:
            self._start(session.room, cls, players, "", out, bot=True, match_id=game_id)

    def _start_open(self, session: Session, cls: type[Game], setup: str, out: Outbox) -> None:
        """A game for the whole room, started at once; `setup` is never echoed (a secret word)."""
        running = self._open_match(session.room) or next(
            (f for f in self.cluster.entries(session.room) if f.running and not f.duel), None)
        if running:
            _refuse(session, p.StartGame, f"{_name(running)} is already running in "
                                     f"{session.room.name}: join in with /move", out)
            return
        problem = self._start(session.room, cls, (session.nick,), setup, out)
        if problem:
            _refuse(session, p.StartGame, redact(problem, setup), out)

    # -------------------------------------------------------------- starting and ending
    def _start(self, room: Room, cls: type[Game], players: tuple[str, ...], setup: str,
               out: Outbox, bot: bool = False, match_id: str | None = None,
               taken_by: str = "") -> str | None:
        """Start and announce a game; returns the game's sentence if it refused the setup."""
        seed = self.rng.getrandbits(64)  # the game's own randomness, kept to replay it
        try:
            started = cls.start(players, setup, random.Random(seed))
        except GameError as exc:
            return str(exc)
        seated = [None if bot and nick == BOT else self.cluster.holder(room, nick)
                  for nick in started.players] if started.duel else []
        match = Match(match_id or self._new_id(), room, started, bot,
                      tuple(BOT_SEAT if s is None else s.id for s in seated), taken_by, setup,
                      seed, tuple(BOT_SEAT if s is None else s.token for s in seated))
        self.matches.append(match)
        self._keep(match)
        for nick in players:
            self._cancel(room, lambda c, n=nick: c.involves(n), f"{nick} is playing now", out)
        self._broadcast(match, self._start_note(match), out)
        self._bot_moves(match, out)
        return None

    def _start_note(self, match: Match) -> str:
        game = match.game
        if not game.duel:
            return f"{game.players[0]} starts {game.name} for everyone here: {game.move_help}"
        note = f"{game.name} starts: {' vs '.join(game.players)}"
        if game.to_move:
            note += f", {game.to_move} moves first"
        score = self.records.score(key(match.room.name), score_key(game.name, match.people))
        if score:
            note += f" ({score.line(game.players, match.people)})"
        return f"{note}. {game.move_help}"

    def _broadcast(self, match: Match, note: str, out: Outbox) -> None:
        """The room sees what happened, then the game's state and board; then the end."""
        room = match.room
        if note:
            _note(room, match.id, note, out)
        for msg in self._view(match):
            out.to_room(room, msg)
        outcome = match.game.outcome()
        if outcome is not None:
            out.to_room(room, fit(p.GameOver(room.name, match.id, sanitize(outcome.summary))))
            self._finish(match, out)

    def _view(self, match: Match) -> list[p.ServerMessage]:
        """GAME, TURN and the BOARD for one game, each line fitted to the limit."""
        room, gid, game = match.room.name, match.id, match.game
        rows = tuple(fit(p.BoardRow(room, gid, sanitize(row))).text for row in game.render())
        hints = " ".join(sanitize(h) for h in self._hints(match))
        status = "; ".join([game.status(), *self._waiting(match)])
        return [fit(p.GameState(room, gid, game.name, game.players, sanitize(status))),
                fit(p.Turn(room, gid, game.to_move or p.NOBODY, hints)),
                p.BoardView(room, gid, rows)]

    def _waiting(self, match: Match) -> list[str]:
        """`waiting for ann to come back, 1:45` for each player whose connection dropped."""
        if not match.game.duel:
            return []
        waits = []
        for nick in match.game.players:
            held = match.room.nicks.get(key(nick))
            if held is not None and held.held_until is not None:
                left = max(0, int(held.held_until - self.clock()))
                waits.append(f"waiting for {nick} to come back, {left // 60}:{left % 60:02}")
        return waits

    def on_seat(self, session: Session, room: Room, out: Outbox) -> None:
        """A player's connection dropped, or they came back: the room sees their games."""
        for match in [m for m in self.matches if m.room is room and m.seats(session.nick)]:
            for msg in self._view(match):
                out.to_room(room, msg)

    def _hints(self, match: Match) -> list[str]:
        """Moves for the side to move; when anyone may move, for someone here who can."""
        game = match.game
        nick = game.to_move or next(
            (n for n in match.room.member_nicks() if game.can_move(n)), None)
        return game.hint_moves(nick) if nick else []

    def _finish(self, match: Match, out: Outbox) -> None:
        self.matches.remove(match)
        self._unkeep(match)
        game, room = match.game, match.room
        for person in match.people:  # only a duel's: /rematch is for duels
            if person != BOT_SEAT:
                self.records.set_last_game(key(room.name), person, match)
        if game.duel:
            line = self._record(match)
            _note(room, match.id, f"{line}; /rematch to play again", out)

    def _record(self, match: Match) -> str:
        game, people = match.game, match.people
        score = self.records.tally(key(match.room.name), score_key(game.name, people))
        winners = game.outcome().winners
        for nick, person in zip(game.players, people):
            if nick in winners:
                score.wins[person] = score.wins.get(person, 0) + 1
        if not winners:
            score.draws += 1
        self._keep_score(key(match.room.name), score_key(game.name, people), score, match)
        return score.line(game.players, people)

    def _bot_moves(self, match: Match, out: Outbox) -> None:
        """The bot answers at once, each of its moves announced on its own."""
        for _ in range(MAX_BOT_MOVES):
            game = match.game
            if not match.bot or game.is_over() or game.to_move != BOT:
                return
            text = game.bot_move(self.rng)
            if text is None:
                return
            self._broadcast(match, self._act(match, PLAYS, BOT, text), out)

    # -------------------------------------------------------------- /accept, /decline, /rematch
    def _on_accept(self, session: Session, msg: p.Accept, out: Outbox) -> None:
        problem = where_problem(session) or self._busy_problem(session)
        if problem:
            _refuse(session, p.Accept, problem, out)
            return
        if not self._mine(session, msg.nick, True) and \
                (far := self.cluster.challenges(session, msg.nick, True)):
            self._answer_far(session, far, p.Accept, out)
            return
        challenge = self._pick(session, msg.nick, p.Accept, True, out)
        if challenge is not None:
            self._take(session, challenge, p.Accept, out)

    def _answer_far(self, session: Session, far: list[Far], command: type, out: Outbox) -> None:
        """Accept (or decline) a challenge another server runs: there, for `session`.
        An open one's seat is taken here first, atomically, so two servers' takers
        cannot both have it."""
        if len(far) > 1:
            names = ", ".join(f.challenger for f in far)
            _refuse(session, command, f"several challenges wait for you (from {names}): "
                                      f"{p.names_of(command)[0]} NICK", out)
            return
        problem = self.cluster.claim_seat(session, far[0].id, far[0].challenger, far[0].name) \
            if command is p.Accept and not far[0].target else None
        if problem:
            _refuse(session, command, problem, out)
        else:
            self.cluster.forward_msg(session, far[0], command(far[0].challenger), out)

    def _take(self, session: Session, challenge: Challenge, command: type, out: Outbox) -> None:
        busy = self._duel_of(session.room, challenge.challenger) or \
            self.cluster.duel(session.room, challenge.challenger)
        if busy:
            _refuse(session, command, f"{challenge.challenger} is playing {_name(busy)} "
                                      "now; try again when it is over", out)
            return
        players = challenge.players(session.nick)
        problem = self.cluster.claim_players(session, challenge.id, players)
        seat = None if problem or challenge.target is not None else \
            self.cluster.claim_seat(session, challenge.id, challenge.challenger,
                                    challenge.cls.name)
        if seat:
            self.cluster.release_players(session.room, challenge.id, players)
        if problem or seat:
            _refuse(session, command, problem or seat, out)
            return
        self._remove_challenge(challenge)
        taker = session.nick if challenge.target is None else ""
        self._start(session.room, challenge.cls, players, "", out, match_id=challenge.id,
                    taken_by=taker)

    def _pick(self, session: Session, args: str, command: type, open_ok: bool,
              out: Outbox) -> Challenge | None:
        """The one challenge to `session` that `args` (a challenger, or nothing) means."""
        room, nick = session.room, session.nick
        mine = self._mine(session, args, open_ok)
        if len(mine) == 1:
            return mine[0]
        taken = self._taken(room, args) if open_ok and not mine else None
        if mine:
            names = ", ".join(c.challenger for c in mine)
            _refuse(session, command, f"several challenges wait for you (from {names}): "
                                      f"{p.names_of(command)[0]} NICK", out)
        elif taken:
            _refuse(session, command, taken, out)
        elif args and not p.nick_problem(args):
            _refuse(session, command, f"{args} has not challenged you", out)
        else:
            _refuse(session, command, f"nobody has challenged you in {room.name}", out)
        return None

    def _mine(self, session: Session, challenger: str, open_ok: bool) -> list[Challenge]:
        """The challenges to `session` here (from `challenger`, if named)."""
        room, nick = session.room, session.nick
        return [c for c in self.challenges if c.room is room and c.is_for(nick, open_ok)
                and (not challenger or key(c.challenger) == key(challenger))]

    def _taken(self, room: Room, challenger: str) -> str | None:
        """Why the open challenge (from `challenger`, or the latest) cannot be accepted
        now: someone took it, and they are playing it; None if there is none such."""
        for match in reversed(self.matches):
            if match.room is not room or not match.taken_by or match.game.is_over():
                continue
            rival = next(n for n in match.game.players if n != match.taken_by)
            if not challenger or key(challenger) == key(rival):
                name = match.game.name
                return (f"{rival}'s challenge to anyone ({name}) was already taken by "
                        f"{match.taken_by}; {p.typed(p.StartGame, name)} makes your own")
        for far in self.cluster.entries(room):
            rival = next((n for n in far.players if n != far.taken_by), "")
            if far.taken_by and (not challenger or key(challenger) == key(rival)):
                return (f"{rival}'s challenge to anyone ({far.name}) was already taken by "
                        f"{far.taken_by}; {p.typed(p.StartGame, far.name)} makes your own")
        return None

    def _on_decline(self, session: Session, msg: p.Decline, out: Outbox) -> None:
        args = msg.nick
        problem = where_problem(session)
        if problem:
            _refuse(session, p.Decline, problem, out)
            return
        room, nick = session.room, session.nick
        own = [c for c in self.challenges if c.room is room and key(c.challenger) == key(nick)]
        waiting = [c for c in self.challenges if c.room is room and c.is_for(nick, False)]
        if own and not waiting and not args:
            mine = own[0]
            self._drop(mine, f"{nick} withdraws the challenge to {mine.target or 'anyone'} "
                             f"({mine.cls.name})", out)
            return
        open_ones = [c for c in self.challenges if c.room is room and c.is_for(nick)
                     and c.target is None and (not args or key(c.challenger) == key(args))]
        if open_ones and not waiting:
            _refuse(session, p.Decline, _open_to_anyone(open_ones), out)
            return
        far = [] if waiting else self.cluster.challenges(session, args, True)
        if far and all(f.target for f in far):
            self._answer_far(session, far, p.Decline, out)
            return
        if far:  # (open ones only)
            _refuse(session, p.Decline, _open_to_anyone(far), out)
            return
        challenge = self._pick(session, args, p.Decline, False, out)
        if challenge is not None:
            self._drop(challenge, f"{nick} declines {challenge.describe(for_whom=False)}", out)

    def _on_rematch(self, session: Session, msg: p.Rematch, out: Outbox) -> None:
        problem = where_problem(session) or self._busy_problem(session)
        if problem:
            _refuse(session, p.Rematch, problem, out)
            return
        room, nick = session.room, session.nick
        asked = [c for c in self.challenges if c.room is room and c.rematch and c.is_for(nick)]
        if asked:
            self._take(session, asked[0], p.Rematch, out)
            return
        last, problem = self._replayable(session)
        if problem:
            _refuse(session, p.Rematch, problem, out)
            return
        players = _rematch_seats(room, last)
        if last.bot:
            self._start_with_bot(session, type(last.game), players, p.Rematch, out)
        else:
            self._ask_rematch(session, last, players, out)

    def _replayable(self, session: Session) -> tuple[Match | None, str | None]:
        """The session's last duel, if its rival is still here; else why not."""
        room = session.room
        last = self.records.last_game(key(room.name), session.id)
        if last is None or _rematch_seats(room, last) is not None:
            return last, rematch_problem(last, room)
        rival = _rival(last, session.id)
        if key(rival) in room.nicks:  # someone else took the nick: no game to play again
            return None, rematch_problem(None, room)
        name = last.game.name
        return None, self._opponent(session, type(last.game), rival)[1] or (
            f"{rival} is on another server of this chat: /rematch across servers is not "
            f"possible yet; {p.typed(p.StartGame, f'{name} {rival}')} challenges them again")

    def _ask_rematch(self, session: Session, last: Match, players: tuple[str, ...],
                     out: Outbox) -> None:
        room, me, name = session.room, session.nick, last.game.name
        other = next(n for n in players if n != me)
        nick, problem = self._opponent(session, type(last.game), other)
        if problem:
            _refuse(session, p.Rematch, problem, out)
            return
        self._cancel(room, lambda c: key(c.challenger) == key(me), f"{me} asked for a rematch", out)
        challenge = Challenge(self._new_id(), room, type(last.game), me, nick,
                              challenger_first=players[0] == me, rematch=True)
        self._add_challenge(challenge)
        people = tuple(reversed(last.people))
        score = (self.records.score(key(room.name), score_key(name, people)) or Score())
        score = score.line(players, people)
        _note(room, challenge.id, f"{me} wants a rematch of {name} with {nick} ({score}), "
                                  f"{players[0]} moving first: {nick}, type /rematch or /accept, "
                                  "or /decline", out)

    def _drop(self, challenge: Challenge, note: str, out: Outbox) -> None:
        self._remove_challenge(challenge)
        _note(challenge.room, challenge.id, note, out)

    def _cancel(self, room: Room, which: Callable[[Challenge], bool], why: str,
                out: Outbox) -> None:
        for challenge in [c for c in self.challenges if c.room is room and which(c)]:
            self._drop(challenge, f"{challenge.describe()} is off: {why}", out)

    # -------------------------------------------------------------- /move, /resign, /games
    def _on_move(self, session: Session, msg: p.Move, out: Outbox) -> None:
        match, args, problem = self._route(session, msg.text)
        far = self.cluster.seat(session) if match is None and self.cluster.node and \
            not where_problem(session) and not self._playable(session) else None
        if far is not None:  # (a game here comes first)
            self.cluster.forward_msg(session, far, msg, out)
            return
        if match is None:
            _refuse(session, p.Move, problem, out)
            return
        if not args.strip():
            _refuse(session, p.Move, f"what is your move? {match.game.move_help}", out)
            return
        try:
            sentence = self._act(match, PLAYS, session.nick, args)
        except GameError as exc:
            _refuse(session, p.Move, str(exc), out)
            return
        self._broadcast(match, sentence, out)
        self._bot_moves(match, out)

    def _no_route(self, session: Session) -> str:
        problem = where_problem(session)
        if problem:
            return problem
        room, nick = session.room, session.nick
        waiting = next((c for c in self.challenges if c.room is room and c.involves(nick)), None)
        if waiting is not None:  # nothing to move in yet: the challenge waits for an answer
            return (f"{waiting.describe()} waits for an answer: the game starts once "
                    f"{waiting.target or 'someone'} types /accept")
        if not any(m.room is room for m in self.matches):
            return f"no game is running in {room.name}; /game lists the games you can start"
        return "you are not playing; /games shows who is"

    def _on_resign(self, session: Session, msg: p.Resign, out: Outbox) -> None:
        args = msg.game
        problem = where_problem(session)
        seated = [] if problem else [m for m in self.matches
                                     if m.room is session.room and m.seats(session.nick)]
        named = [m for m in seated if key(args) in (key(m.id), key(m.game.name))]
        match = named[0] if len(named) == 1 else seated[0] if len(seated) == 1 else None
        far = None if problem or seated else self.cluster.seated(session)
        if far is not None:
            self.cluster.forward_msg(session, far, msg, out)
            return
        if match is None:
            if len(seated) > 1:
                problem = "you are playing " + " and ".join(
                    f"{m.game.name} ({m.id})" for m in seated) + ": " + " or ".join(
                    p.typed(p.Resign, m.id) for m in seated)
            _refuse(session, p.Resign, problem or "you are not playing a game here", out)
            return
        self._act(match, RESIGNS, session.nick)
        # A resignation that ends the game is told by its GAMEOVER line alone.
        note = ("" if match.game.is_over()
                else f"{session.nick} gives up on {match.game.name}; play goes on")
        self._broadcast(match, note, out)

    def _on_games(self, session: Session, msg: p.ListGames, out: Outbox) -> None:
        room = session.room
        if room is None:
            _refuse(session, p.ListGames, "you are in the lobby: /join ROOM first", out)
        elif not self._tell_games(session, room, out):
            out.to(session.id, p.Info(f"No games are running in {room.name}: /game lists "
                                      "the games you can start."))

    def on_join(self, session: Session, room: Room, out: Outbox) -> None:
        """Someone who enters a room is shown what is played there, as /games shows it."""
        self._tell_games(session, room, out)

    def _tell_games(self, session: Session, room: Room, out: Outbox) -> bool:
        """The room's games (a line each), its waiting challenges, then each game's
        state and board, to `session`; False if there is nothing to tell."""
        far_running, far_waiting = self._far_games(room)
        running = [m for m in self.matches if m.room is room] + far_running
        waiting = [c for c in self.challenges if c.room is room] + far_waiting
        for match in running:
            text = f"{match.game.name} ({match.id}): {sanitize(match.game.status())}"
            out.to(session.id, fit(p.Info(text)))
        for challenge in waiting:
            out.to(session.id, p.Info(f"{challenge.describe()} waits for an answer"))
        for match in running:
            out.to(session.id, *self._view(match))
        return bool(running or waiting)

    # -------------------------------------------------------------- leaving and renaming
    def on_leave(self, session: Session, room: Room, reason: str, out: Outbox) -> None:
        """A player who leaves forfeits, their challenges are off and the room forgets
        them; the last one out, nick or none, takes the room's games and records along."""
        nick = session.nick
        if nick is not None:
            self._forfeit_all(session, room, nick, out)
            owners = {f.node for f in self.cluster.entries(room) if f.involves(nick)}
            for node in sorted(owners):  # (their games elsewhere hear it in the room's order)
                self.cluster.forward(session, node, out, LEFT, reason)
        if room.sessions.keys() <= {session.id}:  # the room is about to go away
            for match in [m for m in self.matches if m.room is room]:
                self._unkeep(match)
            for challenge in [c for c in self.challenges if c.room is room]:
                self._remove_challenge(challenge)
            self.matches = [m for m in self.matches if m.room is not room]
            self.records.forget_room(key(room.name))

    def _forfeit_all(self, session: Session, room: Room, nick: str, out: Outbox) -> None:
        """Every game they sit in is forfeited (a duel player may also be guessing in the
        room game), their challenges are off, and what the room kept of them goes."""
        for match in [m for m in self.matches if m.room is room and m.seats(nick)]:
            self._act(match, FORFEITS, nick)
            # The room hears it once the leaver is gone from it: tell the leaver apart.
            out.to(session.id, fit(p.GameNote(room.name, match.id,
                                              sanitize(leaver_note(match.game)))))
            self._broadcast(match, left_note(nick, match.game), out)
        self._cancel(room, lambda c: c.involves(nick), f"{nick} left", out)
        self.records.forget_person(key(room.name), session.id)

    def nick_problem(self, session: Session) -> str | None:
        """Games know players by nick, so a player keeps theirs until the game ends."""
        match = self._match_of(session.room, session.nick) or self.cluster.seated(session) \
            if session.nick else None
        if match is None:
            return None
        return f"you are playing {_name(match)}: finish it or /resign before you change your nick"

    def on_renamed(self, session: Session, old: str, out: Outbox) -> None:
        room = session.room
        self._cancel(room, lambda c: c.involves(old), f"{old} is now {session.nick}", out)
        for node in sorted({f.node for f in self.cluster.entries(room) if f.involves(old)}):
            self.cluster.forward(session, node, out, RENAMED, old)  # (their challenges there are off)

    # -------------------------------------------------------------- kept in the store
    # A running game is kept as how it started and what was done in it since (a game is
    # a deterministic function of its moves), rewritten at each act; a score as its
    # counts by the players' resume tokens.  After a restart, the games and scores of
    # the sessions the state restored come back, and the games go on from where they were.
    def _act(self, match: Match, act: str, nick: str, text: str = "") -> str:
        """Do `act` in the match (a GameError for an illegal move changes nothing)."""
        sentence = do(match.game, act, nick, text)
        match.acts.append((act, nick, text) if act == PLAYS else (act, nick))
        self._keep(match)
        return sentence

    def _keep(self, match: Match) -> None:
        if self._store is not None and not match.game.is_over():
            kept = {"room": match.room.name, "name": match.game.name,
                    "players": match.game.players, "tokens": match.tokens, "bot": match.bot,
                    "setup": match.setup, "seed": match.seed, "taken_by": match.taken_by,
                    "acts": match.acts}
            self._store.put(GAMES, match.id, json.dumps(kept))
            self.cluster.index(match.room, match.id, game_record(self.cluster.node,
                                                          {**kept, "duel": match.game.duel}))

    def _unkeep(self, match: Match) -> None:
        if self._store is not None:
            self._store.put(GAMES, match.id, None)
            self.cluster.index(match.room, match.id, None)
        if match.game.duel:
            self.cluster.release_players(match.room, match.id, match.game.players)

    def _keep_score(self, room_key: str, skey: tuple, score: Score, match: Match) -> None:
        if self._store is None or not match.tokens:
            return
        name = "|".join([room_key, match.game.name, *sorted(match.tokens)])
        self._score_names[(room_key, skey)] = name
        self._store.put(SCORES, name, json.dumps({
            "wins": {token: score.wins.get(person, 0)
                     for token, person in zip(match.tokens, match.people)},
            "draws": score.draws}))

    def _score_gone(self, room_key: str, skey: tuple) -> None:
        name = self._score_names.pop((room_key, skey), None)
        if name is not None and self._store is not None:
            self._store.put(SCORES, name, None)

    def attach(self, history: History, rooms: dict[str, Room],
               tokens: dict[str, Session], presence: Presence | None = None) -> None:
        """Keep games and scores in the store `history` writes to from now on, after
        bringing back those it holds for the sessions the state restored (`tokens`, in
        `rooms`); what no longer fits (a player gone, a game whose rules changed) goes.
        `presence` says who holds a nick in a room on another server, and which server
        this is (several servers: then games may have players on other servers)."""
        self._rooms = rooms
        store = self._store = history
        self.cluster.attach(history, presence)
        self.clock = history.clock
        numbers = [0]
        for game_id, value in store.items(GAMES).items():
            try:
                match = _revive(game_id, json.loads(value), rooms, tokens)
            except (GameError, LookupError, TypeError, ValueError) as exc:
                log.info("game %s is not brought back: %s", game_id, exc)
                store.put(GAMES, game_id, None)
                self._unindex(game_id, value)
                continue
            self.matches.append(match)
            numbers.append(int(game_id[1:]) if game_id[1:].isdigit() else 0)
        self._ids = itertools.count(max(numbers) + 1)
        for name, value in store.items(SCORES).items():
            try:
                self._revive_score(name, json.loads(value), tokens)
            except (LookupError, TypeError, ValueError, AttributeError):
                store.put(SCORES, name, None)
        if self.matches:
            log.info("%d games in progress are back", len(self.matches))

    def _unindex(self, game_id: str, value: str) -> None:
        """A game of this node that is over after a restart leaves the room's index
        (a player on another server could not be brought back)."""
        try:
            kept = json.loads(value)
            room, players = Room(kept["room"]), tuple(map(str, kept["players"]))
        except (ValueError, TypeError, LookupError):
            return
        self.cluster.index(room, game_id, None)
        self.cluster.release_players(room, game_id, players)

    def _revive_score(self, name: str, kept: dict, tokens: dict[str, Session]) -> None:
        room_key, game_name, *names = name.split("|")
        people = tuple(BOT_SEAT if t == BOT_SEAT else tokens[t].id for t in names)
        skey = score_key(game_name, people)
        score = self.records.tally(room_key, skey)
        score.wins = {person: int(kept["wins"].get(t, 0)) for t, person in zip(names, people)}
        score.draws = int(kept["draws"])
        self._score_names[(room_key, skey)] = name


def _revive(game_id: str, kept: dict, rooms: dict[str, Room],
            tokens: dict[str, Session]) -> Match:
    """The match `kept` describes, replayed move by move; LookupError if its room or a
    player's session is gone, GameError if the moves no longer replay."""
    room = rooms[key(kept["room"])]
    people = tuple(BOT_SEAT if t == BOT_SEAT else tokens[t].id for t in kept["tokens"])
    acts = [tuple(act) for act in kept["acts"]]
    game = replay(kept["name"], tuple(kept["players"]), kept["setup"], kept["seed"], acts)
    if game.is_over():
        raise GameError("it was over")
    return Match(game_id, room, game, bool(kept["bot"]), people, kept["taken_by"],
                 kept["setup"], kept["seed"], tuple(kept["tokens"]), acts)


# ------------------------------------------------------------------ helpers
def _open_to_anyone(challenges: list[Challenge] | list[Far]) -> str:
    """Nothing to decline: an open challenge waits for anyone who wants it."""
    who = ", ".join(c.challenger for c in challenges)
    return (f"the challenge from {who} is open to anyone: leave it for someone else, "
            "or /accept to play")


def _name(game: Match | Far) -> str:
    return game.game.name if isinstance(game, Match) else game.name


def _rematch_seats(room: Room, last: Match) -> tuple[str, ...] | None:
    """`last`'s players by their nicks now, the seats swapped; None if one has left."""
    here = tuple(_nick_now(room, who) for who in reversed(last.people))
    return None if None in here else here


def _nick_now(room: Room, who: Person) -> str | None:
    if who == BOT_SEAT:
        return BOT
    session = room.sessions.get(who)
    return session.nick if session else None


def _rival(last: Match, person: Person) -> str:
    """The nick `person`'s opponent had in `last`."""
    return next(n for n, who in zip(last.game.players, last.people) if who != person)


def _refuse(session: Session, command: type, text: str, out: Outbox) -> None:
    out.to(session.id, p.reply(command, 1, fit_text(sanitize(text), MAX_REPLY)))


def _note(room: Room, game_id: str, text: str, out: Outbox) -> None:
    out.to_room(room, fit(p.GameNote(room.name, game_id, sanitize(text))))
