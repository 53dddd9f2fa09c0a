"""What moderation shows, made readable (issue 12): headline sentences computed from a
known set of decisions, the Landis and Koch reading beside each coefficient, key areas
in the template's order with the overall grade last, the weights chosen explicitly
(an unknown value is a 422), the tables exported to XLSX and CSV, and small counts
suppressed for a viewer outside the agency.

The audit: two children ("Child A", "Child B"), Police and Health, a template whose
key areas are "Voice of the child" then "Assessment" (so alphabetical order is the
wrong one). Police grade everything G, Health RI; the moderators lower Police's
"Assessment" grade for both children to RI, raise Health's "Voice of the child" for
the first child to G, and agree the rest (the overall grades too).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.access import service as access
from app.access.models import Role
from app.access.policy import SYSTEM
from app.agencies.models import Agency
from app.audit_templates import service as templates
from app.audit_templates.schemas import TemplateContent
from app.audits.models import audit_agency
from app.audits.service import get_audit
from app.moderation import lifecycle, reading
from app.moderation import service as moderation
from app.returns import service as returns
from app.returns.models import Return
from app.returns.schemas import AnswerIn, GradeIn
from tests.helpers.access import browse_as
from tests.helpers.factories import make_audit, template_content
from tests.moderation.test_moderation import complete

API = "/api/v1"
TODAY = date(2026, 11, 23)
HEADLINES = [
    "Moderators agreed with 5 of 8 agencies' own grades (63%)",
    "Moderators lowered 2 grades and raised 1",
    "Police grades were lowered in 2 of 4 cases",
    "Health grades were raised in 1 of 4 cases",
    "Grades for 'Assessment' were changed most often (2 of 4)",
]


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    """Every request reads TODAY, whatever the real date (the one calendar pinned)."""
    monkeypatch.setattr("app.clock.today", lambda: TODAY)


@pytest.fixture(autouse=True)
def fresh_reads(client, db):
    client.event_hooks["request"].append(lambda _request: db.expire_all())


def _shape(version) -> dict:
    """The template as ``complete`` reads it (the API's shape)."""
    return {
        "key_areas": [
            {"id": k.id, "questions": [{"id": q.id} for q in k.questions]}
            for k in version.key_areas
        ]
    }


@pytest.fixture
def audit(client, db):
    content = template_content()
    content["key_areas"][0]["title"] = "Voice of the child"
    content["key_areas"][1]["title"] = "Assessment"
    version = templates.create_draft(db, content=TemplateContent.model_validate(content))
    templates.publish(db, version=version)
    audit = make_audit(db, children=2, agencies_count=2, version=version)
    ids = sorted(
        db.scalars(select(audit_agency.c.agency_id).where(audit_agency.c.audit_id == audit.id))
    )
    db.get(Agency, ids[0]).name = "Police"
    db.get(Agency, ids[1]).name = "Health"
    db.flush()
    # Through the services (the API's own calls; tests/moderation/test_moderation.py
    # drives these over HTTP): about a tenth of the time, for every test here.
    version = templates.get_version(db, version_id=version.id)
    voice, assessment = (k.id for k in version.key_areas)
    for r in db.scalars(select(Return).where(Return.audit_id == audit.id).order_by(Return.id)):
        own = "G" if r.agency_id == ids[0] else "RI"
        body = complete(_shape(version), 1, own)
        returns.save_draft(
            db,
            return_=r,
            read_version=r.version,
            answers=[AnswerIn(**a) for a in body["answers"]],
            grades=[GradeIn(**g) for g in body["grades"]],
            evidence=[],
            overall_grade=(True, own),
        )
        db.refresh(r)
        returns.submit(db, return_=r, read_version=r.version)
    lifecycle.open_moderation(db, audit=audit)
    found = moderation.grid(db, actor=SYSTEM, audit=get_audit(db, audit_id=audit.id, actor=SYSTEM))
    first_child = min(c.id for c in found.children)
    for (child_id, agency_id, cell), _c in sorted(found.cells.items()):
        police = agency_id == ids[0]
        if police and cell == assessment:
            level, why = "RI", "No assessment was seen."
        elif not police and cell == voice and child_id == first_child:
            level, why = "G", "The child's views shaped the plan."
        else:
            level, why = ("G" if police else "RI"), ""
        moderation.decide(
            db,
            audit=found.audit,
            return_=found.returns[_c.return_id],
            cell=cell,
            level_code=level,
            rationale=why,
            actor=SYSTEM,
        )
    db.commit()
    audit.police_id, audit.health_id = ids  # for the tests' own use
    return audit


@pytest.fixture
def web(anonymous_client, db, audit, monkeypatch):
    """Real people from here on (the audit was made as the system), the clock still
    pinned."""
    monkeypatch.undo()
    monkeypatch.setattr("app.clock.today", lambda: TODAY)
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return anonymous_client


def analytics(client, audit, headers=None, **query):
    params = {"audit_id": audit.id, **query}
    return client.get(f"{API}/moderation/analytics", params=params, headers=headers)


def person(db, role, agency_id=None):
    user = access.create_user(
        db,
        email=f"{role.value}.{agency_id}@example.org",
        display_name=role.value,
        roles={role},
        agency_id=agency_id,
    )
    _row, plain = access.create_token(db, user=user, name="tests", days=1)
    db.commit()
    return user, {"Authorization": f"Bearer {plain}"}


# --- 1. headlines ------------------------------------------------------------------------


def test_headlines_are_computed_from_the_decisions(client, audit):
    found = analytics(client, audit).json()
    assert found["headlines"] == HEADLINES


def test_headlines_lead_the_page(audit, web, db):
    user, headers = person(db, Role.MODERATOR)
    browse_as(web, db, user)
    page = web.get(f"/audits/{audit.id}/moderation/analytics").text
    shown = re.findall(r"<li>([^<]+)\.</li>", page.split('id="headlines"')[1])
    assert [s.replace("&#39;", "'") for s in shown[: len(HEADLINES)]] == HEADLINES
    assert page.index('id="headlines"') < page.index("grades moderated")


def test_every_agreed_grade_says_so_and_nothing_moved_is_not_invented():
    def row(label, n, lowered=0, raised=0, **extra):
        changed = lowered + raised
        shifts = {
            k: {"count": c}
            for k, c in (("lowered", lowered), ("raised", raised), ("changed", changed))
        }
        return {"label": label, "suppressed": False, "n": n, "shifts": shifts, **extra}

    group = {
        "scale": "Ofsted",
        "overall": {**row("All grades", 6), "agreement": {"count": 6}},
        "by_agency": [row("Police", 3), row("Health", 3)],
        "by_key_area": [row("Voice of the child", 6)],
    }
    assert reading.headlines([group], threshold=5) == [
        "Moderators agreed with 6 of 6 agencies' own grades (100%)"
    ]


# --- 2. Landis and Koch ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("estimate", "word"),
    [
        (-0.05, "poor"),
        (0.0, "slight"),
        (0.2, "slight"),
        (0.204, "slight"),
        (0.205, "fair"),  # shown as 0.21
        (0.4, "fair"),
        (0.41, "moderate"),
        (0.6, "moderate"),
        (0.61, "substantial"),
        (0.8, "substantial"),
        (0.81, "almost perfect"),
        (1.0, "almost perfect"),
        (None, None),
    ],
)
def test_landis_and_koch_bands(estimate, word):
    assert reading.band(estimate) == word


def test_a_reading_beside_each_coefficient_with_its_interval(client, audit):
    overall = analytics(client, audit).json()["groups"][0]["overall"]
    for name in reading.COEFFICIENTS:
        found = overall[name]
        low, high = found["ci"]
        word = reading.band(found["estimate"])
        assert found["band"] == word
        assert found["reading"] == (
            f"{found['estimate']:.2f} (95% CI {low:.2f} to {high:.2f}): {word} agreement"
        )
    assert reading.reading({"estimate": 0.67, "ci": [0.52, 0.81]}) == (
        "0.67 (95% CI 0.52 to 0.81): substantial agreement"
    )
    undefined = {"estimate": None, "ci": None, "note": "Undefined: no pairs."}
    assert reading.reading(undefined) == "No figure: Undefined: no pairs."


def test_the_page_reads_each_coefficient_and_says_what_it_means(audit, web, db):
    user, headers = person(db, Role.MODERATOR)
    browse_as(web, db, user)
    page = web.get(f"/audits/{audit.id}/moderation/analytics").text
    overall = analytics(web, audit, headers).json()["groups"][0]["overall"]
    assert overall["ac1"]["reading"] in page.replace("&#39;", "'")
    assert overall["weighted_kappa"]["reading"] in page
    assert "What this means:" in page and "AC1 counts only exact matches" in page


# --- 3. key areas in the template's order -------------------------------------------------


def test_key_areas_in_the_template_order_the_overall_grade_last(audit, web, db):
    user, headers = person(db, Role.MODERATOR)
    group = analytics(web, audit, headers).json()["groups"][0]
    labels = [row["label"] for row in group["by_key_area"]]
    assert labels == ["Voice of the child", "Assessment", "Overall grade"]
    assert group["overall"]["n"] == 8  # the overall grade is not counted twice
    assert group["by_key_area"][-1]["n"] == 4
    browse_as(web, db, user)
    page = web.get("/analytics").text
    table = page.split("By key area: agreement and shifts")[1]
    assert (
        table.index("Voice of the child") < table.index("Assessment") < table.index("Overall grade")
    )
    options = re.findall(r'<option value="([^"]*)"', page.split('name="key_area"')[1])
    assert options[2:4] == ["Voice of the child", "Assessment"]


# --- 4. weights chosen explicitly --------------------------------------------------------


def test_weights_are_quadratic_unless_linear_is_chosen(client, audit):
    default = analytics(client, audit).json()
    linear = analytics(client, audit, weights="linear").json()
    assert default["weights"] == "quadratic" and linear["weights"] == "linear"
    quadratic = default["groups"][0]["overall"]["weighted_kappa"]
    chosen = linear["groups"][0]["overall"]["weighted_kappa"]
    assert quadratic["weights"] == "quadratic" and chosen["weights"] == "linear"
    assert quadratic["observed"] != chosen["observed"]  # a one-level move counts differently


def test_unknown_weights_are_a_422_naming_the_field(audit, web, db):
    user, headers = person(db, Role.MODERATOR)
    refused = analytics(web, audit, headers, weights="bogus")
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["query.weights"]
    for path in ("xlsx", "csv"):
        bogus = web.get(f"{API}/moderation/analytics.{path}?weights=bogus", headers=headers)
        assert bogus.status_code == 422
    browse_as(web, db, user)
    for page in (f"/audits/{audit.id}/moderation/analytics", "/analytics"):
        shown = web.get(f"{page}?weights=bogus")
        assert shown.status_code == 422
        assert "govuk-error-summary" in shown.text and 'href="#weights"' in shown.text
        assert "Choose quadratic or linear weights" in shown.text
        chosen = web.get(f"{page}?weights=linear")
        assert chosen.status_code == 200
        assert re.search(r'value="linear"\s+checked', chosen.text)
        assert "Weighted kappa (linear)" in chosen.text
        # The downloads keep the choice.
        assert "analytics.xlsx?weights=linear" in chosen.text
    exported = web.get(f"/audits/{audit.id}/moderation/analytics.csv?weights=bogus")
    assert exported.status_code == 422


# --- 5. export -----------------------------------------------------------------------------


def _csv_rows(response) -> list[dict]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_the_tables_export_as_csv_and_xlsx(audit, web, db):
    user, headers = person(db, Role.MODERATOR)
    browse_as(web, db, user)
    base = f"/audits/{audit.id}/moderation/analytics"
    page = web.get(base).text
    assert f'href="{base}.xlsx"' in page and "Download as a spreadsheet (XLSX)" in page
    assert f'href="{base}.csv"' in page and "Download as CSV" in page

    got = web.get(f"{base}.csv")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert (
        f"moderation-analytics-audit-{audit.id}-2026-11-23.csv"
        in got.headers["content-disposition"]
    )
    rows = _csv_rows(got)
    assert [(r["Breakdown"], r["Group"]) for r in rows] == [
        ("All grades", "All grades"),
        ("Agency", "Health"),
        ("Agency", "Police"),
        ("Key area", "Voice of the child"),
        ("Key area", "Assessment"),
        ("Key area", "Overall grade"),
    ]
    police = rows[2]
    assert police["Grades"] == "4" and police["Kept as the agency graded"] == "2"
    assert police["Lowered (%)"] == "50.0" and police["Weights"] == "quadratic"
    overall = analytics(web, audit, headers).json()["groups"][0]["overall"]
    assert rows[0]["Gwet's AC1"] == str(overall["ac1"]["estimate"])
    assert rows[0]["AC1 reading"] == overall["ac1"]["band"]

    book = web.get(f"{base}.xlsx?weights=linear")
    assert book.status_code == 200
    assert "spreadsheetml" in book.headers["content-type"]
    workbook = load_workbook(io.BytesIO(book.content))
    sheet = workbook["Figures"]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0][:3] == ["Scale", "Breakdown", "Group"]
    assert [r[2] for r in values[1:]] == [r["Group"] for r in rows]
    assert values[3][3] == 4 and values[3][-1] == "linear"  # Police: real numbers
    assert [r[0] for r in workbook["Headlines"].iter_rows(values_only=True)][1:6] == HEADLINES

    pooled = web.get(f"/analytics.csv?agency_id={audit.police_id}")
    assert [r["Group"] for r in _csv_rows(pooled)][:2] == ["All grades", "Police"]
    api = web.get(
        f"{API}/moderation/analytics.xlsx", params={"audit_id": audit.id}, headers=headers
    )
    assert api.status_code == 200 and load_workbook(io.BytesIO(api.content))["Figures"]


def test_the_csv_is_safe_from_formulas(client, audit, db):
    db.get(Agency, audit.police_id).name = "=HYPERLINK(1)"
    db.commit()
    rows = _csv_rows(client.get(f"{API}/moderation/analytics.csv", params={"audit_id": audit.id}))
    assert "'=HYPERLINK(1)" in [r["Group"] for r in rows]
    assert all(not r["Group"].startswith("=") for r in rows)


# --- 6. small counts suppressed -----------------------------------------------------------


def test_small_counts_are_suppressed_outside_the_viewers_agency(web, audit, db):
    _user, auditor = person(db, Role.AUDITOR, audit.police_id)
    _user, moderator = person(db, Role.MODERATOR)
    seen = analytics(web, audit, headers=auditor).json()["groups"][0]
    by_agency = {r["label"]: r for r in seen["by_agency"]}
    assert by_agency["Police"]["suppressed"] is False and by_agency["Police"]["n"] == 4
    assert by_agency["Health"] == {
        "label": "Health",
        "suppressed": True,
        "n": None,
        "shown_as": "fewer than 5",
    }
    # Each key area mixes both agencies' 4 grades: suppressed for the Police auditor.
    assert all(r["suppressed"] for r in seen["by_key_area"])
    # 8 grades is not a small count, but shown beside Police's 4 it would give away
    # Health's: with no other row to hide, the whole set is hidden too.
    assert seen["overall"]["suppressed"] is True
    headlines = analytics(web, audit, headers=auditor).json()["headlines"]
    # Nothing said of the whole set, Health's grades or the key areas.
    assert headlines[0].startswith("The figures for all grades are not shown")
    assert headlines[1:] == [HEADLINES[2]]

    everything = analytics(web, audit, headers=moderator).json()["groups"][0]
    assert not any(r["suppressed"] for r in everything["by_agency"] + everything["by_key_area"])

    # Filtered to Health alone, even the whole set is another agency's 4 grades.
    health = analytics(web, audit, headers=auditor, agency_id=audit.health_id).json()
    assert health["groups"][0]["overall"]["suppressed"] is True
    assert "Health" not in " ".join(health["headlines"])
    # Filtered to Police alone, the auditor sees their own 4 grades however few.
    own = analytics(web, audit, headers=auditor, agency_id=audit.police_id).json()
    assert own["groups"][0]["overall"]["n"] == 4
    assert [r["suppressed"] for r in own["groups"][0]["by_key_area"]] == [False, False, False]


def test_the_page_and_the_exports_suppress_as_the_api_does(web, audit, db):
    user, _headers = person(db, Role.AUDITOR, audit.police_id)
    browse_as(web, db, user)
    base = f"/audits/{audit.id}/moderation/analytics"
    page = web.get(base)
    assert page.status_code == 200
    agencies = page.text.split("By agency: agreement and shifts")[1].split("</table>")[0]
    assert re.search(r"Health</th>\s*<td[^>]*>\s*fewer than 5", agencies)
    assert "Rows marked fewer than 5 are not shown" in page.text
    rows = {r["Group"]: r for r in _csv_rows(web.get(f"{base}.csv")) if r["Breakdown"] == "Agency"}
    assert rows["Health"]["Grades"] == "fewer than 5" and rows["Health"]["Gwet's AC1"] == ""
    assert rows["Police"]["Grades"] == "4"
    book = load_workbook(io.BytesIO(web.get(f"{base}.xlsx").content))["Figures"]
    health = next(r for r in book.iter_rows(values_only=True) if r[2] == "Health")
    assert health[3] == "fewer than 5" and health[4] is None
    # Filtered to Health's grades alone, the page shows none of their figures.
    other = web.get(f"/analytics?agency_id={audit.health_id}")
    assert other.status_code == 200
    assert "Grades moderated: fewer than 5" in other.text and "Gwet&#39;s AC1" not in other.text
