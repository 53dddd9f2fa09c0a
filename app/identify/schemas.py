"""The allowed words, over JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from app.schemas_base import LongText, Name, RequestModel, ResponseModel

# The identification guard's confirmation (app/identify/entry.py): text that looks like
# a name, a number, an address or a date of birth is refused (422, naming each field and
# confirm_identifying) unless its writer confirms it identifies no one.
ConfirmIdentifying = Annotated[
    bool,
    Field(
        description="Save even though the text looks as if it could identify someone: "
        "the writer confirms it does not (the confirmation is kept in the audit log). "
        "Without it, such text is refused (422) naming each field flagged."
    ),
]


class AllowedTermCreate(RequestModel):
    term: Name


class AllowedTermOut(ResponseModel):
    id: int
    term: str
    added_by: str
    added_at: datetime


class TryText(RequestModel):
    text: LongText = Field(min_length=1)


class ProblemOut(ResponseModel):
    kind: str
    excerpt: str = Field(description="Where it is, the words found marked » «.")
    message: str
    blocking: bool = Field(description="True: refused in a briefing; False: to check.")
