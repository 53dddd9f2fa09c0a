"""The page layer's one form helper and its one date reader (app/forms.py), on their own.

Every page's form goes through these; the pages' own tests show them in place."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import BaseModel, Field

from app.errors import Conflict, FieldError, InvalidInput
from app.forms import Form, FormInvalid, Posted, date_values, read_date


def boxes(name: str, day: str, month: str, year: str) -> Posted:
    return Posted([(f"{name}-day", day), (f"{name}-month", month), (f"{name}-year", year)])


class TestTheDateReader:
    @pytest.mark.parametrize(
        ("day", "month", "year", "problem"),
        [
            ("", "", "", None),
            ("31", "3", "2027", None),
            ("", "3", "2027", "The due date must include a day"),
            ("", "", "2027", "The due date must include a day and month"),
            ("31", "2", "2027", "The due date must be a real date"),
            ("1st", "3", "2027", "The due date must be a real date"),
            ("1", "3", "27", "The due date must have a year with 4 numbers"),
        ],
    )
    def test_reads_the_three_boxes_in_the_gov_uk_patterns_words(self, day, month, year, problem):
        found, said = read_date(boxes("due_on", day, month, year), "due_on", "The due date")
        assert said == problem
        if problem is None and year:
            assert found == date(int(year), int(month), int(day))
        else:
            assert found is None

    def test_a_saved_date_fills_the_boxes_it_is_read_from(self):
        values = date_values("due_on", date(2027, 3, 31))
        assert read_date(Posted(values.items()), "due_on", "The due date") == (
            date(2027, 3, 31),
            None,
        )


class Proposal(BaseModel):
    title: str = Field(min_length=1, max_length=20)
    due_on: date
    theme_ids: list[int] = []


PROPOSAL = Form(
    Proposal,
    fields=("title", "due_on", "theme_ids"),
    messages={
        "title": "Enter a title",
        ("title", "string_too_long"): "Title must be 20 characters or fewer",
    },
    dates={"due_on": "The due date"},
    lists=frozenset({"theme_ids"}),
    refusals={("title", "conflict"): "That title is taken"},
)


class TestTheFormHelper:
    def test_reads_the_model_from_text_dates_and_repeated_fields(self):
        given = Posted(
            [("title", "Minutes"), ("theme_ids", "2"), ("theme_ids", "5")]
            + list(date_values("due_on", date(2027, 1, 4)).items())
        )
        assert PROPOSAL.read(given) == Proposal(
            title="Minutes", due_on=date(2027, 1, 4), theme_ids=[2, 5]
        )

    def test_problems_are_in_the_pages_words_and_order(self):
        with pytest.raises(FormInvalid) as refused:
            PROPOSAL.read(boxes("due_on", "31", "2", "2027"))
        assert list(refused.value.errors.items()) == [
            ("title", "Enter a title"),
            ("due_on", "The due date must be a real date"),
        ]
        state = refused.value.state()
        assert [e["href"] for e in state.summary] == ["#title", "#due_on-day"]
        assert refused.value.status_code == 422

    def test_a_message_by_error_type_wins_over_the_fields_blank_message(self):
        given = Posted([("title", "x" * 21), *date_values("due_on", date(2027, 1, 4)).items()])
        with pytest.raises(FormInvalid) as refused:
            PROPOSAL.read(given)
        assert refused.value.errors == {"title": "Title must be 20 characters or fewer"}

    def test_what_was_typed_is_shown_again(self):
        given = Posted([("title", ""), ("theme_ids", "2"), ("theme_ids", "5")])
        with pytest.raises(FormInvalid) as refused:
            PROPOSAL.read(given)
        assert refused.value.state().values["theme_ids"] == ["2", "5"]

    def test_a_services_refusal_is_put_on_its_field_in_the_pages_words(self):
        taken = Conflict("Taken", fields=[FieldError("title", "already used")])
        refused = PROPOSAL.refused(taken)
        assert refused.errors == {"title": "That title is taken"}
        assert refused.status_code == 409

    def test_a_refusal_naming_no_field_is_not_about_the_form(self):
        closed = InvalidInput("The audit is closed")
        with pytest.raises(InvalidInput) as raised:
            PROPOSAL.refused(closed)
        assert raised.value is closed
