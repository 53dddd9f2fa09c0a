"""app/govuk.py draws GOV.UK's table and tag exactly as govuk-frontend-jinja's macros
do, character for character, for every parameter the macros take: the long lists use
it in their place, and must look no different."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from app import govuk
from app.templating import environment

MACROS = environment.from_string(
    '{% from "govuk_frontend_jinja/components/table/macro.html" import govukTable %}'
    '{% from "govuk_frontend_jinja/components/tag/macro.html" import govukTag %}'
    "{{ (govukTable if table else govukTag)(params) }}"
)


def macro(params: dict, *, table: bool) -> str:
    return MACROS.render(params=params, table=table)


TAGS = [
    {"text": "Open"},
    {"text": "Open & <shut>", "classes": "govuk-tag--blue"},
    {"text": Markup("<em>already markup</em>"), "classes": "govuk-tag--grey"},
    {"html": "  <em>two</em>\nlines\n\n  and a <b>gap</b>  "},
    {"html": "", "text": "empty html falls back to text"},
    {"text": 3, "attributes": {"id": "t", "data-n": 2, "hidden": True, "aria-x": False}},
    {"text": "optional", "attributes": {"a": {"value": True, "optional": True}}},
    {"text": "optional", "attributes": {"b": {"value": None, "optional": True}}},
    {"text": "optional", "attributes": {"c": {"value": False, "optional": True}}},
    {"text": "optional", "attributes": {"d": {"value": 0, "optional": True}}},
    {"text": "optional", "attributes": {"e": {"value": 'x"y', "optional": False}}},
    {"text": "optional", "attributes": {"f": {"optional": True}, "g": {"val": "v"}}},
    {"text": "attributes as a string", "attributes": ' role="status"'},
    {"text": None},
    {},
]


@pytest.mark.parametrize("params", TAGS)
def test_tag_is_the_macros(params):
    assert govuk.tag(params) == macro(params, table=False)


TABLES = [
    {"rows": []},
    {"rows": [[{"text": "a"}, {"text": "b"}]]},
    {
        "caption": "Audits & <more>",
        "captionClasses": "govuk-table__caption--m",
        "classes": "app-wide",
        "attributes": {"id": "audits"},
        "firstCellIsHeader": True,
        "head": [
            {
                "html": Markup('<a href="/x?a=1&amp;b=2">Title</a>'),
                "attributes": {"aria-sort": "none"},
            },
            {"text": "Children", "format": "numeric"},
            {"text": "Wide", "colspan": 2, "classes": "app-x"},
            {"text": "Tall", "rowspan": 3},
        ],
        "rows": [
            [
                {"text": "Child A"},
                {"text": 12, "format": "numeric"},
                {"html": govuk.tag({"text": "Open", "classes": "govuk-tag--blue"})},
                {"text": "<b>escaped</b>", "classes": "app-nowrap", "colspan": 2},
            ],
            [],
            [{"text": None, "classes": "k"}, {"html": "", "text": "t"}, {"rowspan": 2}],
            [{"text": "x", "attributes": {"data-row": True}}],
        ],
    },
    {"caption": "", "head": [], "rows": [[{"text": "no caption, no head"}]]},
    {"firstCellIsHeader": False, "rows": [[{"text": "a", "format": "numeric"}]]},
]


@pytest.mark.parametrize("params", TABLES)
def test_table_is_the_macros(params):
    assert govuk.table(params) == macro(params, table=True)


def test_a_table_is_markup_and_its_text_escaped():
    drawn = govuk.table({"rows": [[{"text": "<script>"}]]})
    assert isinstance(drawn, Markup)
    assert "&lt;script&gt;" in drawn and "<script>" not in drawn
