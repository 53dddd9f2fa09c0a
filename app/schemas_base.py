"""Shared pieces of the request and response models."""

import re
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

# Control characters are refused at the edge: PostgreSQL cannot store NUL at all,
# and a line break in a name breaks every one-line place it is shown.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f]")


def check_text(value: str | None) -> str | None:
    """Text that may run over several lines (tabs and line breaks allowed)."""
    if value is not None and _CONTROL.search(value):
        raise ValueError("must not contain control characters (such as NUL)")
    return value


def check_line(value: str | None) -> str | None:
    """Text on one line: no line breaks, tabs or other control characters."""
    if value is not None and _CONTROL_OR_BREAK.search(value):
        raise ValueError("must be one line of text, without line breaks or control characters")
    return value


# Dates people type: a year such as 1 or 9999 is a slip, not a plan, and arithmetic
# on it (a deadline a week later) would overflow.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)
DATE_RANGE = "between 1 January 1900 and 31 December 2100"


def check_date(value: date | None) -> date | None:
    """A date (or a date and time) from 1900 to 2100."""
    day = value.date() if isinstance(value, datetime) else value
    if day is not None and not (EARLIEST_DATE <= day <= LATEST_DATE):
        raise ValueError(f"must be a date {DATE_RANGE}")
    return value


_NUMERIC = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _written_date(value: Any) -> Any:
    # pydantic reads a number (or "0") as seconds since 1970: nobody means that.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMERIC.fullmatch(value)):
        raise ValueError("must be a date, as YYYY-MM-DD")
    return value


def _written_time(value: Any) -> Any:
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMERIC.fullmatch(value)):
        raise ValueError("must be a date and time, as ISO 8601 (2024-03-31T09:30:00Z)")
    return value


# Dates and times in query strings: as written, from 1900 to 2100.
WrittenDate = Annotated[date, BeforeValidator(_written_date), AfterValidator(check_date)]
WrittenDateTime = Annotated[datetime, BeforeValidator(_written_time), AfterValidator(check_date)]


def check_storable(value: Any) -> None:
    """Raise ValueError if ``value`` holds text with control characters (other than
    tab and line breaks) or a date outside 1900-2100, however deeply it is nested in
    lists and mappings. (A nested request model checks its own fields.)"""
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, date):
        check_date(value)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            check_storable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(key)
            check_storable(item)


# Ids are 32-bit on PostgreSQL; a bigger number can name nothing, and SQLite would
# fail to bind it at all. Path ids use IdPath (app.deps), query ids IdQuery.
MAX_ID = 2_147_483_647
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

# What check_line refuses, as a JSON schema pattern: no control character at all; or,
# where the text is stripped first, none but white space (tabs, line breaks) at its
# start or end, which stripping removes.
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
STRIPPED_LINE_PATTERN = r"^\s*[^\x00-\x1f\x7f]*\s*$"


def _stripped(schema: Any) -> bool:
    """Whether the core schema's text is stripped before the validators see it."""
    while schema.get("type") in ("function-after", "function-before", "nullable"):
        schema = schema["schema"]
    return bool(schema.get("strip_whitespace"))


def _show(schema: dict[str, Any], keywords: dict[str, Any]) -> None:
    """Put the keywords on the text's schema (the string branch of ``X | None``); a
    second pattern goes beside the first, in ``allOf``."""
    if schema.get("type") == "string":
        for key, value in keywords.items():
            if key == "pattern" and schema.get(key, value) != value:
                schema.setdefault("allOf", []).append({"pattern": value})
            else:
                schema[key] = value
    for branch in schema.get("anyOf", ()):
        _show(branch, keywords)


class Shows:
    """Text's JSON schema keywords (``pattern``, ``minLength``) for a rule that a
    validator of the field's own, or the service, enforces with a message of its own:
    the schema says what is refused, and the refusal and its words stay as they are
    (pydantic would check the keywords itself, first, in its own words, if they were
    given to ``Field`` or ``StringConstraints``)."""

    def __init__(self, **keywords: Any) -> None:
        self.keywords = keywords

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        _show(handler.resolve_ref_schema(schema), self.keywords)
        return schema


@dataclass(frozen=True, slots=True)
class _OneLineValidator(AfterValidator):
    """``check_line``, and its rule in the JSON schema as a ``pattern`` (``Shows``)."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        pattern = STRIPPED_LINE_PATTERN if _stripped(core_schema) else LINE_PATTERN
        _show(handler.resolve_ref_schema(schema), {"pattern": pattern})
        return schema


PlainText = AfterValidator(check_text)
OneLine = _OneLineValidator(check_line)

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), OneLine
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), OneLine]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000), PlainText]


# The validation context a page's form is checked in (app.forms): its values are text,
# which pydantic turns into numbers, yes/no and dates as it should.
FORM_CONTEXT = {"form": True}


def _json_kinds(annotation: Any) -> tuple[type, ...] | None:
    """The types a JSON value must already have for a field of this type: pydantic
    would otherwise take "0" or 0 for false and a number for a date (seconds since
    1970), which a client that sent them did not mean. None: pydantic's own check is
    enough (text, choices, lists, nested models)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _json_kinds(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        kinds = [_json_kinds(a) for a in typing.get_args(annotation) if a is not type(None)]
        if any(k is None for k in kinds):
            return None
        return tuple(t for k in kinds if k is not None for t in k)
    if annotation is bool:
        return (bool,)
    if annotation is int:
        return (int,)
    if annotation in (date, datetime):
        return (str, date)
    return None


_KIND_WORDS = {bool: "true or false", int: "a whole number", str: "a date, as YYYY-MM-DD"}


@cache
def _field_kinds(model: type[BaseModel], name: str) -> tuple[type, ...] | None:
    return _json_kinds(model.model_fields[name].annotation)


def check_json_kind(model: type[BaseModel], name: str, value: Any) -> None:
    """Raise ValueError if ``value`` is not of the JSON type the field declares."""
    if value is None:
        return
    kinds = _field_kinds(model, name)
    if kinds is None:
        return
    wrong_bool = isinstance(value, bool) and bool not in kinds  # True is an int too
    if wrong_bool or not isinstance(value, kinds):
        words = " or ".join(dict.fromkeys(_KIND_WORDS[k] for k in kinds if k in _KIND_WORDS))
        raise ValueError(f"must be {words}")


def _stripped_limit(metadata: Any) -> int | None:
    for item in metadata or ():
        if isinstance(item, StringConstraints) and item.strip_whitespace and item.max_length:
            return item.max_length
    return None


@cache
def _raw_max_length(model: type[BaseModel], name: str) -> int | None:
    """The most characters a text field stripped of surrounding spaces takes, if it has
    a most: its JSON schema's ``maxLength``, which applies to the text as sent."""
    field = model.model_fields[name]
    found = _stripped_limit(field.metadata)
    for arg in typing.get_args(field.annotation):  # ``Text | None``
        found = found or _stripped_limit(getattr(arg, "__metadata__", None))
    return found


def check_raw_length(model: type[BaseModel], name: str, value: Any) -> None:
    """Text longer than the field's ``maxLength`` as sent is refused, even where what is
    left once its surrounding spaces are stripped would fit: the schema promises that
    (and pydantic, stripping first, would accept it)."""
    most = _raw_max_length(model, name) if isinstance(value, str) else None
    if most is not None and len(value) > most:
        raise PydanticCustomError(
            "string_too_long",
            "String should have at most {max_length} characters",
            {"max_length": most},
        )


def _null_refused(schema: dict[str, Any], cls: Any) -> None:
    """A request model's JSON schema without null where ``reject_null`` refuses it:
    ``{"anyOf": [X, {"type": "null"}], "default": null}`` becomes X, optional still
    (the field is typed ``X | None`` only so that null gets that field's own message)."""
    decorators = cls.__pydantic_decorators__.field_validators.values()
    refused = {
        name
        for decorator in decorators
        for name in getattr(getattr(decorator.func, "__func__", None), "refuses_null", ())
    }
    properties = schema.get("properties", {})
    for name in refused & set(properties):
        prop = properties[name]
        kinds = [k for k in prop.pop("anyOf", []) if k != {"type": "null"}]
        if len(kinds) == 1:
            prop.update(kinds[0])
        elif kinds:
            prop["anyOf"] = kinds
        if "default" in prop and prop["default"] is None:
            del prop["default"]


class RequestModel(BaseModel):
    """Request bodies refuse unknown fields, so a misspelt field is an error, not ignored.
    Every field of every request (the API's bodies and the pages' forms, which are
    checked with the same models) refuses control characters in its text and dates
    outside 1900-2100, whatever its own type says: PostgreSQL cannot store NUL at all,
    and SQLite would store what PostgreSQL refuses."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_null_refused)

    @field_validator("*", mode="before")
    @classmethod
    def _json_kind(cls, value: Any, info: ValidationInfo) -> Any:
        # A page's form sends text (FORM_CONTEXT); a JSON body must say what it means.
        if not (info.context or {}).get("form") and info.field_name is not None:
            check_json_kind(cls, info.field_name, value)
            check_raw_length(cls, info.field_name, value)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        check_storable(value)
        return value


class ResponseModel(BaseModel):
    """Response bodies. A field with a default is still in every answer the service
    sends, so the JSON schema says it is required (a client generated from it need not
    treat it as missing, and schemathesis checks it is there)."""

    model_config = ConfigDict(
        from_attributes=True, json_schema_serialization_defaults_required=True
    )


def reject_null(*fields: str):
    """For PATCH bodies: leaving a field out keeps it, but null is an error, not a
    silent "no change" or a database error. The JSON schema says so: the fields are
    optional, and not nullable (``_null_refused``)."""

    def _check(cls, value):
        if value is None:
            raise ValueError("cannot be null; leave it out to keep the current value")
        return value

    _check.refuses_null = fields  # type: ignore[attr-defined]
    return field_validator(*fields)(classmethod(_check))
