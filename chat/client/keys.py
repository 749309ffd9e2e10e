"""Keys as line-editor actions: Alt combinations (ESC b), the Ctrl/Alt-arrow keys
(terminfo names like kLFT5, or raw ESC [1;5D where terminfo lacks them), which typed
characters are text, and, for line mode's raw terminal, the cursor keys and control
keys curses would decode itself.  Pure: must not import curses, socket, selectors,
select or threading.
"""
from __future__ import annotations

ESC = "\x1b"
JOINERS = {"\u200c", "\u200d"}  # ZWNJ, ZWJ: not "printable", yet scripts and emoji need them

ALT = {  # after ESC: an Alt combination
    "b": "word_left", "f": "word_right", "d": "kill_word_right",
    "\x7f": "kill_word", "\x08": "kill_word", "KEY_BACKSPACE": "kill_word",
    "KEY_LEFT": "word_left", "KEY_RIGHT": "word_right",
}
NAMED = {  # curses' names for keys its terminfo knows (Ctrl: 5, Alt: 3)
    "kLFT5": "word_left", "kRIT5": "word_right", "kLFT3": "word_left", "kRIT3": "word_right",
    # PDCurses (windows-curses) reads the console's keys, not a terminal's bytes: no
    # ESC before Alt, but a key code of its own for each combination.
    "CTL_LEFT": "word_left", "CTL_RIGHT": "word_right", "ALT_LEFT": "word_left",
    "ALT_RIGHT": "word_right", "ALT_B": "word_left", "ALT_F": "word_right",
    "ALT_D": "kill_word_right", "ALT_BKSP": "kill_word", "CTL_DEL": "kill_word_right",
}
# The numeric keypad's keys as curses may name them: PDCurses' codes for the keys
# that a terminal sends as the characters on them (the view takes each as that
# character), and, NumLock off, the keys by their place on the pad (KEY_A1 is the
# top left; PDCurses sends all nine, terminfo knows five) as the keys they stand for.
PAD_TEXT = {"PADENTER": "\r", "PADSLASH": "/", "PADSTAR": "*", "PADMINUS": "-",
            "PADPLUS": "+", "SHF_PADENTER": "\r", "CTL_PADENTER": "\r"}
PAD_MOVES = {"KEY_A1": "KEY_HOME", "KEY_A2": "KEY_UP", "KEY_A3": "KEY_PPAGE",
             "KEY_B1": "KEY_LEFT", "KEY_B3": "KEY_RIGHT", "KEY_C1": "KEY_END",
             "KEY_C2": "KEY_DOWN", "KEY_C3": "KEY_NPAGE", "PADSTOP": "KEY_DC"}
SEQUENCES = {  # the same keys, raw, after ESC (xterm style, old rxvt style)
    "[1;5D": "word_left", "[1;5C": "word_right", "[1;3D": "word_left", "[1;3C": "word_right",
    "[5D": "word_left", "[5C": "word_right", "Od": "word_left", "Oc": "word_right",
}
# A terminal read byte by byte (line mode) also sends these, which curses decodes
# itself: the cursor keys in normal and application mode, Home, End and Delete.
TERMINAL_SEQUENCES = {
    **SEQUENCES,
    "[A": "history_prev", "[B": "history_next", "[C": "right", "[D": "left",
    "OA": "history_prev", "OB": "history_next", "OC": "right", "OD": "left",
    "[H": "home", "[F": "end", "OH": "home", "OF": "end",
    "[1~": "home", "[7~": "home", "[4~": "end", "[8~": "end", "[3~": "delete",
}
CONTROL = {  # the control keys that edit, as a terminal sends them
    "\x01": "home", "\x02": "left", "\x05": "end", "\x06": "right",
    "\x7f": "backspace", "\x08": "backspace", "\x15": "kill_to_start", "\x0b": "kill_to_end",
    "\x17": "kill_word", "\x10": "history_prev", "\x0e": "history_next",
}
MAX_SEQUENCE = 12


def is_text(key: str) -> bool:
    """A key that types itself: a printable character (combining marks and variation
    selectors included) or a joiner; never a control character."""
    return len(key) == 1 and (key.isprintable() or key in JOINERS)


class EscapeKeys:
    """Gathers the keys after an ESC into one action.  `feed(key)` takes a character
    or a curses key name and returns an editor action's name, "" when the key was
    swallowed (part of a sequence, or an unknown Alt combination: never typed as
    junk), or None when the key is an ordinary one for the caller."""

    def __init__(self, sequences: dict[str, str] = SEQUENCES) -> None:
        self._seq: str | None = None  # what followed ESC so far; None: no ESC pending
        self._sequences = sequences

    @property
    def pending(self) -> bool:
        """An ESC came and its sequence is not complete yet."""
        return self._seq is not None

    def reset(self) -> None:
        """No more keys are waiting: an ESC on its own does nothing."""
        self._seq = None

    def feed(self, key: str) -> str | None:
        seq = self._seq
        if seq is None:
            if key == ESC:
                self._seq = ""
                return ""
            return NAMED.get(key)
        if seq == "":
            return self._after_escape(key)
        if seq.startswith("[") and key in "0123456789;" and len(key) == 1 \
                and len(seq) < MAX_SEQUENCE:
            self._seq += key
            return ""
        self._seq = None
        if len(key) == 1 and "@" <= key <= "~":
            return self._sequences.get(seq + key, "")
        return None

    def _after_escape(self, key: str) -> str | None:
        if key == ESC:
            return ""
        if key in ("[", "O"):
            self._seq = key
            return ""
        self._seq = None
        action = ALT.get(key.lower() if len(key) == 1 else key)
        if action:
            return action
        return "" if is_text(key) else None
