"""Where Parlor's files go on each platform (chat.paths): pure, so each is checked here."""
from __future__ import annotations

from pathlib import Path

import pytest

from chat import paths

HOME = {"HOME": "/home/ann"}
WINDOWS = {"USERPROFILE": "C:\\Users\\Ann", "LOCALAPPDATA": "C:\\Users\\Ann\\AppData\\Local",
           "APPDATA": "C:\\Users\\Ann\\AppData\\Roaming"}


def test_paths_linux_defaults_follow_xdg():
    assert paths.data_dir("linux", HOME) == "/home/ann/.local/share/parlor"
    assert paths.config_dir("linux", HOME) == "/home/ann/.config/parlor"
    assert paths.default_db("linux", HOME) == "/home/ann/.local/share/parlor/history.db"


def test_paths_linux_uses_the_xdg_variables():
    env = {**HOME, "XDG_DATA_HOME": "/data", "XDG_CONFIG_HOME": "/etc/ann"}
    assert paths.data_dir("linux", env) == "/data/parlor"
    assert paths.config_dir("linux", env) == "/etc/ann/parlor"
    assert paths.default_db("freebsd14", env) == "/data/parlor/history.db"


@pytest.mark.parametrize("value", ["", "relative/dir"])
def test_paths_linux_ignores_an_empty_or_relative_xdg_variable(value):
    env = {**HOME, "XDG_DATA_HOME": value, "XDG_CONFIG_HOME": value}
    assert paths.data_dir("linux", env) == "/home/ann/.local/share/parlor"
    assert paths.config_dir("linux", env) == "/home/ann/.config/parlor"


def test_paths_windows_uses_local_and_roaming_app_data():
    assert paths.data_dir("win32", WINDOWS) == "C:\\Users\\Ann\\AppData\\Local\\Parlor"
    assert paths.config_dir("win32", WINDOWS) == "C:\\Users\\Ann\\AppData\\Roaming\\Parlor"
    assert paths.default_db("win32", WINDOWS) == \
        "C:\\Users\\Ann\\AppData\\Local\\Parlor\\history.db"


def test_paths_windows_without_the_variables_falls_back_to_the_profile():
    env = {"USERPROFILE": "C:\\Users\\Ann"}
    assert paths.data_dir("win32", env) == "C:\\Users\\Ann\\AppData\\Local\\Parlor"
    assert paths.config_dir("win32", env) == "C:\\Users\\Ann\\AppData\\Roaming\\Parlor"


def test_paths_macos_uses_application_support():
    env = {**HOME, "XDG_DATA_HOME": "/data"}  # not a macOS convention: ignored there
    assert paths.data_dir("darwin", env) == "/home/ann/Library/Application Support/Parlor"
    assert paths.config_dir("darwin", env) == "/home/ann/Library/Application Support/Parlor"
    assert paths.default_db("darwin", env) == \
        "/home/ann/Library/Application Support/Parlor/history.db"


def test_paths_default_to_this_machines_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert paths.default_db() == paths.default_db(paths.sys.platform,
                                                  {"XDG_DATA_HOME": str(tmp_path / "data")})
    if paths.sys.platform == "linux":
        assert paths.default_db() == str(tmp_path / "data" / "parlor" / "history.db")


def test_paths_create_nothing(tmp_path):
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    paths.default_db("linux", env)
    paths.config_dir("linux", env)
    assert list(tmp_path.iterdir()) == []


def test_paths_is_the_only_module_that_knows_the_platforms_folders():
    """Every feature asks chat.paths where its files go: no other module spells a
    platform's folder (its variables, the home folder, Application Support)."""
    root = paths.__file__.rsplit("/chat/", 1)[0]
    spelled = ("XDG_", "APPDATA", "USERPROFILE", "expanduser", "Path.home", "Application Support")
    sources = sorted([*Path(root, "chat").rglob("*.py"), *Path(root, "game").rglob("*.py")])
    found = [f"{path.relative_to(root)}: {word}" for path in sources
             if path != Path(paths.__file__)
             for word in spelled if word in path.read_text(encoding="utf-8")]
    assert found == []
