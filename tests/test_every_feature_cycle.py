"""A template using every rule of the format (tests/audit_templates/files/every-feature
.yaml) through the whole cycle over HTTP: returns (bounds, date rules, a condition
hiding and requiring a question, "not applicable" satisfying a required question, a
required box of evidence, questions about the whole case), moderation, analytics."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import time_machine

from tests.helpers.audit_templates import API, import_yaml

EVERY_FEATURE = Path(__file__).parent / "audit_templates" / "files" / "every-feature.yaml"
NOW = datetime(2026, 6, 15, 9, 0, tzinfo=UTC)


def errors(response) -> dict[str, str]:
    return {e["field"]: e["message"] for e in response.json().get("errors", [])}


class Return:
    """One return, saved and submitted through the API, keeping its version."""

    def __init__(self, client, return_id: int):
        self.client, self.id = client, return_id
        self.version = client.get(f"{API}/returns/{return_id}").json()["version"]

    def save(self, **body):
        r = self.client.put(
            f"{API}/returns/{self.id}/draft", json={"version": self.version, **body}
        )
        if r.status_code == 200:
            self.version = r.json()["version"]
        return r

    def answers(self) -> dict[int, str]:
        found = self.client.get(f"{API}/returns/{self.id}").json()
        return {a["question_id"]: a["value"] for a in found["answers"]}

    def submit(self):
        r = self.client.post(f"{API}/returns/{self.id}/submit", json={"version": self.version})
        if r.status_code == 200:
            self.version = r.json()["version"]
        return r


def test_every_feature_through_the_cycle(client):
    with time_machine.travel(NOW, tick=True):
        _cycle(client)


def _cycle(client):
    version = import_yaml(client, EVERY_FEATURE.read_text(encoding="utf-8")).json()
    assert client.post(f"{API}/template-versions/{version['id']}/publish").status_code == 200
    risk, assessment = version["key_areas"]
    level, marac, education, _next = (q["id"] for q in risk["questions"])
    attended, days, completed = (q["id"] for q in assessment["questions"])
    difference, safer = (q["id"] for q in version["case_questions"])

    police = client.post(f"{API}/agencies", json={"name": "Police", "kind": "police"}).json()
    health = client.post(
        f"{API}/agencies", json={"name": "Health", "kind": "community_health"}
    ).json()
    r = client.post(
        f"{API}/audits",
        json={
            "template_version_id": version["id"],
            "title": "Domestic abuse audit",
            "returns_due_on": "2026-07-31",
            "period_from": "2026-01-01",
            "period_to": "2026-05-31",
            "agency_ids": [police["id"], health["id"]],
        },
    )
    assert r.status_code == 201, r.text
    audit = r.json()
    child = client.post(
        f"{API}/audits/{audit['id']}/children",
        json={"pseudonym": "Child A", "agency_ids": [police["id"], health["id"]]},
    ).json()
    assert (
        client.post(f"{API}/audits/{audit['id']}/open", json={"confirm": True}).status_code == 200
    )
    by_agency = {i["agency_id"]: i["return_id"] for i in child["involvements"]}
    first, second = Return(client, by_agency[police["id"]]), Return(client, by_agency[health["id"]])

    # Bounds and date rules, each named.
    refused = first.save(
        answers=[
            {"question_id": attended, "value": "25"},
            {"question_id": days, "value": "2.5e1"},
            {"question_id": completed, "value": "2026-07-01"},
        ]
    )
    assert refused.status_code == 422
    assert errors(refused) == {
        "answers[0].value": "Must be between 1 and 20",
        "answers[2].value": "Must be today or in the past",
    }
    assert errors(first.save(answers=[{"question_id": attended, "value": "2.5"}])) == {
        "answers[0].value": "Must be a whole number"
    }
    outside = first.save(answers=[{"question_id": completed, "value": "2025-12-31"}])
    assert errors(outside) == {
        "answers[0].value": "Must be on or after 1 January 2026, when the audit period starts"
    }

    # The first agency: a high risk, so the MARAC question is asked and required.
    saved = first.save(
        answers=[
            {"question_id": level, "value": "high"},
            {"question_id": education, "value": "not appropriate"},
            {"question_id": attended, "value": "3"},
            {"question_id": days, "value": "12.50"},
            {"question_id": completed, "value": "2026-03-02"},
            {"question_id": difference, "value": "Child A is seen weekly by the school nurse."},
            {"question_id": safer, "value": "Too early to say"},
        ],
        grades=[{"key_area_id": risk["id"], "level": "G"}],
        evidence=[{"key_area_id": risk["id"], "went_well": "The referral was made the same day."}],
        overall_grade="A",
    )
    assert saved.status_code == 200, saved.text
    answers = first.answers()
    assert (answers[level], answers[education], answers[days]) == ("High", "not_applicable", "12.5")
    assert answers[safer] == "not_applicable"
    incomplete = first.submit()
    assert incomplete.status_code == 422
    # Every key area has the boxes the template declares, the required one in each.
    assert set(errors(incomplete)) == {
        f"question:{marac}",
        f"evidence:{assessment['id']}:went_well",
    }
    refused = first.save(evidence=[{"key_area_id": risk["id"], "could_be_better": "More."}])
    assert errors(refused) == {
        "evidence[0].could_be_better": "This template has no such box of evidence"
    }
    assert (
        first.save(
            evidence=[{"key_area_id": assessment["id"], "went_well": "A joint visit."}]
        ).status_code
        == 200
    )

    # Answered, then the deciding answer changes: the MARAC answer goes with it.
    assert first.save(answers=[{"question_id": marac, "value": "Yes"}]).status_code == 200
    assert first.answers()[marac] == "yes"
    assert first.save(answers=[{"question_id": level, "value": "Medium"}]).status_code == 200
    assert marac not in first.answers()
    first.save(
        answers=[{"question_id": level, "value": "High"}, {"question_id": marac, "value": "no"}]
    )
    assert first.submit().status_code == 200

    # The second agency: risk "not assessed" answers the required question; the MARAC
    # question is not asked, so an answer sent for it is not kept and not required;
    # the required box of evidence and the questions about the whole case are.
    saved = second.save(
        answers=[
            {"question_id": level, "value": "Not assessed"},
            {"question_id": marac, "value": "yes"},
            {"question_id": education, "value": "partly"},
            {"question_id": attended, "value": "1"},
            {"question_id": completed, "value": "2026-05-31"},
        ],
        grades=[{"key_area_id": risk["id"], "level": "R"}],
        overall_grade="R",
    )
    assert saved.status_code == 200, saved.text
    assert marac not in second.answers()
    incomplete = second.submit()
    assert set(errors(incomplete)) == {
        f"evidence:{risk['id']}:went_well",
        f"evidence:{assessment['id']}:went_well",
        f"question:{difference}",
        f"question:{safer}",
    }
    second.save(
        answers=[
            {"question_id": difference, "value": "Little so far."},
            {"question_id": safer, "value": "no"},
        ],
        evidence=[
            {"key_area_id": risk["id"], "went_well": "Seen at home within a week."},
            {"key_area_id": assessment["id"], "went_well": "Shared with the school."},
        ],
    )
    assert second.submit().status_code == 200, second.submit().text

    # Each return reads in the template's words, the question not asked left out.
    page = client.get(f"/returns/{second.id}").text
    assert "Not assessed" in page and "Was the case referred to MARAC?" not in page
    assert "Strengths in your agency&#39;s practice" in page and "The whole case" in page
    page = client.get(f"/returns/{first.id}").text
    assert "Was the case referred to MARAC?" in page and "Too early to say" in page
    assert "Not appropriate" in page

    # The audit's answers: "not applicable" counted apart and out of the percentages,
    # the MARAC question counted only where it was asked.
    summary = client.get(f"{API}/audits/{audit['id']}/answers")
    assert summary.status_code == 200, summary.text
    figures = {q["question_id"]: q for q in summary.json()["questions"]}
    shares = {
        q: {a["value"]: (a["count"], a["percentage"]) for a in figures[q]["answers"]}
        for q in (level, marac, education, safer)
    }
    assert figures[level]["not_applicable"] == 1 and figures[level]["answered"] == 1
    assert shares[level] == {"Standard": (0, 0.0), "Medium": (0, 0.0), "High": (1, 100.0)}
    assert (figures[marac]["asked"], shares[marac]) == (1, {"yes": (0, 0.0), "no": (1, 100.0)})
    assert shares[education]["partly"] == (1, 100.0)
    assert figures[safer]["not_applicable"] == 1 and shares[safer]["no"] == (1, 100.0)
    assert figures[days]["numbers"] == {"count": 1, "minimum": 12.5, "maximum": 12.5, "mean": 12.5}
    data = client.get(f"{API}/audits/{audit['id']}/answers.csv")
    assert data.status_code == 200 and "Too early to say" in data.content.decode("utf-8-sig")

    # Moderation: the meeting shows the declared boxes and the whole-case answers.
    grid = client.post(f"{API}/audits/{audit['id']}/moderation/open")
    assert grid.status_code == 200, grid.text
    areas = [a["key_area_id"] for a in grid.json()["areas"]]
    assert areas == [risk["id"], None]  # the ungraded key area is not moderated
    meeting = client.get(f"/audits/{audit['id']}/moderation/meeting?child={child['id']}").text
    assert "Strengths in your agency&#39;s practice" in meeting
    assert "What difference has the multi-agency response made for this child?" in meeting
    assert "Too early to say" in meeting
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
    assert client.post(f"{API}/audits/{audit['id']}/moderation/finish").status_code == 200

    # Analytics reads the template's own scale.
    analytics = client.get(f"{API}/moderation/analytics", params={"audit_id": audit["id"]})
    assert analytics.status_code == 200, analytics.text
    assert analytics.json()["pairs"] == 2  # the key area's cells; the overall grade apart
    overall = client.get(
        f"{API}/moderation/analytics", params={"audit_id": audit["id"], "key_area": "overall"}
    )
    assert overall.json()["pairs"] == 2


def test_an_answer_to_a_question_not_asked_neither_blocks_nor_stays(client):
    """A dependent question hidden on the page still sends what was typed in it: not
    asked, it is dropped whatever it says, rather than refusing the whole save."""
    with time_machine.travel(NOW, tick=True):
        version = import_yaml(client, EVERY_FEATURE.read_text(encoding="utf-8")).json()
        client.post(f"{API}/template-versions/{version['id']}/publish")
        level, marac = (q["id"] for q in version["key_areas"][0]["questions"][:2])
        police = client.post(f"{API}/agencies", json={"name": "Police", "kind": "police"}).json()
        audit = client.post(
            f"{API}/audits",
            json={
                "template_version_id": version["id"],
                "title": "Domestic abuse audit",
                "returns_due_on": "2026-07-31",
                "period_from": "2026-01-01",
                "period_to": "2026-05-31",
                "agency_ids": [police["id"]],
            },
        ).json()
        child = client.post(
            f"{API}/audits/{audit['id']}/children",
            json={"pseudonym": "Child A", "agency_ids": [police["id"]]},
        ).json()
        client.post(f"{API}/audits/{audit['id']}/open", json={"confirm": True})
        one = Return(client, child["involvements"][0]["return_id"])
        saved = one.save(
            answers=[
                {"question_id": level, "value": "Standard"},
                {"question_id": marac, "value": "perhaps"},
            ]
        )
        assert saved.status_code == 200, saved.text
        assert one.answers() == {level: "Standard"}
        # Asked, the same answer is refused by name.
        refused = one.save(
            answers=[
                {"question_id": level, "value": "High"},
                {"question_id": marac, "value": "perhaps"},
            ]
        )
        assert errors(refused) == {"answers[1].value": "Must be yes or no"}

        # Once open, the period its date questions must fall within stays set.
        cleared = client.patch(f"{API}/audits/{audit['id']}", json={"period_to": None})
        assert cleared.status_code == 422 and set(errors(cleared)) == {"period_to"}
