"""Passwords and random tokens.

Passwords: argon2id (argon2-cffi's defaults, RFC 9106's low-memory profile), at
least 12 characters, no composition rules, and not one of the 20,000 most common
passwords (the list Django ships, compiled by Royce Williams, in
``common-passwords.txt.gz`` beside this file). One verification costs about 0.17 s,
which is why sign-in runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import gzip
import hashlib
import secrets
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher()


@lru_cache(maxsize=2)
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verifying against this when the account does not exist costs the same time as a
    real check, so the response time does not reveal whether an account exists. Made
    at the first sign-in, not when the module is imported: every process that imports
    it (workers, the renderers, the command line) would otherwise pay for a hash."""
    return hasher.hash("not a real password, only for timing")


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common-passwords.txt.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return frozenset(line.strip() for line in f if line.strip())


def password_problem(password: str) -> str | None:
    """Why ``password`` may not be used, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must be at most {MAX_PASSWORD_LENGTH} characters"
    if password.lower().strip() in _common_passwords():
        return "is one of the most commonly used passwords; choose another"
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not there is a hash to check against."""
    try:
        checked = password_hash or _dummy_hash(_hasher)
        return _hasher.verify(checked, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token(prefix: str = "") -> str:
    """A random token of 256 bits, URL-safe."""
    return prefix + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What is stored for a token: its SHA-256. Tokens are random, so no salt is needed."""
    return hashlib.sha256(token.encode()).hexdigest()
