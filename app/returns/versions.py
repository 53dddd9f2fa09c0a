"""Submitted versions of a return: kept as they were submitted (``ReturnSubmission``),
listed for anyone who may read the return, and compared one with the one before."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.access.policy import SYSTEM, Actor
from app.clock import utcnow
from app.returns.models import Return, ReturnSubmission
from app.returns.reading import detail

BOXES = ("went_well", "could_be_better", "impact_on_child")


def content_of(found: dict) -> dict:
    """What a submission keeps of a return read with ``reading.detail``."""
    return {
        "auditor_name": found["auditor_name"],
        "overall_grade": found["overall_grade"],
        "answers": {str(a["question_id"]): a["value"] for a in found["answers"]},
        "grades": {str(g["key_area_id"]): g["level"] for g in found["grades"]},
        "evidence": {
            str(e["key_area_id"]): {box: e[box] for box in BOXES} for e in found["evidence"]
        },
    }


def record(session: Session, *, return_: Return, submitted_by: str) -> ReturnSubmission:
    """Keep the return as it is now submitted, as its next version."""
    number = (
        session.scalar(
            select(func.max(ReturnSubmission.number)).where(
                ReturnSubmission.return_id == return_.id
            )
        )
        or 0
    ) + 1
    row = ReturnSubmission(
        return_id=return_.id,
        number=number,
        submitted_at=utcnow(),
        submitted_by=submitted_by[:200],
        content=content_of(detail(session, return_id=return_.id, actor=SYSTEM)),
    )
    session.add(row)
    session.flush()
    return row


def flat(content: dict) -> dict[str, str | None]:
    """One entry per answer, grade and evidence box, to compare two versions."""
    out: dict[str, str | None] = {
        "overall_grade": content.get("overall_grade"),
        "auditor_name": content.get("auditor_name"),
    }
    out.update({f"answer:{q}": v for q, v in content.get("answers", {}).items()})
    out.update({f"grade:{k}": v for k, v in content.get("grades", {}).items()})
    for key_area, boxes in content.get("evidence", {}).items():
        out.update({f"evidence:{key_area}:{box}": value for box, value in boxes.items()})
    return out


def changes(before: dict | None, after: dict) -> list[dict]:
    """What differs between two versions' contents: [{field, before, after}], in a
    stable order; every field of the first version when there is none before it."""
    old, new = flat(before or {}), flat(after)
    return [
        {"field": key, "before": old.get(key), "after": new.get(key)}
        for key in sorted(old.keys() | new.keys())
        if (old.get(key) or None) != (new.get(key) or None)
    ]


def list_versions(session: Session, *, return_id: int, actor: Actor) -> list[dict]:
    """The return's submitted versions, oldest first, each with what changed since the
    one before; 404 (from ``detail``) if the actor may not read the return."""
    detail(session, return_id=return_id, actor=actor)
    return submitted(session, return_id=return_id)


def submitted(session: Session, *, return_id: int) -> list[dict]:
    """``list_versions`` for a return the caller has already read as the actor."""
    rows = session.scalars(
        select(ReturnSubmission)
        .where(ReturnSubmission.return_id == return_id)
        .order_by(ReturnSubmission.number)
    ).all()
    out, previous = [], None
    for row in rows:
        out.append(
            {
                "number": row.number,
                "submitted_at": row.submitted_at,
                "submitted_by": row.submitted_by,
                "content": row.content,
                "changes": changes(previous, row.content) if previous is not None else [],
            }
        )
        previous = row.content
    return out
