"""Page forms: validate submitted fields with the API's own schemas, and turn what is
wrong into the GOV.UK error summary (a message per field, each linking to its field)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from app.errors import AppError, FieldError, validation_fields

M = TypeVar("M", bound=BaseModel)


def errors_from(fields: list[FieldError], messages: dict[str, str]) -> dict[str, str]:
    """Field -> message, the page's own wording where it has one; the first per field."""
    errors: dict[str, str] = {}
    for found in fields:
        errors.setdefault(found.field, messages.get(found.field, found.message))
    return errors


def validate(model: type[M], data: dict, messages: dict[str, str]) -> tuple[M | None, dict]:
    """The model built from ``data``, or None and the errors by field."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        return None, errors_from(validation_fields(exc.errors()), messages)


def summary(errors: dict[str, str], anchors: dict[str, str] | None = None) -> list[dict]:
    """The error summary's list: each message links to its field (or to ``anchors[field]``)."""
    anchors = anchors or {}
    return [{"text": m, "href": f"#{anchors.get(f, f)}"} for f, m in errors.items()]


def form_context(values: dict, errors: dict[str, str], anchors: dict | None = None) -> dict:
    return {"values": values, "errors_by_field": errors, "errors": summary(errors, anchors)}


@contextmanager
def attempt(session: Session) -> Iterator[None]:
    """Run a service call in a savepoint. A page that shows a refusal still commits
    (its response is a page, not an error), so whatever the call wrote before refusing
    is undone here, and every object is read afresh for the page that says why."""
    try:
        with session.begin_nested():
            yield
    except AppError:
        session.expire_all()
        raise


def read_date(form: dict[str, str], name: str, label: str) -> tuple[date | None, str | None]:
    """A date from a GOV.UK date input's three boxes: (the date, None); (None, None)
    when all three are empty; or (None, what to fix)."""
    parts = {p: form.get(f"{name}-{p}", "").strip() for p in ("day", "month", "year")}
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
        return date(int(parts["year"]), int(parts["month"]), int(parts["day"])), None
    except ValueError:
        return None, f"{label} must be a real date"
