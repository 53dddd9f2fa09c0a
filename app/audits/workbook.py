"""The whole audit in one Excel workbook, for the business unit's analysts and anyone
else who reads the audit in Microsoft 365: what it is, its cohort, every return with
its answers, the grades (own and moderated, with the moderator's rationale), how far
the returns have got, the findings and the learning actions.

Each sheet holds what the reader may see and nothing more, read through the services
the pages and the API use, so the need to know is theirs: the cohort as the children
API lists it (``cohort.page_children``, ``involvement_rows``), the returns as the
audit's answers file reads them (``audit_data.audit_rows``: only the returns the reader
may read, moderated grades only where they may see moderation), progress as the
overview counts it, the findings the reader may see (``findings.list_findings``) and
the actions as the tracker lists them (``tracker.rows``). The grades sheet is made from
the returns ``audit_rows`` read, with the current moderation decisions on those same
returns when (and only when) its rows show moderated grades.

As the other spreadsheets (app/actions/export.py): real types (dates are Excel dates,
counts numbers), a bold frozen header and an autofilter on every sheet of rows; no
text is ever read as a formula or a link. Children are named by pseudonym only. The
download is one row in the audit log ("audit.exported"), naming the sheets and the
returns read.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import xlsxwriter
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased
from starlette.responses import Response

from app.access.policy import Actor, Permission
from app.actions import export as action_export
from app.actions import tracker
from app.actions.lifecycle import Clock
from app.agencies.models import Agency
from app.audit_templates.models import GradeLevel
from app.auditlog import service as auditlog
from app.audits import cohort
from app.audits import progress as returns_progress
from app.audits.models import Audit, AuditStatus, Child
from app.audits.stage import STAGE_LABELS
from app.clock import LONDON, utcnow
from app.findings import service as findings
from app.findings.models import KIND_LABELS, Finding
from app.moderation.models import ModeratedGrade
from app.moderation.service import MODERATABLE, OVERALL, CellState
from app.pagination import PageParams
from app.returns import audit_data
from app.returns.models import ReturnStatus

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_ACTION = "audit.exported"
SHEETS = ("About", "Cohort", "Returns", "Grades", "Progress", "Findings", "Actions")
DATE_FORMAT = "d mmm yyyy"
DATETIME_FORMAT = "d mmm yyyy hh:mm"
EVERY_CHILD = PageParams(1, 10_000)  # a cohort is 5-10 children: all of them, at once
OVERALL_TITLE = "Overall"


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: list[tuple[str, int]] = field(default_factory=list)  # (header, width)
    rows: list[list[Any]] = field(default_factory=list)
    filtered: bool = True  # an autofilter on the header row
    # The returns sheet is the audit's answers file's own (audit_data.write_sheet).
    answers: audit_data.AuditRows | None = None


def filename(audit_id: int, today: date) -> str:
    return f"audit-{audit_id}-{today.isoformat()}.xlsx"


def whole_audit(session: Session, *, actor: Actor, audit: Audit, clock: Clock) -> list[Sheet]:
    """Every sheet of the workbook (``SHEETS``, in order) as ``actor`` may see it, and
    one row in the audit log for the whole read. The caller found ``audit`` through the
    actor's scope, with its template, lead subgroup and agencies loaded."""
    answers = audit_data.audit_rows(session, actor=actor, audit=audit, log=False)
    progress = returns_progress.progress(session, actor=actor, audit=audit)
    children, _count = cohort.page_children(session, actor=actor, audit=audit, params=EVERY_CHILD)
    involved = cohort.involvement_rows(session, actor=actor, child_ids=[c.id for c in children])
    found = findings.list_findings(session, actor=actor, audit=audit)
    may_read_actions = actor.may(Permission.ACTION_READ)
    actions: list[tracker.ActionRow] = []
    if may_read_actions:
        actions, _total = tracker.rows(
            session, actor=actor, filters=tracker.TrackerFilter(audit_id=audit.id), clock=clock
        )
    left_out = _left_out(session, actor, audit, answers, progress, may_read_actions)
    sheets = [
        _about(session, actor, audit, left_out),
        _cohort(audit, children, involved),
        Sheet("Returns", answers=answers),
        _grades(session, audit, answers),
        _progress(progress),
        _findings(session, audit, found),
        _actions(actions),
    ]
    auditlog.record(
        session,
        action=EXPORT_ACTION,
        object_type="audit",
        object_id=audit.id,
        after={"file": "xlsx", "sheets": list(SHEETS), "return_ids": sorted(answers.return_ids)},
    )
    return sheets


# --- what is in each sheet ---------------------------------------------------------------


def _local(at: datetime | None) -> datetime | None:
    """A stored (UTC) time as the clock on the wall in England read it: Excel has no
    time zones."""
    return at.astimezone(LONDON).replace(tzinfo=None) if at is not None else None


def _agency_name(session: Session, actor: Actor) -> str:
    agency = session.get(Agency, actor.agency_id) if actor.agency_id is not None else None
    return agency.name if agency is not None else ""


def _left_out(
    session: Session,
    actor: Actor,
    audit: Audit,
    answers: audit_data.AuditRows,
    progress: dict,
    may_read_actions: bool,
) -> list[str]:
    """What the reader's need to know leaves out of the workbook, in words."""
    lines = []
    many = audit.words.many
    if not actor.may(Permission.RETURN_READ):
        lines.append(
            "Returns and grades: your role reads no return (the agencies' answers are read "
            "by the agencies, the moderators and the partnership's scrutineers)."
        )
    elif not actor.partnership_wide:
        agency = _agency_name(session, actor) or "your agency"
        lines.append(
            f"Only what {agency} may see: the returns it may read at this stage of the "
            f"audit, the {many} it was involved with, and the findings about them."
        )
    else:
        # Progress counts every return for those who see the whole partnership.
        unread = progress["totals"].get("expected", 0) - len(answers.return_ids)
        if unread > 0:
            lines.append(f"{unread} of the audit's returns: you may not read them.")
    if (
        actor.may(Permission.RETURN_READ)
        and answers.version is not None
        and answers.version.scale is not None
        and not answers.moderated
    ):
        if audit.status == AuditStatus.PLANNED:
            lines.append("Moderated grades: there are none before the audit opens.")
        else:
            lines.append(
                "Moderated grades: agencies see them only while the audit is in moderation."
            )
    if not may_read_actions:
        lines.append("Learning actions: your role does not read them.")
    return lines or ["Nothing: you may read the whole audit."]


def _about(session: Session, actor: Actor, audit: Audit, left_out: list[str]) -> Sheet:
    version = audit.template_version
    roles = ", ".join(sorted(role.value.replace("_", " ") for role in actor.roles))
    agency = _agency_name(session, actor)
    rows: list[list[Any]] = [
        ["Audit", audit.title],
        ["Audit ID", audit.id],
        ["Theme", audit.theme],
        ["Template", version.name],
        ["Template version", version.number],
        ["Its cases", audit.words.many.capitalize()],
        ["Lead subgroup", audit.lead_subgroup.name if audit.lead_subgroup else ""],
        ["Agencies taking part", "; ".join(a.name for a in audit.agencies)],
        ["Stage", STAGE_LABELS[audit.status]],
        ["Period looked at, from", audit.period_from],
        ["Period looked at, to", audit.period_to],
        ["Returns due", audit.returns_due_on],
        ["Moderation meeting", audit.moderation_meeting_on],
        ["Opened", _local(audit.opened_at)],
        ["Moderation started", _local(audit.moderation_started_at)],
        ["Learning started", _local(audit.learning_started_at)],
        ["Closed", _local(audit.closed_at)],
        ["Exported", _local(utcnow())],
        ["Exported by", actor.name or actor.label],
        ["As seen by", f"{roles}{f' of {agency}' if agency else ''}"],
        *[["Left out", line] for line in left_out],
        ["Sheets", "; ".join(SHEETS)],
    ]
    return Sheet("About", [("Item", 24), ("Detail", 90)], rows, filtered=False)


def _cohort(audit: Audit, children: Sequence[Child], involved: dict[int, list[dict]]) -> Sheet:
    """The children the reader may see, with the agencies involved that they may see;
    in an audit about agencies, each agency's case and its return."""
    rows: list[list[Any]]
    if audit.about_agencies:
        rows = [
            [
                c.pseudonym,
                "; ".join(
                    audit_data.STATUS_WORDS[i["return_status"]] for i in involved.get(c.id, [])
                ),
            ]
            for c in children
        ]
        return Sheet("Cohort", [("Agency", 32), ("Its return", 16)], rows)
    rows = [
        [
            c.pseudonym,
            c.age_band.value if c.age_band else "",
            "; ".join(c.context_tags or []),
            "; ".join(i["agency_name"] for i in involved.get(c.id, [])),
            len(involved.get(c.id, [])),
        ]
        for c in children
    ]
    columns = [
        ("Child", 14),
        ("Age band", 10),
        ("Context", 40),
        ("Agencies involved", 60),
        ("Returns expected", 12),
    ]
    return Sheet("Cohort", columns, rows)


@dataclass(frozen=True)
class _Decision:
    level: str
    self_level: str | None
    agreed: bool
    shift: int | None
    rationale: str
    decided_by: str
    decided_at: datetime


def _decisions(
    session: Session, audit: Audit, return_ids: list[int]
) -> dict[tuple[int, int], _Decision]:
    """The current decision on each cell of these returns (the ones the reader read)."""
    if not return_ids:
        return {}
    level, own = aliased(GradeLevel), aliased(GradeLevel)
    rows = session.execute(
        select(ModeratedGrade, level.label, own.label)
        .join(level, level.id == ModeratedGrade.level_id)
        .outerjoin(own, own.id == ModeratedGrade.self_level_id)
        .where(
            ModeratedGrade.audit_id == audit.id,
            ModeratedGrade.superseded_at.is_(None),
            ModeratedGrade.return_id.in_(return_ids),
        )
    )
    return {
        (d.return_id, d.cell): _Decision(
            level=level_label,
            self_level=own_label,
            agreed=d.level_id == d.self_level_id,
            shift=d.shift,
            rationale=d.rationale,
            decided_by=d.decided_by_label,
            decided_at=d.decided_at,
        )
        for d, level_label, own_label in rows
    }


def _state(read: Any, own: str, decision: _Decision | None) -> str:
    """The cell's state as the moderation grid words it (moderation.service.Cell)."""
    if read.excluded_at is not None:
        state = CellState.LEFT_OUT
    elif read.status not in MODERATABLE:
        state = CellState.NOT_SUBMITTED
    elif decision is None:
        state = CellState.TO_MODERATE
    elif decision.self_level != (own or None):
        state = CellState.REGRADED
    else:
        state = CellState.AGREED if decision.agreed else CellState.CHANGED
    return state.capitalize()


def _grades(session: Session, audit: Audit, answers: audit_data.AuditRows) -> Sheet:
    """One row per return read and graded key area (then the overall grade): the
    agency's own grade and its boxes of evidence and, where the reader may see
    moderation, the moderated grade with the moderator's rationale."""
    version = answers.version
    about_agencies = audit.about_agencies
    boxes = version.evidence_box_list if version is not None else []
    columns = [
        *([] if about_agencies else [("Child", 14)]),
        ("Agency", 28),
        ("Status", 14),
        ("Key area", 30),
        ("Own grade", 16),
        *[(f"Own evidence: {box.label}", 40) for box in boxes],
    ]
    if answers.moderated:
        columns += [
            ("Moderated grade", 16),
            ("Moderation", 18),
            ("Levels moved (+ worse)", 12),
            ("Moderator's rationale", 60),
            ("Decided by", 28),
            ("Decided at", 18),
        ]
    if version is None or version.scale is None:
        return Sheet("Grades", columns, [])
    cells = [(k.id, k.title) for k in version.key_areas if k.graded]
    if version.has_overall_grade:
        cells.append((OVERALL, OVERALL_TITLE))
    decided = _decisions(session, audit, answers.return_ids) if answers.moderated else {}
    rows = []
    for read in answers.returns:
        left_out = read.excluded_at is not None
        status = audit_data.NOT_RECEIVED if left_out else audit_data.STATUS_WORDS[read.status]
        own_grades = answers.grades.get(read.id, {})
        evidence = answers.evidence.get(read.id, {})
        for cell, title in cells:
            own = (read.overall_label or "") if cell == OVERALL else own_grades.get(cell, "")
            boxed = evidence.get(cell)
            row: list[Any] = [
                *([] if about_agencies else [read.pseudonym]),
                read.agency_name,
                status,
                title,
                own,
                *[(getattr(boxed, box.box) or "") if boxed else "" for box in boxes],
            ]
            if answers.moderated:
                decision = decided.get((read.id, cell))
                row += [
                    decision.level if decision else "",
                    _state(read, own, decision),
                    decision.shift if decision else None,
                    decision.rationale if decision else "",
                    decision.decided_by if decision else "",
                    _local(decision.decided_at) if decision else None,
                ]
            rows.append(row)
    return Sheet("Grades", columns, rows)


# How far the returns have got, as the overview words it (with those sent back apart).
PROGRESS_COLUMNS = (
    ("Expected", "expected"),
    ("Not started", ReturnStatus.NOT_STARTED.value),
    ("In progress", ReturnStatus.DRAFT.value),
    ("Sent back", ReturnStatus.RETURNED.value),
    ("Submitted", ReturnStatus.SUBMITTED.value),
    ("Moderated", ReturnStatus.MODERATED.value),
)


def _progress(progress: dict) -> Sheet:
    """Each agency's returns (those the reader may count) by how far they have got."""
    rows = [
        [a["agency_name"], *[a.get(key, 0) for _header, key in PROGRESS_COLUMNS]]
        for a in progress["by_agency"]
    ]
    return Sheet("Progress", [("Agency", 32), *[(h, 12) for h, _key in PROGRESS_COLUMNS]], rows)


def _findings(session: Session, audit: Audit, found: list[Finding]) -> Sheet:
    linked = findings.action_ids(session, finding_ids=[f.id for f in found])
    columns = [
        ("ID", 6),
        ("Kind", 20),
        ("Statement", 80),
        ("Themes", 40),
        ("Key area", 30),
        ("Agency", 28),
        ("Case" if audit.about_agencies else "Child", 14),
        ("Recorded by", 28),
        ("Recorded at", 18),
        ("Learning actions (IDs)", 16),
    ]
    rows = [
        [
            f.id,
            KIND_LABELS[f.kind],
            f.statement,
            "; ".join(t.name for t in f.themes),
            f.key_area.title if f.key_area else "",
            f.agency.name if f.agency else "",
            f.child.pseudonym if f.child else "",
            f.created_by_label,
            _local(f.created_at),
            "; ".join(str(i) for i in linked.get(f.id, [])),
        ]
        for f in found
    ]
    return Sheet("Findings", columns, rows)


# The tracker's own columns (app/actions/export.py), but the audit's: it is this one.
ACTION_COLUMNS = [c for c in action_export.COLUMNS if c[0] != "Audit"]


def _actions(actions: list[tracker.ActionRow]) -> Sheet:
    return Sheet(
        "Actions",
        [(header, width) for header, width, _value in ACTION_COLUMNS],
        [[value(row) for _header, _width, value in ACTION_COLUMNS] for row in actions],
    )


# --- the file ------------------------------------------------------------------------------


def to_xlsx(sheets: list[Sheet]) -> bytes:
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    bold = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    top = workbook.add_format({"valign": "top", "text_wrap": True})
    dates = workbook.add_format({"num_format": DATE_FORMAT, "align": "left", "valign": "top"})
    times = workbook.add_format({"num_format": DATETIME_FORMAT, "align": "left", "valign": "top"})
    for found in sheets:
        if found.answers is not None:
            audit_data.write_sheet(workbook, found.answers, found.name)
            continue
        sheet = workbook.add_worksheet(found.name)
        for col, (header, width) in enumerate(found.columns):
            sheet.write_string(0, col, header, bold)
            sheet.set_column(col, col, width)
        for index, row in enumerate(found.rows, start=1):
            for col, cell in enumerate(row):
                if cell is None or cell == "":
                    sheet.write_blank(index, col, None, top)
                elif isinstance(cell, datetime):
                    sheet.write_datetime(index, col, cell, times)
                elif isinstance(cell, date):
                    sheet.write_datetime(index, col, cell, dates)
                elif isinstance(cell, bool):
                    sheet.write_string(index, col, "Yes" if cell else "No", top)
                elif isinstance(cell, int | float):
                    sheet.write_number(index, col, cell, top)
                else:
                    sheet.write_string(index, col, str(cell), top)
        sheet.freeze_panes(1, 0)
        if found.filtered and found.columns:
            sheet.autofilter(0, 0, len(found.rows), len(found.columns) - 1)
    workbook.close()
    return out.getvalue()


def download(sheets: list[Sheet], *, audit_id: int, today: date) -> Response:
    return Response(
        to_xlsx(sheets),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename(audit_id, today)}"'},
    )
