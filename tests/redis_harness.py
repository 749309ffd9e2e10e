"""A real redis-server (the Debian package) for the tests, on a free port, in a temporary
directory; `.ci/run` installs it when it is missing.

Tests that need it take the `redis_server` fixture (import it into the test module).
Without the binary they skip, saying why: the only skip in the suite.  Nothing sleeps:
a start waits for Redis's "Ready to accept connections" line, with a deadline.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

READY = "Ready to accept connections"
START_TIMEOUT = 10.0
MISSING = ("redis-server is not installed and could not be (apt-get install -y redis-server; "
           ".ci/run does it)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """One redis-server process; stop() and start() again on the same port and files
    (a restart keeps what its append-only file holds)."""

    def __init__(self, directory: Path, binary: str) -> None:
        self.directory, self.binary = directory, binary
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.directory), "--save", "", "--appendonly", "yes",
                "--appendfsync", "always", "--daemonize", "no", "--logfile", ""]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        deadline, seen = time.monotonic() + START_TIMEOUT, []
        os.set_blocking(self.proc.stdout.fileno(), True)
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()  # (Redis logs a line a step: no long wait)
            if not line:
                raise AssertionError(f"redis-server ended while starting: {''.join(seen)}")
            seen.append(line)
            if READY in line:
                return
        raise AssertionError(f"redis-server not ready in {START_TIMEOUT} s: {''.join(seen)}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=START_TIMEOUT)
        if self.proc is not None:
            self.proc.stdout.close()
        self.proc = None


def redis_binary() -> str | None:
    return shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.path.exists(p)), None)


def started(tmp_path_factory) -> RedisServer:
    """A running redis-server, or the test is skipped saying why."""
    binary = redis_binary()
    if binary is None:
        pytest.skip(MISSING)
    server = RedisServer(tmp_path_factory.mktemp("redis"), binary)
    server.start()
    return server


@pytest.fixture
def redis_server(tmp_path_factory):
    """A fresh redis-server for one test, killed at its end."""
    server = started(tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shared_redis(tmp_path_factory):
    """One redis-server for a whole module (its tests keep apart by key prefix)."""
    server = started(tmp_path_factory)
    yield server
    server.stop()
