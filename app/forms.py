"""Page forms, one way for every page.

A page's form is a ``Form``: the Pydantic model the API validates the same change
with, the page's fields in the order they appear (the error summary lists problems
in that order), and the page's own words for what can be wrong, by field or by
(field, Pydantic error type). ``Form.read`` turns what was posted into the model or
raises ``FormInvalid`` with one message per field. GOV.UK date inputs (day, month and
year boxes) are read by ``read_date``, the one date reader. ``Form.submitting`` runs
the service call and turns its refusal (an ``AppError`` naming fields) into the
page's words.

A handler catches ``FormInvalid``, shows its page again with ``invalid.state`` (what
was typed, the messages, the error summary) and answers 422, or 409 for a conflict;
``app.deps.transactional`` then rolls the request back, so a refused form writes
nothing. Templates draw fields with the macros in ``templates/_macros/form.html``,
which read a ``FormState``.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from app.errors import AppError, Conflict, InvalidInput
from app.schemas_base import DATE_RANGE, EARLIEST_DATE, FORM_CONTEXT, LATEST_DATE

M = TypeVar("M", bound=BaseModel)
# The page's words for what is wrong, looked up in this order: for a field left
# blank, by field ("title": "Enter a title"), then by field and Pydantic error type;
# for a field filled in, by field and error type (("title", "string_too_long")), then
# by ("title", "invalid") for any other problem, then by field.
Messages = Mapping[str | tuple[str, str], str]
DATE_PARTS = ("day", "month", "year")


# --- what was posted -----------------------------------------------------------------


class Posted:
    """A submitted form (or a GET form's query): every value of each field, in order."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._values: dict[str, list[str]] = {}
        for key, value in items:
            self._values.setdefault(key, []).append(value)

    def one(self, name: str) -> str:
        """The field's value ("" when it was not sent)."""
        return (self._values.get(name) or [""])[0]

    def all(self, name: str) -> list[str]:
        """Every non-blank value of a repeated field (checkboxes), in order."""
        return [v for v in self._values.get(name, []) if v != ""]

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def names(self) -> list[str]:
        return list(self._values)

    def items(self) -> list[tuple[str, str]]:
        """Every (field, value) pair, blanks included, in order."""
        return [(k, v) for k, values in self._values.items() for v in values]

    def shown(self, lists: Iterable[str] = ()) -> dict[str, Any]:
        """What to show in the fields again: one value per field, every value of the
        repeated ones."""
        repeated = set(lists)
        return {k: (self.all(k) if k in repeated else self.one(k)) for k in self._values}


_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


def whole_number(text: str | None) -> int | None:
    """A posted id or version as a number, or None: only ASCII digits, at most nine
    (``str.isdigit`` also passes "²" and "٣", which ``int`` then refuses or reads)."""
    if text is None or not _WHOLE_NUMBER.fullmatch(text):
        return None
    return int(text)


def read_date(posted: Posted, name: str, label: str) -> tuple[date | None, str | None]:
    """A date from a GOV.UK date input's three boxes (``<name>-day``, ``-month``,
    ``-year``): (the date, None); (None, None) when all three are empty; or (None, what
    to fix), worded as the GOV.UK pattern words it."""
    parts = {p: posted.one(f"{name}-{p}").strip() for p in DATE_PARTS}
    if not any(parts.values()):
        return None, None
    missing = [p for p, v in parts.items() if not v]
    if missing:
        return None, f"{label} must include a {' and '.join(missing)}"
    if not all(v.isascii() and v.isdigit() and len(v) <= 4 for v in parts.values()):
        return None, f"{label} must be a real date"
    if len(parts["year"]) != 4:
        return None, f"{label} must have a year with 4 numbers"
    try:
        day = date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except ValueError:
        return None, f"{label} must be a real date"
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        return None, f"{label} must be {DATE_RANGE}"
    return day, None


def date_values(name: str, day: date | None) -> dict[str, str]:
    """A date as the values of its three boxes, to fill a form from a saved record."""
    if day is None:
        return {}
    return {f"{name}-{p}": str(getattr(day, p)) for p in DATE_PARTS}


# --- what a page shows ---------------------------------------------------------------


@dataclass(frozen=True)
class FormState:
    """A form as a page shows it: the values in its fields, and what is wrong. The
    form macros read it, and base.html draws the error summary from ``summary``."""

    values: Mapping[str, Any] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    # Where a message links to when it is not the field's own id: a date input's
    # day box, or another page (a missing answer links to its key area).
    anchors: Mapping[str, str] = field(default_factory=dict)
    # The error summary's own list, when it is not one message per field on this page
    # (what opening an audit still needs links to the forms on other pages).
    listed: tuple[dict[str, str], ...] | None = None

    def value(self, name: str, default: str = "") -> str:
        value = self.values.get(name, default)
        if isinstance(value, list):
            return value[0] if value else default
        return "" if value is None else str(value)

    def chosen(self, name: str) -> list[str]:
        value = self.values.get(name, [])
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    @property
    def summary(self) -> list[dict[str, str]]:
        if self.listed is not None:
            return list(self.listed)
        return [{"text": m, "href": self.anchors.get(f, f"#{f}")} for f, m in self.errors.items()]


class FormInvalid(InvalidInput):
    """What is wrong with a form, field by field, in the page's words."""

    def __init__(
        self,
        errors: Mapping[str, str],
        *,
        status_code: int = 422,
        anchors: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(next(iter(errors.values()), "There is a problem"))
        self.errors = dict(errors)
        self.status_code = status_code
        self.anchors = dict(anchors or {})
        self.values = dict(values or {})

    def state(self, values: Mapping[str, Any] | None = None) -> FormState:
        """The page's form again: what was typed and what is wrong with it."""
        shown = self.values if values is None else values
        return FormState(values=shown, errors=self.errors, anchors=self.anchors)


# --- a page's form -------------------------------------------------------------------


def _takes_text(annotation: Any) -> bool:
    """Whether a model field holds text, so a blank box means "" rather than "not
    given". A blank choice, number, date, enum or tick box is not given: the model's
    default if it has one, else None."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _takes_text(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_takes_text(a) for a in typing.get_args(annotation) if a is not type(None))
    return (
        isinstance(annotation, type)
        and issubclass(annotation, str)
        and not (issubclass(annotation, Enum))
    )


def _message(messages: Messages, name: str, kind: str, fallback: str, *, blank: bool) -> str:
    if blank:
        found = messages.get(name) or messages.get((name, kind))
    else:
        found = messages.get((name, kind)) or messages.get((name, "invalid")) or messages.get(name)
    if found:
        return found
    text = fallback.removeprefix("Value error, ")
    return text[:1].upper() + text[1:]


@contextmanager
def undone_if_refused(session: Session) -> Iterator[None]:
    """Run a service call in a savepoint: if it refuses (an AppError), whatever it
    wrote first is undone and everything loaded is read afresh, so the page shown
    next says how things really stand. (The request's own rollback comes only after
    that page is drawn.)"""
    try:
        with session.begin_nested():
            yield
    except AppError:
        session.expire_all()
        raise


@dataclass(frozen=True)
class Form(Generic[M]):
    """One page form: the model that checks it, its fields in page order, its words."""

    model: type[M]
    fields: tuple[str, ...]
    messages: Messages = field(default_factory=dict)
    # GOV.UK date inputs: field -> its label, which starts each message about it.
    dates: Mapping[str, str] = field(default_factory=dict)
    # Fields sent once per chosen item (checkboxes): read as lists.
    lists: frozenset[str] = frozenset()
    # A service's refusal in the page's words, by the page's field name.
    refusals: Messages = field(default_factory=dict)
    # Model or service field -> the page's field, where the page names it otherwise.
    rename: Mapping[str, str] = field(default_factory=dict)
    # Fields where a blank box means None even though the model has a default: an
    # optional password (None, not ""), or a yes/no the page insists is answered
    # (None is refused, where the model would have defaulted to yes).
    blank_is_none: frozenset[str] = frozenset()
    # The page field that shows what the model finds wrong with the form as a whole
    # (a choice question needs two different options); its message is keyed
    # (field, "whole").
    whole: str = "form"

    @property
    def anchors(self) -> dict[str, str]:
        # A date input's message links to its day box.
        return {name: f"#{name}-day" for name in self.dates}

    def _page_field(self, name: str) -> str:
        # "theme_ids[2]" and "evidence[0].went_well" are about "theme_ids", "evidence".
        base = name.split("[")[0].split(".")[0]
        return self.rename.get(base, base)

    def _ordered(self, errors: Mapping[str, str]) -> dict[str, str]:
        ordered = {f: errors[f] for f in self.fields if f in errors}
        return ordered | {f: m for f, m in errors.items() if f not in ordered}

    def invalid(self, errors: Mapping[str, str], *, status_code: int = 422, posted=None):
        """A refusal worked out by the page itself, as the same exception."""
        values = posted.shown(self.lists) if posted is not None else None
        return FormInvalid(
            self._ordered(errors), status_code=status_code, anchors=self.anchors, values=values
        )

    def read(self, posted: Posted, **extra: Any) -> M:
        """The model built from the posted fields (and ``extra`` values the page
        supplies itself, such as the audit an action belongs to), or FormInvalid."""
        model_fields = self.model.model_fields
        data: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for name in self.fields:
            target = next((k for k, v in self.rename.items() if v == name), name)
            if name in self.dates:
                day, problem = read_date(posted, name, self.dates[name])
                if problem:
                    errors[name] = problem
                data[target] = day
            elif name in self.lists:
                data[target] = posted.all(name)
            elif target in model_fields:
                value: str | None = posted.one(name)
                model_field = model_fields[target]
                if value == "" and name in self.blank_is_none:
                    value = None
                elif value == "" and not _takes_text(model_field.annotation):
                    if not model_field.is_required():
                        continue  # left blank: the model's default (an unticked box: False)
                    value = None
                data[target] = value
        data.update(extra)
        try:
            built = self.model.model_validate(data, context=FORM_CONTEXT)
        except ValidationError as exc:
            for error in exc.errors():
                loc = error.get("loc")
                if not loc:  # a rule about the form as a whole
                    name, kind, blank = self.whole, "whole", False
                else:
                    name, kind = self._page_field(str(loc[0])), error["type"]
                    given = data.get(str(loc[0]))
                    blank = not (given.strip() if isinstance(given, str) else given)
                if name not in errors:
                    errors[name] = _message(self.messages, name, kind, error["msg"], blank=blank)
        if errors:
            raise self.invalid(errors, posted=posted)
        return built

    def refused(self, exc: AppError, *, posted: Posted | None = None) -> FormInvalid:
        """A service's refusal, field by field, in the page's words. A refusal that
        names no field (the audit was closed meanwhile, say) is not about the form:
        it is raised as it is, and shown as the error page it is."""
        if not exc.fields:
            raise exc
        errors: dict[str, str] = {}
        for problem in exc.fields:
            name = self._page_field(problem.field)
            if name not in errors:
                errors[name] = _message(self.refusals, name, exc.code, problem.message, blank=False)
        status = 409 if isinstance(exc, Conflict) else exc.status_code
        return self.invalid(errors, status_code=status, posted=posted)

    @contextmanager
    def submitting(self, session: Session, posted: Posted | None = None) -> Iterator[None]:
        """Run the service call (``undone_if_refused``); a refusal becomes FormInvalid
        in the page's words."""
        try:
            with undone_if_refused(session):
                yield
        except FormInvalid:
            raise
        except AppError as exc:
            raise self.refused(exc, posted=posted) from exc

    def state(self, values: Mapping[str, Any] | None = None) -> FormState:
        """The form to fill in: empty, or with ``values`` (see ``date_values``)."""
        return FormState(values=dict(values or {}), anchors=self.anchors)
