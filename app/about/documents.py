"""The texts of the accessibility statement, privacy notice, help and contact pages.

Each is a Markdown file: the one in ``Settings.content_dir`` (``AUDIT_CONTENT_DIR``) if
there is one, else the one shipped here in ``content/``, so an admin changes a text
without a change to the code. A file that is missing, unreadable, empty or not UTF-8
is shown as shipped (and logged), never as an error. Markdown is drawn by
markdown-it-py with raw HTML turned off (a ``<script>`` is shown as text), and each
element it draws takes GOV.UK's class. ``{{ name }}`` in the text, or as a link's
address, is filled in from ``values`` (the partnership's name from the settings, the
service's own pages); any other is left as written.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markupsafe import Markup

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).parent / "content"
NAMES = ("accessibility", "privacy", "help", "contact")
# Far more than any of these texts: a larger file is taken for a mistake.
MAX_BYTES = 256_000
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")

# GOV.UK's class for each element Markdown draws (headings by level, below).
CLASSES = {
    "paragraph_open": "govuk-body",
    "bullet_list_open": "govuk-list govuk-list--bullet",
    "ordered_list_open": "govuk-list govuk-list--number",
    "blockquote_open": "govuk-inset-text",
    "hr": "govuk-section-break govuk-section-break--l govuk-section-break--visible",
    "table_open": "govuk-table",
    "thead_open": "govuk-table__head",
    "tbody_open": "govuk-table__body",
    "tr_open": "govuk-table__row",
    "th_open": "govuk-table__header",
    "td_open": "govuk-table__cell",
    "link_open": "govuk-link",
}
HEADINGS = {"h1": "govuk-heading-l", "h2": "govuk-heading-m"}  # h3 to h6: govuk-heading-s


@dataclass(frozen=True)
class Document:
    title: str
    body: Markup


def _fill(text: str, values: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _govuk(state: StateCore) -> None:
    """GOV.UK's classes on what Markdown drew, and the placeholders filled in: in text
    (which the renderer escapes) and in a link's whole address."""
    values: Mapping[str, str] = state.env.get("values", {})
    for token in state.tokens:
        if token.type == "heading_open":
            token.attrSet("class", HEADINGS.get(token.tag, "govuk-heading-s"))
        elif token.type in CLASSES:
            token.attrSet("class", CLASSES[token.type])
        for child in token.children or ():
            if child.type == "text":
                child.content = _fill(child.content, values)
            elif child.type == "link_open":
                child.attrSet("class", CLASSES["link_open"])
                href = unquote(str(child.attrGet("href") or ""))
                if (found := PLACEHOLDER.fullmatch(href)) and found.group(1) in values:
                    child.attrSet("href", values[found.group(1)])


_markdown = (
    MarkdownIt("commonmark", {"html": False})
    .enable("table")
    # Raw HTML is off (shown as text); images are not part of these pages.
    .disable(["html_block", "html_inline", "image"])
)
# After text_join: a placeholder's braces split the text, which that rule joins again.
_markdown.core.ruler.push("govuk", _govuk)


def _plain(inline: Token) -> str:
    return "".join(
        " " if c.type in ("softbreak", "hardbreak") else c.content for c in inline.children or ()
    ).strip()


@lru_cache(maxsize=32)
def _drawn(text: str, values: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    """The document's own title (its first line, if a level 1 heading) and the rest as
    HTML."""
    env = {"values": dict(values)}
    tokens = _markdown.parse(text, env)
    title = ""
    if len(tokens) >= 3 and tokens[0].type == "heading_open" and tokens[0].tag == "h1":
        title, tokens = _plain(tokens[1]), tokens[3:]
    return title, _markdown.renderer.render(tokens, _markdown.options, env)


_warned: set[Path] = set()


def _read_file(path: Path) -> str | None:
    """The file's text, or None if there is none to show (logged once per file if it
    is there but cannot be used)."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise ValueError(f"larger than {MAX_BYTES} bytes")
        text = data.decode("utf-8")  # a UnicodeDecodeError is a ValueError
        if not text.strip():
            raise ValueError("empty")
    except FileNotFoundError:
        if not path.parent.is_dir() and path.parent not in _warned:
            _warned.add(path.parent)
            log.warning("content folder %s is not there: showing the texts shipped", path.parent)
        return None
    except (OSError, ValueError) as exc:
        if path not in _warned:
            _warned.add(path)
            log.warning("%s cannot be shown (%s): showing the text shipped instead", path, exc)
        return None
    _warned.discard(path)
    return text


def read(name: str, folder: Path) -> str:
    """The Markdown of the page called ``name``: the file in ``folder``, else the one
    shipped."""
    if name not in NAMES:
        raise ValueError(f"no page called {name!r}")
    for place in dict.fromkeys((folder, SHIPPED)):
        text = _read_file(place / f"{name}.md")
        if text is not None:
            return text
    return ""


def document(name: str, folder: Path, *, heading: str, values: Mapping[str, str]) -> Document:
    """The page called ``name`` drawn: its title (the text's own first heading, else
    ``heading``) and its body as safe HTML."""
    title, html = _drawn(read(name, folder), tuple(sorted(values.items())))
    # markdown-it escapes every text and attribute it draws, and raw HTML is off.
    return Document(title=title or heading, body=Markup(html))
