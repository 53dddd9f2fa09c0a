"""The builder's question form: the kinds of answer, the rules each kind may have, and
the condition on an earlier answer, read from what was posted and shown again; and a
question's rules in words, for the version's page.

The form has every rule's field whatever kind of answer is chosen (it works without
JavaScript): what does not apply to the kind chosen is ignored, so options typed and
then left behind by choosing "A date" are dropped, not refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from app.audit_templates.models import (
    CHOICE_TYPES,
    NOT_APPLICABLE,
    NUMBER_TYPES,
    AnswerType,
    KeyArea,
    Question,
    SectionKind,
    TemplateVersion,
)
from app.audit_templates.schemas import ConditionIn, QuestionIn
from app.errors import AppError, Conflict
from app.forms import Form, FormInvalid, FormState, Posted

# The kinds of answer, as the form offers them (text, hint), in the form's order.
ANSWER_TYPES = {
    AnswerType.YES_NO: ("Yes or no", "Two choices"),
    AnswerType.YES_PARTLY_NO: ("Yes, partly or no", "Three choices"),
    AnswerType.SINGLE_CHOICE: ("One choice from a list", "You write the options"),
    AnswerType.FREE_TEXT: ("Free text", "A box for a written answer"),
    AnswerType.DATE: ("A date", "Day, month and year"),
    AnswerType.INTEGER: ("A whole number", "For example, how many agencies were involved"),
    AnswerType.NUMBER: ("A number", "Decimals allowed, for example 2.5 hours"),
}
CHOICES = {AnswerType.YES_NO: ("yes", "no"), AnswerType.YES_PARTLY_NO: ("yes", "partly", "no")}
CHOICE_WORDS = {"yes": "Yes", "partly": "Partly", "no": "No"}
DEFAULT_NOT_APPLICABLE = "Not applicable"
# The date rules' checkboxes: value -> (text, hint).
DATE_RULES = {
    "not_in_future": ("Not in the future", "The date cannot be after the day it is entered"),
    "within_audit_period": (
        "Within the audit period",
        "The date must be in the period of practice the audit looks at, if the audit sets one",
    ),
}
# The answers a condition depends on are ticked in a group per earlier question, named
# ``when-<its key>``; the page's "condition" checkbox says whether there is a condition.
WHEN = "when-"
CASE_CAPTION = "Questions about the whole case"

QUESTION = Form(
    QuestionIn,
    fields=(
        "prompt",
        "type",
        "options",
        "not_applicable",
        "minimum",
        "maximum",
        "date_rules",
        "required",
        "guidance",
        "key",
        "condition",
        "position",
    ),
    blank_is_none=frozenset({"required"}),
    whole="options",
    messages={
        "prompt": "Enter the question, in 2,000 characters or fewer",
        "type": "Choose the kind of answer",
        "required": "Choose whether an answer is required",
        "guidance": "The guidance is too long",
        "options": "Enter each option on its own line, in 200 characters or fewer",
        ("options", "whole"): "Enter at least two different options, each on its own line",
        "not_applicable": "Enter the words auditors see for ‘not applicable’, in 100 "
        "characters or fewer, on one line",
        "key": "Enter a name of lower-case letters, digits and underscores that starts "
        "with a letter, in 60 characters or fewer, for example risk_level",
        "condition": "Choose the answers that mean this question is asked",
    },
)
# A service's field (after the question's own place) -> the page's field.
PAGE_FIELDS = {
    "not_in_future": "date_rules",
    "within_audit_period": "date_rules",
    "questions": "prompt",
    "body": "type",
}
PAGE_MESSAGES = {
    "questions": "This part of the template has the most questions allowed",
}
# Where a question is, in the service's field names (app.audit_templates.parts).
PLACE = re.compile(r"^(key_areas\[\d+\]\.questions\[\d+\]|case_questions\[\d+\])\.(.+)$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
LIMIT = Decimal(10) ** 15


def caption(key_area: KeyArea) -> str:
    """What the question pages' caption calls the part a question is in."""
    return CASE_CAPTION if key_area.kind == SectionKind.CASE else key_area.title


def answer_choices(q: Question) -> list[tuple[str, str]]:
    """A choice question's answers as (stored value, what a reader sees)."""
    if q.answer_type == AnswerType.SINGLE_CHOICE:
        choices = [(o, o) for o in q.options]
    else:
        choices = [(v, CHOICE_WORDS[v]) for v in CHOICES.get(q.answer_type, ())]
    if q.not_applicable is not None:
        choices.append((NOT_APPLICABLE, q.not_applicable))
    return choices


def asked_in_order(version: TemplateVersion) -> list[Question]:
    """The version's questions in the order a return asks them."""
    return [q for k in version.key_areas for q in k.questions] + version.case_questions


def earlier_choices(
    version: TemplateVersion, key_area: KeyArea | None, question: Question | None
) -> list[Question]:
    """The questions a condition on this one may depend on: earlier in the template,
    with a name for conditions, and with choices for an answer. A new question comes
    last in its key area (``key_area`` None: among the questions about the whole case)."""
    asked = asked_in_order(version)
    if question is not None:
        before = asked[: asked.index(question)]
    elif key_area is None or key_area.kind == SectionKind.CASE:
        before = asked
    else:
        before = [
            q for k in version.key_areas if k.position <= key_area.position for q in k.questions
        ]
    return [q for q in before if q.key and q.answer_type in CHOICE_TYPES]


def values_of(question: Question) -> dict[str, Any]:
    """A saved question as the form's values."""
    condition = question.condition
    values: dict[str, Any] = {
        "prompt": question.prompt,
        "type": question.answer_type.value,
        "required": "yes" if question.required else "no",
        "guidance": question.guidance,
        "options": "\n".join(question.options),
        "offer_not_applicable": "yes" if question.not_applicable is not None else "",
        "not_applicable": question.not_applicable or DEFAULT_NOT_APPLICABLE,
        "minimum": question.minimum or "",
        "maximum": question.maximum or "",
        "date_rules": [r for r in DATE_RULES if getattr(question, r)],
        "key": question.key or "",
        "position": str(question.position + 1),
    }
    if condition:
        values |= {"condition": "yes", WHEN + condition["question"]: list(condition["answers"])}
    return values


def new_values() -> dict[str, Any]:
    return {"required": "yes", "not_applicable": DEFAULT_NOT_APPLICABLE}


def shown(posted: Posted) -> dict[str, Any]:
    """What was posted, to show in the fields again (checkbox groups as lists)."""
    lists = ["date_rules", *(n for n in posted.names() if n.startswith(WHEN))]
    return posted.shown(lists)


def page_context(
    version: TemplateVersion,
    key_area: KeyArea | None,
    question: Question | None,
    form: FormState,
) -> dict[str, Any]:
    """What templates/audit_templates/question.html draws the form from."""
    earlier = earlier_choices(version, key_area, question)
    return {
        "answer_types": [
            {"value": kind.value, "text": text, "hint": hint}
            for kind, (text, hint) in ANSWER_TYPES.items()
        ],
        "date_rules": [
            {"value": value, "text": text, "hint": hint}
            for value, (text, hint) in DATE_RULES.items()
        ],
        "earlier": [
            {"key": q.key, "prompt": q.prompt, "answers": answer_choices(q)} for q in earlier
        ],
        "when": WHEN,
        "case": key_area is None or key_area.kind == SectionKind.CASE,
        "caption": caption(key_area) if key_area is not None else CASE_CAPTION,
        "form": form,
    }


# --- reading the form ----------------------------------------------------------------


def _bound(text: str, *, whole: bool, which: str) -> tuple[int | float | None, str | None]:
    """A minimum or maximum typed in: (the number, None), (None, None) when empty, or
    (None, what to fix)."""
    text = text.strip().replace(",", "")
    if not text:
        return None, None
    example = "0 or 10" if whole else "0 or 2.5"
    kind = "a whole number" if whole else "a number"
    wrong = f"Enter the {which} answer allowed as {kind}, like {example}"
    if not NUMBER.match(text):
        return None, wrong
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern allows only numbers
        return None, wrong
    if whole and number != number.to_integral_value():
        return None, wrong
    if abs(number) > LIMIT:
        return None, f"Enter the {which} answer allowed between minus and plus 1,000 trillion"
    if number == number.to_integral_value():
        return int(number), None
    return float(number), None


def _condition(posted: Posted) -> tuple[ConditionIn | None, str | None]:
    if posted.one("condition") != "yes":
        return None, None  # answers ticked and then the condition unticked are dropped
    chosen = {
        name.removeprefix(WHEN): posted.all(name)
        for name in posted.names()
        if name.startswith(WHEN) and posted.all(name)
    }
    if not chosen:
        return None, "Choose the answers that mean this question is asked"
    if len(chosen) > 1:
        return None, "Choose answers to one earlier question only"
    [(key, answers)] = chosen.items()
    try:
        return ConditionIn(question=key, answers=answers), None
    except ValidationError:
        return None, "Choose the answers that mean this question is asked"


def read(posted: Posted) -> QuestionIn:
    """The question posted, keeping only the rules its kind of answer has; or
    FormInvalid, with the page's words for each field."""
    kind = posted.one("type")
    errors: dict[str, str] = {}
    options = [line.strip() for line in posted.one("options").splitlines() if line.strip()]
    if kind != AnswerType.SINGLE_CHOICE:
        options = []
    not_applicable = None
    if kind in CHOICE_TYPES and posted.one("offer_not_applicable") == "yes":
        not_applicable = posted.one("not_applicable").strip() or DEFAULT_NOT_APPLICABLE
        built_in = {"yes", "no"} | ({"partly"} if kind == AnswerType.YES_PARTLY_NO else set())
        taken = (
            {o.casefold() for o in options}
            | {NOT_APPLICABLE}
            | (built_in if kind != AnswerType.SINGLE_CHOICE else set())
        )
        if not_applicable.casefold() in taken:
            errors["not_applicable"] = "Use words for ‘not applicable’ that are not another answer"
            not_applicable = None
    minimum = maximum = None
    if kind in NUMBER_TYPES:
        whole = kind == AnswerType.INTEGER
        minimum, problem = _bound(posted.one("minimum"), whole=whole, which="smallest")
        if problem:
            errors["minimum"] = problem
        maximum, problem = _bound(posted.one("maximum"), whole=whole, which="largest")
        if problem:
            errors["maximum"] = problem
        if minimum is not None and maximum is not None and minimum > maximum:
            errors["maximum"] = "The largest answer allowed must not be less than the smallest"
            maximum = None
    rules = set(posted.all("date_rules")) if kind == AnswerType.DATE else set()
    condition, problem = _condition(posted)
    if problem:
        errors["condition"] = problem
    try:
        data = QUESTION.read(
            posted,
            options=options,
            not_applicable=not_applicable,
            minimum=minimum,
            maximum=maximum,
            not_in_future="not_in_future" in rules,
            within_audit_period="within_audit_period" in rules,
            key=posted.one("key").strip() or None,
            condition=condition,
        )
    except FormInvalid as invalid:
        raise invalid_form(errors | invalid.errors, posted) from None
    if errors:
        raise invalid_form(errors, posted)
    return data


def invalid_form(errors: dict[str, str], posted: Posted, status_code: int = 422) -> FormInvalid:
    """The form refused: the messages in the page's order, and what was posted."""
    invalid = QUESTION.invalid(errors, status_code=status_code)
    invalid.values = shown(posted)
    return invalid


# --- the service's refusal -----------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """What a save changes of a question, to say which field a refusal is about when
    it is about another question (one whose condition depends on this one)."""

    place: str  # where the question will be, in the service's field names
    old: Question | None
    data: QuestionIn


def place_of(version: TemplateVersion, key_area: KeyArea, position: int) -> str:
    """A question's place in the service's field names (parts.asked_questions)."""
    if key_area.kind == SectionKind.CASE:
        return f"case_questions[{position}]"
    return f"key_areas[{version.key_areas.index(key_area)}].questions[{position}]"


def _about_another(suffix: str, message: str, change: Change, version: TemplateVersion):
    """A refusal about another question that this change would break: (the field of
    this question's form to fix, what to do)."""
    old = change.old
    if suffix == "key":
        return "key", _name_taken(change)
    dependent = next(
        (
            q
            for q in asked_in_order(version)
            if old is not None and old.key and q.condition and q.condition["question"] == old.key
        ),
        None,
    )
    who = f"‘{dependent.prompt}’" if dependent is not None else "Another question"
    asked = f"{who} is asked only when this question has certain answers"
    if old is None:
        return "type", message
    if change.data.key != old.key:
        return "key", f"{asked}: keep the name ‘{old.key}’, or change that question first"
    if change.data.type != old.answer_type and suffix.startswith("condition.question"):
        return "type", f"{asked}: keep a kind of answer with choices, or change that question first"
    if suffix.startswith("condition.question"):
        return "position", f"{asked}, so this question must come before it"
    if change.data.type != old.answer_type:
        return "type", f"{asked}: keep the answers it depends on, or change that question first"
    field = "options" if change.data.type == AnswerType.SINGLE_CHOICE else "not_applicable"
    if old.not_applicable is not None and change.data.not_applicable is None:
        field = "not_applicable"
    return field, f"{asked}: keep the answers it depends on, or change that question first"


def _name_taken(change: Change) -> str:
    return f"Another question already has the name ‘{change.data.key}’: choose another"


def refused(exc: AppError, change: Change, version: TemplateVersion, posted: Posted) -> FormInvalid:
    """The service's refusal of a question, each problem on the field of this form it
    is about (a problem with a place in the template is this question's if the place
    is this question's, else another question's that this change would break)."""
    if not exc.fields:
        raise exc
    errors: dict[str, str] = {}
    for problem in exc.fields:
        field, message = problem.field, problem.message
        found = PLACE.match(field)
        if found and found.group(1) != change.place:
            name, message = _about_another(found.group(2), message, change, version)
        else:
            suffix = found.group(2) if found else field
            base = suffix.split("[")[0].split(".")[0]
            name = PAGE_FIELDS.get(base, base)
            message = _name_taken(change) if base == "key" else PAGE_MESSAGES.get(base, message)
        if name not in errors:
            errors[name] = message[:1].upper() + message[1:]
    return invalid_form(errors, posted, 409 if isinstance(exc, Conflict) else exc.status_code)


# --- a question's rules in words -----------------------------------------------------


def _either(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def rules_in_words(q: Question, by_key: dict[str, Question]) -> list[str]:
    """What a question's rules say, each as a short sentence (the version's page)."""
    rules: list[str] = []
    if q.not_applicable is not None:
        rules.append(f"Not applicable offered as ‘{q.not_applicable}’")
    if q.minimum is not None and q.maximum is not None:
        rules.append(f"Between {q.minimum} and {q.maximum}")
    elif q.minimum is not None:
        rules.append(f"At least {q.minimum}")
    elif q.maximum is not None:
        rules.append(f"At most {q.maximum}")
    rules += [DATE_RULES[r][0] for r in DATE_RULES if getattr(q, r)]
    if q.condition:
        key = q.condition["question"]
        target = by_key.get(key)
        words = dict(answer_choices(target)) if target is not None else {}
        answers = [words.get(a, a) for a in q.condition["answers"]]
        rules.append(f"Asked only when ‘{key}’ is {_either(answers)}")
    if q.key:
        rules.append(f"Name for conditions: {q.key}")
    return rules


def rules_by_question(version: TemplateVersion) -> dict[int, list[str]]:
    asked = asked_in_order(version)
    by_key = {q.key: q for q in asked if q.key}
    return {q.id: rules_in_words(q, by_key) for q in asked}
