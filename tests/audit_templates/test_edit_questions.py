"""Editing a draft's questions over the JSON API: add, change, move and delete."""

from __future__ import annotations

import pytest

from tests.helpers.audit_templates import API, error_fields, get_version, positions


class TestAddQuestion:
    def test_added_last_by_default(self, client, draft):
        area = draft["key_areas"][0]
        r = client.post(
            f"{API}/key-areas/{area['id']}/questions",
            json={"prompt": "How many visits?", "type": "number", "required": False},
        )
        assert r.status_code == 201, r.text
        questions = get_version(client, draft["id"])["key_areas"][0]["questions"]
        assert [q["prompt"] for q in questions][-1] == "How many visits?"
        assert positions(questions) == [0, 1, 2, 3]
        assert (questions[3]["type"], questions[3]["required"]) == ("number", False)

    def test_inserted_at_position(self, client, draft):
        area = draft["key_areas"][2]
        r = client.post(
            f"{API}/key-areas/{area['id']}/questions",
            json={
                "prompt": "Who attended?",
                "type": "single_choice",
                "options": ["Police", "Health", "Social care"],
                "guidance": "Minimum three agencies",
                "position": 1,
            },
        )
        assert r.status_code == 201, r.text
        questions = r.json()["key_areas"][2]["questions"]
        assert [q["prompt"] for q in questions] == [
            "Was practice in area 3 timely?",
            "Who attended?",
            "What did the child say?",
            "Date of the meeting",
        ]
        assert positions(questions) == [0, 1, 2, 3]
        assert questions[1]["options"] == ["Police", "Health", "Social care"]
        assert questions[1]["guidance"] == "Minimum three agencies"
        # Other key areas are untouched.
        assert r.json()["key_areas"][0] == draft["key_areas"][0]

    @pytest.mark.parametrize(
        "body",
        [
            {"prompt": "Which?", "type": "single_choice"},
            {"prompt": "Which?", "type": "single_choice", "options": ["Only"]},
            {"prompt": "Notes", "type": "free_text", "options": ["A", "B"]},
            {"prompt": "", "type": "free_text"},
            {"prompt": "Notes", "type": "essay"},
            {"prompt": "Notes", "type": "free_text", "position": -2},
        ],
        ids=[
            "choice no options",
            "choice one option",
            "options on free text",
            "no prompt",
            "unknown type",
            "negative position",
        ],
    )
    def test_bad_question_is_422(self, client, draft, body):
        area = draft["key_areas"][0]
        r = client.post(f"{API}/key-areas/{area['id']}/questions", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["errors"]
        assert get_version(client, draft["id"]) == draft


class TestUpdateQuestion:
    def test_prompt_guidance_and_required_change(self, client, draft):
        q = draft["key_areas"][0]["questions"][0]
        r = client.patch(
            f"{API}/questions/{q['id']}",
            json={"prompt": "Was the referral timely?", "guidance": "Same day", "required": False},
        )
        assert r.status_code == 200, r.text
        changed = get_version(client, draft["id"])["key_areas"][0]["questions"][0]
        assert changed == {
            **q,
            "prompt": "Was the referral timely?",
            "guidance": "Same day",
            "required": False,
        }

    def test_change_type_to_single_choice_without_options_is_422(self, client, draft):
        q = draft["key_areas"][0]["questions"][1]
        r = client.patch(f"{API}/questions/{q['id']}", json={"type": "single_choice"})
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "invalid" and r.json()["errors"]
        assert get_version(client, draft["id"]) == draft

    def test_change_type_to_single_choice_with_options(self, client, draft):
        q = draft["key_areas"][0]["questions"][1]
        r = client.patch(
            f"{API}/questions/{q['id']}", json={"type": "single_choice", "options": ["Yes", "No"]}
        )
        assert r.status_code == 200, r.text
        changed = r.json()["key_areas"][0]["questions"][1]
        assert (changed["type"], changed["options"]) == ("single_choice", ["Yes", "No"])

    def test_change_away_from_single_choice_drops_the_options(self, client, draft):
        q = draft["key_areas"][0]["questions"][1]
        client.patch(
            f"{API}/questions/{q['id']}", json={"type": "single_choice", "options": ["Yes", "No"]}
        )
        r = client.patch(f"{API}/questions/{q['id']}", json={"type": "date"})
        assert r.status_code == 200, r.text
        changed = get_version(client, draft["id"])["key_areas"][0]["questions"][1]
        assert (changed["type"], changed["options"]) == ("date", [])

    def test_rewording_a_single_choice_question_keeps_its_options(self, client, draft):
        q = draft["key_areas"][1]["questions"][0]
        client.patch(
            f"{API}/questions/{q['id']}",
            json={"type": "single_choice", "options": ["Same day", "Within 3 days", "Later"]},
        )
        r = client.patch(f"{API}/questions/{q['id']}", json={"prompt": "When was it held?"})
        assert r.status_code == 200, r.text
        changed = get_version(client, draft["id"])["key_areas"][1]["questions"][0]
        assert changed["prompt"] == "When was it held?"
        assert changed["options"] == ["Same day", "Within 3 days", "Later"]

    def test_options_on_a_free_text_question_are_422(self, client, draft):
        q = draft["key_areas"][0]["questions"][1]
        r = client.patch(f"{API}/questions/{q['id']}", json={"options": ["A", "B"]})
        assert r.status_code == 422, r.text
        assert get_version(client, draft["id"]) == draft

    def test_single_choice_options_cannot_be_cut_below_two(self, client, draft):
        q = draft["key_areas"][0]["questions"][1]
        client.patch(
            f"{API}/questions/{q['id']}", json={"type": "single_choice", "options": ["A", "B"]}
        )
        before = get_version(client, draft["id"])
        r = client.patch(f"{API}/questions/{q['id']}", json={"options": ["A"]})
        assert r.status_code == 422, r.text
        assert get_version(client, draft["id"]) == before

    @pytest.mark.parametrize(
        ("index", "position", "expected"),
        [(0, 2, [1, 2, 0]), (2, 0, [2, 0, 1]), (1, 9, [0, 2, 1])],
    )
    def test_move_renumbers_positions(self, client, draft, index, position, expected):
        questions = draft["key_areas"][1]["questions"]
        r = client.patch(f"{API}/questions/{questions[index]['id']}", json={"position": position})
        assert r.status_code == 200, r.text
        moved = get_version(client, draft["id"])["key_areas"][1]["questions"]
        assert [q["id"] for q in moved] == [questions[i]["id"] for i in expected]
        assert positions(moved) == [0, 1, 2]

    def test_unknown_field_is_422(self, client, draft):
        q = draft["key_areas"][0]["questions"][0]
        r = client.patch(f"{API}/questions/{q['id']}", json={"answer": "yes"})
        assert r.status_code == 422 and error_fields(r) == ["answer"]


class TestDeleteQuestion:
    def test_removed_and_positions_renumbered(self, client, draft):
        questions = draft["key_areas"][2]["questions"]
        r = client.delete(f"{API}/questions/{questions[0]['id']}")
        assert r.status_code == 200, r.text
        left = get_version(client, draft["id"])["key_areas"][2]["questions"]
        assert [q["id"] for q in left] == [questions[1]["id"], questions[2]["id"]]
        assert positions(left) == [0, 1]
        assert client.delete(f"{API}/questions/{questions[0]['id']}").status_code == 404
