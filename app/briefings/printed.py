"""What a PDF carries, as its readers get it: the text of each page, and its metadata
(the document information dictionary and the XMP packet, which a file browser, a
search engine or a document library shows without opening the PDF).

The identification check reads these after a briefing is rendered and before it is
published (``workflow.check_printed``), so what it passes is what is published.
Poppler's tools do the reading (``pdftotext``, ``pdfinfo``: the package poppler-utils,
which the image and ``.ci/system-deps`` install); a PDF they cannot read is an error,
never "nothing found".
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from html import unescape
from pathlib import Path

TIMEOUT_SECONDS = 60
# The XMP packet's own markup: attributes that name things rather than say them.
_XMP_MARKUP_ATTRIBUTES = re.compile(
    r"^(?:xmlns(?::[\w.-]+)?|rdf:about|xml:lang|x:xmptk|id|begin|end)$"
)
_TAG = re.compile(r"<(?:\?[^>]*\?|!--.*?--|[^>]*)>", re.S)
_ATTRIBUTE = re.compile(r"([\w:.-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_INFO_LINE = re.compile(r"^([^:\n]+):[^\S\n]*(.*)$")


def _run(tool: str, *args: str) -> str:
    path = shutil.which(tool) or f"/usr/bin/{tool}"
    done = subprocess.run([path, *args], capture_output=True, check=True, timeout=TIMEOUT_SECONDS)
    return done.stdout.decode("utf-8", errors="replace")


def _pages(path: Path) -> list[str]:
    """Each page's text, laid out as on the page (``pdftotext -layout``)."""
    found = _run("pdftotext", "-layout", "-enc", "UTF-8", str(path), "-").split("\f")
    return found[:-1] if found and not found[-1].strip() else found  # a \f ends every page


def _document_information(path: Path) -> list[tuple[str, str]]:
    """The document information dictionary, every entry (``pdfinfo -custom``): Title,
    Author, Subject, Keywords and any other, as (key, value). Dates are read as ISO 8601:
    "Sun Dec 6 ..." would read as words."""
    entries: list[tuple[str, str]] = []
    for line in _run("pdfinfo", "-custom", "-isodates", "-enc", "UTF-8", str(path)).splitlines():
        found = _INFO_LINE.match(line)
        if found:
            entries.append((found.group(1).strip(), found.group(2)))
        elif entries:  # a value that runs over more than one line
            key, value = entries[-1]
            entries[-1] = (key, f"{value}\n{line}")
    return entries


def _xmp_text(path: Path) -> str:
    """The words of the XMP packet (``pdfinfo -meta``): its elements' text and its
    attributes' values (XMP may write a property either way), each a paragraph of its
    own, without the markup."""
    said: list[str] = []

    def attributes(tag: re.Match[str]) -> str:
        for name, double, single in _ATTRIBUTE.findall(tag.group()):
            if not _XMP_MARKUP_ATTRIBUTES.match(name):
                said.append(double or single)
        return "\n"

    text = _TAG.sub(attributes, _run("pdfinfo", "-meta", str(path)))
    words = [unescape(w).strip() for w in [*said, *text.splitlines()]]
    return "\n\n".join(w for w in words if w)


def sections(pdf: bytes) -> list[tuple[str, str]]:
    """Everything the PDF says, as the identification check's (where, text): each page
    ("page 2"), each document information entry, the XMP packet."""
    with tempfile.TemporaryDirectory(prefix="briefing-") as folder:
        path = Path(folder) / "printed.pdf"
        path.write_bytes(pdf)
        found = [(f"page {n}", text) for n, text in enumerate(_pages(path), start=1)]
        found += [
            (f"the PDF's properties ({key})", value) for key, value in _document_information(path)
        ]
        found.append(("the PDF's XMP metadata", _xmp_text(path)))
    return found
