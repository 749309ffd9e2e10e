"""Where Parlor keeps its files: the data folder (the history database) and the config folder.

Pure: the platform and the environment are parameters (defaulting to this machine's), so
every platform's answer can be checked anywhere.  Nothing is created here (no mkdir).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import PurePosixPath, PureWindowsPath

APP = "parlor"     # the folder's name on Linux and the BSDs
APP_TITLE = "Parlor"  # on Windows and macOS, where folders are named like programs


def data_dir(platform: str = sys.platform, env: Mapping[str, str] = os.environ) -> str:
    """Where the history database goes."""
    return _app_dir(platform, env, "XDG_DATA_HOME", (".local", "share"), "LOCALAPPDATA",
                    ("AppData", "Local"))


def config_dir(platform: str = sys.platform, env: Mapping[str, str] = os.environ) -> str:
    """Where configuration goes."""
    return _app_dir(platform, env, "XDG_CONFIG_HOME", (".config",), "APPDATA",
                    ("AppData", "Roaming"))


def default_db(platform: str = sys.platform, env: Mapping[str, str] = os.environ) -> str:
    """The history database used when the server is given none."""
    return str(_flavour(platform)(data_dir(platform, env)) / "history.db")


def _app_dir(platform: str, env: Mapping[str, str], xdg: str, xdg_default: tuple[str, ...],
             windows: str, windows_default: tuple[str, ...]) -> str:
    home = _home(platform, env)
    if platform == "win32":
        base = _absolute(PureWindowsPath, env.get(windows)) or home.joinpath(*windows_default)
        return str(base / APP_TITLE)
    if platform == "darwin":
        return str(home / "Library" / "Application Support" / APP_TITLE)
    # XDG: a relative or empty value is to be ignored, as the specification says.
    base = _absolute(PurePosixPath, env.get(xdg)) or home.joinpath(*xdg_default)
    return str(base / APP)


def _home(platform: str, env: Mapping[str, str]) -> PurePosixPath | PureWindowsPath:
    flavour = _flavour(platform)
    name = "USERPROFILE" if platform == "win32" else "HOME"
    home = env.get(name)
    if home is None and platform == sys.platform:
        home = os.path.expanduser("~")  # no HOME: the password database knows
    return flavour(home or ".")


def _flavour(platform: str) -> type[PurePosixPath] | type[PureWindowsPath]:
    return PureWindowsPath if platform == "win32" else PurePosixPath


def _absolute(flavour, value: str | None):
    """`value` as a path when it is an absolute one, else None."""
    if not value:
        return None
    path = flavour(value)
    return path if path.is_absolute() else None
