"""Parlor games: the game interface, the registry, and one module per game."""
