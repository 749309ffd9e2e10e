"""`python tests/as_windows.py ARGS...`: client.py with the full-screen view's Windows
branch switched on (chat.client.tui.WINDOWS), run on this machine's curses: keys
polled instead of selected on, no SIGWINCH handler and no wake-up pipe, a resize seen
only as KEY_RESIZE; and with no dim attribute (tui.DIM 0, as PDCurses has it), so
grey stands in.  The switches are the module's own; nothing is mocked.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from chat.client import main, tui  # noqa: E402

tui.WINDOWS = True
tui.DIM = 0
sys.exit(main.main(sys.argv[1:]))
