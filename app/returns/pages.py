"""Pages for auditors' returns: My work, and completing a return (a task list, a page
per key area that saves itself while the auditor types, the overall grade, check your
answers, submit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from app import clock
from app.access.models import Role, User
from app.access.policy import MODERATED_STATUSES, Actor, may_lead_agency
from app.audit_templates import service as templates
from app.audits import service as audits
from app.audits.models import AuditStatus
from app.briefings import assurance
from app.deps import IdPath, PostedForm, SessionDep, transactional
from app.errors import InvalidInput, NotFound
from app.forms import FormState, whole_number
from app.identify.entry import CONFIRM_FIELD
from app.moderation import service as moderation
from app.returns import (
    assignment,
    key_area_fields,
    reading,
    service,
    signoff,
    validation,
    versions,
    wording,
    work,
)
from app.returns.models import EDITABLE_STATUSES
from app.returns.wording import BOX_LABELS
from app.templating import came_from, flash, redirect, render, url

router = APIRouter(include_in_schema=False)


@router.get("/my-work", name="returns.my_work")
@transactional
def my_work(
    session: SessionDep,
    request: Request,
    actor: Actor,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """My agency's returns in current audits: to do (overdue first) and done, a page of
    audits at a time."""
    today = clock.today()
    mine = work.my_work(session, actor=actor, today=today, page=page)
    return render(request, "returns/my_work.html", {"work": mine, "today": today})


# --- completing a return ------------------------------------------------------------


def _load(session, actor, return_id: int, *, log_read: bool = True):
    """The return (as the actor may see it) and its template version."""
    found = (reading.read if log_read else reading.detail)(
        session, return_id=return_id, actor=actor
    )
    version = templates.get_version(session, version_id=found["template_version_id"])
    # Its agency's auditors write in it; its lead too, in an assurance questionnaire.
    found["writable"] = service.may_write(
        session, actor, agency_id=found["agency"]["id"], audit_id=found["audit_id"]
    )
    return found, version


def _area_states(found: dict, version) -> list[tuple]:
    """Each key area with its state (work.area_state), counting only questions asked."""
    answers = {a["question_id"]: a["value"] for a in found["answers"]}
    graded = {g["key_area_id"] for g in found["grades"]}
    asked = validation.asked_now(_asked(version), answers)
    required = tuple(b.box for b in version.evidence_box_list if b.required)
    evidence = {e["key_area_id"]: e for e in found["evidence"]}

    def written(key_area) -> set[str]:
        boxes = evidence.get(key_area.id, {})
        return {b.box for b in version.evidence_box_list if (boxes.get(b.box) or "").strip()}

    return [
        (
            k,
            work.area_state(
                k, set(answers), graded, asked, required_boxes=required, written=written(k)
            ),
        )
        for k in version.key_areas
    ]


def _editable(found: dict) -> bool:
    """Forms for those who write in the return (``_load``'s "writable") while it may
    change; others read it."""
    return found["status"] in EDITABLE_STATUSES and found["writable"]


@router.get("/returns/{return_id}", name="returns.task_list")
@transactional
def task_list(session: SessionDep, request: Request, actor: Actor, return_id: IdPath) -> Response:
    """The return as a task list: one task per key area, then check and submit."""
    found, version = _load(session, actor, return_id)
    if not _editable(found):
        return _read_page(session, request, actor, found, version)
    areas = _area_states(found, version)
    return render(
        request,
        "returns/task_list.html",
        {
            "r": found,
            "version": version,
            "areas": areas,
            "editable": _editable(found),
            "unfinished": _unfinished(request, found, version, areas),
            "sections": len(areas) + (1 if _has_case_page(version) else 0),
            "case_title": _case_title(version),
            "case_state": _case_state(found, version) if _has_case_page(version) else None,
        },
    )


def _read_page(
    session, request, actor: Actor, found: dict, version, *, form=None, flagged=(), status_code=200
) -> Response:
    """The whole return on one page, for whoever may read it but not change it: every
    answer and box of evidence, the agency's own grades and, once moderation has
    started, each moderated grade with its reason beside it; then its versions. (A
    lead's sign-off refused: ``flagged``, what looks identifying, to confirm.)"""
    status = found["audit_status"]
    moderated = {}
    if status in MODERATED_STATUSES:
        moderated = {
            d.cell: d
            for d in moderation.decisions_of(session, return_id=found["id"])
            if d.superseded_at is None
        }
    # Moderators by name, not by the e-mail the decision was logged under.
    ids = {d.decided_by_id for d in moderated.values() if d.decided_by_id}
    deciders = {
        user_id: name
        for user_id, name in session.execute(
            select(User.id, User.display_name).where(User.id.in_(ids))
        )
    }
    own_work = Role.AUDITOR in actor.roles and actor.agency_id == found["agency"]["id"]
    default = (
        url(request, "returns.my_work")
        if own_work
        else url(request, "audits.overview", audit_id=found["audit_id"])
    )
    return render(
        request,
        "returns/read.html",
        {
            "r": found,
            "version": version,
            "answers": {a["question_id"]: a["value"] for a in found["answers"]},
            "asked": _asked_now(found, version),
            "grades": {g["key_area_id"]: g["level"] for g in found["grades"]},
            "evidence": {e["key_area_id"]: e for e in found["evidence"]},
            "labels": {lv.code: lv.label for lv in version.scale.levels} if version.scale else {},
            "moderated": moderated,
            "deciders": deciders,
            "overall_cell": moderation.OVERALL,
            "in_moderation": status == AuditStatus.MODERATION,
            "submitted": versions.submitted(session, return_id=found["id"]),
            "own_work": own_work,
            "may_sign_off": found["awaiting_sign_off"]
            and may_lead_agency(actor, found["agency"]["id"]),
            "back": came_from(request, default),
            "form": form,
            "flagged": flagged,
        },
        status_code=status_code,
    )


def _unfinished(request, found: dict, version, areas=None) -> list[dict]:
    """The sections of the return not yet completed, each linked: what stands between
    the auditor and Check your answers. (``areas``: each key area's state, if known.)"""
    areas = areas or _area_states(found, version)
    left = [
        {
            "text": k.title,
            "href": url(request, "returns.key_area", return_id=found["id"], key_area_id=k.id),
        }
        for k, state in areas
        if state != "Completed"
    ]
    if _has_case_page(version) and _case_state(found, version) != "Completed":
        left.append(
            {
                "text": _case_title(version),
                "href": url(request, "returns.overall", return_id=found["id"]),
            }
        )
    return left


def _area_page(
    request,
    actor,
    found,
    version,
    key_area,
    *,
    form=None,
    conflict=None,
    differs=(),
    status_code=200,
):
    # Reached from Check your answers ("Change"): saving goes back there.
    back = request.query_params.get("back")
    hidden, asked_when = _conditions(found, version, key_area.questions)
    if not _editable(found):  # a reader sees only the questions the return asks
        asked = _asked_now(found, version)
        hidden |= {q.id for q in key_area.questions if not asked[q.id]}
    return render(
        request,
        "returns/key_area.html",
        {
            "r": found,
            "version": version,
            "key_area": key_area,
            "hidden": hidden,
            "asked_when": asked_when,
            "form": form or FormState(values=key_area_fields.saved_values(found, key_area)),
            "shown_answers": key_area_fields.shown_answers(found, key_area),
            "conflict": conflict,
            "differs": differs,
            "back": back,
            "editable": _editable(found),
        },
        status_code=status_code,
    )


def _asked(version) -> list:
    """Every question of the version in the order a return asks them."""
    return [q for k in version.key_areas for q in k.questions] + version.case_questions


def _asked_now(found: dict, version) -> dict[int, bool]:
    answers = {a["question_id"]: a["value"] for a in found["answers"]}
    return validation.asked_now(_asked(version), answers)


def _conditions(found: dict, version, shown: list):
    """The questions of this page the return does not ask (decided on another page)
    and, for each conditional one decided on this page, when it is asked."""
    answers = {a["question_id"]: a["value"] for a in found["answers"]}
    return key_area_fields.conditions(shown, _asked(version), answers)


def _boxes(version) -> tuple[str, ...]:
    return tuple(b.box for b in version.evidence_box_list)


def _key_area(version, key_area_id: int):
    for key_area in version.key_areas:
        if key_area.id == key_area_id:
            return key_area
    raise NotFound(f"This return has no key area {key_area_id}.")


@router.get("/returns/{return_id}/areas/{key_area_id}", name="returns.key_area")
@transactional
def key_area_form(
    session: SessionDep, request: Request, actor: Actor, return_id: IdPath, key_area_id: IdPath
) -> Response:
    found, version = _load(session, actor, return_id)
    return _area_page(request, actor, found, version, _key_area(version, key_area_id))


@router.post("/returns/{return_id}/areas/{key_area_id}", name="returns.key_area_save")
@transactional
def key_area_save(
    session: SessionDep,
    request: Request,
    actor: Actor,
    return_id: IdPath,
    key_area_id: IdPath,
    posted: PostedForm,
) -> Response:
    """Save this key area as a draft; then the next key area (or the task list). With
    JavaScript, the page also saves itself while the auditor types (X-Autosave), and
    gets JSON back instead of the next page."""
    return_ = service.get_return(session, return_id=return_id, actor=actor, to_edit=True)
    found, version = _load(session, actor, return_id, log_read=False)
    key_area = _key_area(version, key_area_id)
    if any(name.startswith("keep-") for name in posted.names()):
        # A conflict resolved field by field: the saved words where chosen.
        posted = key_area_fields.merged(posted, key_area_fields.saved_values(found, key_area))
    parsed = key_area_fields.parse_key_area(
        posted,
        key_area,
        graded_scale=version.scale is not None,
        boxes=_boxes(version),
        hidden=_conditions(found, version, key_area.questions)[0],
    )
    if request.headers.get("x-autosave"):
        return _autosave(session, return_, posted, parsed)
    if parsed.errors:
        return _area_page(
            request, actor, found, version, key_area, form=parsed.state(posted), status_code=422
        )
    try:
        _save_area(session, return_, posted, parsed)
    except service.VersionConflict as exc:
        # Nothing was saved: show what is saved now beside what this page sent, and
        # where they differ, ask which to keep.
        current = exc.extra["current"] | {
            "version": exc.extra["current_version"],
            "writable": found["writable"],
        }
        saved = key_area_fields.saved_values(current, key_area)
        return _area_page(
            request,
            actor,
            current,
            version,
            key_area,
            form=parsed.state(posted, {}),
            conflict=exc.message,
            differs=key_area_fields.differing(posted, saved, key_area),
            status_code=409,
        )
    except InvalidInput as exc:
        errors = {key_area_fields.page_field(f.field, parsed): f.message for f in exc.fields}
        return _area_page(
            request,
            actor,
            found,
            version,
            key_area,
            form=parsed.state(posted, errors),
            status_code=422,
        )
    if posted.one("then") == "later":
        flash("Your answers have been saved. You can come back to this return at any time.")
        return redirect(request, "returns.task_list", return_id=return_id)
    if request.query_params.get("back") == "check":
        return redirect(request, "returns.check", return_id=return_id)
    areas = [k.id for k in version.key_areas]
    position = areas.index(key_area.id)
    if position + 1 < len(areas):
        return redirect(
            request, "returns.key_area", return_id=return_id, key_area_id=areas[position + 1]
        )
    if _has_case_page(version):
        return redirect(request, "returns.overall", return_id=return_id)
    return redirect(request, "returns.check", return_id=return_id)


def _save_area(session, return_, posted, parsed) -> None:
    """Save one key area's parsed form as a draft, against the version the page read."""
    service.save_draft(
        session,
        return_=return_,
        read_version=key_area_fields.read_version(posted),
        answers=parsed.answers,
        grades=parsed.grades,
        evidence=parsed.evidence,
    )


def _autosave(session, return_, posted, parsed) -> JSONResponse:
    if parsed.errors:
        return JSONResponse({"detail": "Not saved yet.", "errors": parsed.errors}, status_code=422)
    try:
        _save_area(session, return_, posted, parsed)
    except service.VersionConflict as exc:
        return JSONResponse({"detail": exc.message, "code": exc.code}, status_code=409)
    except InvalidInput as exc:
        errors = {key_area_fields.page_field(f.field, parsed): f.message for f in exc.fields}
        return JSONResponse({"detail": exc.message, "errors": errors}, status_code=422)
    session.flush()
    session.refresh(return_)
    return JSONResponse({"saved": True, "version": return_.version})


def _has_case_page(version) -> bool:
    """Whether the return has its last page: the overall grade and the questions about
    the whole case."""
    return version.has_overall_grade or bool(version.case_questions)


def _case_title(version) -> str:
    return "The whole case" if version.case_questions else "Overall grade"


def _case_state(found: dict, version) -> str:
    """The last page's state, as a key area's is: Completed, In progress, Not yet started."""
    answers = {a["question_id"]: a["value"] for a in found["answers"]}
    asked = validation.asked_now(_asked(version), answers)
    questions = version.case_questions
    required = [q for q in questions if q.required and asked[q.id]]
    graded = bool(found["overall_grade"]) or not version.has_overall_grade
    if graded and all(q.id in answers for q in required):
        return "Completed"
    touched = bool(found["overall_grade"]) or any(q.id in answers for q in questions)
    return "In progress" if touched else "Not yet started"


def _overall_page(request, actor, found, version, *, form=None, status_code=200):
    levels = version.scale.levels if version.scale else []
    labels = {level.code: level.label for level in levels}
    grades = {g["key_area_id"]: g["level"] for g in found["grades"]}
    editable = _editable(found)
    questions = version.case_questions
    hidden, asked_when = _conditions(found, version, questions)
    if form is None:
        values = {"overall": found["overall_grade"] or ""}
        if version.case_section is not None:
            values |= key_area_fields.saved_values(found, version.case_section)
        form = FormState(values=values)
    return render(
        request,
        "returns/overall.html",
        {
            "r": found,
            "version": version,
            "title": _case_title(version),
            "form": form,
            "questions": [q for q in questions if q.id not in hidden],
            "asked_when": asked_when,
            "shown_answers": key_area_fields.shown_answers(found, version.case_section)
            if version.case_section is not None
            else {},
            # What each grade means, for whoever is choosing one (a reader sees the
            # choice made, greyed out: its hints would be too faint to read).
            "levels": [
                {
                    "value": level.code,
                    "text": level.label,
                    "hint": (level.description or None) if editable else None,
                }
                for level in levels
            ],
            # The key-area grades already given, to weigh the overall grade against.
            "given": [
                (k.title, labels.get(grades.get(k.id, ""), "Not graded yet"))
                for k in version.key_areas
                if k.graded
            ],
            "editable": editable,
        },
        status_code=status_code,
    )


@router.get("/returns/{return_id}/overall", name="returns.overall")
@transactional
def overall_form(
    session: SessionDep, request: Request, actor: Actor, return_id: IdPath
) -> Response:
    found, version = _load(session, actor, return_id)
    if not _has_case_page(version):
        raise NotFound("This return has no overall grade or questions about the whole case.")
    return _overall_page(request, actor, found, version)


@router.post("/returns/{return_id}/overall", name="returns.overall_save")
@transactional
def overall_save(
    session: SessionDep, request: Request, actor: Actor, return_id: IdPath, posted: PostedForm
) -> Response:
    """Save the questions about the whole case and the overall grade; then check."""
    return_ = service.get_return(session, return_id=return_id, actor=actor, to_edit=True)
    found, version = _load(session, actor, return_id, log_read=False)
    if not _has_case_page(version):
        raise NotFound("This return has no overall grade or questions about the whole case.")
    parsed = key_area_fields.KeyAreaForm()
    hidden, _ = _conditions(found, version, version.case_questions)
    key_area_fields.parse_questions(
        posted, [q for q in version.case_questions if q.id not in hidden], parsed
    )
    if parsed.errors:
        return _overall_page(
            request, actor, found, version, form=parsed.state(posted), status_code=422
        )
    try:
        service.save_draft(
            session,
            return_=return_,
            read_version=key_area_fields.read_version(posted),
            answers=parsed.answers,
            grades=[],
            evidence=[],
            overall_grade=(True, posted.one("overall") or None)
            if version.has_overall_grade
            else (False, None),
        )
    except (service.VersionConflict, InvalidInput) as exc:
        if isinstance(exc, service.VersionConflict):
            errors = {"overall" if version.has_overall_grade else "version": exc.message}
        else:
            errors = {
                "overall"
                if f.field == "overall_grade"
                else key_area_fields.page_field(f.field, parsed): "Choose an overall grade "
                "from the list"
                if f.field == "overall_grade"
                else f.message
                for f in exc.fields
            }
        return _overall_page(
            request,
            actor,
            found,
            version,
            form=parsed.state(posted, errors),
            status_code=exc.status_code,
        )
    return redirect(request, "returns.check", return_id=return_id)


def _check_page(request, actor, found, version, *, form=None, flagged=(), status_code=200):
    return render(
        request,
        "returns/check.html",
        {
            "r": found,
            "version": version,
            "form": form,
            "flagged": flagged,
            "editable": _editable(found),
            "answers": {a["question_id"]: a["value"] for a in found["answers"]},
            "asked": _asked_now(found, version),
            "grades": {g["key_area_id"]: g["level"] for g in found["grades"]},
            "evidence": {e["key_area_id"]: e for e in found["evidence"]},
            "labels": {lv.code: lv.label for lv in version.scale.levels} if version.scale else {},
            "unfinished": _unfinished(request, found, version),
        },
        status_code=status_code,
    )


@router.get("/returns/{return_id}/check", name="returns.check")
@transactional
def check_answers(
    session: SessionDep, request: Request, actor: Actor, return_id: IdPath
) -> Response:
    found, version = _load(session, actor, return_id)
    return _check_page(request, actor, found, version)


def _flagged(
    request, return_id: int, version, refused: service.LooksIdentifying, *, editable: bool
) -> tuple[FormState, list[dict]]:
    """A submission refused by the identification guard: the error summary and the list
    beside the confirmation, each flagged answer or box of evidence with what was found
    in it and a link to change it (for a lead, who cannot, to where it is on the page)."""
    area_of = {q.id: k.id for k in version.key_areas for q in k.questions}
    on_case_page = {q.id for q in version.case_questions}
    listed, flagged = [], []
    confirm = "Confirm that what is flagged does not identify anyone, or change it"
    for problem in refused.fields:
        if problem.field == CONFIRM_FIELD:
            confirm = problem.message
            continue
        kind, _, ident = problem.field.partition(":")
        if kind == "question" and int(ident) in on_case_page:
            href = (
                url(request, "returns.overall", return_id=return_id, anchor=f"q-{ident}")
                if editable
                else "#the-whole-case"
            )
        else:
            if kind == "question":
                area, anchor = area_of[int(ident)], f"q-{ident}"
            else:  # evidence:KEY_AREA_ID:BOX
                area_id, _, box = ident.partition(":")
                area, anchor = int(area_id), f"ev-{box}"
            href = (
                url(
                    request,
                    "returns.key_area",
                    return_id=return_id,
                    key_area_id=area,
                    query={"back": "check"},
                    anchor=anchor,
                )
                if editable
                else f"#area-{area}"
            )
        where = refused.where.get(problem.field, "")
        listed.append({"text": problem.message, "href": href})
        flagged.append(
            {"where": where, "found": problem.message.removeprefix(f"{where}: "), "href": href}
        )
    listed.append({"text": confirm, "href": f"#{CONFIRM_FIELD}"})
    return FormState(errors={CONFIRM_FIELD: confirm}, listed=tuple(listed)), flagged


@router.post("/returns/{return_id}/submit", name="returns.submit")
@transactional
def submit(
    session: SessionDep, request: Request, actor: Actor, return_id: IdPath, posted: PostedForm
) -> Response:
    return_ = service.get_return(session, return_id=return_id, actor=actor, to_edit=True)
    try:
        service.submit(
            session,
            return_=return_,
            read_version=key_area_fields.read_version(posted),
            # A lead answering their agency's questionnaire: their submission is its own
            # sign-off (as through the API).
            signed_off=may_lead_agency(actor, return_.agency_id)
            and assurance.is_questionnaire(session, audit_id=return_.audit_id),
            confirmed=posted.one(CONFIRM_FIELD) == "yes",
        )
    except service.LooksIdentifying as exc:
        found, version = _load(session, actor, return_id, log_read=False)
        form, flagged = _flagged(request, return_id, version, exc, editable=True)
        return _check_page(
            request, actor, found, version, form=form, flagged=flagged, status_code=422
        )
    except service.ReturnIncomplete as exc:
        found, version = _load(session, actor, return_id, log_read=False)
        area_of = {q.id: k.id for k in version.key_areas for q in k.questions}
        listed = []
        for f in exc.fields:
            kind, _, ident = f.field.partition(":")
            if kind == "question" and int(ident) not in area_of:  # about the whole case
                href = url(request, "returns.overall", return_id=return_id, anchor=f"q-{ident}")
            elif kind == "question":
                href = url(
                    request,
                    "returns.key_area",
                    return_id=return_id,
                    key_area_id=area_of[int(ident)],
                    anchor=f"q-{ident}",
                )
            elif kind == "grade":
                href = url(
                    request,
                    "returns.key_area",
                    return_id=return_id,
                    key_area_id=int(ident),
                    anchor="grade",
                )
            elif kind == "evidence":  # evidence:KEY_AREA_ID:BOX, a required box empty
                area_id, _, box = ident.partition(":")
                href = url(
                    request,
                    "returns.key_area",
                    return_id=return_id,
                    key_area_id=int(area_id),
                    anchor=f"ev-{box}",
                )
            else:
                href = url(request, "returns.overall", return_id=return_id, anchor="overall")
            listed.append({"text": f.message, "href": href})
        form = FormState(listed=tuple(listed))
        return _check_page(request, actor, found, version, form=form, status_code=422)
    except service.VersionConflict as exc:
        found, version = _load(session, actor, return_id, log_read=False)
        form = FormState(listed=({"text": exc.message, "href": "#answers"},))
        return _check_page(request, actor, found, version, form=form, status_code=409)
    return redirect(request, "returns.submitted", return_id=return_id)


@router.post("/returns/{return_id}/sign-off", name="returns.sign_off")
@transactional
def sign_off(
    session: SessionDep, request: Request, actor: Actor, return_id: IdPath, posted: PostedForm
) -> Response:
    """The agency's lead signs off the return as read, which submits it."""
    read_version = key_area_fields.read_version(posted)
    try:
        signoff.sign_off(
            session,
            actor=actor,
            return_id=return_id,
            read_version=read_version,
            confirmed=posted.one(CONFIRM_FIELD) == "yes",
        )
    except service.LooksIdentifying as exc:
        found, version = _load(session, actor, return_id, log_read=False)
        form, flagged = _flagged(request, return_id, version, exc, editable=False)
        return _read_page(
            session, request, actor, found, version, form=form, flagged=flagged, status_code=422
        )
    flash("You have signed off the return. It has been submitted to the partnership.")
    return redirect(request, "returns.task_list", return_id=return_id)


@router.get("/returns/{return_id}/submitted", name="returns.submitted")
@transactional
def submitted(session: SessionDep, request: Request, actor: Actor, return_id: IdPath) -> Response:
    found, version = _load(session, actor, return_id, log_read=False)
    return render(request, "returns/submitted.html", {"r": found, "version": version})


@router.get("/returns/{return_id}/versions", name="returns.versions")
@transactional
def versions_page(
    session: SessionDep, request: Request, actor: Actor, return_id: IdPath
) -> Response:
    """Each submission of the return as it was submitted, newest first, with what
    changed since the one before, in the template's words."""
    found, version = _load(session, actor, return_id, log_read=False)
    questions = {str(q.id): q for q in _asked(version)}
    areas = {str(k.id): k.title for k in version.key_areas}
    box_labels = {b.box: b.label for b in version.evidence_box_list} or BOX_LABELS
    levels = {lv.code: lv.label for lv in version.scale.levels} if version.scale else {}

    def label(field: str) -> str:
        kind, _, rest = field.partition(":")
        if kind == "answer" and rest in questions:
            return questions[rest].prompt
        if kind == "grade":
            return f"Grade for {areas.get(rest, 'a key area')}"
        if kind == "evidence":
            area, _, box = rest.partition(":")
            return f"{areas.get(area, 'A key area')}: {box_labels.get(box, box)}"
        return {"overall_grade": "Overall grade", "auditor_name": "Auditor"}.get(field, field)

    def shown(field: str, value: str | None) -> str:
        if not value:
            return "Not answered"
        kind, _, rest = field.partition(":")
        if kind == "answer" and rest in questions:
            return wording.answer_text(questions[rest], value)
        if kind == "grade" or field == "overall_grade":
            return levels.get(value, value)
        return value

    submitted = versions.submitted(session, return_id=return_id)  # read above, by _load
    for item in submitted:
        item["rows"] = [
            {
                "label": label(c["field"]),
                "before": shown(c["field"], c["before"]),
                "after": shown(c["field"], c["after"]),
            }
            for c in item["changes"]
        ]
    return render(
        request,
        "returns/versions.html",
        {
            "r": found,
            "version": version,
            "submitted": list(reversed(submitted)),
            "back": came_from(request, url(request, "returns.task_list", return_id=return_id)),
        },
    )


# --- an agency lead assigns the agency's returns -------------------------------------


@router.get("/audits/{audit_id}/assign", name="returns.assign")
@transactional
def assign_page(session: SessionDep, request: Request, actor: Actor, audit_id: IdPath) -> Response:
    """The lead's agency's returns in the audit, each with whom it is assigned to."""
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    return _assign_page(session, request, actor, audit)


def _assign_page(session, request, actor, audit, *, form=None, status_code=200) -> Response:
    listed = assignment.assignable(session, actor=actor, audit=audit)
    people = assignment.auditors(session, agency_id=actor.agency_id)
    values = {f"assign-{r.id}": str(r.assigned_to_id or "") for r in listed}
    return render(
        request,
        "returns/assign.html",
        {
            "audit": audit,
            "listed": listed,
            "people": people,
            "form": form or FormState(values=values),
        },
        status_code=status_code,
    )


@router.post("/audits/{audit_id}/assign", name="returns.assign_save")
@transactional
def assign_save(
    session: SessionDep, request: Request, actor: Actor, audit_id: IdPath, posted: PostedForm
) -> Response:
    audit = audits.get_audit(session, audit_id=audit_id, actor=actor)
    errors = {}
    for item in assignment.assignable(session, actor=actor, audit=audit):
        name = f"assign-{item.id}"
        if not item.editable or name not in posted:
            continue
        chosen = posted.one(name)
        auditor_id = whole_number(chosen)
        if chosen and auditor_id is None:
            errors[name] = f"Choose who {item.child}'s return is for"
            continue
        try:
            assignment.assign(session, actor=actor, return_id=item.id, auditor_id=auditor_id)
        except InvalidInput:
            errors[name] = f"Choose one of your agency's auditors for {item.child}'s return"
    if errors:
        form = FormState(values=posted.shown(), errors=errors)
        return _assign_page(session, request, actor, audit, form=form, status_code=422)
    flash("The returns have been assigned.")
    return redirect(request, "audits.overview", audit_id=audit_id)
