"""The backup file: a manifest and a database snapshot, encrypted under the data keys.

Fernet encrypts and authenticates a whole message at once, so a large snapshot is
cut into chunks of at most 8 MiB, each its own Fernet token::

    case-audit backup 1\\n              the format line (plain: says what the file is)
    then frames, each:
        4 bytes                         the token's length (big-endian)
        the token                       Fernet (url-safe base64 text)

and what each token holds, once decrypted::

    16 bytes                            the backup's random id (the same in every frame)
    1 byte                              M manifest, D data, E end
    4 bytes                             the frame's number (0, 1, 2 ... big-endian)
    the rest                            the manifest (JSON), a chunk, or the end (JSON:
                                        chunks, bytes and the SHA-256 of the snapshot)

A chunk is compressed (zlib, each on its own) when the manifest's ``compression`` is
"zlib": a SQLite file shrinks to about a quarter; ``pg_dump -Fc`` compresses already.

Each token is authenticated (an altered byte fails its HMAC), and the id and number
inside it bind it to its place: a frame dropped, repeated, reordered or taken from
another backup is found, and so is a file cut short (no end frame) or with anything
after its end. The manifest comes first, so ``backup --check`` reads it without the
rest. Nothing is written to the database before the whole file has been read.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from app import crypto
from app.config import Settings

FORMAT_LINE = b"case-audit backup 1\n"
CHUNK = 8 * 1024 * 1024
# A token of one chunk is about 4/3 of it; anything much larger is not one of ours.
MAX_FRAME = 2 * CHUNK
_LENGTH = struct.Struct(">I")
_HEAD = struct.Struct(">16scI")
MANIFEST, DATA, END = b"M", b"D", b"E"

Progress = Callable[[int], None]


class ArchiveError(Exception):
    """The file cannot be used: said for the person restoring it."""


def _frame(backup_id: bytes, kind: bytes, number: int, body: bytes, settings) -> bytes:
    token = crypto.encrypt(_HEAD.pack(backup_id, kind, number) + body, settings=settings)
    return _LENGTH.pack(len(token)) + token


def write(
    out: BinaryIO,
    *,
    manifest: dict[str, Any],
    snapshot: BinaryIO,
    settings: Settings | None = None,
    progress: Progress | None = None,
    compress: bool = False,
) -> dict[str, Any]:
    """Write ``manifest`` and the bytes of ``snapshot`` (compressed, if asked) to
    ``out``; the end's figures."""
    backup_id = os.urandom(16)
    manifest = {**manifest, "compression": "zlib" if compress else None}
    out.write(FORMAT_LINE)
    out.write(_frame(backup_id, MANIFEST, 0, json.dumps(manifest).encode(), settings))
    digest, total, number = hashlib.sha256(), 0, 0
    while chunk := snapshot.read(CHUNK):
        number += 1
        digest.update(chunk)
        total += len(chunk)
        # Level 1: nearly all the gain of level 6 (30 MB against 28 from a 127 MB
        # database) in half the time.
        body = zlib.compress(chunk, 1) if compress else chunk
        out.write(_frame(backup_id, DATA, number, body, settings))
        if progress is not None:
            progress(len(chunk))
    end = {"chunks": number, "bytes": total, "sha256": digest.hexdigest()}
    out.write(_frame(backup_id, END, number + 1, json.dumps(end).encode(), settings))
    return end


@dataclass
class Opened:
    manifest: dict[str, Any]
    key_number: int  # which of the data keys opens it (1 = the first)


class _Reader:
    def __init__(self, source: BinaryIO, settings: Settings | None) -> None:
        self.source, self.settings = source, settings
        self.backup_id: bytes | None = None
        self.number = 0

    def _read(self, size: int) -> bytes:
        data = self.source.read(size)
        if len(data) < size:
            raise ArchiveError(
                "The backup ends early: the file was cut short (copied before it was "
                "complete, or truncated). It cannot be restored."
            )
        return data

    def open(self) -> Opened:
        if self.source.read(len(FORMAT_LINE)) != FORMAT_LINE:
            raise ArchiveError("This is not a case-audit backup (its first line is not ours).")
        token = self._token()
        key = crypto.key_number(token, settings=self.settings)
        if key is None:
            raise ArchiveError(
                "The backup cannot be opened with AUDIT_DATA_KEYS (or, without them, the "
                "key derived from AUDIT_SECRET_KEY): it was encrypted with another key, "
                "or the file is damaged. Set the keys it was made with."
            )
        kind, body = self._check(crypto.decrypt(token, settings=self.settings))
        if kind != MANIFEST:
            raise ArchiveError("The backup is damaged: it does not start with its manifest.")
        return Opened(manifest=json.loads(body), key_number=key)

    def _token(self) -> bytes:
        (length,) = _LENGTH.unpack(self._read(_LENGTH.size))
        if not 0 < length <= MAX_FRAME:
            raise ArchiveError(f"The backup is damaged at part {self.number}: it was altered.")
        return self._read(length)

    def _check(self, plain: bytes) -> tuple[bytes, bytes]:
        backup_id, kind, number = _HEAD.unpack_from(plain)
        if self.backup_id is None:
            self.backup_id = backup_id
        if backup_id != self.backup_id or number != self.number:
            raise ArchiveError(
                f"The backup's part {self.number} is out of place (parts were removed, "
                "repeated, reordered or taken from another backup)."
            )
        self.number += 1
        return kind, plain[_HEAD.size :]

    def next(self) -> tuple[bytes, bytes]:
        token = self._token()
        try:
            plain = crypto.decrypt(token, settings=self.settings)
        except crypto.DataKeyError:
            raise ArchiveError(
                f"The backup's part {self.number} does not match its signature: the file "
                "was altered or damaged after it was made. It cannot be restored."
            ) from None
        return self._check(plain)


def read_manifest(source: BinaryIO, *, settings: Settings | None = None) -> Opened:
    """The manifest, read and authenticated without the rest of the file."""
    return _Reader(source, settings).open()


def extract(
    source: BinaryIO,
    out: BinaryIO,
    *,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> Opened:
    """Decrypt the snapshot into ``out``, checking every part, the end and the digest;
    ArchiveError at the first thing wrong."""
    reader = _Reader(source, settings)
    opened = reader.open()
    compressed = opened.manifest.get("compression") == "zlib"
    digest, total, chunks = hashlib.sha256(), 0, 0
    while True:
        kind, body = reader.next()
        if kind == END:
            break
        if kind != DATA:
            raise ArchiveError(f"The backup is damaged: part {reader.number - 1} is not data.")
        if compressed:
            body = zlib.decompress(body)
        digest.update(body)
        total += len(body)
        chunks += 1
        out.write(body)
        if progress is not None:
            progress(len(body))
    end = json.loads(body)
    if (end["chunks"], end["bytes"], end["sha256"]) != (chunks, total, digest.hexdigest()):
        raise ArchiveError("The backup is damaged: its snapshot does not match its end.")
    if source.read(1):
        raise ArchiveError("The backup has data after its end: it was altered.")
    return opened
