"""Moderation end to end: the real server.py on a real store file, socket peers.
Kick, ban, key and invite each way; owners, bans and keys survive a restart; a
server operator (--admin) shuts the server down with a reason everyone is told.
"""
from __future__ import annotations

from chat import protocol as p
from conftest import TIMEOUT
from test_accounts_server import PASSWORD, answer, peer, servers  # noqa: F401 (a fixture)


def logged_in(server, nick: str, room: str):
    """A peer in `room` as `nick`, its account registered on the way."""
    member = peer(server)
    member.send(f"/nick {nick}")
    member.expect(p.Reply)
    assert answer(member, f"/register {PASSWORD}", p.Register).code == 0
    member.enter(room)
    return member


def told(member, text: str) -> None:
    member.expect(lambda m: isinstance(m, p.Info) and m.text == text)


def test_moderation_kick_ban_key_invite_and_a_restart(servers, tmp_path):
    db = tmp_path / "parlor.db"
    server = servers(db)
    alice = logged_in(server, "alice", "general")
    assert p.Info("You own general: you and your ops may /kick, /ban, /key, /invite and "
                  "/mode here, and set the topic.") in alice.seen
    guest = peer(server)
    guest.enter("general", "bob")
    assert answer(alice, "/kick bob flooding", p.Kick).text == "bob was removed by alice: flooding"
    told(guest, "You were removed from general by alice: flooding.")
    guest.expect(lambda m: isinstance(m, p.Here) and m.room == p.NOBODY)
    guest.enter("general")  # a kicked user may come back
    assert answer(guest, "/nick bob", p.Nick).code == 0
    assert answer(alice, "/ban bob", p.Ban).text == "bob was banned by alice"
    assert answer(guest, "/join general", p.Join).text == "you are banned from general"
    assert answer(alice, "/unban bob", p.Unban).code == 0
    assert answer(alice, "/key sesame", p.RoomKey).code == 0
    assert answer(guest, "/join general", p.Join).text == "general needs a key: /join general KEY"
    assert answer(guest, "/join general sesame", p.Join).code == 0
    assert answer(alice, "/mode general invite", p.Mode).code == 0
    assert answer(alice, "/ban bob", p.Ban).code == 0  # a guest: by address, which is ours
    for member in (alice, guest):  # (gone for good: not held for /resume)
        member.send("/quit")
        member.expect_closed()
    server.log()

    again = servers(db)  # owners, bans and keys are in the store
    owner = peer(again)
    assert answer(owner, f"/login alice {PASSWORD}", p.Login).code == 0
    owner.enter("general")
    newcomer = peer(again)
    assert answer(newcomer, "/join general sesame", p.Join).text == "you are banned from general"
    assert answer(owner, "/unban bob", p.Unban).code == 0
    assert "invite-only" in answer(newcomer, "/join general sesame", p.Join).text
    newcomer.send("/nick carol")
    newcomer.expect(p.Reply)
    assert answer(owner, "/invite carol", p.Invite).code == 0
    told(newcomer, "alice invites you to general: /join general")
    assert answer(newcomer, "/join general", p.Join).code == 0  # invited: no key asked
    assert newcomer.expect(lambda m: isinstance(m, p.Here) and m.nick == "carol")


def test_moderation_admin_shuts_the_server_down(servers, tmp_path):
    server = servers(tmp_path / "parlor.db", "--admin", "Root")
    root = logged_in(server, "root", "ops")
    other = peer(server)
    other.enter("general", "dave")
    assert answer(other, "/shutdown now", p.Shutdown).code == 1
    assert answer(root, "/shutdown maintenance", p.Shutdown).code == 0
    bye = other.expect(p.Bye)
    assert bye.text == "the server is shutting down (maintenance, said root)"
    other.expect_closed()
    root.expect_closed()
    for client in (root, other):
        client.close()  # as a client does: the server waits (2 s at most) for that
    assert server.popen.wait(TIMEOUT) == 0
