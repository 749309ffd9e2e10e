"""What the client core asks of its view: small typed events, one class each.

The core appends them to `ClientCore.requests`; each view dispatches on the type with
a table and carries out what it can.  Pure: must not import curses, socket, select,
selectors or threading, nor any other chat module.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClearPane:
    """/clear: empty the message pane."""


@dataclass(frozen=True, slots=True)
class Bell:
    """Someone mentioned me and the mention bell is on: ring it."""


@dataclass(frozen=True, slots=True)
class Reconnect:
    """Connect again now, ending the connection if any: /reconnect, Enter on an
    empty line while away, or a planned retry that is due."""


@dataclass(frozen=True, slots=True)
class Hangup:
    """Drop the connect under way, without a word: the core has said why, and when
    it tries again."""


@dataclass(frozen=True, slots=True)
class NotParlor:
    """The peer's first line was not Parlor: hang up and stop retrying."""


@dataclass(frozen=True, slots=True)
class SaveSettings:
    """The settings the core keeps for the user (who is ignored) changed: write them."""


@dataclass(frozen=True, slots=True)
class TrustAnswer:
    """The user answered whether to trust the server's certificate (ClientCore.ask_trust)."""
    yes: bool


Request = ClearPane | Bell | Reconnect | Hangup | NotParlor | SaveSettings | TrustAnswer
