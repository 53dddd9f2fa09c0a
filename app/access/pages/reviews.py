"""The access review: an agency lead ticks which of their agency's accounts still need
access, confirms whose access goes (listed first, the GOV.UK way for a change that
cannot simply be undone), and the review is recorded (app/access/leavers.py). Only the
agency's own lead reviews it: to another lead it is not there (404). Administrators
see each agency's last review."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app import clock
from app.access import grants, leavers
from app.access.pages.users import ROLE_LABELS
from app.access.policy import Actor
from app.deps import IdPath, PostedForm, SessionDep, transactional
from app.errors import Conflict, InvalidInput
from app.formatting import format_date, plural
from app.forms import FormState, whole_number
from app.templating import flash, redirect, render

router = APIRouter(include_in_schema=False)

KEEP = "keep"  # the checkboxes: who still needs access


def _items(found: leavers.Review) -> list[dict]:
    """A checkbox for each account the lead decides on: its name, and in its hint the
    e-mail address, roles, last use and status."""
    items = []
    for user in found.others.values():
        roles = ", ".join(label for role, label in ROLE_LABELS.items() if role in user.roles)
        used = (
            f"last used {format_date(user.last_active_at)}"
            if user.last_active_at
            else f"never signed in (added {format_date(user.created_at)})"
        )
        told = user.inactivity_notice_at
        status = f"Told on {format_date(told)} that it is to be disabled" if told else "Active"
        items.append(
            {
                "value": str(user.id),
                "text": user.display_name,
                "hint": f"{user.email}. {roles or 'No roles'}; {used}. {status}.",
            }
        )
    return items


def _review_page(
    request: Request,
    found: leavers.Review,
    *,
    form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "access/review.html",
        {
            "found": found,
            "items": _items(found),
            "own": next((u for u in found.accounts if u.id == found.lead_id), None),
            "due": found.due_on <= clock.today(),
            "every_days": request.app.state.settings.access_review_every_days,
            "form": form or FormState(),
        },
        status_code=status_code,
    )


def _found(session: Session, request: Request, actor: Actor, agency_id: int) -> leavers.Review:
    return leavers.review(
        session, actor=actor, agency_id=agency_id, settings=request.app.state.settings
    )


@router.get("/agencies/{agency_id}/access-review", name="access.review")
@transactional
def review(session: SessionDep, request: Request, actor: Actor, agency_id: IdPath) -> Response:
    """Review your agency's accounts: tick who still needs access."""
    return _review_page(request, _found(session, request, actor, agency_id))


@router.post("/agencies/{agency_id}/access-review", name="access.review_check")
@transactional
def review_check(
    session: SessionDep, request: Request, actor: Actor, agency_id: IdPath, posted: PostedForm
) -> Response:
    """Whose access would go, to confirm; with nobody's, the review is recorded now."""
    found = _found(session, request, actor, agency_id)
    try:
        kept = leavers.account_ids(posted.all(KEEP), found, KEEP)
    except InvalidInput as invalid:
        form = FormState(
            values={KEEP: posted.all(KEEP)}, errors={KEEP: invalid.message.rstrip(".")}
        )
        return _review_page(request, found, form=form, status_code=422)
    removed = [u for uid, u in found.others.items() if uid not in kept]
    if removed:
        return render(
            request,
            "access/review_confirm.html",
            {"found": found, "kept": sorted(kept), "removed": removed},
        )
    leavers.confirm_review(session, actor=actor, found=found, kept=kept, removed=set())
    flash(_recorded(len(kept), []))
    return redirect(request, "access.home")


@router.post("/agencies/{agency_id}/access-review/confirm", name="access.review_confirm")
@transactional(keep_refusals=True)  # a refusal's audit-log row is kept; nothing else is
def review_confirm(
    session: SessionDep, request: Request, actor: Actor, agency_id: IdPath, posted: PostedForm
) -> Response:
    """Disable the accounts confirmed for removal and record the review. If the
    agency's accounts changed since the lead looked, the review page again (409)."""
    found = _found(session, request, actor, agency_id)
    try:
        # Any id, so that one no longer in the list reads as the list having changed.
        kept, removed = _ids(posted.all(KEEP)), _ids(posted.all("remove"))
        with grants.refusals_logged(session):
            leavers.confirm_review(session, actor=actor, found=found, kept=kept, removed=removed)
    except (Conflict, InvalidInput, grants.Refusal) as refused:
        found = _found(session, request, actor, agency_id)  # as it stands now
        form = FormState(
            values={KEEP: posted.all(KEEP)}, errors={KEEP: refused.message.rstrip(".")}
        )
        return _review_page(request, found, form=form, status_code=refused.status_code)
    flash(_recorded(len(kept), [found.others[i].display_name for i in sorted(removed)]))
    return redirect(request, "access.home")


def _ids(values: list[str]) -> set[int]:
    ids = [whole_number(v) for v in values]
    if None in ids:
        raise InvalidInput("Choose accounts from the list.")
    return {i for i in ids if i is not None}


def _recorded(kept: int, removed: list[str]) -> str:
    words = f"Your agency's access review is recorded: {plural(kept, 'account')} kept"
    if not removed:
        return words + "."
    return (
        f"{words}. {', '.join(removed)} can no longer sign in: "
        f"{'their accounts have' if len(removed) > 1 else 'their account has'} been disabled."
    )


@router.get("/admin/access-reviews", name="access.reviews")
@transactional
def reviews(session: SessionDep, request: Request) -> Response:
    """Each agency's last access review, and when the next is due."""
    found = leavers.reviews_by_agency(session, settings=request.app.state.settings)
    return render(request, "access/reviews.html", {"reviews": found, "today": clock.today()})
