"""The moderation meeting's pages: one child (or one agency) at a time with every
return side by side and a decision on each grade; agreeing every remaining grade
after a confirmation that lists them; the printable meeting pack."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.access.policy import Actor, Permission
from app.audits import service as audits
from app.audits.cohort import lock_audit
from app.audits.models import Audit, AuditStatus
from app.deps import IdPath, IdQuery, PostedForm, SessionDep, transactional
from app.forms import FormState, undone_if_refused
from app.identify.entry import CONFIRM_FIELD
from app.moderation import meeting as meetings
from app.moderation.meeting import NOTE_FIELDS, field_name
from app.respond import family as family_voice
from app.returns.wording import answer_text
from app.templating import flash, redirect, render

router = APIRouter(include_in_schema=False)


def _open(
    session, actor: Actor, audit_id: int, child: int | None, agency: int | None, *, locked=False
) -> tuple[Audit, meetings.Meeting]:
    """The audit and its meeting page for one child (or agency). A save takes the
    audit's lock first, so what was decided meanwhile is read after it."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    if locked:
        lock_audit(session, audit)
    return audit, meetings.meeting(
        session, actor=actor, audit=audit, child_id=child, agency_id=agency
    )


def _where(meeting: meetings.Meeting) -> dict[str, int]:
    if meeting.child is not None:
        return {"child": meeting.child.id}
    return {"agency": meeting.agency.id} if meeting.agency is not None else {}


def _values(meeting: meetings.Meeting) -> dict[str, str]:
    """The page's fields as saved: a decision shows as chosen (it is the moderator's own
    choice); a cell not decided, or whose own grade changed since, shows nothing."""
    values: dict[str, str] = {}
    for col in meeting.columns:
        for cell in col.cells.values():
            d = cell.decision
            values[field_name("s", cell.return_id, cell.cell)] = str(d.id if d else 0)
            if d is not None and cell.state != meetings.CellState.REGRADED:
                assert cell.moderated_level is not None
                values[field_name("g", cell.return_id, cell.cell)] = cell.moderated_level.code
                values[field_name("r", cell.return_id, cell.cell)] = d.rationale
    if meeting.note is not None:
        values.update({name: getattr(meeting.note, name) for name in NOTE_FIELDS})
    values["notes_seen"] = meetings.note_version(meeting.note)
    return values


def _family(session, request: Request, actor: Actor, audit) -> family_voice.FamilyVoice | None:
    threshold = request.app.state.settings.small_count_threshold
    return family_voice.voice_for(session, audit=audit, actor=actor, threshold=threshold)


def _page(
    request: Request,
    actor: Actor,
    audit,
    meeting: meetings.Meeting,
    *,
    form: FormState | None = None,
    status_code: int = 200,
    template: str = "moderation/meeting.html",
    family: family_voice.FamilyVoice | None = None,
) -> Response:
    may_decide = actor.may(Permission.MODERATE) and audit.status == AuditStatus.MODERATION
    return render(
        request,
        template,
        {
            "audit": audit,
            "m": meeting,
            "where": _where(meeting),
            "may_decide": may_decide,
            "form": form or FormState(values=_values(meeting)),
            "field_name": field_name,
            "answer_text": answer_text,
            "note_fields": NOTE_FIELDS,
            "listed": meetings.listed(meeting),
            # What the child's family said in the audit's family survey, beside the grades.
            "family": family,
            "family_child": family.child(meeting.child.pseudonym)
            if family is not None and meeting.child is not None
            else None,
        },
        status_code=status_code,
    )


@router.get("/audits/{audit_id}/moderation/meeting", name="moderation.meeting")
@transactional
def meeting_page(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    child: IdQuery = None,
    agency: IdQuery = None,
) -> Response:
    audit, found = _open(session, actor, audit_id, child, agency)
    return _page(request, actor, audit, found, family=_family(session, request, actor, audit))


@router.post("/audits/{audit_id}/moderation/meeting", name="moderation.meeting_save")
@transactional
def meeting_save(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    posted: PostedForm,
    child: IdQuery = None,
    agency: IdQuery = None,
) -> Response:
    audit, found = _open(session, actor, audit_id, child, agency, locked=True)
    values = {name: posted.one(name) for name in posted.names()}
    choices = meetings.choices_from(found, values)
    sent_notes = found.child is not None and any(name in values for name in NOTE_FIELDS)
    notes = {name: values.get(name, "") for name in NOTE_FIELDS} if sent_notes else None
    # One confirmation covers the page: every rationale and note flagged on it.
    confirmed = posted.one(CONFIRM_FIELD) == "yes"
    flagged = meetings.identifying(session, found, choices, notes, confirmed=confirmed)
    checked = meetings.problems(found, choices, notes, values.get("notes_seen", ""), flagged)
    errors = checked.errors
    if not errors:
        with undone_if_refused(session):
            saved = meetings.save(
                session,
                actor=actor,
                audit=audit,
                meeting_=found,
                choices=choices,
                notes=notes,
                confirmed=confirmed,
            )
        subject = (
            found.child.pseudonym if found.child else found.agency.name if found.agency else ""
        )
        done = f"{saved} decision{'' if saved == 1 else 's'} saved for {subject}."
        if posted.one("then") == "next":
            after = meetings.meeting(
                session, actor=actor, audit=audit, child_id=child, agency_id=agency
            )
            next_id = after.next_id()
            if next_id is None:
                flash(f"{done} Every grade is moderated: you can finish moderation.")
                return redirect(request, "moderation.workspace", audit_id=audit.id)
            flash(done)
            key = "child" if found.child else "agency"
            return redirect(request, "moderation.meeting", audit_id=audit.id, query={key: next_id})
        flash(done)
        return redirect(request, "moderation.meeting", audit_id=audit.id, query=_where(found))
    # Refused: nothing saved; the page again with what was chosen and every problem.
    shown = dict(values)
    for col in found.columns:  # the decisions as they stand now, for the next save
        for cell in col.cells.values():
            shown[field_name("s", cell.return_id, cell.cell)] = str(
                cell.decision.id if cell.decision else 0
            )
    if checked.conflict and found.note is not None and "discussion" in errors:
        # The notes as they are now, to check and save again.
        shown.update({name: getattr(found.note, name) for name in NOTE_FIELDS})
    shown["notes_seen"] = meetings.note_version(found.note)
    conflict = checked.conflict
    return _page(
        request,
        actor,
        audit,
        found,
        form=FormState(values=shown, errors=errors),
        status_code=409 if conflict else 422,
    )


@router.get("/audits/{audit_id}/moderation/meeting/agree", name="moderation.agree_all")
@transactional
def agree_all(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    child: IdQuery = None,
    agency: IdQuery = None,
) -> Response:
    """Check before agreeing: every grade that will be agreed, listed."""
    audit, found = _open(session, actor, audit_id, child, agency)
    return _page(request, actor, audit, found, template="moderation/agree_all.html")


@router.post("/audits/{audit_id}/moderation/meeting/agree", name="moderation.agree_all_save")
@transactional
def agree_all_save(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    posted: PostedForm,
    child: IdQuery = None,
    agency: IdQuery = None,
) -> Response:
    audit, found = _open(session, actor, audit_id, child, agency, locked=True)
    if posted.one("listed") != meetings.listed(found):
        # Something changed since the list was shown: agree only what was seen.
        problem = "The grades still to agree have changed since this list was shown: check it again"
        return _page(
            request,
            actor,
            audit,
            found,
            form=FormState(errors={"listed": problem}),
            status_code=409,
            template="moderation/agree_all.html",
        )
    with undone_if_refused(session):
        agreed = meetings.agree_remaining(session, actor=actor, audit=audit, meeting_=found)
    subject = found.child.pseudonym if found.child else found.agency.name if found.agency else ""
    flash(f"{agreed} grade{'' if agreed == 1 else 's'} agreed for {subject}.")
    return redirect(request, "moderation.meeting", audit_id=audit.id, query=_where(found))


@router.get("/audits/{audit_id}/moderation/meeting/pack", name="moderation.meeting_pack")
@transactional
def meeting_pack(
    session: SessionDep,
    request: Request,
    actor: Actor,
    audit_id: IdPath,
    child: IdQuery = None,
    agency: IdQuery = None,
) -> Response:
    """The meeting pack for one child (or agency), for chairs who work from paper: the
    same content without the forms, laid out for printing."""
    audit, found = _open(session, actor, audit_id, child, agency)
    return _page(
        request,
        actor,
        audit,
        found,
        template="moderation/meeting_pack.html",
        family=_family(session, request, actor, audit),
    )
