"""The page of a whole audit's answers: each question's answers counted across the
audit's submitted returns the reader may read (app/returns/audit_data.py), with the
whole audit's answers to download. A module of its own beside the returns' pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.access.policy import Actor
from app.audits import service as audits
from app.deps import IdPath, SessionDep, transactional
from app.returns import audit_data
from app.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/audits/{audit_id}/answers", name="returns.answer_summary")
@transactional
def answer_summary(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath
) -> Response:
    """Per question, each answer's count and its share of the applicable answers ("not
    applicable" counted apart); per number question, the count, range and mean; links
    to every return's answers as XLSX and CSV. The read is logged."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    figures = audit_data.answer_summary(session, actor=actor, audit=audit)
    return render(request, "returns/answers.html", {"audit": audit, "figures": figures})
