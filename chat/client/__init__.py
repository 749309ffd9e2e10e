"""The Parlor client: the pure core and models (core, lineedit, scrollback, layout,
keys, pacing) and the shells around them (tui: curses; plain: line mode; net: the
socket; main: the command line and host mode)."""
