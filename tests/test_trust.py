"""chat.trust, pure: fingerprints, known_servers text, verdicts, DER dates, loopback."""
from __future__ import annotations

import calendar
import hashlib

import pytest

from chat import trust

FP = ":".join(["AB"] * 32)
FP2 = ":".join(["CD"] * 32)


def test_trust_fingerprint_is_openssls_form():
    der = b"certificate bytes"
    digest = hashlib.sha256(der).hexdigest().upper()
    assert trust.fingerprint(der).replace(":", "") == digest
    assert len(trust.fingerprint(der)) == 95


@pytest.mark.parametrize("text", [FP, FP.lower(), FP.replace(":", ""), f"sha256 Fingerprint={FP}",
                                  " ".join(FP.split(":"))])
def test_trust_parse_fingerprint_takes_what_people_paste(text):
    assert trust.parse_fingerprint(text) == FP


@pytest.mark.parametrize("text", ["", "AB:CD", FP + ":EF", FP.replace("A", "G")])
def test_trust_parse_fingerprint_refuses_others_with_a_sentence(text):
    with pytest.raises(ValueError, match="is not a SHA-256 fingerprint"):
        trust.parse_fingerprint(text)


def test_trust_server_key_brackets_ipv6():
    assert trust.server_key("chat.lan", 5220) == "chat.lan:5220"
    assert trust.server_key("::1", 5220) == "[::1]:5220"


def test_trust_parse_known_skips_comments_and_broken_lines():
    text = (f"# trusted\nchat.lan:5220 {FP}\n\nbroken line here\nx:1 notafingerprint\n"
            f"[::1]:5220 {FP2.lower()}  # mine\n")
    assert trust.parse_known(text) == {"chat.lan:5220": FP, "[::1]:5220": FP2}
    assert trust.parse_known(trust.known_line("a:1", FP)) == {"a:1": FP}


def test_trust_judge():
    known = {"a:1": FP}
    assert trust.judge(known, "a:1", FP) == trust.Trusted()
    assert trust.judge(known, "a:1", FP2) == trust.Changed(FP, FP2)
    assert trust.judge(known, "a:1", FP2, told=FP2) == trust.Changed(FP, FP2)  # kept wins
    assert trust.judge(known, "b:1", FP2) == trust.Unknown(FP2)
    assert trust.judge(known, "b:1", FP2, told=FP2) == trust.Trusted()
    assert trust.judge(known, "b:1", FP2, told=FP) == trust.Unknown(FP2)


def test_trust_changed_warning_names_old_new_and_the_file():
    lines = trust.changed_warning("a:1", trust.Changed(FP, FP2), "/home/u/.config/parlor/k")
    text = "\n".join(lines)
    assert "HAS CHANGED" in lines[0] and FP in text and FP2 in text
    assert "/home/u/.config/parlor/k" in text


@pytest.mark.parametrize("host,loop", [("localhost", True), ("127.0.0.1", True),
                                       ("127.8.9.1", True), ("::1", True), ("[::1]", True),
                                       ("0.0.0.0", False), ("192.168.1.5", False),
                                       ("chat.lan", False), ("::", False)])
def test_trust_is_loopback(host, loop):
    assert trust.is_loopback(host) is loop


def _der_tlv(tag: int, body: bytes) -> bytes:
    size = len(body)
    head = bytes([size]) if size < 128 else bytes([0x82]) + size.to_bytes(2, "big")
    return bytes([tag]) + head + body


def _certificate(not_before: bytes, not_after: bytes, version: bool = True) -> bytes:
    tbs = (_der_tlv(0xA0, _der_tlv(0x02, b"\x02")) if version else b"") + \
        _der_tlv(0x02, b"\x01\x02") + _der_tlv(0x30, b"\x06\x01\x00") + \
        _der_tlv(0x30, b"issuer" * 30) + _der_tlv(0x30, not_before + not_after) + \
        _der_tlv(0x30, b"subject")
    return _der_tlv(0x30, _der_tlv(0x30, tbs) + _der_tlv(0x30, b"alg") + _der_tlv(0x03, b"sig"))


def test_trust_validity_reads_utc_and_generalized_times():
    der = _certificate(_der_tlv(0x17, b"990102030405Z"), _der_tlv(0x18, b"20500607080910Z"))
    assert trust.validity(der) == (calendar.timegm((1999, 1, 2, 3, 4, 5)),
                                   calendar.timegm((2050, 6, 7, 8, 9, 10)))
    der = _certificate(_der_tlv(0x17, b"250102030405Z"), _der_tlv(0x17, b"260102030405Z"),
                       version=False)
    assert trust.validity(der)[1] == calendar.timegm((2026, 1, 2, 3, 4, 5))


@pytest.mark.parametrize("der", [b"", b"\x30\x05\x30", b"\x04\x00",
                                 _certificate(b"\x02\x01\x00", b"\x02\x01\x00")])
def test_trust_validity_refuses_what_is_no_certificate(der):
    with pytest.raises(trust.CertificateError):
        trust.validity(der)
