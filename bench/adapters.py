"""Protocol adapters for the load generator: Parlor's protocol and IRC.

Each adapter turns "register client N in room R", "say TEXT" and "answer a
ping" into wire bytes, and an incoming line into (room, nick, text) when it is
a chat message.  Bytes only, no sockets: the load generator owns those.

Delivery accounting differs in one way: Parlor sends every chat line back to
its sender too (one order for everyone), IRC does not.  `echoes` says which.
"""
from __future__ import annotations


class Parlor:
    name = "parlor"
    eol = b"\n"
    echoes = True  # the sender gets its own MSG back

    @staticmethod
    def room(index: int) -> bytes:
        return b"r%d" % index

    @staticmethod
    def nick(client_id: int) -> bytes:
        return b"u%d" % client_id

    def register(self, room: int, client_id: int) -> bytes:
        return b"/join %s\n/nick %s\n" % (self.room(room), self.nick(client_id))

    def registered_line(self, room: int, client_id: int) -> bytes:
        """The line that says the client is in its room under its nick."""
        return b"HERE %s %s" % (self.room(room), self.nick(client_id))

    @staticmethod
    def say(room: bytes, text: bytes) -> bytes:
        return text + b"\n"

    @staticmethod
    def parse_chat(line: bytes):
        """(room, nick, text) of a `MSG room id nick time text` line, else None."""
        if line.startswith(b"MSG "):
            parts = line.split(b" ", 5)
            if len(parts) >= 5:
                return parts[1], parts[3], parts[5] if len(parts) == 6 else b""
        return None

    @staticmethod
    def pong(line: bytes) -> bytes | None:
        if line.startswith(b"PING "):
            return b"/pong " + line[5:] + b"\n"
        return None


class Irc:
    name = "irc"
    eol = b"\r\n"
    echoes = False  # PRIVMSG goes to every channel member except its sender

    @staticmethod
    def room(index: int) -> bytes:
        return b"#r%d" % index

    @staticmethod
    def nick(client_id: int) -> bytes:
        return b"u%d" % client_id

    def register(self, room: int, client_id: int) -> bytes:
        nick = self.nick(client_id)
        return b"NICK %s\r\nUSER %s 0 * :bench\r\nJOIN %s\r\n" % (nick, nick, self.room(room))

    def registered_line(self, room: int, client_id: int) -> bytes:
        """Prefix-free form of RPL_ENDOFNAMES for our JOIN: the end of registration."""
        return b"366 %s %s" % (self.nick(client_id), self.room(room))

    @staticmethod
    def say(room: bytes, text: bytes) -> bytes:
        return b"PRIVMSG " + room + b" :" + text + b"\r\n"

    @staticmethod
    def parse_chat(line: bytes):
        """(target, nick, text) of a `:nick!user@host PRIVMSG target :text` line, else None."""
        if line.startswith(b":"):
            parts = line.split(b" ", 3)
            if len(parts) == 4 and parts[1] == b"PRIVMSG":
                text = parts[3]
                return parts[2], parts[0][1:].split(b"!", 1)[0], text[1:] if text[:1] == b":" else text
        return None

    @staticmethod
    def pong(line: bytes) -> bytes | None:
        if line.startswith(b"PING "):
            return b"PONG " + line[5:] + b"\r\n"
        return None


def irc_registered(line: bytes, expected: bytes) -> bool:
    """True for `:server 366 nick #room :End of NAMES list` matching `expected`."""
    if not line.startswith(b":"):
        return False
    _, _, rest = line.partition(b" ")
    return rest.startswith(expected + b" ")


def is_registered(adapter, line: bytes, expected: bytes) -> bool:
    if adapter.name == "irc":
        return irc_registered(line, expected)
    return line == expected


ADAPTERS = {"parlor": Parlor(), "irc": Irc()}


def chat_fields(line: str) -> tuple[str, str, str] | None:
    """(room, nick, text) of a Parlor `MSG room id nick time text` line, else None."""
    found = Parlor.parse_chat(line.encode("utf-8"))
    return None if found is None else tuple(part.decode("utf-8") for part in found)
