"""What the briefing pages accept: drafting a briefing, saving its sections, sending it
back, publishing and withdrawing it. (Briefings have no JSON API yet; the pages check
their forms with these models, as other pages check theirs with the API's.)"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Annotated, Any

from pydantic import StringConstraints, create_model

from app.briefings.models import BriefingKind, Marking
from app.schemas_base import Name, PlainText, RequestModel

SectionText = Annotated[str, StringConstraints(max_length=20_000), PlainText]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), PlainText]


class BriefingCreate(RequestModel):
    kind: BriefingKind
    title: Name
    marking: Marking
    public: bool


class BriefingSave(RequestModel):
    """The editor's form: each section of the kind (see ``sections_model``) and the
    marking."""

    marking: Marking


@cache
def sections_model(keys: tuple[str, ...]) -> type[BriefingSave]:
    """The editor's model for a kind of document, whose sections have these keys."""
    fields: dict[str, Any] = {key: (SectionText, "") for key in keys}
    return create_model("BriefingSections", __base__=BriefingSave, **fields)


class SendBack(RequestModel):
    note: Note = ""


class Withdraw(RequestModel):
    reason: Note


class Publish(RequestModel):
    assurance: bool = False
    assurance_due_on: date | None = None
