"""The client's settings file (who is ignored), read at the start and written atomically
whenever /ignore or /unignore changes it: `settings.json` in chat.paths.config_dir().

A shell: it does file I/O, for both views.  A missing file is no settings; a bad one
is a sentence for the message pane, never a crash; other keys in it are kept.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from chat import protocol as p
from chat.client import core as c
from chat.paths import config_dir
from chat.width import sanitize

FILE = "settings.json"
IGNORED = "ignored"  # the key: a list of nicks


def default_path() -> Path:
    return Path(config_dir()) / FILE


def load(path: Path) -> tuple[list[str], str | None]:
    """The ignored nicks in the file, and a sentence when it could not be read whole."""
    data, problem = _read(path)
    if problem:
        return [], f"{problem}: nobody is ignored for now ({p.typed(p.Ignore)} NICK " \
                   "writes a new one)."
    nicks = data.get(IGNORED, [])
    if not isinstance(nicks, list):
        return [], f"The settings file {_shown(path)} has no list of nicks under {IGNORED!r}: " \
                   "nobody is ignored for now."
    good = [n for n in nicks if isinstance(n, str) and p.nick_problem(n) is None]
    if len(good) < len(nicks):
        return good, f"The settings file {_shown(path)} has {len(nicks) - len(good)} names that " \
                     "are not nicks; they were left out."
    return good, None


def _read(path: Path) -> tuple[dict, str | None]:
    """The file's object ({} when there is none), or why it cannot be used."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError) as exc:
        return {}, f"Could not read the settings file {_shown(path)} ({_reason(exc)})"
    try:
        data = json.loads(text)
    except ValueError as exc:
        return {}, f"The settings file {_shown(path)} is not valid JSON ({sanitize(str(exc))})"
    if not isinstance(data, dict):
        return {}, f"The settings file {_shown(path)} does not hold a JSON object"
    return data, None


def save(path: Path, nicks: list[str]) -> str | None:
    """Write the ignored nicks, keeping the file's other keys: to a temporary file in
    the same folder, then renamed over it, so a crash leaves the old file or the new
    one, never half of one.  A sentence if it failed, else None."""
    data, problem = _read(path)
    data = {} if problem else data
    data[IGNORED] = nicks
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "wb") as file:
            file.write(json.dumps(data, indent=1).encode("utf-8") + b"\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        return f"Could not save who you ignore to {_shown(path)} ({_reason(exc)}): it holds " \
               "until you quit."
    return None


def _shown(path: Path) -> str:
    return sanitize(str(path))


def _reason(exc: BaseException) -> str:
    return sanitize(getattr(exc, "strerror", None) or str(exc))


def load_into(core: c.ClientCore, path: Path | None = None) -> None:
    """At the start: who is ignored, from the file; a bad file is said in the pane."""
    nicks, problem = load(path or default_path())
    core.set_ignored(nicks)
    if problem:
        core.note(problem, error=True)


def save_from(core: c.ClientCore, path: Path | None = None) -> None:
    """The core's ignore list changed (ev.SaveSettings): write it; a failure is said."""
    problem = save(path or default_path(), core.ignored_nicks())
    if problem:
        core.note(problem, error=True)
