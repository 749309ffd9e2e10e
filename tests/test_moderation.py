"""Room owners, ops and moderation, sans I/O: ChatState fed lines on a store it can
be rebuilt from.  Ownership, /op, /kick, /ban (account and guest's address) and
/unban, /key, /mode invite with /invite, /topic for owners, a guest trying every
moderation command, ops removing owners, --admin and /shutdown, and a restart
keeping owners, bans and keys.  No sockets, threads or sleeps.
"""
from __future__ import annotations

import pytest

from chat import protocol as p
from test_accounts import PASSWORD, Server as Accounts
from test_accounts import _no_garbage_left  # noqa: F401 (an autouse fixture: here too)


class Server(Accounts):
    def user(self, nick: str, room: str = "general", host: str = "127.0.0.1",
             account: bool = True) -> int:
        """A session in `room` as `nick` (registered, unless `account` is False)."""
        sid = self.connect(host)
        self.say(sid, f"/nick {nick}")
        if account:
            if self.state.identity.accounts.exists(nick.casefold()):
                assert self.reply(sid, f"/login {nick} {PASSWORD}").code == 0
            else:
                assert self.reply(sid, f"/register {PASSWORD}").code == 0
        self.say(sid, f"/join {room}")
        assert self.state.sessions[sid].nick == nick
        return sid


def infos(messages: list[p.ServerMessage]) -> list[str]:
    return [m.text for m in messages if isinstance(m, p.Info)]


@pytest.fixture
def room() -> tuple[Server, int, int, int]:
    """general, owned by alice, with bob (logged in) and a guest, carol."""
    server = Server()
    alice = server.user("alice")
    bob = server.user("bob")
    carol = server.user("carol", host="10.0.0.7", account=False)
    return server, alice, bob, carol


def test_moderation_first_logged_in_joiner_owns_a_new_room(room):
    server, alice, bob, carol = room
    assert server.state.moderation.rank(server.state.sessions[alice], "general") == 2
    assert server.state.moderation.rank(server.state.sessions[bob], "general") == 0
    who = [m for m in server.say(carol, "/who") if isinstance(m, p.MemberList)][0]
    assert dict(who.notes) == {"alice": "logged in; owner", "bob": "logged in"}


def test_moderation_a_guest_is_refused_every_command(room):
    server, alice, bob, carol = room
    for line in ("/kick alice", "/ban alice", "/unban bob", "/key sesame", "/invite bob",
                 "/mode general invite", "/op carol", "/deop bob", "/shutdown now", "/claim"):
        reply = server.reply(carol, line)
        assert reply.code == 1 and reply.text, (line, reply)
    assert server.state.rooms["general"].nicks.keys() == {"alice", "bob", "carol"}


def test_moderation_kick_tells_the_room_and_a_kicked_user_may_rejoin(room):
    server, alice, bob, carol = room
    out = server.send(alice, "/kick carol flooding   the room")
    told = [msg for targets, msg in out.sends if bob in targets]
    assert p.Info("carol was removed by alice: flooding the room") in told
    assert "You were removed from general by alice: flooding the room." in \
        infos([msg for targets, msg in out.sends if carol in targets])
    assert server.state.sessions[carol].room is None
    assert p.Here("general", "carol") in server.say(carol, "/join general")


def test_moderation_ban_keeps_a_guest_out_by_address_after_reconnect_and_nick_change(room):
    server, alice, bob, carol = room
    assert server.reply(alice, "/ban carol").code == 0
    assert server.reply(carol, "/join general").text == "you are banned from general"
    again = server.connect("10.0.0.7")  # a new connection, another nick
    server.say(again, "/nick dave")
    assert server.reply(again, "/join general").text == "you are banned from general"
    other = server.connect("10.0.0.8")
    assert p.Here("general", p.NOBODY) in server.say(other, "/join general")
    assert server.reply(alice, "/unban carol").code == 0
    assert p.Here("general", "dave") in server.say(again, "/join general")


def test_moderation_ban_of_an_account_holds_from_any_address_and_a_restart(room):
    server, alice, bob, carol = room
    assert server.reply(alice, "/ban bob").code == 0
    server.restart()
    owner = server.user("alice", room="general")
    back = server.user("bob", room="lobby", host="10.9.9.9")
    assert server.reply(back, "/join general").text == "you are banned from general"
    assert server.reply(owner, "/unban bob").code == 0
    assert server.state.sessions[owner].nick == "alice"
    assert p.Here("general", "bob") in server.say(back, "/join general")


def test_moderation_ops_may_not_remove_owners_or_each_other(room):
    server, alice, bob, carol = room
    assert server.reply(alice, "/op bob").code == 0
    dave = server.user("dave")
    assert server.reply(alice, "/op dave").code == 0
    for line in ("/kick alice", "/ban alice", "/kick dave", "/deop dave"):
        assert server.reply(bob, line).code == 1, line
    assert server.reply(bob, "/kick carol").code == 0  # an op removes a guest
    assert server.reply(alice, "/kick bob too loud").code == 0  # the owner removes an op


def test_moderation_key_is_asked_of_joiners_but_not_members_or_ops(room):
    server, alice, bob, carol = room
    assert server.reply(alice, "/key sesame").code == 0
    newcomer = server.connect("10.0.0.9")
    assert server.reply(newcomer, "/join general").text == \
        "general needs a key: /join general KEY"
    assert server.reply(newcomer, "/join general wrong").text == "that is not the key of general"
    assert p.Here("general", p.NOBODY) in server.say(newcomer, "/join general sesame")
    assert server.reply(alice, "/key -delete").code == 0
    server.say(newcomer, "/leave")
    assert p.Here("general", p.NOBODY) in server.say(newcomer, "/join general")


def test_moderation_invite_only_lets_in_the_invited_only(room):
    server, alice, bob, carol = room
    server.say(carol, "/leave")
    assert server.reply(alice, "/mode general invite").code == 0
    assert server.reply(carol, "/mode general").text == "general is invite-only"
    assert "invite-only" in server.reply(carol, "/join general").text
    out = server.send(alice, "/invite carol")
    assert "alice invites you to general: /join general" in \
        infos([msg for targets, msg in out.sends if carol in targets])
    assert p.Here("general", "carol") in server.say(carol, "/join general")
    assert server.reply(alice, "/mode general open").code == 0


def test_moderation_topic_is_the_owners_once_a_room_has_one(room):
    server, alice, bob, carol = room
    assert "only the owner and ops" in server.reply(bob, "/topic mine now").text
    assert any(isinstance(m, p.RoomTopic) for m in server.say(alice, "/topic welcome"))
    unowned = server.user("erin", room="guests", account=False)
    assert any(isinstance(m, p.RoomTopic) for m in server.say(unowned, "/topic anyone's"))


def test_moderation_claim_an_unowned_room():
    server = Server()
    guest = server.user("gus", room="den", account=False)
    alice = server.user("alice", room="den")
    assert server.reply(guest, "/claim").code == 1
    assert server.reply(alice, "/claim").code == 0
    assert server.reply(alice, "/claim").text == "den has an owner already"


def test_moderation_bad_arguments_are_sentences(room):
    server, alice, bob, carol = room
    for line in ("/kick", "/kick nobody", "/kick alice", "/ban", "/ban no!body", "/unban",
                 "/unban nobody", "/key two words", "/key " + "k" * 40, "/invite",
                 "/invite nobody", "/mode", "/mode general sideways", "/mode nowhere invite",
                 "/op", "/op carol"):
        reply = server.reply(alice, line)
        assert reply.code == 1 and reply.text and "\n" not in reply.text, (line, reply)


def test_moderation_admin_moderates_every_room_and_shuts_down():
    server = Server(admins=("root",))
    alice = server.user("alice", room="den")
    root = server.user("root", room="den")
    assert server.reply(alice, "/shutdown bye").code == 1
    assert server.reply(root, "/kick alice enough").code == 0
    out = server.send(root, "/shutdown maintenance")
    assert out.stop == "the server is shutting down (maintenance, said root)"


def test_moderation_an_unregistered_owner_owns_nothing(room):
    server, alice, bob, carol = room
    assert server.reply(alice, f"/unregister {PASSWORD}").code == 0
    assert server.reply(alice, "/kick carol").code == 1
    assert server.reply(bob, "/claim").code == 0
