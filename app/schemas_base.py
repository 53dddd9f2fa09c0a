"""Shared pieces of the request and response models."""

import re
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

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


# Ids are 32-bit on PostgreSQL; a bigger number can name nothing, and SQLite would
# fail to bind it at all. Path ids use IdPath (app.deps), query ids IdQuery.
MAX_ID = 2_147_483_647
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

PlainText = AfterValidator(check_text)
OneLine = AfterValidator(check_line)

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), OneLine
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), OneLine]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000), PlainText]


class RequestModel(BaseModel):
    """Request bodies refuse unknown fields, so a misspelt field is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def reject_null(*fields: str):
    """For PATCH bodies: leaving a field out keeps it, but null is an error, not a
    silent "no change" or a database error."""

    def _check(cls, value):
        if value is None:
            raise ValueError("cannot be null; leave it out to keep the current value")
        return value

    return field_validator(*fields)(classmethod(_check))
