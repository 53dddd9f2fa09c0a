"""The words the identification check allows (the partnership's vocabulary), and the
admin's list of them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.agencies.models import Agency, Subgroup
from app.auditlog import service as auditlog
from app.config import get_settings
from app.errors import Conflict, FieldError, InvalidInput, NotFound
from app.findings.models import Theme
from app.identify import check
from app.identify.check import Problem
from app.identify.models import AllowedTerm


def key(term: str) -> str:
    return " ".join(term.lower().split())


def vocabulary(session: Session) -> frozenset[str]:
    """Every word the check must not take for a name or an address: the names of the
    agencies, subgroups and themes, the partnership's name, and the admin's list. Read
    once a transaction (a meeting page screens dozens of rationales in one request);
    changing the admin's list forgets it."""
    transaction = session.get_transaction()
    cached = session.info.get(_VOCABULARY)
    if cached is not None and cached[0] is transaction:
        return cached[1]
    words: set[str] = {get_settings().partnership_name}
    for column in (Agency.name, Subgroup.name, Theme.name, AllowedTerm.term):
        words |= set(session.scalars(select(column)))
    found = frozenset(key(w) for w in words if w and w.strip())
    session.info[_VOCABULARY] = (transaction, found)
    return found


_VOCABULARY = "identify.vocabulary"


def tried(session: Session, text: str) -> list[Problem]:
    """What a briefing's check finds in ``text`` (refusals and things to check; no
    audit's pseudonyms or records), the partnership's words allowed."""
    return check.check([("the text", text)], allowed=vocabulary(session)).problems


def allowed_terms(session: Session) -> list[AllowedTerm]:
    return list(session.scalars(select(AllowedTerm).order_by(AllowedTerm.key)))


def add_term(session: Session, *, term: str, added_by: str) -> AllowedTerm:
    cleaned = " ".join(term.split())
    if not cleaned:
        raise InvalidInput(
            "Enter a word or phrase.", fields=[FieldError("term", "Enter a word or phrase")]
        )
    if len(cleaned) > 200:
        raise InvalidInput(
            "The word or phrase is too long.",
            fields=[FieldError("term", "Keep it to 200 characters or fewer")],
        )
    if session.scalar(select(AllowedTerm.id).where(AllowedTerm.key == key(cleaned))):
        raise Conflict(
            f"“{cleaned}” is already on the list.",
            fields=[FieldError("term", "That word or phrase is already on the list")],
        )
    session.info.pop(_VOCABULARY, None)
    allowed = AllowedTerm(term=cleaned, key=key(cleaned), added_by=added_by)
    try:
        with session.begin_nested():  # two admins adding it at once: the second is told
            session.add(allowed)
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"“{cleaned}” is already on the list.",
            fields=[FieldError("term", "That word or phrase is already on the list")],
        ) from None
    auditlog.record(
        session,
        action="identify.allow",
        object_type="identify_allowed_term",
        object_id=allowed.id,
        after={"term": cleaned},
    )
    return allowed


def remove_term(session: Session, *, term_id: int) -> None:
    allowed = session.get(AllowedTerm, term_id)
    if allowed is None:
        raise NotFound(f"There is no allowed word with id {term_id}.")
    session.info.pop(_VOCABULARY, None)
    session.delete(allowed)
    session.flush()
    auditlog.record(
        session,
        action="identify.disallow",
        object_type="identify_allowed_term",
        object_id=term_id,
        before={"term": allowed.term},
    )
