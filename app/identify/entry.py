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
    def what(self) -> str:
        return f"\u201c{self.found}\u201d looks like {detect.LABELS[self.kind]}"

    @property
    def message(self) -> str:
        advice = (
            "use the child's pseudonym or a role (\u201cher mother\u201d), not a name"
            if self.kind == "name"
            else "take it out: it is not needed to describe the practice"
        )
        return f"{self.what}: {advice}"


def flags(session: Session, fields: Mapping[str, str | None]) -> list[Flag]:
    """Each field's text as the check reads it: what in it looks identifying."""
    allowed = vocabulary(session)
    return [
        Flag(name, f.kind, f.text)
        for name, text in fields.items()
        if text
        for f in detect.find(text, allowed=allowed)
    ]


def _by_field(found: list[Flag], message) -> list[FieldError]:
    """One error per field, naming everything flagged in it (a page shows one message a
    field: the writer must see all of what they are asked to confirm)."""
    fields: dict[str, list[Flag]] = {}
    for f in found:
        fields.setdefault(f.field, []).append(f)
    return [FieldError(name, message(these)) for name, these in fields.items()]


def _flagged_message(these: list[Flag]) -> str:
    if len(these) == 1:
        return these[0].message
    return "; ".join(f.what for f in these) + ": take each out, or use a pseudonym or a role"


def screen(session: Session, fields: Mapping[str, str | None], *, confirmed: bool) -> list[Flag]:
    """Refuse text that looks identifying unless its writer ``confirmed`` it is not: the
    error names everything flagged in each field and asks for the confirmation
    (CONFIRM_FIELD). Returns what was confirmed, for ``record_confirmation``."""
    found = flags(session, fields)
    if found and not confirmed:
        raise InvalidInput(
            "This could identify someone. Change it, or confirm it does not identify anyone.",
            fields=[
                *_by_field(found, _flagged_message),
                FieldError(
                    CONFIRM_FIELD,
                    f"Check the {len(found)} thing{'s' if len(found) > 1 else ''} flagged, "
                    "then confirm none identifies a child or anyone around them, or change it",
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
            fields=_by_field(
                found,
                lambda these: (
                    "; ".join(f.what for f in these)
                    + ": a child is known here only by a pseudonym (such as \u201cChild A\u201d) "
                    "and minimal context (such as an age band)"
                ),
            ),
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
