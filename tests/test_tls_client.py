"""The clients over TLS, end to end: the real server.py with a test certificate and
the real client.py, in line mode (pipes) and full-screen (a pty read through a
terminal emulator): a verified connect, a wrong authority refused, trust on first
use, a changed certificate refused loudly, reconnects checked the same way, a TLS
client on a plain port."""
from __future__ import annotations

import os
import time

import pytest

from chat.trust import parse_known
from conftest import TIMEOUT
from pty_harness import ENTER, ServerProcess, Terminal, free_port


@pytest.fixture
def config(tmp_path, monkeypatch):
    """Each test's own config folder (the children inherit it): known_servers goes there."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "parlor" / "known_servers"


@pytest.fixture
def terminals():
    started: list[Terminal] = []

    def start(*args: str, **kwargs) -> Terminal:
        term = Terminal(list(args), **kwargs)
        started.append(term)
        return term
    yield start
    for term in started:
        term.close()


def tls_server(spawn, certs):
    return spawn.server("--tls-cert", certs.cert, "--tls-key", certs.key)


def line_client(spawn, server, *extra: str):
    return spawn.client("--port", str(server.address[1]), "--room", "general", "--nick", "ann",
                        *extra)


def test_tls_client_verified_by_its_authority_chats(spawn, certs, config):
    server = tls_server(spawn, certs)
    client = line_client(spawn, server, "--tls-ca", certs.ca)
    client.stdout.expect(f"Connected to 127.0.0.1:{server.address[1]} (parlor/4, encrypted: TLS 1.")
    client.stdout.expect("You joined general as ann")
    client.write("secret plans")
    client.stdout.expect("[general] ann: secret plans")
    client.close_stdin()
    assert client.wait() == 0
    assert not config.exists()  # an authority vouched: nothing to remember


def test_tls_client_refuses_a_certificate_of_another_authority(spawn, certs, other_certs, config):
    server = tls_server(spawn, certs)
    client = line_client(spawn, server, "--tls-ca", other_certs.ca)
    assert client.wait() == 1
    said = client.stderr.read_rest()
    assert said == [f"parlor: the certificate of 127.0.0.1:{server.address[1]} is not one the "
                    f"authority in {other_certs.ca} vouches for (unable to get local issuer "
                    "certificate)"]


def test_tls_client_first_use_in_line_mode_names_trust_then_remembers(spawn, certs, config):
    server = tls_server(spawn, certs)
    key = f"127.0.0.1:{server.address[1]}"
    first = line_client(spawn, server, "--tls")
    assert first.wait() == 1
    said = first.stderr.read_rest()
    assert len(said) == 1 and certs.fingerprint in said[0], said
    assert said[0].endswith(f"if they match, connect again with --trust {certs.fingerprint}")
    assert not config.exists()  # nothing is trusted without a yes

    trusting = line_client(spawn, server, "--trust", certs.fingerprint.replace(":", "").lower())
    trusting.stdout.expect("encrypted: TLS")
    trusting.stdout.expect("You joined general as ann")
    trusting.close_stdin()
    assert trusting.wait() == 0
    assert parse_known(config.read_text()) == {key: certs.fingerprint}

    again = line_client(spawn, server, "--tls")  # known now: no question
    again.stdout.expect("You joined general as ann")
    again.close_stdin()
    assert again.wait() == 0


def test_tls_client_trust_of_another_fingerprint_is_refused(spawn, certs, other_certs, config):
    server = tls_server(spawn, certs)
    client = line_client(spawn, server, "--trust", other_certs.fingerprint)
    assert client.wait() == 1
    said = client.stderr.read_rest()
    assert len(said) == 1 and f"--trust {certs.fingerprint}" in said[0], said
    assert not config.exists()


def test_tls_client_refuses_a_changed_certificate_loudly(spawn, certs, other_certs, config):
    server = tls_server(spawn, certs)
    key = f"127.0.0.1:{server.address[1]}"
    config.parent.mkdir(parents=True)
    config.write_text(f"{key} {other_certs.fingerprint}\n")
    client = line_client(spawn, server, "--tls")
    assert client.wait() == 1
    said = "\n".join(client.stderr.read_rest())
    assert f"WARNING: THE CERTIFICATE OF {key} HAS CHANGED" in said
    assert f"Trusted before: {other_certs.fingerprint}" in said
    assert f"Shown now:      {certs.fingerprint}" in said
    assert str(config) in said
    assert config.read_text() == f"{key} {other_certs.fingerprint}\n"  # left as it was


def test_tls_client_on_a_plain_port_says_so(spawn, config):
    server = spawn.server()
    client = line_client(spawn, server, "--tls")
    assert client.wait() == 1
    said = client.stderr.read_rest()
    port = server.address[1]
    assert said == [f"parlor: 127.0.0.1:{port} answered in plain text, not TLS: it is not "
                    "started with --tls-cert. Without --tls, the client connects in plain text"]


def test_tls_tui_first_use_asks_yes_or_no_and_shows_encryption(spawn, certs, config,
                                                                terminals):
    server = tls_server(spawn, certs)
    port = server.address[1]
    term = terminals("--port", str(port), "--room", "general", "--nick", "ann", "--tls",
                     rows=24, cols=100)
    term.wait_for("Trust it and connect? Type yes or no.")
    assert certs.fingerprint in term.text().replace("\n", "").replace(" ", "") or \
        certs.fingerprint[:40] in term.text()
    term.wait_for(lambda t: "trust the certificate? yes or no" in t.status())
    term.send("maybe" + ENTER)
    term.wait_for("Type yes (trust the certificate and connect) or no.")
    term.send("yes" + ENTER)
    term.wait_for(lambda t: "encrypted (TLS 1." in t.status() and "#general" in t.status(),
                  why="connected over TLS")
    assert parse_known(config.read_text()) == {f"127.0.0.1:{port}": certs.fingerprint}


def test_tls_tui_first_use_no_does_not_connect(spawn, certs, config, terminals):
    server = tls_server(spawn, certs)
    term = terminals("--port", str(server.address[1]), "--tls", rows=24, cols=100)
    term.wait_for("Type yes or no.")
    term.send("no" + ENTER)
    term.wait_for("Not connected: the certificate is not trusted.")
    assert not config.exists()


def test_tls_tui_reconnect_checks_the_certificate_again(certs, other_certs, config, terminals):
    """The server comes back with another certificate on the same port: the
    reconnect is refused as loudly as a first connect would be."""
    port = free_port()
    server = ServerProcess(port, "--tls-cert", certs.cert, "--tls-key", certs.key)
    try:
        term = terminals("--port", str(port), "--room", "general", "--nick", "ann",
                         "--trust", certs.fingerprint, rows=30, cols=120)
        term.wait_for(lambda t: "encrypted (TLS 1." in t.status(), why="connected over TLS")
        server.stop()
        term.wait_for("Disconnected.")
        server = ServerProcess(port, "--tls-cert", other_certs.cert, "--tls-key", other_certs.key)
        term.wait_for("HAS CHANGED", timeout=15)
        term.wait_for("Shown now:")  # (the screen may be drawn in more than one write)
        text = term.text()
        assert "Trusted before:" in text and "Shown now:" in text
        assert "encrypted" not in term.status()
    finally:
        server.stop()
