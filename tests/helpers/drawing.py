"""How a page is drawn, read from its HTML: for the browser tests, which run axe once
for each way a page of a kind is drawn (tests/browser/conftest.py ``axe_violations``
and the every-page walk).

A page's drawing is each kind of element in it (tag, classes, which attributes it has
but not their values, and whether it has no text at all), and any id used twice or
referred to but missing. Two pages of one kind drawn the same way differ only in their
data (which child, how many rows), which is not what axe checks.
"""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
REFERENCES = ("for", "headers", "aria-labelledby", "aria-describedby", "aria-controls")


class Drawing(HTMLParser):
    """How a page's HTML is drawn (``signature``) and the links in it (``hrefs``)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.kinds: set[str] = set()
        self.hrefs: list[str] = []
        self._open: list[list] = []  # [tag, kind, has text]
        self._ids: Counter[str] = Counter()
        self._refs: list[tuple[str, str]] = []
        self._in_body = False
        self.feed(html)
        self.close()
        while self._open:
            self._end()
        problems = {f"twice:{i}" for i, n in self._ids.items() if n > 1}
        problems |= {f"missing:{a}:{i}" for a, i in self._refs if i not in self._ids}
        self.signature = frozenset(self.kinds | problems)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.hrefs.append(attributes["href"])
        if tag == "body":
            self._in_body = True
            return
        if not self._in_body:
            return
        if attributes.get("id"):
            self._ids[attributes["id"]] += 1
        for name in REFERENCES:
            self._refs += [(name, i) for i in (attributes.get(name) or "").split()]
        classes = ".".join(sorted((attributes.get("class") or "").split()))
        names = ",".join(sorted(n for n in attributes if n != "class"))
        kind = f"{tag}|{classes}|{names}"
        if tag in VOID:
            self.kinds.add(kind + "|empty")
        else:
            self._open.append([tag, kind, False])

    def handle_endtag(self, tag):
        if any(entry[0] == tag for entry in self._open):
            while self._end() != tag:
                pass

    def handle_data(self, data):
        if data.strip():
            for entry in self._open:
                entry[2] = True

    def _end(self) -> str:
        tag, kind, has_text = self._open.pop()
        self.kinds.add(kind + ("" if has_text else "|empty"))
        return tag
