"""The Parlor server: the pure state and game host (state, games, matches, limits)
and the shells around them (loop: sockets; main: wiring and the command line)."""
