"""The servers under test, each a fresh subprocess: Parlor's server.py and ngircd.

A server object knows its pid (for /proc), its port and which protocol adapter
speaks to it.  Parlor's limit flags that would throttle a benchmark are found in
its --help and raised; the report says which.
"""
from __future__ import annotations

import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 15.0

# Flags a Parlor server may have (#5) that would throttle or refuse benchmark load,
# and the value each is raised to.  --max-pending (the slow-consumer cut-off) is
# left at its default on purpose: the generator reads fast enough to stay under it.
RAISE = {
    "--max-rate": "1000000",
    "--burst": "1000000",
    "--max-burst": "1000000",
    "--max-clients": "100000",
    "--max-connections": "100000",
    "--max-per-ip": "100000",
    "--max-per-address": "0",
    "--connect-rate": "0",
    "--resume-grace": "0",  # the load generator's clients hang up abruptly, run after run
    "--max-work": "0",
}


class ServerError(RuntimeError):
    """The server under test did not start."""


def default_parlor_cmd() -> list[str]:
    return [sys.executable, str(ROOT / "server.py"), "--port", "0", "--quiet"]


def parlor_flags(cmd: list[str]) -> tuple[list[str], list[str]]:
    """Flags to add to `cmd`, and the limit-like flags seen in its --help and left alone."""
    try:
        text = subprocess.run(cmd + ["--help"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return [], []
    seen = set(re.findall(r"(--[a-z][a-z0-9-]*)", text))
    added = []
    for flag, value in RAISE.items():
        if flag in seen and flag not in cmd:
            added += [flag, value]
    kept = sorted(f for f in seen if f.startswith("--max") and f not in RAISE)
    return added, kept


class Running:
    """A started server: pid, port, adapter name, and how to stop it."""

    def __init__(self, kind: str, proc: subprocess.Popen, port: int, workdir: str | None) -> None:
        self.kind, self.proc, self.port, self._workdir = kind, proc, port, workdir
        self.host = "127.0.0.1"

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def adapter(self) -> str:
        return "irc" if self.kind == "ngircd" else "parlor"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> "Running":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_parlor(cmd: list[str]) -> Running:
    """Start `cmd` and read its first line, `listening on HOST:PORT`.  Unless `cmd`
    names a --db, the server gets a new history file of its own (what a user gets by
    default: a file store), removed when it stops."""
    workdir = None
    if "--db" not in cmd:
        workdir = tempfile.mkdtemp(prefix="parlor-bench-db-")
        cmd = [*cmd, "--db", os.path.join(workdir, "history.db")]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    line = _first_line(proc, START_TIMEOUT)
    match = re.match(rb"listening on (.+):(\d+)( \(TLS\))?\s*$", line)
    if not match:
        proc.kill()
        proc.wait()
        raise ServerError(f"{shlex.join(cmd)} printed {line!r}, not 'listening on HOST:PORT'")
    return Running("parlor", proc, int(match.group(2)), workdir)


def _first_line(proc: subprocess.Popen, timeout: float) -> bytes:
    fd = proc.stdout.fileno()
    end, data = time.monotonic() + timeout, b""
    while b"\n" not in data:
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0]


def find_ngircd() -> str | None:
    return shutil.which("ngircd") or next(
        (p for p in ("/usr/sbin/ngircd", "/usr/local/sbin/ngircd") if os.access(p, os.X_OK)), None)


NGIRCD_CONF = """\
[Global]
Name = bench.parlor.test
Info = Parlor benchmark peer
AdminInfo1 = benchmark
AdminInfo2 = localhost
AdminEMail = bench@localhost
Listen = 127.0.0.1
Ports = {port}
MotdPhrase = bench
PidFile = {workdir}/ngircd.pid
HelpFile = {workdir}/help.txt
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxNickLength = 16
MaxPenaltyTime = 0
MaxListSize = 100
PingTimeout = 600
PongTimeout = 600
[Options]
DNS = no
Ident = no
PAM = no
IncludeDir = {workdir}/conf.d
"""


def start_ngircd(binary: str) -> Running:
    """ngircd in the foreground with our own config: 127.0.0.1, a free high port,
    flood penalties off (MaxPenaltyTime = 0), connection and join limits off."""
    workdir = tempfile.mkdtemp(prefix="parlor-bench-ngircd-")
    os.chmod(workdir, 0o755)  # run as root it drops to 'nobody', which must read the config
    os.mkdir(os.path.join(workdir, "conf.d"))
    port = _free_port()
    conf = os.path.join(workdir, "ngircd.conf")
    with open(conf, "w") as f:
        f.write(NGIRCD_CONF.format(port=port, workdir=workdir))
    os.chmod(conf, 0o644)
    log = open(os.path.join(workdir, "ngircd.log"), "wb")
    proc = subprocess.Popen([binary, "-n", "-f", conf], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    log.close()
    running = Running("ngircd", proc, port, workdir)
    try:
        _wait_for_log(proc, os.path.join(workdir, "ngircd.log"), b" ready.", START_TIMEOUT)
    except ServerError:
        running.stop()
        raise
    return running


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_log(proc: subprocess.Popen, path: str, marker: bytes, timeout: float) -> None:
    """ngircd says `Server "NAME" (on "HOST") ready.` once it listens; poll its log for it."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with open(path, "rb") as f:
            text = f.read()
        if marker in text:
            return
        if proc.poll() is not None:
            raise ServerError(f"ngircd exited with {proc.returncode}: {text.decode(errors='replace')[-500:]}")
        time.sleep(0.02)
    raise ServerError(f"ngircd did not say it was ready within {timeout:g} s")
