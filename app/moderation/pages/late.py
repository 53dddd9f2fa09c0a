"""Opening moderation with returns not in, and deciding about each: wait for it (the
agency can still submit it during moderation) or leave it out with a reason, which
can be undone (included again, with a reason)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.access.policy import Actor
from app.audits import service as audits
from app.deps import IdPath, PostedForm, SessionDep, transactional
from app.errors import InvalidInput, NotFound, StateError
from app.forms import FormState, undone_if_refused
from app.moderation import late, lifecycle
from app.templating import flash, redirect, render

router = APIRouter(include_in_schema=False)

WAIT, LEAVE_OUT = "wait", "leave"


def _open_page(request, session, audit, *, form=None, status_code=200) -> Response:
    return render(
        request,
        "moderation/open.html",
        {"audit": audit, "not_in": late.not_in(session, audit=audit), "form": form or FormState()},
        status_code=status_code,
    )


@router.get("/audits/{audit_id}/moderation/open", name="moderation.open_check")
@transactional
def open_check(session: SessionDep, request: Request, actor: Actor, audit_id: IdPath):
    """Before opening: what opening does, and each return not in, to wait for or leave
    out of moderation."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    return _open_page(request, session, audit)


@router.post("/audits/{audit_id}/moderation/open", name="moderation.open")
@transactional
def open_moderation(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, posted: PostedForm
):
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    not_in = late.not_in(session, audit=audit)
    errors: dict[str, str] = {}
    leaving: list[tuple[int, str]] = []
    waiting: list[int] = []
    for r in not_in:
        if r.excluded_reason is not None:
            continue
        choice, reason = posted.one(f"late-{r.return_id}"), posted.one(f"reason-{r.return_id}")
        whose = f"{r.agency}'s return for {r.child}"
        if choice not in (WAIT, LEAVE_OUT):
            errors[f"late-{r.return_id}"] = f"Choose whether to wait for {whose} or leave it out"
        elif choice == LEAVE_OUT:
            try:
                leaving.append((r.return_id, late.checked_reason(reason, "leaving it out")))
            except InvalidInput as exc:
                errors[f"reason-{r.return_id}"] = f"{whose}: {exc.fields[0].message}"
        else:
            waiting.append(r.return_id)
    if not errors:
        try:
            with undone_if_refused(session):
                lifecycle.open_moderation(session, audit=audit)
                late.wait_for(session, audit=audit, return_ids=waiting)
                for return_id, reason in leaving:
                    late.exclude(
                        session, audit=audit, return_id=return_id, reason=reason, actor=actor
                    )
        except (InvalidInput, StateError) as exc:
            found = getattr(exc, "fields", None)
            errors = {"open": found[0].message if found else exc.message}
    if errors:
        audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
        form = FormState(values=posted.shown(), errors=errors)
        return _open_page(request, session, audit, form=form, status_code=422)
    said = "Moderation is open. Every participating agency can now see the whole picture."
    if waiting:
        n = len(waiting)
        said += f" {n} return{' is' if n == 1 else 's are'} still to come."
    flash(said)
    return redirect(request, "moderation.workspace", audit_id=audit.id)


def _not_in(session, audit, return_id: int) -> late.NotIn:
    found = next((r for r in late.not_in(session, audit=audit) if r.return_id == return_id), None)
    if found is None:
        raise NotFound(f"Return {return_id} of this audit is in: there is nothing to decide.")
    return found


def _change(request, session, actor, audit_id: int, return_id: int, posted, *, leave: bool):
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    found = _not_in(session, audit, return_id)
    reason = posted.one("reason")
    try:
        with undone_if_refused(session):
            if leave:
                late.exclude(session, audit=audit, return_id=return_id, reason=reason, actor=actor)
            else:
                late.include(session, audit=audit, return_id=return_id, reason=reason)
    except InvalidInput as exc:
        return render(
            request,
            "moderation/late_return.html",
            {
                "audit": audit,
                "r": found,
                "leave": leave,
                "form": FormState(values=posted.shown(), errors={"reason": exc.fields[0].message}),
            },
            status_code=422,
        )
    flash(
        "The return is left out of moderation: reports will show it as not received."
        if leave
        else "The return is included again: moderation can finish once it is in and moderated."
    )
    return redirect(request, "moderation.workspace", audit_id=audit_id, anchor="not-in")


@router.get(
    "/audits/{audit_id}/moderation/returns/{return_id}/leave-out", name="moderation.exclude_check"
)
@transactional
def exclude_check(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, return_id: IdPath
):
    return _late_page(request, session, actor, audit_id, return_id, leave=True)


@router.get(
    "/audits/{audit_id}/moderation/returns/{return_id}/include", name="moderation.include_check"
)
@transactional
def include_check(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, return_id: IdPath
):
    return _late_page(request, session, actor, audit_id, return_id, leave=False)


def _late_page(request, session, actor, audit_id, return_id, *, leave: bool):
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    found = _not_in(session, audit, return_id)
    return render(
        request,
        "moderation/late_return.html",
        {"audit": audit, "r": found, "leave": leave, "form": FormState()},
    )


@router.post(
    "/audits/{audit_id}/moderation/returns/{return_id}/leave-out", name="moderation.exclude"
)
@transactional
def exclude(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    return_id: IdPath,
    posted: PostedForm,
):
    return _change(request, session, actor, audit_id, return_id, posted, leave=True)


@router.post("/audits/{audit_id}/moderation/returns/{return_id}/include", name="moderation.include")
@transactional
def include(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    return_id: IdPath,
    posted: PostedForm,
):
    return _change(request, session, actor, audit_id, return_id, posted, leave=False)
