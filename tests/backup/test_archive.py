"""The backup file's format (app/backup/archive.py): every part authenticated and in
its place, the whole file or nothing. No database: the snapshot is any bytes."""

from __future__ import annotations

import io
import os
import struct

import pytest
from cryptography.fernet import Fernet

from app.backup import archive
from app.config import Settings

KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()
UNDER_A = Settings(data_keys=KEY_A)
MANIFEST = {"format": 1, "database": "sqlite", "tables": {"agency": 5}}


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    # Several parts from a few kilobytes: the same code as 8 MiB chunks.
    monkeypatch.setattr(archive, "CHUNK", 1000)


def made(snapshot: bytes, settings: Settings = UNDER_A, *, compress: bool = False) -> bytes:
    out = io.BytesIO()
    archive.write(
        out,
        manifest=MANIFEST,
        snapshot=io.BytesIO(snapshot),
        settings=settings,
        compress=compress,
    )
    return out.getvalue()


def frames(data: bytes) -> list[bytes]:
    """The file's frames (length and token), after its format line."""
    at, found = len(archive.FORMAT_LINE), []
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        found.append(data[at : at + 4 + length])
        at += 4 + length
    return found


def joined(parts: list[bytes]) -> bytes:
    return archive.FORMAT_LINE + b"".join(parts)


def extracted(data: bytes, settings: Settings = UNDER_A) -> bytes:
    out = io.BytesIO()
    archive.extract(io.BytesIO(data), out, settings=settings)
    return out.getvalue()


SNAPSHOT = os.urandom(4500)  # five parts of data


class TestRoundTrip:
    def test_what_goes_in_comes_out_in_parts(self):
        data = made(SNAPSHOT)
        assert len(frames(data)) == 1 + 5 + 1  # manifest, data, end
        assert extracted(data) == SNAPSHOT
        assert SNAPSHOT[:50] not in data  # encrypted, not just framed

    def test_the_manifest_reads_alone_and_names_its_key(self):
        data = made(SNAPSHOT)
        opened = archive.read_manifest(
            io.BytesIO(data), settings=Settings(data_keys=f"{KEY_B},{KEY_A}")
        )
        assert opened.manifest == {**MANIFEST, "compression": None} and opened.key_number == 2

    def test_compressed(self):
        text = b"evidence text of a return, much repeated. " * 200
        data = made(text, compress=True)
        assert extracted(data) == text
        assert len(data) < len(made(text)) / 5

    def test_an_empty_snapshot(self):
        assert extracted(made(b"")) == b""


class TestRefused:
    def refusal(self, data: bytes, settings: Settings = UNDER_A) -> str:
        with pytest.raises(archive.ArchiveError) as refused:
            extracted(data, settings)
        return str(refused.value)

    def test_another_key(self):
        assert "cannot be opened with AUDIT_DATA_KEYS" in self.refusal(
            made(SNAPSHOT), Settings(data_keys=KEY_B)
        )

    def test_not_a_backup(self):
        assert "not a case-audit backup" in self.refusal(b"SQLite format 3\x00" + SNAPSHOT)

    def test_an_altered_part(self):
        parts = frames(made(SNAPSHOT))
        token = bytearray(parts[3])
        token[100] = ord("A") if token[100] != ord("A") else ord("B")
        parts[3] = bytes(token)
        assert "part 3 does not match its signature" in self.refusal(joined(parts))

    def test_parts_reordered(self):
        parts = frames(made(SNAPSHOT))
        parts[2], parts[3] = parts[3], parts[2]
        assert "part 2 is out of place" in self.refusal(joined(parts))

    def test_a_part_removed(self):
        parts = frames(made(SNAPSHOT))
        del parts[4]
        assert "part 4 is out of place" in self.refusal(joined(parts))

    def test_a_part_from_another_backup_of_the_same_key(self):
        parts, other = frames(made(SNAPSHOT)), frames(made(SNAPSHOT))
        parts[2] = other[2]
        assert "part 2 is out of place" in self.refusal(joined(parts))

    @pytest.mark.parametrize("cut", [1, 10, 200])
    def test_cut_short(self, cut):
        assert "cut short" in self.refusal(made(SNAPSHOT)[:-cut])

    def test_cut_at_a_part_boundary(self):
        parts = frames(made(SNAPSHOT))
        assert "cut short" in self.refusal(joined(parts[:-1]))

    def test_anything_after_the_end(self):
        assert "after its end" in self.refusal(made(SNAPSHOT) + b"\n")

    def test_a_length_altered(self):
        data = bytearray(made(SNAPSHOT))
        data[len(archive.FORMAT_LINE)] = 0xFF  # the manifest's length: 4 GB
        assert "damaged at part 0" in self.refusal(bytes(data))
