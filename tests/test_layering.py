"""The pure cores import no I/O: read their imports with ast and check them.

protocol, the server state and the client core must exist; the other pure modules are checked when
they exist, found by listing the tree rather than by a fixed list of files.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"socket", "selectors", "select", "curses", "threading", "subprocess", "ssl",
             "sqlite3", "termios"}
# The shells: the only modules that may do I/O.  Every other module under chat/ and
# game/ is a pure core, found by listing the tree (a new module is pure by default).
SHELLS = {"chat.server.loop", "chat.server.main", "chat.server.sqlite_store",
          "chat.server.redis_client", "chat.server.redis_store",
          "chat.server.redis_link", "chat.server.redis_bus", "chat.client.net",
          "chat.client.term", "chat.client.plain", "chat.client.main", "chat.client.tui",
          "chat.client.settings", "chat.client.stdin_thread", "chat.tls", "chat.server.tls",
          "chat.client.tls"}
REQUIRED = {"chat.protocol", "chat.server.state", "chat.client.core"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


PURE_FILES = sorted(path for path in [*ROOT.glob("chat/**/*.py"), *ROOT.glob("game/*.py")]
                    if module_name(path) not in SHELLS)


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name the file imports, anywhere in it (also inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_layering_required_modules_exist():
    assert REQUIRED <= {module_name(path) for path in PURE_FILES}


@pytest.mark.parametrize("path", PURE_FILES, ids=[str(p.relative_to(ROOT)) for p in PURE_FILES])
def test_layering_pure_module_imports_no_io(path):
    names = imported_modules(path)
    io = sorted(n for n in names if n.split(".")[0] in FORBIDDEN)
    shells = sorted(n for n in names if any(n == s or n.startswith(s + ".") for s in SHELLS))
    assert not io, f"{path.relative_to(ROOT)} imports {io}"
    assert not shells, f"{path.relative_to(ROOT)} imports the shell modules {shells}"


def test_layering_checker_sees_every_import_form(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os, socket as s\nfrom select import select\n"
                      "from . import sibling\ndef f():\n    import curses.ascii\n")
    assert imported_modules(sample) == {"os", "socket", "select", "select.select", "curses.ascii"}


# ------------------------------------------------------------------ wire words
def _string_constants(path: Path) -> list[tuple[int, str]]:
    """Every string literal in a file, f-string pieces included, with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def wire_words_in(path: Path) -> list[tuple[int, str]]:
    """Literals that spell a wire keyword or a command name: the whole literal is one
    ('MSG', 'join', '/join', '/join '), as code that builds or reads lines writes them.
    Sentences for people that mention a command ('/join ROOM first') are text."""
    from chat import protocol as p
    names = {*p.COMMANDS, *p.LOCAL_COMMANDS}
    words = set(p.KEYWORDS) | names | {f"/{name}" for name in names} | {f"/{n} " for n in names}
    return [(line, text) for line, text in _string_constants(path) if text in words]


# chat/course.py is the course protocol's one module (seed 004), as protocol.py is
# Parlor's: its words (/list, /join, /nick, /who, /logout) are partly Parlor's too.
PROTOCOL_FILES = {ROOT / "chat" / "protocol.py", ROOT / "chat" / "course.py"}
CHAT_FILES = sorted(path for path in ROOT.glob("chat/**/*.py") if path not in PROTOCOL_FILES)


@pytest.mark.parametrize("path", CHAT_FILES, ids=[str(p.relative_to(ROOT)) for p in CHAT_FILES])
def test_layering_only_the_protocol_spells_wire_words(path):
    found = wire_words_in(path)
    assert not found, f"{path.relative_to(ROOT)} spells wire words (line, literal): {found}"


def test_layering_wire_word_check_finds_them(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('a = "MSG"\nb = f"/nick {x}"\nc = "/join ROOM first, please"\n'
                      'd = ("quit", "q")\n')
    assert wire_words_in(sample) == [(1, "MSG"), (2, "/nick "), (4, "quit"), (4, "q")]
