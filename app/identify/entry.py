"""The guard where text enters: a form's free text (findings, actions, moderation
rationales, return evidence) that looks like a name, a number, an address or a date
of birth is shown back to its writer, who either changes it or confirms it is not
identifying (``screen``); the confirmation is recorded (``record_confirmation``).
Structured fields that must never hold such things (a child's pseudonym and context
tags) are refused outright (``refuse``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.auditlog import service as auditlog
from app.errors import FieldError, InvalidInput
from app.identify import detect
from app.identify.service import vocabulary

CONFIRM_FIELD = "confirm_identifying"


@dataclass(frozen=True)
class Flag:
    field: str
    kind: str
    found: str

    @property
    def message(self) -> str:
        what = detect.LABELS.get(self.kind, self.kind.replace("_", " "))
        advice = (
            "use the child's pseudonym or a role (\u201cher mother\u201d), not a name"
            if self.kind == "name"
            else "take it out: it is not needed to describe the practice"
        )
        return f"\u201c{self.found}\u201d looks like {what}: {advice}"


def flags(session: Session, fields: Mapping[str, str | None]) -> list[Flag]:
    """Each field's text as the check reads it: what in it looks identifying."""
    allowed = vocabulary(session)
    return [
        Flag(name, f.kind, f.text)
        for name, text in fields.items()
        if text
        for f in detect.find(text, allowed=allowed)
    ]


def screen(session: Session, fields: Mapping[str, str | None], *, confirmed: bool) -> list[Flag]:
    """Refuse text that looks identifying unless its writer ``confirmed`` it is not: the
    error names each field's problem and asks for the confirmation (CONFIRM_FIELD).
    Returns what was confirmed, for ``record_confirmation``."""
    found = flags(session, fields)
    if found and not confirmed:
        raise InvalidInput(
            "This could identify someone. Change it, or confirm it does not identify anyone.",
            fields=[
                *(FieldError(f.field, f.message) for f in found),
                FieldError(
                    CONFIRM_FIELD,
                    "Confirm that what is flagged does not identify a child or anyone "
                    "around them, or change it",
                ),
            ],
        )
    return found


def refuse(session: Session, fields: Mapping[str, str | None]) -> None:
    """Refuse a structured field (a pseudonym, a context tag) that looks identifying:
    these never need a name, a number, an address or a date of birth."""
    found = flags(session, fields)
    if found:
        raise InvalidInput(
            "A child is known here only by a pseudonym and minimal context.",
            fields=[FieldError(f.field, f.message) for f in found],
        )


def record_confirmation(
    session: Session, found: list[Flag], *, object_type: str, object_id: int | None
) -> None:
    """One audit-log row saying the writer confirmed what was flagged (the kinds and
    fields, not the text itself, which is in the record)."""
    if not found:
        return
    auditlog.record(
        session,
        action="identify.confirmed",
        object_type=object_type,
        object_id=object_id,
        after={"flags": [{"field": f.field, "kind": f.kind} for f in found]},
    )
