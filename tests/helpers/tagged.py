"""A tagged PDF's structure tree, for the tests of the documents' accessibility."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import pikepdf


@contextmanager
def structure(pdf: bytes) -> Iterator[dict[str, list]]:
    """The structure elements of ``pdf`` by their type ("/H1", "/Table", "/Figure"...),
    each in document order; readable within the block (the document is open there)."""
    found: dict[str, list] = {}

    def walk(element, depth=0):
        if depth > 60:
            return
        if isinstance(element, pikepdf.Dictionary) and "/S" in element:
            found.setdefault(str(element.S), []).append(element)
        kids = element.get("/K") if isinstance(element, pikepdf.Dictionary) else None
        if isinstance(kids, pikepdf.Array):
            for kid in kids:
                walk(kid, depth + 1)
        elif isinstance(kids, pikepdf.Dictionary):
            walk(kids, depth + 1)

    with pikepdf.open(io.BytesIO(pdf)) as document:
        walk(document.Root.StructTreeRoot)
        yield found
