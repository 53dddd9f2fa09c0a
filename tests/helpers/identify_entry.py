"""Helpers for the tests of the identification guard where text enters (the cohort in
tests/audits, findings and learning actions, moderation and returns, each in its
domain's test_identifying_entry.py).

The texts are invented: 943 476 5919 is the example NHS number the NHS publishes in its
own documentation (its check digit is valid; it is no one's), 12/03/2021 an invented
date of birth, "Jayden Smith" an invented name."""

from __future__ import annotations

from sqlalchemy import select

from app.auditlog.models import AuditEvent

NHS_NUMBER = "The referral gave the child's NHS number, 9434765919, in full."
DATE_OF_BIRTH = "The strategy minutes recorded her DOB 12/03/2021 on every page."
NAME = "Jayden Smith was not seen alone by the social worker."
NAME_MESSAGE = (
    "\u201cJayden Smith\u201d looks like a person's name: use the child's pseudonym or a "
    "role (\u201cher mother\u201d), not a name"
)
CLEAN = "The child was not seen alone at the first home visit."
# The confirmation's tick box, as the page draws it.
CHECKBOX = 'id="confirm_identifying"'


def messages(response) -> dict[str, str]:
    """An API refusal's message for each field."""
    return {e["field"]: e["message"] for e in response.json()["errors"]}


def between(html: str, first: str, then: str, last: str) -> bool:
    """Whether ``then`` comes after ``first`` and before the next ``last`` (a field's
    confirmation box between the field and its form's button)."""
    start = html.index(first)
    return html.index(then, start) < html.index(last, start)


def confirmed_rows(db) -> list[AuditEvent]:
    """Every ``identify.confirmed`` row, oldest first, read afresh."""
    db.expire_all()
    return list(
        db.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "identify.confirmed")
            .order_by(AuditEvent.id)
        )
    )


def confirmations(db, object_type: str, object_id: int) -> list[list[dict]]:
    """The flags of each ``identify.confirmed`` row about one object, oldest first."""
    rows = db.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action == "identify.confirmed",
            AuditEvent.object_type == object_type,
            AuditEvent.object_id == object_id,
        )
        .order_by(AuditEvent.id)
    )
    return [row.after["flags"] for row in rows]
