"""Accounts, sans I/O: who owns which nick, their passwords hashed with scrypt (a
random salt each, the parameters kept with the hash), kept in the store's table
TABLE by casefolded nick; and the slowing of login attempts (growing delays per
address and per account, a budget of hashes).  Reads no clock but perf_counter, to
say what a hash cost.  Must not import socket, selectors, select, curses or threading.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import unicodedata
from dataclasses import dataclass

from chat.bucket import TokenBucket
from chat.server.store import Tables

TABLE = "account"
# scrypt's "interactive login" parameters (N=2^14, r=8, p=1: 16 MiB): 48 ms a hash on
# this 2-core machine (N=2^13: 23 ms, 2^15: 127 ms).  The loop is stalled for that
# long, so the budget below bounds how many the server does: at most HASH_RATE a
# second (a quarter of one CPU) after HASH_BURST at once.
SCRYPT = (2 ** 14, 8, 1)  # scrypt's n, r, p
MAXMEM = 64 * 2 ** 20
HASH_BURST, HASH_RATE = 20, 5.0             # hashes, server-wide
ADDRESS_BURST, ADDRESS_RATE = 10, 1 / 6     # hashes one address may ask for (10 a minute)
FIRST_DELAY, MAX_DELAY = 1.0, 60.0          # after a failure; doubled for each since
FORGET = 900.0                              # seconds after the last failure: afresh
MIN_PASSWORD = 8                            # characters


def password_problem(secret: str) -> str | None:
    """Why `secret` will not do as a password, as a sentence; None if it will."""
    if len(secret) < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters"
    return None


def _derive(secret: str, salt: bytes, cost: tuple[int, int, int]) -> bytes:
    n, r, p = cost
    # NFC: the same password typed on two keyboards (é as one or two code points) matches.
    data = unicodedata.normalize("NFC", secret).encode("utf-8", "surrogatepass")
    return hashlib.scrypt(data, salt=salt, n=n, r=r, p=p, maxmem=MAXMEM, dklen=32)


def hash_password(secret: str) -> dict:
    """A new record of `secret`: salt, parameters and hash (never the password)."""
    salt = secrets.token_bytes(16)
    return {"kdf": "scrypt", "cost": list(SCRYPT), "salt": salt.hex(),
            "hash": _derive(secret, salt, SCRYPT).hex()}


def password_matches(secret: str, record: dict) -> bool:
    """Whether `secret` is the password of `record` (compared in constant time)."""
    digest = _derive(secret, bytes.fromhex(record["salt"]), tuple(record["cost"]))
    return hmac.compare_digest(digest, bytes.fromhex(record["hash"]))


@dataclass(frozen=True, slots=True)
class Account:
    nick: str     # as registered (its case)
    record: dict  # salt, parameters, hash


class Accounts:
    """Every account, read from `store` when built, and one again whenever it is
    looked up where other servers share the store; what changes is put back (with
    the turn).  `spent` adds up the seconds the hashes took, for the shell to know
    that time was the password check's, not the line's."""

    def __init__(self, store: Tables) -> None:
        self.store = store
        self._accounts: dict[str, Account] = {}
        self.spent = 0.0
        for nick_key, value in store.items(TABLE).items():
            self._keep(nick_key, value)

    def __repr__(self) -> str:  # (never a hash in a log line)
        return f"Accounts({len(self._accounts)})"

    def get(self, nick_key: str) -> Account | None:
        self._fresh(nick_key)
        return self._accounts.get(nick_key)

    def exists(self, nick_key: str) -> bool:
        self._fresh(nick_key)
        return nick_key in self._accounts

    def _fresh(self, nick_key: str) -> None:
        """Read the account again where other servers register and drop them too (a
        store shared through Redis; any other store says None: nothing to read)."""
        now = self.store.fresh(TABLE, [nick_key])
        if now is None or nick_key not in now:
            return
        value = now[nick_key]
        if value is None:
            self._accounts.pop(nick_key, None)
            return
        self._keep(nick_key, value)

    def _keep(self, nick_key: str, value: str) -> None:
        try:
            kept = json.loads(value)
            self._accounts[nick_key] = Account(kept["as"], kept["hashed"])
        except (ValueError, KeyError, TypeError):
            pass  # damaged in the store: what this server knew of it stands

    def register(self, nick: str, secret: str) -> None:
        self._put(nick, self._timed(hash_password, secret))

    def change(self, nick_key: str, secret: str) -> None:
        self._put(self._accounts[nick_key].nick, self._timed(hash_password, secret))

    def check(self, nick_key: str, secret: str) -> bool:
        """Whether `secret` is the password of the account `nick_key`.  With no such
        account a hash is made all the same, so the answer takes as long."""
        account = self.get(nick_key)
        if account is None:
            self._timed(hash_password, secret)
            return False
        return self._timed(password_matches, secret, account.record)

    def drop(self, nick_key: str) -> None:
        del self._accounts[nick_key]
        self.store.put(TABLE, nick_key, None)

    def _put(self, nick: str, record: dict) -> None:
        self._accounts[nick.casefold()] = Account(nick, record)
        self.store.put(TABLE, nick.casefold(), json.dumps({"as": nick, "hashed": record}))

    def _timed(self, work, *args):
        start = time.perf_counter()
        try:
            return work(*args)
        finally:
            self.spent += time.perf_counter() - start


class LoginThrottle:
    """When an address or an account may try a password again: each failure doubles
    the wait (FIRST_DELAY up to MAX_DELAY), kept per address and per account name
    (whether or not it exists, so a wait never tells); and whether a hash may be made
    now at all (a budget per address and one for the server).  Fed the time."""

    def __init__(self) -> None:
        self._failures: dict[str, tuple[int, float]] = {}  # "a:host"/"n:nick" -> (count, until)
        self._hashes = TokenBucket(HASH_BURST, HASH_RATE)
        self._by_address: dict[str, TokenBucket] = {}

    def wait(self, address: str, nick_key: str, now: float) -> float:
        """Seconds before `address` may try a password (for `nick_key`) again; 0: now."""
        until = max(self._until(f"a:{address}", now), self._until(f"n:{nick_key}", now))
        return max(until - now, 0.0)

    def _until(self, name: str, now: float) -> float:
        count, until = self._failures.get(name, (0, 0.0))
        return until

    def failed(self, address: str, nick_key: str, now: float) -> None:
        for name in (f"a:{address}", f"n:{nick_key}"):
            count, until = self._failures.get(name, (0, now))
            count = 0 if now - until > FORGET else count
            self._failures[name] = (count + 1, now + min(FIRST_DELAY * 2 ** count, MAX_DELAY))

    def succeeded(self, address: str, nick_key: str) -> None:
        self._failures.pop(f"a:{address}", None)
        self._failures.pop(f"n:{nick_key}", None)

    def may_hash(self, address: str, now: float) -> bool:
        """Take one hash from the budgets of `address` and the server, if both have one."""
        bucket = self._by_address.get(address)
        if bucket is None:
            bucket = self._by_address[address] = TokenBucket(ADDRESS_BURST, ADDRESS_RATE)
        if bucket.level(now) < 1 or self._hashes.level(now) < 1:
            return False
        bucket.take(now, 1)
        self._hashes.take(now, 1)
        return True

    def forget_idle(self, now: float) -> None:
        """Memory bounded by recent failures and recent askers."""
        for name in [n for n, (_, until) in self._failures.items() if now - until > FORGET]:
            del self._failures[name]
        for address in [a for a, b in self._by_address.items() if b.level(now) >= b.burst]:
            del self._by_address[address]
