"""Trust decisions for TLS, sans I/O: a certificate's SHA-256 fingerprint, the
known_servers file as text (trust on first use, like ssh's known_hosts), a
certificate's validity dates read from its DER bytes, and which hosts are this
machine.  Must not import socket, ssl, selectors, select, curses or threading.
"""
from __future__ import annotations

import calendar
import hashlib
import ipaddress
import re
from dataclasses import dataclass

KNOWN_SERVERS = "known_servers"  # the file's name, in the config folder
_HEX = re.compile(r"[0-9A-F]{64}\Z")


def fingerprint(der: bytes) -> str:
    """A certificate's SHA-256 fingerprint as `openssl x509 -fingerprint -sha256`
    writes it: 32 upper-case hex pairs joined by colons."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, 64, 2))


def parse_fingerprint(text: str) -> str:
    """A fingerprint as a user may paste it (with or without colons or spaces, any
    case, after openssl's 'sha256 Fingerprint='), in fingerprint()'s form; raises
    ValueError with a sentence."""
    bare = text.rpartition("=")[2].replace(":", "").replace(" ", "").upper()
    if not _HEX.match(bare):
        raise ValueError(f"{text!r} is not a SHA-256 fingerprint (64 hex digits, "
                         "in pairs joined by colons)")
    return ":".join(bare[i:i + 2] for i in range(0, 64, 2))


def server_key(host: str, port: int) -> str:
    """How known_servers names a server: `host:port`, `[v6]:port`."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_known(text: str) -> dict[str, str]:
    """known_servers' text: one `HOST:PORT FINGERPRINT` a line; '#' starts a comment;
    a line that is neither is skipped (a hand edit gone wrong loses only that line)."""
    known = {}
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) != 2:
            continue
        try:
            known[words[0]] = parse_fingerprint(words[1])
        except ValueError:
            continue
    return known


def known_line(key: str, print_: str) -> str:
    return f"{key} {print_}\n"


@dataclass(frozen=True)
class Trusted:
    """The server's certificate is the one trusted before (or the one --trust names)."""


@dataclass(frozen=True)
class Unknown:
    """No certificate is trusted for this server yet: ask (first use)."""
    fingerprint: str


@dataclass(frozen=True)
class Changed:
    """The server shows another certificate than the one trusted: refuse, loudly."""
    old: str
    new: str


Verdict = Trusted | Unknown | Changed


def judge(known: dict[str, str], key: str, seen: str, told: str | None = None) -> Verdict:
    """What to make of the certificate `seen` from server `key`, given what
    known_servers holds and the fingerprint the user gave (--trust), if any."""
    old = known.get(key)
    if old is not None:
        return Trusted() if old == seen else Changed(old, seen)
    return Trusted() if told == seen else Unknown(seen)


def changed_warning(key: str, verdict: Changed, path: str) -> list[str]:
    """The loud refusal of a changed certificate, as lines."""
    return [
        f"WARNING: THE CERTIFICATE OF {key} HAS CHANGED. Not connecting.",
        "Someone may be listening in (a machine in the middle), or the server's owner "
        "made a new certificate.",
        f"Trusted before: {verdict.old}",
        f"Shown now:      {verdict.new}",
        f"If the owner confirms the new one, delete the line for {key} in {path} and "
        "connect again.",
    ]


def unknown_text(key: str, seen: str) -> str:
    """The first-use sentence: what the certificate is and why it is not trusted yet."""
    return (f"The server {key} has a certificate no authority vouches for (self-signed). "
            f"Its SHA-256 fingerprint is {seen}. Ask its owner for the fingerprint "
            "(server.py prints it when it starts) and compare")


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine only ('localhost', 127.x.x.x, ::1): a password
    or a chat sent there in clear never crosses a network."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# ------------------------------------------------------------------ DER dates
class CertificateError(ValueError):
    """A certificate's bytes are not the DER this module reads."""


def validity(der: bytes) -> tuple[float, float]:
    """(notBefore, notAfter) of an X.509 certificate, in seconds since the epoch."""
    (pos, _), _ = _element(der, 0, 0x30)  # Certificate
    (pos, _), _ = _element(der, pos, 0x30)  # tbsCertificate
    if der[pos:pos + 1] == b"\xa0":  # [0] version
        pos = _skip(der, pos)
    for _ in range(3):  # serial number, signature algorithm, issuer
        pos = _skip(der, pos)
    (start, _), _ = _element(der, pos, 0x30)  # validity
    first, after = _time(der, start)
    second, _ = _time(der, after)
    return first, second


def _header(der: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the element at `pos`."""
    try:
        tag, size = der[pos], der[pos + 1]
        pos += 2
        if size & 0x80:
            count = size & 0x7F
            size = int.from_bytes(der[pos:pos + count], "big")
            pos += count
    except IndexError:
        raise CertificateError("the certificate ends too soon") from None
    if pos + size > len(der):
        raise CertificateError("the certificate ends too soon")
    return tag, pos, pos + size


def _element(der: bytes, pos: int, tag: int) -> tuple[tuple[int, int], int]:
    found, start, end = _header(der, pos)
    if found != tag:
        raise CertificateError(f"expected DER tag {tag:#x} at byte {pos}, found {found:#x}")
    return (start, end), end


def _skip(der: bytes, pos: int) -> int:
    return _header(der, pos)[2]


def _time(der: bytes, pos: int) -> tuple[float, int]:
    tag, start, end = _header(der, pos)
    text = der[start:end].decode("ascii", "replace")
    if tag == 0x17:  # UTCTime: YYMMDDHHMMSSZ
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != 0x18:  # GeneralizedTime: YYYYMMDDHHMMSSZ
        raise CertificateError(f"expected a time at byte {pos}")
    try:
        fields = [int(text[i:j]) for i, j in ((0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14))]
    except ValueError:
        raise CertificateError(f"unreadable time {text!r}") from None
    return float(calendar.timegm((*fields, 0, 0, 0))), end
