"""TLS socket helpers shared by the server's loop and the client's link (shells):
reading every record that has come, one handshake step without blocking, the
peer's certificate fingerprint.  No chat logic; the trust decisions are chat.trust's.
"""
from __future__ import annotations

import ssl

from chat.trust import fingerprint

WANTS = (ssl.SSLWantReadError, ssl.SSLWantWriteError)  # a non-blocking TLS call must wait
READ, WRITE = 1, 2  # what a handshake waits for (the values of selectors.EVENT_*)


def receive(sock: ssl.SSLSocket, size: int) -> bytes | None:
    """What has come on a TLS socket, up to about `size` bytes: b"" at the peer's end,
    None if nothing yet; raises OSError.  An SSLSocket's recv gives one record at a
    time (a line each, from a client that writes line by line), so this reads on
    until the socket is empty, as one plain recv would; and it always takes what the
    TLS layer has decrypted already, which select cannot see."""
    chunks, total = [], 0
    while total < size or sock.pending():
        try:
            chunk = sock.recv(max(size - total, sock.pending()))
        except WANTS:
            break
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            chunk = b""
        if not chunk:
            if chunks:
                break  # the end shows again at the next read
            return b""
        chunks.append(chunk)
        total += len(chunk)
    if not chunks:
        return None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def handshake_step(sock: ssl.SSLSocket) -> int:
    """One try at the handshake: 0 when it is done, else READ or WRITE (what the
    socket must be ready for before the next try).  Raises OSError (ssl.SSLError
    for what the peer did wrong)."""
    try:
        sock.do_handshake()
    except ssl.SSLWantReadError:
        return READ
    except ssl.SSLWantWriteError:
        return WRITE
    return 0


def peer_fingerprint(sock: ssl.SSLSocket) -> str:
    der = sock.getpeercert(binary_form=True)
    return fingerprint(der) if der else ""


def failure(exc: OSError, handshake: bool = True) -> str:
    """What went wrong in a TLS exchange (or, not `handshake`, on a connection that may
    not be TLS at all), as words (no codes)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return exc.verify_message or "the certificate could not be verified"
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError,
                        BrokenPipeError)):
        return ("the connection was closed during the TLS handshake" if handshake
                else "the connection was reset by the other end")
    if isinstance(exc, ssl.SSLError):
        return (exc.reason or str(exc)).replace("_", " ").lower()
    return exc.strerror or str(exc)
