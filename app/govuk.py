"""GOV.UK Frontend's table and tag, drawn in Python for the long lists.

A page of 200 audits or learning actions drew each row through govuk-frontend-jinja's
``govukTable`` and ``govukTag`` macros: every cell calls the ``govukAttributes`` macro
inside a ``{% set %}`` block, and every tag imports that macro's template afresh. That
came to about a quarter of a millisecond a row, most of the audits page's and the
tracker's time once their lists were long. These functions take the same parameters
and write the same markup, character for character (tests/test_govuk.py compares them
with the macros), in a few microseconds a row. Templates call them as ``gov_table``
and ``gov_tag``: the audits page, the tracker, My work and the status tags of
templates/_macros/status.html do; a short table may keep the macro.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup, escape

_MISSING = object()  # a parameter not given: the macros' ``undefined``


def _text(value: Any) -> str:
    """A value as the macros write it: escaped unless already markup; nothing if not given."""
    return "" if value is _MISSING else str(escape(value))


def _content(item: Mapping[str, Any]) -> str:
    """``item.html | safe if item.html else item.text``."""
    html = item.get("html")
    return str(html) if html else _text(item.get("text", _MISSING))


def attributes(given: Any) -> str:
    """govuk-frontend-jinja's ``govukAttributes``: a mapping as `` name="value"`` pairs
    (booleans in lower case; ``{"value": ..., "optional": True}`` left out when empty,
    a bare name when true), a string as it is."""
    if not given:  # most cells have none
        return ""
    if isinstance(given, str):
        return given
    if not isinstance(given, Mapping):
        return ""
    out = []
    for name, value in given.items():
        if isinstance(value, Mapping) and "val" in value:
            value = value["val"]  # a value marked safe, as the macro unwraps it
        if isinstance(value, Mapping):
            optional, shown = value.get("optional") is True, value.get("value", _MISSING)
        else:
            optional, shown = False, str(value).lower() if isinstance(value, bool) else value
        if optional and shown is True:
            out.append(f" {escape(name)}")
        elif not optional or not (shown is _MISSING or shown is None or shown is False):
            out.append(f' {escape(name)}="{_text(shown)}"')
    return "".join(out)


def _classes(base: str, *extra: Any) -> str:
    given = [e for e in extra if e]
    return base + "".join(f" {escape(e)}" for e in given) if given else base


def tag(params: Mapping[str, Any]) -> Markup:
    """govuk-frontend-jinja's ``govukTag``."""
    html = params.get("html")
    if html:
        lines = (str(Markup(html)).strip() + "\n").splitlines()
        content = lines[0] + "".join(f"\n  {line}" if line else "\n" for line in lines[1:])
    else:
        content = _text(params.get("text", _MISSING))
    return Markup(
        f'<strong class="{_classes("govuk-tag", params.get("classes"))}"'
        f"{attributes(params.get('attributes'))}>\n  {content}\n</strong>\n"
    )


def table(params: Mapping[str, Any]) -> Markup:
    """govuk-frontend-jinja's ``govukTable``: caption, head, rows of cells (``text`` or
    ``html``, ``format``, ``classes``, ``colspan``, ``rowspan``, ``attributes``), the
    first cell of each row a header if ``firstCellIsHeader``."""
    out = [
        f'<table class="{_classes("govuk-table", params.get("classes"))}"'
        f"{attributes(params.get('attributes'))}>\n"
    ]
    if params.get("caption"):
        caption_classes = _classes("govuk-table__caption", params.get("captionClasses"))
        out.append(f'  <caption class="{caption_classes}">{_text(params["caption"])}</caption>\n')
    head: Iterable[Mapping[str, Any]] = params.get("head") or ()
    if head:
        out.append('  <thead class="govuk-table__head">\n    <tr class="govuk-table__row">\n')
        for item in head:
            fmt = item.get("format")
            classes = _classes(
                "govuk-table__header",
                f"govuk-table__header--{fmt}" if fmt else None,
                item.get("classes"),
            )
            out.append(
                f'      <th scope="col" class="{classes}"{_spans(item)}'
                f"{attributes(item.get('attributes'))}>{_content(item)}</th>\n"
            )
        out.append("    </tr>\n  </thead>\n")
    out.append('  <tbody class="govuk-table__body">\n')
    first_is_header = params.get("firstCellIsHeader")
    for row in params.get("rows") or ():
        if not row:
            continue
        out.append('    <tr class="govuk-table__row">\n')
        for n, cell in enumerate(row):
            common = _spans(cell) + attributes(cell.get("attributes"))
            if n == 0 and first_is_header:
                classes = _classes("govuk-table__header", cell.get("classes"))
                out.append(
                    f'      <th scope="row" class="{classes}"{common}>{_content(cell)}</th>\n'
                )
            else:
                fmt = cell.get("format")
                classes = _classes(
                    "govuk-table__cell",
                    f"govuk-table__cell--{fmt}" if fmt else None,
                    cell.get("classes"),
                )
                out.append(f'      <td class="{classes}"{common}>{_content(cell)}</td>\n')
        out.append("    </tr>\n")
    out.append("  </tbody>\n</table>\n")
    return Markup("".join(out))


def _spans(item: Mapping[str, Any]) -> str:
    colspan, rowspan = item.get("colspan"), item.get("rowspan")
    return (f' colspan="{escape(colspan)}"' if colspan else "") + (
        f' rowspan="{escape(rowspan)}"' if rowspan else ""
    )
