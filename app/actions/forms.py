"""Reading the findings and action forms, and turning the API
schemas' and the services' refusals into the page's own messages."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ValidationError

from app.errors import AppError, FieldError, InvalidInput, validation_fields
from app.schemas_base import MAX_ID


def parse_id(name: str, value: str) -> int | None:
    """An id from a query or form field: None when empty; 422 when not an id."""
    if not value:
        return None
    if value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_ID:
        return int(value)
    raise InvalidInput(f"The {name} is not valid.")


def date_values(name: str, day: date | None) -> dict[str, str]:
    """A date as the values of its three boxes."""
    if day is None:
        return {}
    return {f"{name}-{p}": str(getattr(day, p)) for p in ("day", "month", "year")}


def _by_field(fields: list[FieldError], messages: dict[str, str]) -> dict[str, str]:
    """Field -> message ("theme_ids[2]" counts as "theme_ids"), the first per field."""
    errors: dict[str, str] = {}
    for found in fields:
        name = found.field.split("[")[0].split(".")[0]
        errors.setdefault(name, messages.get(name, found.message))
    return errors


def check(model: type[BaseModel], data: dict, messages: dict[str, str]):
    """The model built from ``data``, or None and the errors by field."""
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        return None, _by_field(validation_fields(exc.errors()), messages)


def refusal(exc: AppError, messages: dict[str, str]) -> dict[str, str]:
    """A service's field-by-field refusal in the page's words. One without fields (the
    audit closed meanwhile, say) is shown as the error page it is."""
    if not exc.fields:
        raise exc
    return _by_field(exc.fields, messages)


def ordered(errors: dict[str, str], order: tuple[str, ...]) -> dict[str, str]:
    """Errors in the order the fields appear on the page, for the error summary."""
    return {f: errors[f] for f in order if f in errors} | {
        f: m for f, m in errors.items() if f not in order
    }
