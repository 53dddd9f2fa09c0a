"""The identification check's allowed words, and a way to try the check, over JSON."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.access.policy import Actor
from app.deps import IdPath, SessionDep, transactional
from app.identify import service as identify
from app.identify.schemas import AllowedTermCreate, AllowedTermOut, ProblemOut, TryText

router = APIRouter(prefix="/api/v1/identification", tags=["identification check"])


@router.get("/allowed-terms", name="api.identify.allowed")
@transactional
def allowed_terms(session: SessionDep) -> list[AllowedTermOut]:
    return [AllowedTermOut.model_validate(t) for t in identify.allowed_terms(session)]


@router.post("/allowed-terms", name="api.identify.allow", status_code=status.HTTP_201_CREATED)
@transactional
def allow(session: SessionDep, actor: Actor, body: AllowedTermCreate) -> AllowedTermOut:
    term = identify.add_term(session, term=body.term, added_by=actor.label)
    return AllowedTermOut.model_validate(term)


@router.delete(
    "/allowed-terms/{term_id}",
    name="api.identify.disallow",
    status_code=status.HTTP_204_NO_CONTENT,
)
@transactional
def disallow(session: SessionDep, term_id: IdPath) -> Response:
    identify.remove_term(session, term_id=term_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/try", name="api.identify.try")
@transactional
def try_text(session: SessionDep, body: TryText) -> list[ProblemOut]:
    """What a briefing's identification check would find in ``text``, the partnership's
    words allowed."""
    return [ProblemOut.model_validate(p) for p in identify.tried(session, body.text)]
