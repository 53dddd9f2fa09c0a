"""Returns over HTTP: drafts, optimistic locking, submission and amendment."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audits.models import AuditStatus
from app.returns.models import Answer, Return
from tests.helpers.factories import make_audit


@pytest.fixture
def audit(db):
    return make_audit(db, children=2, agencies_count=2)


@pytest.fixture
def template(client, audit):
    return client.get(f"/api/v1/template-versions/{audit.template_version_id}").json()


@pytest.fixture
def return_id(client, audit):
    return client.get(f"/api/v1/audits/{audit.id}/returns").json()["items"][0]["id"]


def complete_body(template: dict, version: int) -> dict:
    """Everything the factory template requires, answered and graded."""
    answers, grades = [], []
    for key_area in template["key_areas"]:
        yes_no, _text, when = key_area["questions"]
        answers += [
            {"question_id": yes_no["id"], "value": "yes"},
            {"question_id": when["id"], "value": "2024-02-29"},
        ]
        grades.append({"key_area_id": key_area["id"], "level": "G"})
    return {"version": version, "answers": answers, "grades": grades, "overall_grade": "G"}


def save(client, return_id: int, body: dict):
    return client.put(f"/api/v1/returns/{return_id}/draft", json=body)


class TestListReturns:
    def test_lists_one_return_per_involvement_with_total(self, client, audit):
        body = client.get(f"/api/v1/audits/{audit.id}/returns", params={"per_page": 3}).json()
        assert body["total"] == 4
        assert len(body["items"]) == 3
        assert {i["status"] for i in body["items"]} == {"not_started"}

    def test_filters_by_agency_child_and_status(self, client, audit, template, return_id):
        first = client.get(f"/api/v1/returns/{return_id}").json()
        by_agency = client.get(
            f"/api/v1/audits/{audit.id}/returns", params={"agency_id": first["agency"]["id"]}
        ).json()
        assert by_agency["total"] == 2
        assert {i["agency"]["id"] for i in by_agency["items"]} == {first["agency"]["id"]}
        by_child = client.get(
            f"/api/v1/audits/{audit.id}/returns", params={"child_id": first["child"]["id"]}
        ).json()
        assert {i["child"]["id"] for i in by_child["items"]} == {first["child"]["id"]}
        save(client, return_id, complete_body(template, 1))
        drafts = client.get(f"/api/v1/audits/{audit.id}/returns", params={"status": "draft"}).json()
        assert [i["id"] for i in drafts["items"]] == [return_id]

    def test_bad_status_filter_is_422(self, client, audit):
        r = client.get(f"/api/v1/audits/{audit.id}/returns", params={"status": "finished"})
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "query.status"

    def test_unknown_audit_and_return_are_404(self, client):
        assert client.get("/api/v1/audits/999999/returns").status_code == 404
        assert client.get("/api/v1/returns/999999").status_code == 404


class TestSaveDraft:
    def test_partial_saves_merge_and_blank_clears(self, client, template, return_id):
        ka = template["key_areas"][0]
        q_yes, q_text, q_date = (q["id"] for q in ka["questions"])
        r = save(
            client,
            return_id,
            {"version": 1, "answers": [{"question_id": q_yes, "value": "partly"}]},
        )
        assert r.status_code == 200, r.text
        r = save(
            client,
            return_id,
            {
                "version": 2,
                "answers": [{"question_id": q_text, "value": "  She said she felt safe.  "}],
                "evidence": [{"key_area_id": ka["id"], "could_be_better": "Minutes not saved."}],
            },
        )
        body = r.json()
        assert body["version"] == 3
        assert {a["question_id"]: a["value"] for a in body["answers"]} == {
            q_yes: "partly",
            q_text: "She said she felt safe.",
        }
        assert body["evidence"] == [
            {
                "key_area_id": ka["id"],
                "went_well": "",
                "could_be_better": "Minutes not saved.",
                "impact_on_child": "",
            }
        ]
        r = save(
            client, return_id, {"version": 3, "answers": [{"question_id": q_yes, "value": ""}]}
        )
        assert [a["question_id"] for a in r.json()["answers"]] == [q_text]
        assert q_date  # unanswered questions simply have no answer

    def test_grades_and_overall_grade_set_and_clear(self, client, template, return_id):
        ka = template["key_areas"][1]
        r = save(
            client,
            return_id,
            {
                "version": 1,
                "grades": [{"key_area_id": ka["id"], "level": "RI"}],
                "overall_grade": "I",
            },
        )
        assert r.json()["grades"] == [{"key_area_id": ka["id"], "level": "RI"}]
        assert r.json()["overall_grade"] == "I"
        # Omitting overall_grade leaves it alone; null clears it.
        r = save(
            client, return_id, {"version": 2, "grades": [{"key_area_id": ka["id"], "level": None}]}
        )
        assert r.json()["grades"] == [] and r.json()["overall_grade"] == "I"
        r = save(client, return_id, {"version": 3, "overall_grade": None})
        assert r.json()["overall_grade"] is None

    @pytest.mark.parametrize(
        ("index", "value", "message"),
        [
            (0, "maybe", "yes, partly or no"),
            (2, "31/02/2024", "YYYY-MM-DD"),
            (2, "2024-02-30", "YYYY-MM-DD"),
        ],
    )
    def test_values_checked_against_the_question_type(
        self, client, template, return_id, index, value, message
    ):
        question = template["key_areas"][0]["questions"][index]
        r = save(
            client,
            return_id,
            {"version": 1, "answers": [{"question_id": question["id"], "value": value}]},
        )
        assert r.status_code == 422
        assert r.json()["errors"] == [
            {"field": "answers[0].value", "message": r.json()["errors"][0]["message"]}
        ]
        assert message in r.json()["errors"][0]["message"]

    def test_every_bad_item_is_named_and_nothing_is_saved(self, client, db, template, return_id):
        ka = template["key_areas"][0]
        r = save(
            client,
            return_id,
            {
                "version": 1,
                "answers": [
                    {"question_id": ka["questions"][0]["id"], "value": "yes"},
                    {"question_id": 987654, "value": "yes"},
                ],
                "grades": [{"key_area_id": ka["id"], "level": "Excellent"}],
                "evidence": [{"key_area_id": 987654, "went_well": "x"}],
                "overall_grade": "Z",
            },
        )
        assert r.status_code == 422
        fields = {e["field"] for e in r.json()["errors"]}
        assert fields == {
            "answers[1].question_id",
            "grades[0].level",
            "evidence[0].key_area_id",
            "overall_grade",
        }
        assert db.scalars(select(Answer).where(Answer.return_id == return_id)).all() == []
        assert client.get(f"/api/v1/returns/{return_id}").json()["version"] == 1

    def test_control_characters_are_refused_on_every_database(self, client, template, return_id):
        ka = template["key_areas"][0]
        r = save(
            client,
            return_id,
            {
                "version": 1,
                "answers": [{"question_id": ka["questions"][1]["id"], "value": "a\x00b"}],
                "evidence": [{"key_area_id": ka["id"], "went_well": "x\x00"}],
                "auditor_name": "Two\nlines",
            },
        )
        assert r.status_code == 422
        fields = {e["field"] for e in r.json()["errors"]}
        # Every field of a request refuses control characters (app.schemas_base), the
        # answer's value too, whatever its question.
        assert fields == {"answers[0].value", "evidence[0].went_well", "auditor_name"}
        r = save(
            client,
            return_id,
            {
                "version": 1,
                "answers": [{"question_id": ka["questions"][1]["id"], "value": "a\x00b"}],
            },
        )
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "answers[0].value"
        # Line breaks and tabs in evidence are fine.
        r = save(
            client,
            return_id,
            {"version": 1, "evidence": [{"key_area_id": ka["id"], "went_well": "One.\n\tTwo."}]},
        )
        assert r.status_code == 200

    def test_unknown_field_and_missing_version_are_422(self, client, return_id):
        r = save(client, return_id, {"answers": []})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "version"
        r = save(client, return_id, {"version": 1, "grade": []})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "grade"

    def test_number_and_choice_answers_are_normalised(self, client, db, audit, return_id):
        from app.audit_templates import service as templates
        from app.audit_templates.models import AnswerType, Question

        version = templates.get_version(db, version_id=audit.template_version_id)
        ka = version.key_areas[0]
        # A published version is frozen to the API; add the questions underneath it
        # to test the answer types the factory template lacks.
        number = Question(
            key_area_id=ka.id,
            position=9,
            prompt="Days",
            answer_type=AnswerType.NUMBER,
            required=False,
            guidance="",
            options=[],
        )
        choice = Question(
            key_area_id=ka.id,
            position=10,
            prompt="How",
            answer_type=AnswerType.SINGLE_CHOICE,
            required=False,
            guidance="",
            options=["In person", "By phone"],
        )
        db.add_all([number, choice])
        db.flush()
        db.expire_all()
        r = save(
            client,
            return_id,
            {
                "version": 1,
                "answers": [
                    {"question_id": number.id, "value": 12.50},
                    {"question_id": choice.id, "value": "by PHONE"},
                ],
            },
        )
        assert r.status_code == 200, r.text
        values = {a["question_id"]: a["value"] for a in r.json()["answers"]}
        assert values == {number.id: "12.5", choice.id: "By phone"}
        r = save(
            client,
            return_id,
            {
                "version": 2,
                "answers": [
                    {"question_id": number.id, "value": "twelve"},
                    {"question_id": choice.id, "value": "By post"},
                ],
            },
        )
        assert {e["field"] for e in r.json()["errors"]} == {"answers[0].value", "answers[1].value"}

    def test_audit_not_open_refuses_edits(self, client, db, audit, return_id):
        audit.status = AuditStatus.LEARNING
        db.flush()
        r = save(client, return_id, {"version": 1})
        assert r.status_code == 409 and r.json()["code"] == "wrong_state"

    def test_planned_audit_refuses_edits(self, client, db):
        planned = make_audit(db, open_=False)
        rid = db.scalar(select(Return.id).where(Return.audit_id == planned.id))
        assert save(client, rid, {"version": 1}).status_code == 409


class TestStaleVersion:
    def test_second_tab_gets_409_with_current_version_and_loses_nothing(
        self, client, template, return_id
    ):
        q = template["key_areas"][0]["questions"][0]["id"]
        assert (
            save(
                client, return_id, {"version": 1, "answers": [{"question_id": q, "value": "yes"}]}
            ).status_code
            == 200
        )
        r = save(client, return_id, {"version": 1, "answers": [{"question_id": q, "value": "no"}]})
        assert r.status_code == 409
        body = r.json()
        assert body["code"] == "version_conflict"
        assert body["current_version"] == 2 and body["your_version"] == 1
        assert body["current"]["answers"] == [{"question_id": q, "value": "yes"}]
        assert client.get(f"/api/v1/returns/{return_id}").json()["answers"][0]["value"] == "yes"

    def test_future_version_is_also_refused(self, client, return_id):
        assert save(client, return_id, {"version": 7}).status_code == 409

    def test_submit_and_reopen_check_the_version_too(self, client, template, return_id):
        save(client, return_id, complete_body(template, 1))
        assert (
            client.post(f"/api/v1/returns/{return_id}/submit", json={"version": 1}).status_code
            == 409
        )
        assert (
            client.post(f"/api/v1/returns/{return_id}/submit", json={"version": 2}).status_code
            == 200
        )
        r = client.post(
            f"/api/v1/returns/{return_id}/reopen", json={"version": 2, "note": "Add dates"}
        )
        assert r.status_code == 409


class TestSubmit:
    def test_incomplete_is_422_listing_each_missing_item_in_order(
        self, client, template, return_id
    ):
        ka1, ka2 = template["key_areas"]
        save(
            client,
            return_id,
            {"version": 1, "answers": [{"question_id": ka1["questions"][0]["id"], "value": "no"}]},
        )
        r = client.post(f"/api/v1/returns/{return_id}/submit", json={"version": 2})
        assert r.status_code == 422
        body = r.json()
        assert body["code"] == "return_incomplete"
        assert [e["field"] for e in body["errors"]] == [
            f"question:{ka1['questions'][2]['id']}",
            f"grade:{ka1['id']}",
            f"question:{ka2['questions'][0]['id']}",
            f"question:{ka2['questions'][2]['id']}",
            f"grade:{ka2['id']}",
            "overall_grade",
        ]
        assert body["errors"][0]["message"].startswith("Key area 1: answer")
        assert client.get(f"/api/v1/returns/{return_id}").json()["status"] == "draft"

    def test_optional_questions_are_not_required(self, client, template, return_id):
        save(client, return_id, complete_body(template, 1))
        r = client.post(f"/api/v1/returns/{return_id}/submit", json={"version": 2})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "submitted" and r.json()["version"] == 3

    def test_submitted_return_is_locked(self, client, template, return_id):
        save(client, return_id, complete_body(template, 1))
        client.post(f"/api/v1/returns/{return_id}/submit", json={"version": 2})
        r = save(client, return_id, {"version": 3, "overall_grade": "O"})
        assert r.status_code == 409 and "locked" in r.json()["detail"]
        assert (
            client.post(f"/api/v1/returns/{return_id}/submit", json={"version": 3}).status_code
            == 409
        )
        assert client.get(f"/api/v1/returns/{return_id}").json()["overall_grade"] == "G"


class TestReopen:
    def test_moderator_sends_back_with_note_and_auditor_resubmits(
        self, client, template, return_id
    ):
        save(client, return_id, complete_body(template, 1))
        client.post(f"/api/v1/returns/{return_id}/submit", json={"version": 2})
        r = client.post(
            f"/api/v1/returns/{return_id}/reopen", json={"version": 3, "note": "Add the ICPC date."}
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "returned_for_amendment"
        assert r.json()["amendment_note"] == "Add the ICPC date."
        r = save(client, return_id, {"version": 4, "overall_grade": "RI"})
        assert r.status_code == 200 and r.json()["status"] == "returned_for_amendment"
        r = client.post(f"/api/v1/returns/{return_id}/submit", json={"version": 5})
        assert r.json()["status"] == "submitted" and r.json()["amendment_note"] is None

    def test_note_is_required(self, client, template, return_id):
        save(client, return_id, complete_body(template, 1))
        client.post(f"/api/v1/returns/{return_id}/submit", json={"version": 2})
        r = client.post(f"/api/v1/returns/{return_id}/reopen", json={"version": 3, "note": "  "})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "note"

    def test_only_submitted_returns_can_be_reopened(self, client, return_id):
        r = client.post(f"/api/v1/returns/{return_id}/reopen", json={"version": 1, "note": "x"})
        assert r.status_code == 409

    def test_returned_return_can_be_amended_during_moderation(
        self, client, db, audit, template, return_id
    ):
        save(client, return_id, complete_body(template, 1))
        client.post(f"/api/v1/returns/{return_id}/submit", json={"version": 2})
        audit.status = AuditStatus.MODERATION
        db.flush()
        client.post(
            f"/api/v1/returns/{return_id}/reopen", json={"version": 3, "note": "Check grade"}
        )
        assert save(client, return_id, {"version": 4, "overall_grade": "RI"}).status_code == 200
        # Another return not in yet (late) can still be worked on during moderation...
        other = client.get(f"/api/v1/audits/{audit.id}/returns").json()["items"][1]["id"]
        assert save(client, other, {"version": 1}).status_code == 200
        # ...but a submitted one stays locked (unless a moderator sends it back).
        save(client, return_id, complete_body(template, 5))
        assert client.post(f"/api/v1/returns/{return_id}/submit", json={"version": 6}).is_success
        assert save(client, return_id, {"version": 7}).status_code == 409
