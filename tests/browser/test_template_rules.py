"""In a real browser: a template's rules on the return pages. The every-feature template
(tests/audit_templates/files/every-feature.yaml) is imported, published and sent to the
police in an audit of its own, with one child; the police auditor then meets a question
asked only on another answer on the same page, hidden (and its fields disabled) until
that answer is chosen (app/static/init.mjs), a "not applicable" answer offered after an
"or", and the page about the whole case; and submits the return. axe finds nothing on
these pages, on the audit's answers page or on the builder's page of a question with a
condition."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.usefixtures("live_server")

TEMPLATE = Path(__file__).parents[1] / "audit_templates" / "files" / "every-feature.yaml"
RISK = "What was the level of risk of domestic abuse?"
MARAC = "Was the case referred to MARAC?"
EDUCATION = "Did the strategy discussion include education?"
STRENGTHS = "Strengths in your agency's practice"
DIFFERENCE = "What difference has the multi-agency response made for this child?"
SAFER = "Is the child safer now?"


def check(page, what: str) -> None:
    assert axe_violations(page) == [], what


@pytest.fixture(scope="module")
def case(chromium, signed_in_state, live_server) -> dict:
    """The admin, through the API with their browser's session (and its CSRF token):
    the template imported and published, an audit of it for the police with Child Z,
    opened. Its ids, and each question's id by its prompt."""
    context = chromium.new_context(storage_state=signed_in_state("admin"))
    try:
        page = context.new_page()
        page.goto(f"{live_server}/audits")
        csrf = page.locator("input[name=csrf_token]").first.input_value()

        def call(method: str, path: str, body=None, *, yaml: str | None = None):
            headers = {"X-CSRF-Token": csrf}
            if yaml is not None:
                headers["Content-Type"] = "application/yaml"
            response = context.request.fetch(
                f"{live_server}/api/v1{path}",
                method=method,
                headers=headers,
                data=yaml if yaml is not None else body,
            )
            assert response.ok, (method, path, response.status, response.text())
            return response.json()

        version = call("POST", "/templates/import", yaml=TEMPLATE.read_text())
        call("POST", f"/template-versions/{version['id']}/publish")
        agencies = call("GET", "/agencies?per_page=100")["items"]
        police = next(a["id"] for a in agencies if a["name"] == "Westshire Police")
        today = date.today()
        audit = call(
            "POST",
            "/audits",
            {
                "template_version_id": version["id"],
                "title": "Domestic abuse: every template rule (browser)",
                "period_from": (today - timedelta(days=365)).isoformat(),
                "period_to": (today - timedelta(days=30)).isoformat(),
                "returns_due_on": (today + timedelta(days=30)).isoformat(),
                "moderation_meeting_on": (today + timedelta(days=45)).isoformat(),
                "agency_ids": [police],
            },
        )
        call(
            "POST",
            f"/audits/{audit['id']}/children",
            {"pseudonym": "Child Z", "agency_ids": [police]},
        )
        call("POST", f"/audits/{audit['id']}/open", {"confirm": True})
        questions = [
            q
            for section in [*version["key_areas"], {"questions": version["case_questions"]}]
            for q in section["questions"]
        ]
        return {
            "audit_id": audit["id"],
            "return_id": own_return(chromium, signed_in_state, live_server, audit["id"]),
            "version_id": version["id"],
            "question": {q["prompt"]: q["id"] for q in questions},
        }
    finally:
        context.close()


def own_return(chromium, signed_in_state, live_server, audit_id: int) -> int:
    """The police auditor's return in the audit, from their My work (an admin may not
    read returns)."""
    context = chromium.new_context(storage_state=signed_in_state("auditor"))
    try:
        for number in range(1, 20):
            response = context.request.get(f"{live_server}/api/v1/me/work?page={number}")
            assert response.ok, response.text()
            work = response.json()
            for group in work["to_do"] + work["done"]:
                if group["id"] == audit_id:
                    [found] = group["returns"]
                    return found["id"]
            if number >= work["pages"]:
                break
    finally:
        context.close()
    raise AssertionError("the return is not on the police auditor's My work")


def saved_answers(page, base: str, return_id: int) -> dict[int, str]:
    """The return's answers as saved (the API, with the page's session: a GET needs no
    CSRF token)."""
    response = page.request.get(f"{base}/api/v1/returns/{return_id}")
    assert response.ok, response.text()
    return {a["question_id"]: a["value"] for a in response.json()["answers"]}


def test_a_question_is_asked_only_on_the_answer_its_condition_names(page_as, live_server, case):
    page = page_as("auditor", for_axe=True)
    page.goto(f"{live_server}/returns/{case['return_id']}")
    page.get_by_role("link", name="Risk", exact=True).click()
    page.wait_for_url(re.compile(r"/areas/\d+$"))
    risk = page.get_by_role("group", name=RISK)
    expect(risk).to_be_visible()
    marac_id = case["question"][MARAC]
    marac = page.locator(f"[data-asked-when='q-{case['question'][RISK]}']")
    marac_radios = page.locator(f"input[name='q-{marac_id}']")
    expect(marac_radios).to_have_count(2)

    # Nothing chosen yet: the MARAC question is not asked, and its fields not sent.
    expect(marac).to_be_hidden()
    for radio in marac_radios.all():
        expect(radio).to_be_disabled()
    check(page, "key area page, a question hidden by its condition")

    risk.get_by_label("High", exact=True).check()
    expect(marac).to_be_visible()
    group = page.get_by_role("group", name=MARAC)
    expect(group).to_be_visible()
    expect(group).to_contain_text(f"Answer this if your answer to ‘{RISK}’ is High.")
    for radio in marac_radios.all():
        expect(radio).to_be_enabled()
    group.get_by_label("Yes", exact=True).check()
    check(page, "key area page, the conditional question shown")

    risk.get_by_label("Medium", exact=True).check()
    expect(marac).to_be_hidden()
    for radio in marac_radios.all():
        expect(radio).to_be_disabled()

    # "Not applicable" in the template's words, a radio of its own after an "or".
    divider = risk.locator(".govuk-radios__divider")
    expect(divider).to_have_text("or")
    after = divider.evaluate("d => d.nextElementSibling.querySelector('input').value")
    assert after == "not_applicable"
    not_assessed = risk.get_by_role("radio", name="Not assessed")
    expect(not_assessed).to_have_count(1)
    not_assessed.check()
    expect(marac).to_be_hidden()
    for radio in marac_radios.all():
        expect(radio).to_be_disabled()
    # The MARAC question's "Yes", chosen while it was asked, is still ticked but
    # disabled: the page does not send it.
    expect(marac_radios.first).to_be_checked()

    page.get_by_role("group", name=EDUCATION).get_by_label("Partly", exact=True).check()
    page.get_by_label(STRENGTHS).fill(
        "The risk was shared with children's social care the same day."
    )
    page.get_by_role("group", name="Your agency's grade for Risk").get_by_label("Green").check()
    with page.expect_request(
        lambda r: r.method == "POST" and "x-autosave" not in r.headers
    ) as saving:
        page.get_by_role("button", name="Save and continue").click()
    sent = saving.value.post_data or ""
    assert f"q-{case['question'][RISK]}=not_applicable" in sent
    assert f"q-{marac_id}=" not in sent  # the disabled "Yes" stayed behind
    expect(page.get_by_role("heading", level=1, name="Assessment")).to_be_visible()

    answers = saved_answers(page, live_server, case["return_id"])
    assert answers[case["question"][RISK]] == "not_applicable"
    assert marac_id not in answers
    assert answers[case["question"][EDUCATION]] == "partly"


def answer_assessment(page, base: str, return_id: int, *, evidence: bool) -> None:
    """The Assessment key area's questions (and its required box of evidence, if
    ``evidence``), saved with Save and continue: on to the page about the whole case."""
    page.goto(f"{base}/returns/{return_id}")
    page.get_by_role("link", name="Assessment", exact=True).click()
    page.wait_for_url(re.compile(r"/areas/\d+$"))
    page.get_by_label("How many agencies attended the strategy discussion?").fill("3")
    completed = page.get_by_role("group", name="When was the assessment completed?")
    expect(completed).to_contain_text("Not in the future. Within the period the audit looks at.")
    day = date.today() - timedelta(days=60)
    completed.get_by_label("Day").fill(str(day.day))
    completed.get_by_label("Month").fill(str(day.month))
    completed.get_by_label("Year").fill(str(day.year))
    if evidence:
        page.get_by_label(STRENGTHS).fill("The assessment was shared with the school.")
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url("**/overall")


# A required box of evidence left empty leaves its key area unfinished: the task list,
# Check your answers and My work say so before Submit would.
def test_a_required_box_of_evidence_left_empty_leaves_its_key_area_unfinished(
    page_as, live_server, case
):
    page = page_as("auditor")
    answer_assessment(page, live_server, case["return_id"], evidence=False)
    page.goto(f"{live_server}/returns/{case['return_id']}")
    status = page.locator(".govuk-task-list__item", has_text="Assessment").locator(
        ".govuk-task-list__status"
    )
    expect(status).to_have_text("In progress")
    page.goto(f"{live_server}/returns/{case['return_id']}/check")
    expect(
        page.get_by_role("heading", name="Finish these sections before you submit")
    ).to_be_visible()


def test_the_whole_case_page_asks_its_questions_beside_the_overall_grade(
    page_as, live_server, case
):
    page = page_as("auditor", for_axe=True)
    answer_assessment(page, live_server, case["return_id"], evidence=True)
    expect(page.get_by_role("heading", level=1, name="The whole case")).to_be_visible()
    expect(page.get_by_label(DIFFERENCE)).to_be_visible()
    safer = page.get_by_role("group", name=SAFER)
    expect(safer).to_be_visible()
    expect(safer.get_by_role("radio", name="Too early to say")).to_have_count(1)
    overall = page.get_by_role("group", name="Your agency's overall grade for Child Z")
    expect(overall.get_by_role("radio")).to_have_count(3)
    check(page, "the whole case")

    page.get_by_label(DIFFERENCE).fill("Child Z now has a safety plan the school knows about.")
    safer.get_by_role("radio", name="Too early to say").check()
    overall.get_by_label("Green").check()
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_url("**/check")
    expect(page.get_by_role("button", name="Submit return")).to_be_visible()
    check(page, "check your answers")
    page.get_by_role("button", name="Submit return").click()
    expect(page.get_by_role("heading", name="Return submitted")).to_be_visible()

    answers = saved_answers(page, live_server, case["return_id"])
    assert answers[case["question"][SAFER]] == "not_applicable"
    assert case["question"][MARAC] not in answers


def test_the_answers_page_and_a_conditional_question_in_the_builder_pass_axe(
    page_as, live_server, case
):
    # (An admin may not read returns, nor so this page: a moderator may.)
    moderator = page_as("moderator", for_axe=True)
    moderator.goto(f"{live_server}/audits/{case['audit_id']}/answers")
    expect(moderator.get_by_text("From 1 submitted return you can read.")).to_be_visible()
    expect(
        moderator.get_by_text("Not assessed: 1 (not counted in the percentages)")
    ).to_be_visible()
    check(moderator, "answers across the audit")

    page = page_as("admin", for_axe=True)

    # A draft of the template (a published version is not edited): its MARAC question.
    page.goto(f"{live_server}/audits")
    csrf = page.locator("input[name=csrf_token]").first.input_value()
    response = page.request.post(
        f"{live_server}/api/v1/template-versions/{case['version_id']}/new-version",
        headers={"X-CSRF-Token": csrf},
    )
    assert response.ok, response.text()
    draft = response.json()
    marac = next(
        q["id"] for k in draft["key_areas"] for q in k["questions"] if q["prompt"] == MARAC
    )
    page.goto(f"{live_server}/admin/questions/{marac}")
    expect(page.get_by_label("Only when an earlier question has certain answers")).to_be_checked()
    expect(page.get_by_role("group", name=RISK).get_by_label("High")).to_be_checked()
    check(page, "builder: a question with a condition")
