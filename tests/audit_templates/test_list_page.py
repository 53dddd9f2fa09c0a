"""Admin: the templates as a list, searched by name or theme, filtered by their
versions' status and sorted with the GOV.UK patterns (a GET form, sortable column
headings with aria-sort), every choice kept in the address; a choice not offered is a
422 with the error summary, never a 500."""

from __future__ import annotations

import re
from html import unescape

import pytest

from app.access import service as access
from app.access.models import Role
from app.audit_templates import service as templates
from app.audit_templates.schemas import TemplateContent
from tests.helpers.access import browse_as
from tests.helpers.factories import template_content

NAMES = re.compile(r'<th scope="row" class="govuk-table__header">([^<]+)</th>')
SORTED = re.compile(
    r'aria-sort="(ascending|descending)"><a class="govuk-link" href="([^"]+)">([^<]+)</a>'
)


def names(html: str) -> list[str]:
    return [unescape(n).strip() for n in NAMES.findall(html)]


@pytest.fixture
def admin(anonymous_client, db):
    """Three templates: "Neglect" (published, theme Neglect), "Exploitation" (a draft,
    theme Exploitation) and "Front door" (published, theme Referrals)."""
    for name, theme, publish in (
        ("Neglect", "Neglect", True),
        ("Exploitation", "Exploitation", False),
        ("Front door", "Referrals", True),
    ):
        content = template_content(name=name)
        content["theme"] = theme
        version = templates.create_draft(db, content=TemplateContent.model_validate(content))
        if publish:
            templates.publish(db, version=version)
    user = access.create_user(db, email="a@example.org", display_name="A", roles={Role.ADMIN})
    browse_as(anonymous_client, db, user)
    return anonymous_client


def test_search_and_filter(admin):
    assert names(admin.get("/admin/templates").text) == ["Exploitation", "Front door", "Neglect"]
    page = admin.get("/admin/templates?q=REFERRAL").text  # a theme, any case
    assert names(page) == ["Front door"] and "1 template found" in page
    assert names(admin.get("/admin/templates?status=draft").text) == ["Exploitation"]
    published = admin.get("/admin/templates?status=published&q=e").text
    assert names(published) == ["Front door", "Neglect"]
    assert '<option value="published" selected>' in published
    assert "No templates match these filters." in admin.get("/admin/templates?q=50%25").text


def test_columns_sort_both_ways_keeping_the_filters(admin):
    page = admin.get("/admin/templates?status=published&sort=name").text
    ((state, href, label),) = SORTED.findall(page)
    assert (state, label) == ("ascending", "Template")
    assert unescape(href) == "/admin/templates?status=published&sort=-name"
    assert '<input type="hidden" name="sort" value="name">' in page
    down = admin.get(unescape(href)).text
    assert names(down) == ["Neglect", "Front door"]
    assert SORTED.findall(down)[0][0] == "descending"
    assert names(admin.get("/admin/templates?sort=-created").text)[0] == "Front door"


@pytest.mark.parametrize(
    ("query", "field"), [("status=sideways", "status"), ("sort=colour", "sort")]
)
def test_a_choice_not_offered_is_422(admin, query, field):
    page = admin.get(f"/admin/templates?{query}")
    assert page.status_code == 422
    assert 'class="govuk-error-summary"' in page.text
    anchor = "#templates" if field == "sort" else f"#{field}"  # the table the sort orders
    assert f'href="{anchor}"' in page.text
