"""The client's TLS, a shell for chat.client.net: the contexts (the system's
authorities, or --tls-ca's; or none, to pin a self-signed certificate by its
fingerprint), the known_servers file, and what a finished handshake is checked
against (chat.trust decides).  No chat logic here.
"""
from __future__ import annotations

import os
import ssl
from dataclasses import dataclass

from chat import tls as t
from chat import trust
from chat.paths import config_dir


class TrustError(Exception):
    """The server's certificate is not (or no longer) trusted; the message says why."""


class Untrusted(TrustError):
    """First use: no authority vouches for the certificate and it is not known yet."""

    def __init__(self, key: str, fingerprint: str, why: str) -> None:
        super().__init__(trust.unknown_text(key, fingerprint))
        self.key, self.fingerprint, self.why = key, fingerprint, why


class Changed(TrustError):
    """The certificate is another than the one trusted before: refused, loudly."""

    def __init__(self, key: str, verdict: trust.Changed, path: str) -> None:
        super().__init__("\n".join(trust.changed_warning(key, verdict, path)))


@dataclass
class ClientTLS:
    """What --tls, --tls-ca and --trust asked for, and where known_servers is."""
    ca_file: str | None = None
    told: str | None = None  # --trust FINGERPRINT, in trust.fingerprint's form
    known_path: str = ""

    def __post_init__(self) -> None:
        if not self.known_path:
            self.known_path = os.path.join(config_dir(), trust.KNOWN_SERVERS)

    def context(self, key: str, first_use: bool = False) -> tuple[ssl.SSLContext, bool]:
        """The context for a connection to `key`, and whether it pins (a server
        trusted on first use is checked by its fingerprint; any other by the
        authorities).  `first_use`: pin, to see a certificate no authority vouches for."""
        if self.ca_file is None and (first_use or self.told or key in self.known()):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # (the fingerprint is checked instead)
            pins = True
        else:
            context = ssl.create_default_context(cafile=self.ca_file)
            pins = False
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context, pins

    def known(self) -> dict[str, str]:
        try:
            with open(self.known_path, encoding="utf-8") as f:
                return trust.parse_known(f.read())
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise TrustError(f"cannot read {self.known_path}: {exc.strerror or exc}") from None

    def check(self, sock: ssl.SSLSocket, key: str) -> None:
        """After a pinning handshake: raises Untrusted or Changed unless the certificate
        is the one known (or the one --trust names, which is then remembered)."""
        seen = t.peer_fingerprint(sock)
        known = self.known()
        verdict = trust.judge(known, key, seen, self.told)
        if isinstance(verdict, trust.Changed):
            raise Changed(key, verdict, self.known_path)
        if isinstance(verdict, trust.Unknown):
            raise Untrusted(key, seen, "not known yet")
        if key not in known:
            self.remember(key, seen)

    def remember(self, key: str, fingerprint: str) -> None:
        """Trust `fingerprint` for `key` from now on (a line added to known_servers)."""
        folder = os.path.dirname(self.known_path)
        try:
            os.makedirs(folder, exist_ok=True)
            with open(self.known_path, "a", encoding="utf-8") as f:
                f.write(trust.known_line(key, fingerprint))
        except OSError as exc:
            raise TrustError(f"cannot remember the certificate in {self.known_path}: "
                             f"{exc.strerror or exc}") from None

    def refusal(self, exc: ssl.SSLCertVerificationError, key: str) -> str:
        """Why a verified handshake failed, as a sentence without its full stop."""
        vouch = f"the authority in {self.ca_file}" if self.ca_file else "no authority this system knows"
        return (f"the certificate of {key} is not one {vouch} vouches for "
                f"({t.failure(exc)})")


def version(sock) -> str:
    """'TLS 1.3' for a TLS socket, '' for a plain one."""
    if not isinstance(sock, ssl.SSLSocket):
        return ""
    return (sock.version() or "TLS").replace("TLSv", "TLS ")
