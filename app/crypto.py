"""Encryption at rest under ``AUDIT_DATA_KEYS``: authenticator secrets and backups.

Fernet (from ``cryptography``: AES-128-CBC with an HMAC-SHA256 over the whole token)
rather than anything put together here. The keys are a list: the first encrypts and
every one decrypts, so a key is rotated by putting a new one first, re-encrypting what
the database holds (``audit-tools secrets rotate``) and dropping the old key once no
backup still needs it. Without ``AUDIT_DATA_KEYS`` there is one key, derived from
``AUDIT_SECRET_KEY`` (HKDF-SHA256): the secret key must then be kept with the backups.

A value stored in a column is marked ``fernet:`` so that a value written in plain
text is recognisable: ``EncryptedString`` reads only marked values and refuses the
rest, rather than trusting a secret that did not come through the service.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import String
from sqlalchemy.types import TypeDecorator

from app.config import Settings, get_settings

PREFIX = "fernet:"
# Bound into the derivation, so the data key differs from any other key derived from
# the same secret (the audit log's, say).
DERIVATION_INFO = b"case-audit data keys v1"


class DataKeyError(Exception):
    """A key is missing, malformed or does not open what it should: said for the
    people who run the service, never shown to a user."""


def derived_key(secret_key: str) -> bytes:
    """The Fernet key used when ``AUDIT_DATA_KEYS`` is empty."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=DERIVATION_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


def key_list(settings: Settings | None = None) -> list[bytes]:
    """The data keys in order (the first encrypts), checked to be Fernet keys."""
    settings = settings or get_settings()
    return list(_keys(settings.data_keys, settings.secret_key)[0])


@lru_cache(maxsize=8)
def _keys(data_keys: str, secret_key: str) -> tuple[tuple[bytes, ...], tuple[Fernet, ...]]:
    written = [k.strip() for k in data_keys.split(",") if k.strip()]
    raw = [k.encode() for k in written] if written else [derived_key(secret_key)]
    fernets = []
    for number, key in enumerate(raw, start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError:
            raise DataKeyError(
                f"AUDIT_DATA_KEYS: key {number} of {len(raw)} is not a Fernet key (32 bytes "
                "in URL-safe base64; make one with audit-tools secrets new-key)."
            ) from None
    return tuple(raw), tuple(fernets)


def _fernets(settings: Settings | None) -> tuple[Fernet, ...]:
    settings = settings or get_settings()
    return _keys(settings.data_keys, settings.secret_key)[1]


def encrypt(data: bytes, *, settings: Settings | None = None) -> bytes:
    """A Fernet token of ``data`` under the first key."""
    return _fernets(settings)[0].encrypt(data)


def decrypt(token: bytes, *, settings: Settings | None = None) -> bytes:
    """What ``token`` holds, under whichever key opens it; DataKeyError when none does
    (another key made it, or it was altered: Fernet cannot tell which)."""
    try:
        return MultiFernet(list(_fernets(settings))).decrypt(token)
    except InvalidToken:
        raise DataKeyError("No key in AUDIT_DATA_KEYS opens it.") from None


def key_number(token: bytes, *, settings: Settings | None = None) -> int | None:
    """Which key (1 = the first) opens ``token``, or None."""
    for number, fernet in enumerate(_fernets(settings), start=1):
        try:
            fernet.decrypt(token)
        except InvalidToken:
            continue
        return number
    return None


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def seal(text: str, *, settings: Settings | None = None) -> str:
    """``text`` encrypted under the first key, marked for a column."""
    return PREFIX + encrypt(text.encode(), settings=settings).decode("ascii")


def unseal(value: str, *, settings: Settings | None = None) -> str:
    """The text a sealed value holds. A value without the mark is refused: after the
    migration that sealed them all, a plain one was written around the service."""
    if not is_sealed(value):
        raise DataKeyError(
            "An encrypted column holds a value in plain text (written around the service, "
            "or the database is not upgraded past 6e3a1c9d4f32): it is not used."
        )
    try:
        return decrypt(value[len(PREFIX) :].encode("ascii"), settings=settings).decode()
    except DataKeyError:
        raise DataKeyError(
            "An encrypted value cannot be opened with any key in AUDIT_DATA_KEYS (or, "
            "without them, the key derived from AUDIT_SECRET_KEY): was a key removed "
            "before audit-tools secrets rotate encrypted it again?"
        ) from None


def reseal(value: str, *, settings: Settings | None = None) -> str:
    """A sealed value encrypted again under the first key (its content unchanged)."""
    return seal(unseal(value, settings=settings), settings=settings)


class EncryptedString(TypeDecorator[str]):
    """Text stored sealed (``fernet:`` and a token) and read back in plain, so the code
    that uses the value never handles the ciphertext. The column must hold the token:
    about 4/3 of (57 + the text's length rounded up to 16) characters, plus the mark."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        return None if value is None else seal(value)

    def process_result_value(self, value: str | None, dialect) -> str | None:
        return None if value is None else unseal(value)
