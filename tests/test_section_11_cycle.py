"""Issue 19's acceptance: a Section 11 audit of six agencies runs end to end through
moderation and a report, with no child anywhere in it. The shipped Section 11 template
is an audit of agencies: each agency taking part is its own case and makes one return
about itself; every page, figure and report reads it as agencies."""

from __future__ import annotations

import html as html_module
import re
from datetime import UTC, datetime
from pathlib import Path

import time_machine
from sqlalchemy import select

from app.audits.models import Child
from tests.helpers.audit_templates import API, import_yaml

SECTION_11 = (
    Path(__file__).resolve().parent.parent
    / "app"
    / "audit_templates"
    / "library"
    / "section-11-self-assessment.yaml"
)
NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
AGENCIES = [
    ("Eastvale Police", "police"),
    ("Eastvale Council Children's Services", "social_care"),  # "Children" in a name
    ("Eastvale Hospitals NHS Trust", "acute_health"),
    ("Eastvale Community Health", "community_health"),
    ("Eastvale College", "education"),
    ("Eastvale Youth Justice", "youth_justice"),
]
# A child anywhere: the word as the pages would use it of a case ("Child", "children",
# "child's"), outside the names the partnership gave its agencies and the template's own
# text about the duty to safeguard children.
CHILD_WORD = re.compile(r"\bchild(?:ren)?(?:['’]s)?\b", re.IGNORECASE)


def visible_text(html: str) -> str:
    """The page's words as a reader meets them: no markup, scripts or styles."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL | re.IGNORECASE)
    text = re.sub(r"<[^>]+>", " ", html)
    return html_module.unescape(text)


def children_named(text: str, allowed: list[str]) -> list[str]:
    text = " ".join(text.split())
    for phrase in allowed:
        text = text.replace(" ".join(phrase.split()), " ")
    return [text[max(0, m.start() - 60) : m.end() + 60].strip() for m in CHILD_WORD.finditer(text)]


def test_a_section_11_audit_of_six_agencies_has_no_child_anywhere(client, db):
    with time_machine.travel(NOW, tick=True):
        _cycle(client, db)


def _answer(question: dict) -> str:
    return {"yes_no": "yes", "yes_partly_no": "partly", "integer": "87"}.get(
        question["type"], "Policies and the governance report."
    )


def _cycle(client, db):
    version = import_yaml(client, SECTION_11.read_text(encoding="utf-8")).json()
    assert version["subject"] == "agency"
    assert client.post(f"{API}/template-versions/{version['id']}/publish").status_code == 200
    version = client.get(f"{API}/template-versions/{version['id']}").json()
    agencies = [
        client.post(f"{API}/agencies", json={"name": name, "kind": kind}).json()
        for name, kind in AGENCIES
    ]
    r = client.post(
        f"{API}/audits",
        json={
            "template_version_id": version["id"],
            "title": "Section 11 self-assessment 2026",
            "returns_due_on": "2026-07-31",
            "moderation_meeting_on": "2026-08-14",
            "agency_ids": [a["id"] for a in agencies],
        },
    )
    assert r.status_code == 201, r.text
    audit = r.json()
    assert audit["subject"] == "agency" and audit["children_count"] == 6

    # Each agency is its own case, with one return: its own. No child can be added.
    cases = client.get(f"{API}/audits/{audit['id']}/children").json()["items"]
    names = {a["id"]: a["name"] for a in agencies}
    assert sorted((c["pseudonym"], c["agency_id"]) for c in cases) == sorted(
        (name, agency_id) for agency_id, name in names.items()
    )
    assert all([i["agency_id"] for i in c["involvements"]] == [c["agency_id"]] for c in cases)
    refused = client.post(f"{API}/audits/{audit['id']}/children", json={"pseudonym": "Child A"})
    assert refused.status_code == 409, refused.text
    assert "about agencies" in refused.json()["detail"]
    plan = visible_text(client.get(f"/admin/audits/{audit['id']}").text)
    assert "Agencies assessed" in plan and "each agency taking part assesses itself" in plan

    opened = client.post(f"{API}/audits/{audit['id']}/open", json={"confirm": True})
    assert opened.status_code == 200, opened.text
    assert opened.json()["returns"]["expected"] == 6

    # Each agency assesses itself and submits.
    graded = [k for k in version["key_areas"] if k["graded"]]
    levels = ["M", "P", "M", "N", "M", "P"]
    for case, level in zip(cases, levels, strict=True):
        return_id = case["involvements"][0]["return_id"]
        current = client.get(f"{API}/returns/{return_id}").json()
        r = client.put(
            f"{API}/returns/{return_id}/draft",
            json={
                "version": current["version"],
                "answers": [
                    {"question_id": q["id"], "value": _answer(q)}
                    for k in version["key_areas"]
                    for q in k["questions"]
                ],
                "grades": [{"key_area_id": k["id"], "level": level} for k in graded],
                "evidence": [
                    {"key_area_id": k["id"], "went_well": "The policy was reviewed in March."}
                    for k in version["key_areas"]
                ],
                "overall_grade": level,
            },
        )
        assert r.status_code == 200, r.text
        r = client.post(f"{API}/returns/{return_id}/submit", json={"version": r.json()["version"]})
        assert r.status_code == 200, r.text

    # Moderation: the grid, one agency's meeting page, every grade agreed.
    grid = client.post(f"{API}/audits/{audit['id']}/moderation/open")
    assert grid.status_code == 200, grid.text
    for cell in grid.json()["cells"]:
        r = client.post(
            f"{API}/audits/{audit['id']}/moderation/decisions",
            json={
                "return_id": cell["return_id"],
                "key_area_id": cell["key_area_id"],
                "level": cell["self_grade"],
            },
        )
        assert r.status_code == 201, r.text
    pages = {
        "the plan": f"/admin/audits/{audit['id']}",
        "the overview": f"/audits/{audit['id']}",
        "the returns": f"/audits/{audit['id']}/returns",
        "one return": f"/returns/{cases[0]['involvements'][0]['return_id']}",
        "the findings": f"/audits/{audit['id']}/findings",
        "the audits": "/audits",
        "its overall grade": f"/returns/{cases[0]['involvements'][0]['return_id']}/overall",
        "its answers checked": f"/returns/{cases[0]['involvements'][0]['return_id']}/check",
        "its versions": f"/returns/{cases[0]['involvements'][0]['return_id']}/versions",
        "a key area": f"/returns/{cases[0]['involvements'][0]['return_id']}/areas/{graded[0]['id']}",
        "the moderation grid": f"/audits/{audit['id']}/moderation",
        "one agency's meeting page": f"/audits/{audit['id']}/moderation/meeting?child={cases[1]['id']}",
        "the meeting pack": f"/audits/{audit['id']}/moderation/meeting/pack",
    }
    assert client.post(f"{API}/audits/{audit['id']}/moderation/finish").status_code == 200
    # The audit's data as a spreadsheet: each row the agency's own return, no child column.
    data = client.get(f"{API}/audits/{audit['id']}/answers.csv")
    assert data.status_code == 200
    header = data.content.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("Agency,Status,") and not CHILD_WORD.search(header)
    pages["the audit's analytics"] = f"/audits/{audit['id']}/moderation/analytics"

    # A report: the subgroup report and a briefing drafted from the moderated audit.
    for kind in ("subgroup-report", "briefing"):
        r = client.post(
            f"{API}/audits/{audit['id']}/briefings",
            json={
                "kind": kind,
                "title": f"Section 11 {kind}",
                "marking": "OFFICIAL",
                "public": False,
            },
        )
        assert r.status_code == 201, r.text
        pages[f"the {kind}"] = f"/briefings/versions/{r.json()['id']}/preview"

    # No child anywhere: no case without an agency, and no page speaks of one.
    assert db.scalars(select(Child).where(Child.audit_id == audit["id"])).all()
    assert not db.scalars(
        select(Child).where(Child.audit_id == audit["id"], Child.agency_id.is_(None))
    ).all()
    template_text = (
        [q["prompt"] for k in version["key_areas"] for q in k["questions"]]
        + [k["description"] for k in version["key_areas"]]
        + [version["description"]]
    )
    # Proper names: the statute and guidance the template cites, the partnership's own
    # procedures, the national panel its further learning links to, its themes.
    allowed = [a["name"] for a in agencies] + [
        "Safeguarding Children Partnership",
        "safeguard and promote the welfare of children",
        "Children Act 2004",
        "Working Together to Safeguard Children 2023",
        "Child Safeguarding Practice Review Panel",
        "multi-agency child protection procedures",
        "Voice of the child",  # one of the partnership's themes, offered for findings
        *template_text,
    ]
    found = {}
    for what, path in pages.items():
        page = client.get(path)
        assert page.status_code == 200, (what, page.status_code)
        named = children_named(visible_text(page.text), allowed)
        if named:
            found[what] = named
    for what, named in found.items():
        print("==", what)
        for n in named:
            print("   ", " ".join(n.split()))
    assert found == {}
