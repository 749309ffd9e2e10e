"""The registry of games by wire name: `register`, `get`, `available`.

Pure: imports only `game.base`; must not import any game module, `chat`,
or anything doing I/O. Game modules register themselves on import.
"""

from __future__ import annotations

from .base import Game, UnknownGameError

_GAMES: dict[str, type[Game]] = {}


def register(cls: type[Game]) -> type[Game]:
    """Add a game class under `cls.name`; usable as a class decorator."""
    if not (isinstance(cls, type) and issubclass(cls, Game)):
        raise TypeError(f"{cls!r} is not a Game subclass")
    name = getattr(cls, "name", "")
    if not name or name != name.lower() or not name.isidentifier():
        raise ValueError(f"game name {name!r} must be a lowercase word")
    if name in _GAMES:
        raise ValueError(f"a game named {name!r} is already registered")
    _GAMES[name] = cls
    return cls


def unregister(name: str) -> None:
    """Remove a game (for tests); raises UnknownGameError if absent."""
    get(name)
    del _GAMES[name.strip().lower()]


def get(name: str) -> type[Game]:
    """The game class called `name`, ignoring case and surrounding spaces."""
    cls = _GAMES.get(name.strip().lower())
    if cls is None:
        raise UnknownGameError(f"no game {name!r}: {_listing()}")
    return cls


def available() -> list[type[Game]]:
    """Every registered game class, sorted by name."""
    return [_GAMES[name] for name in sorted(_GAMES)]


def _listing() -> str:
    names = sorted(_GAMES)
    if not names:
        return "no games are available"
    return "available games are " + ", ".join(names)
