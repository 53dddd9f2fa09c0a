"""Pages of the year's programme: the timeline by month (each planned audit with where
it stands, late ones marked), the programme as a spreadsheet, and, for those who plan
audits, adding, changing and archiving entries and making a month's audit now."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app import clock
from app.access.policy import Actor, Permission
from app.agencies import service as agencies
from app.deps import IdPath, PostedForm, SessionDep, transactional
from app.forms import Form, FormInvalid, FormState, Messages
from app.pagination import PageParams
from app.programme import calendar, export, service, timeline
from app.programme.models import ProgrammeEntry, Repeat
from app.programme.schemas import ProgrammeEntryCreate
from app.templating import came_from, flash, redirect, render, url

router = APIRouter(include_in_schema=False)

EVERYTHING = PageParams(1, 200)
Year = Annotated[int | None, Query(ge=2000, le=2098)]
Month = Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]

REPEATS = [
    (Repeat.NONE.value, "Once"),
    (Repeat.MONTHLY.value, "Every month"),
    (Repeat.QUARTERLY.value, "Every 3 months"),
]
REPEAT_LABELS = dict(REPEATS)
DAYS = "Enter the number of days, as a whole number"
MESSAGES: Messages = {
    "title": "Enter a title for the planned audit",
    ("title", "string_too_long"): "Title must be 180 characters or fewer",
    ("title", "invalid"): "Title must be on one line, without line breaks",
    "template_family_id": "Choose the template its audits will use",
    ("theme", "string_too_long"): "Theme must be 200 characters or fewer",
    ("theme", "invalid"): "Theme must be on one line, without line breaks",
    "lead_subgroup_id": "Choose a lead subgroup from the list",
    "first_month": "Choose the month of its first audit",
    "repeat": "Choose how often it is audited",
    "occurrences": "Enter how many audits, as a whole number",
    ("occurrences", "greater_than_equal"): "Enter how many audits: at least 1",
    ("occurrences", "less_than_equal"): "There can be at most 24 audits",
    "agency_ids": "Choose agencies from the list",
    "cohort_size": "Enter how many cases to draw, as a whole number",
    ("cohort_size", "greater_than_equal"): "Enter how many cases to draw: at least 1",
    ("cohort_size", "less_than_equal"): "You can draw at most 200 cases",
    "returns_due_after_days": DAYS,
    ("returns_due_after_days", "less_than_equal"): "Returns must be due within 365 days",
    ("returns_due_after_days", "greater_than_equal"): "Enter 0 days or more",
    "moderation_after_days": DAYS,
    ("moderation_after_days", "less_than_equal"): "The meeting must be within 730 days",
    ("moderation_after_days", "greater_than_equal"): "Enter 0 days or more",
    ("notes", "string_too_long"): "Notes must be 20,000 characters or fewer",
    ("notes", "invalid"): "Notes must not contain control characters",
}
ENTRY = Form(
    ProgrammeEntryCreate,
    fields=(
        "title",
        "template_family_id",
        "theme",
        "lead_subgroup_id",
        "agency_ids",
        "first_month",
        "repeat",
        "occurrences",
        "cohort_size",
        "returns_due_after_days",
        "moderation_after_days",
        "notes",
    ),
    lists=frozenset({"agency_ids"}),
    messages=MESSAGES,
    refusals={
        "template_family_id": "Choose a template with a published version",
        "lead_subgroup_id": "Choose a lead subgroup that is still active",
        "agency_ids": "Choose only agencies that are still active",
        "moderation_after_days": "The moderation meeting must be at least as many days "
        "after the 1st of the month as the returns are due",
    },
)


# --- the timeline ----------------------------------------------------------------------


@router.get("/programme", name="programme.timeline")
@transactional
def timeline_page(
    session: SessionDep, request: Request, actor: Actor, year: Year = None
) -> Response:
    """The year's programme by month, April to March: each month's audits and where each
    stands, late ones marked; those who plan audits see the audits made from it still
    waiting to be confirmed."""
    today = clock.today()
    shown = year or calendar.year_of(today)
    view = timeline.year_view(session, actor=actor, year=shown, today=today)
    manages = actor.may(Permission.AUDIT_MANAGE)
    return render(
        request,
        "programme/timeline.html",
        {
            "view": view,
            "today": today,
            "manages": manages,
            "waiting": timeline.waiting(session) if manages else [],
            "repeat_labels": REPEAT_LABELS,
            "labels": timeline.STATE_LABELS,
            "tags": timeline.STATE_TAGS,
            "late_tag": timeline.LATE_TAG,
            "month_key": calendar.month_key,
            "month_label": calendar.month_label,
        },
    )


@router.get("/programme/export.xlsx", name="programme.xlsx")
@transactional
def programme_xlsx(session: SessionDep, actor: Actor, year: Year = None) -> Response:
    """The year's programme as an Excel workbook: one row per month of each entry."""
    today = clock.today()
    shown = year or calendar.year_of(today)
    view = timeline.year_view(session, actor=actor, year=shown, today=today)
    return Response(
        export.to_xlsx(view),
        media_type=export.XLSX,
        headers={"Content-Disposition": f'attachment; filename="{export.filename(shown)}"'},
    )


# --- adding and changing entries ---------------------------------------------------------


def _entry_page(
    session: Session,
    request: Request,
    *,
    entry: ProgrammeEntry | None,
    form: FormState,
    back: str,
    status_code: int = 200,
) -> Response:
    today = clock.today()
    families = service.published_families(session)
    subgroups, _ = agencies.list_subgroups(session, params=EVERYTHING, active=True)
    active, _ = agencies.list_agencies(session, params=EVERYTHING, active=True)
    choices = {a.id: a for a in active}
    months = calendar.offered_months(today)
    if entry is not None:
        choices |= {a.id: a for a in entry.agencies}
        if entry.lead_subgroup and entry.lead_subgroup not in subgroups:
            subgroups.append(entry.lead_subgroup)
        if entry.template_family not in families:
            families.append(entry.template_family)
        if entry.first_month not in months:
            months = sorted({*months, entry.first_month})
    return render(
        request,
        "programme/entry.html",
        {
            "entry": entry,
            "form": form,
            "back": back,
            "families": [(f.id, f.name) for f in families],
            "subgroups": [(s.id, s.name) for s in subgroups],
            "agencies": [
                (a.id, a.name + ("" if a.active else " (no longer active)"))
                for a in sorted(choices.values(), key=lambda a: a.name)
            ],
            "months": [(m.isoformat(), f"{m:{calendar.MONTH_FORMAT}}") for m in months],
            "repeats": REPEATS,
        },
        status_code=status_code,
    )


def _timeline_of(request: Request, year: int) -> str:
    return url(request, "programme.timeline", query={"year": year})


@router.get("/programme/entries/new", name="programme.new")
@transactional
def new_entry(session: SessionDep, request: Request, year: Year = None) -> Response:
    today = clock.today()
    current = calendar.year_of(today)
    first = calendar.month_of(today) if year in (None, current) else date(year or current, 4, 1)
    values = {
        "first_month": first.isoformat(),
        "repeat": Repeat.NONE.value,
        "occurrences": "1",
        "returns_due_after_days": "21",
        "moderation_after_days": "35",
    }
    back = came_from(request, _timeline_of(request, year or current))
    return _entry_page(session, request, entry=None, form=ENTRY.state(values), back=back)


@router.post("/programme/entries/new", name="programme.create")
@transactional
def create_entry(session: SessionDep, request: Request, posted: PostedForm) -> Response:
    """Add a planned audit to the programme; then back to its year."""
    try:
        body = ENTRY.read(posted)
        with ENTRY.submitting(session, posted):
            entry = service.create_entry(session, today=clock.today(), **body.model_dump())
    except FormInvalid as invalid:
        back = _timeline_of(request, calendar.year_of(clock.today()))
        return _entry_page(
            session,
            request,
            entry=None,
            form=invalid.state(),
            back=back,
            status_code=invalid.status_code,
        )
    flash(f"{entry.title} has been added to the programme.")
    return redirect(
        request, "programme.timeline", query={"year": calendar.year_of(entry.first_month)}
    )


def _saved_values(entry: ProgrammeEntry) -> dict:
    return {
        "title": entry.title,
        "template_family_id": str(entry.template_family_id),
        "theme": entry.theme,
        "lead_subgroup_id": str(entry.lead_subgroup_id or ""),
        "agency_ids": [str(a.id) for a in entry.agencies],
        "first_month": entry.first_month.isoformat(),
        "repeat": entry.repeat.value,
        "occurrences": str(entry.occurrences),
        "cohort_size": str(entry.cohort_size or ""),
        "returns_due_after_days": str(entry.returns_due_after_days),
        "moderation_after_days": str(entry.moderation_after_days),
        "notes": entry.notes,
    }


def _live_entry(session: Session, entry_id: int) -> ProgrammeEntry:
    entry = service.get_entry(session, entry_id=entry_id)
    service.require_live(entry)
    return entry


@router.get("/programme/entries/{entry_id}", name="programme.edit")
@transactional
def edit_entry(session: SessionDep, request: Request, entry_id: IdPath) -> Response:
    entry = _live_entry(session, entry_id)
    back = came_from(request, _timeline_of(request, calendar.year_of(entry.first_month)))
    form = ENTRY.state(_saved_values(entry))
    return _entry_page(session, request, entry=entry, form=form, back=back)


@router.post("/programme/entries/{entry_id}", name="programme.save")
@transactional
def save_entry(
    session: SessionDep, request: Request, entry_id: IdPath, posted: PostedForm
) -> Response:
    entry = _live_entry(session, entry_id)
    try:
        body = ENTRY.read(posted)
        with ENTRY.submitting(session, posted):
            entry = service.update_entry(
                session, entry=entry, changes=body.model_dump(), today=clock.today()
            )
    except FormInvalid as invalid:
        entry = service.get_entry(session, entry_id=entry_id)
        back = _timeline_of(request, calendar.year_of(entry.first_month))
        return _entry_page(
            session,
            request,
            entry=entry,
            form=invalid.state(),
            back=back,
            status_code=invalid.status_code,
        )
    flash(f"{entry.title} has been changed.")
    return redirect(
        request, "programme.timeline", query={"year": calendar.year_of(entry.first_month)}
    )


@router.get("/programme/entries/{entry_id}/archive", name="programme.archive_check")
@transactional
def archive_check(session: SessionDep, request: Request, entry_id: IdPath) -> Response:
    """Are you sure? What archiving does, and the button that does it."""
    entry = _live_entry(session, entry_id)
    back = came_from(request, _timeline_of(request, calendar.year_of(entry.first_month)))
    return render(
        request,
        "programme/archive.html",
        {
            "entry": entry,
            "back": back,
            "repeat_labels": REPEAT_LABELS,
            "month_label": calendar.month_label,
        },
    )


@router.post("/programme/entries/{entry_id}/archive", name="programme.archive")
@transactional
def archive_entry(session: SessionDep, request: Request, entry_id: IdPath) -> Response:
    entry = _live_entry(session, entry_id)
    service.archive_entry(session, entry=entry)
    flash(f"{entry.title} has been archived: no more audits will be made for it.")
    return redirect(
        request, "programme.timeline", query={"year": calendar.year_of(entry.first_month)}
    )


@router.post("/programme/entries/{entry_id}/months/{month}/plan", name="programme.plan_now")
@transactional
def plan_now(session: SessionDep, request: Request, entry_id: IdPath, month: Month) -> Response:
    """Make the month's audit now, then go to its planning page to confirm it."""
    entry = _live_entry(session, entry_id)
    made = service.plan_audit(session, entry=entry, month=calendar.parse_month(month))
    flash(
        f"{made.title} has been planned from the programme. Check its details, agencies "
        "and cohort, then open it for returns."
    )
    return redirect(request, "audits.plan", audit_id=made.audit_id)
