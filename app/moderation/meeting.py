"""The moderation meeting as it runs: one child at a time (or one agency at a time),
each key area a row with every involved agency's answers, evidence and own grade
side by side, and a decision on each on the same page.

A decision is an explicit choice: the agency's own grade (agree) or another grade
with its rationale; nothing is chosen for the moderator. Saving a child's page saves
every decision made on it and the child's meeting notes in one transaction, or none
of them: a problem anywhere re-shows the page with every problem listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.policy import Actor
from app.agencies.models import Agency
from app.audit_templates.models import GradeLevel, KeyArea, TemplateVersion
from app.auditlog import service as auditlog
from app.audits.models import Audit, AuditStatus, Child
from app.clock import utcnow
from app.errors import InvalidInput, NotFound, StateError
from app.forms import whole_number
from app.identify import entry
from app.moderation import service
from app.moderation.models import ChildMeetingNote
from app.moderation.service import Cell, CellState, Grid
from app.returns import reading
from app.returns.models import Return
from app.returns.validation import asked_now
from app.schemas_base import check_text


def _has_control(text: str) -> bool:
    try:
        check_text(text)
    except ValueError:
        return True
    return False


RATIONALE_MAX = 20_000
NOTE_MAX = 20_000
NOTE_FIELDS = {
    "discussion": "Discussion",
    "learning_points": "Learning points raised",
    "attendees": "Who attended",
}
# The notes read by the identification guard. Not "Who attended": it is the meeting's
# own staff by name and role, by design, and would be flagged every time.
SCREENED_NOTES = ("discussion", "learning_points")


def field_name(kind: str, return_id: int, cell: int) -> str:
    """A cell's field on the meeting page: g (the grade chosen), r (the rationale), s
    (the decision the page was drawn with, to notice someone else's since)."""
    return f"{kind}-{return_id}-{cell}"


@dataclass
class Column:
    """One return on the meeting page: an agency's (by child) or a child's (by agency)."""

    return_: Return
    heading: str
    read: dict | None  # the return as read (answers, grades, evidence); None: not in
    cells: dict[int, Cell] = field(default_factory=dict)

    @property
    def answers(self) -> dict[int, str | None]:
        return {a["question_id"]: a["value"] for a in self.read["answers"]} if self.read else {}

    @property
    def evidence(self) -> dict[int, dict]:
        return {e["key_area_id"]: e for e in self.read["evidence"]} if self.read else {}

    def asked(self, version: TemplateVersion) -> dict[int, bool]:
        """Whether the return asks each question (a condition may leave one out)."""
        questions = [q for k in version.key_areas for q in k.questions] + version.case_questions
        answers = {k: v for k, v in self.answers.items() if v is not None}
        return asked_now(questions, answers)


@dataclass
class Area:
    cell: int
    title: str
    key_area: KeyArea | None  # None: the overall grade


@dataclass
class Meeting:
    grid: Grid
    child: Child | None
    agency: Agency | None
    areas: list[Area]
    columns: list[Column]
    levels: list[GradeLevel]
    note: ChildMeetingNote | None = None

    @property
    def subjects(self) -> list[tuple[int, str, bool]]:
        """The children (or agencies) to move between: (id, name, done)."""
        if self.child is not None:
            return [(c.id, c.pseudonym, self.grid.child_done(c.id)) for c in self.grid.children]
        return [(a.id, a.name, self.agency_done(a.id)) for a in self.grid.agencies]

    def agency_done(self, agency_id: int) -> bool:
        mine = [c for (_ch, a, _c), c in self.grid.cells.items() if a == agency_id]
        return bool(mine) and all(c.done for c in mine)

    @property
    def done(self) -> bool:
        return all(c.done for col in self.columns for c in col.cells.values())

    def next_id(self) -> int | None:
        """The next child (or agency) after this one still to moderate, else None."""
        here = self.child.id if self.child is not None else self.agency.id if self.agency else 0
        ids = [(i, done) for i, _name, done in self.subjects]
        at = next((n for n, (i, _d) in enumerate(ids) if i == here), 0)
        later = ids[at + 1 :] + ids[:at]
        return next((i for i, done in later if not done), None)

    def remaining(self) -> list[tuple[Column, Area, Cell]]:
        """The cells still to moderate that can be agreed: submitted, with an own grade."""
        return [
            (col, area, cell)
            for area in self.areas
            for col in self.columns
            if (cell := col.cells.get(area.cell)) is not None
            and cell.state in (CellState.TO_MODERATE, CellState.REGRADED)
            and cell.self_level is not None
        ]


def meeting(
    session: Session,
    *,
    actor: Actor,
    audit: Audit,
    child_id: int | None = None,
    agency_id: int | None = None,
) -> Meeting:
    """The meeting page's content for one child (default: the first still to moderate)
    or, with ``agency_id``, one agency. Each return read is logged, as any read is."""
    found = service.grid(session, actor=actor, audit=audit)
    child = agency = None
    if agency_id is not None:
        agency = next((a for a in found.agencies if a.id == agency_id), None)
        if agency is None:
            raise NotFound("That agency is not taking part in this audit.")
    else:
        if child_id is None:
            child_id = next(
                (c.id for c in found.children if not found.child_done(c.id)),
                found.children[0].id if found.children else None,
            )
        child = next((c for c in found.children if c.id == child_id), None)
        if child is None:
            raise NotFound(f"There is no such {audit.words.one} in this audit.")
    key_areas = {k.id: k for k in found.version.key_areas}
    areas = [Area(cell, title, key_areas.get(cell)) for cell, title in found.areas]
    names = (
        {a.id: a.name for a in found.agencies}
        if child is not None
        else {c.id: c.pseudonym for c in found.children}
    )
    shown = []
    for heading_id, heading in names.items():
        return_ = (
            found.return_for(child.id, heading_id)
            if child is not None
            else found.return_for(heading_id, agency.id if agency else 0)
        )
        if return_ is not None:
            shown.append((heading, return_))
    # The submitted ones are read, all at once (each read logged).
    read = reading.read_many(
        session,
        return_ids=[r.id for _heading, r in shown if r.status in service.MODERATABLE],
        actor=actor,
    )
    columns = []
    for heading, return_ in shown:
        column = Column(return_, heading, read.get(return_.id))
        for area in areas:
            cell = found.cell(return_.child_id, return_.agency_id, area.cell)
            if cell is not None:
                column.cells[area.cell] = cell
        columns.append(column)
    note = (
        session.scalar(select(ChildMeetingNote).where(ChildMeetingNote.child_id == child.id))
        if child is not None
        else None
    )
    levels = list(found.version.scale.levels) if found.version.scale else []
    return Meeting(found, child, agency, areas, columns, levels, note)


# --- saving a page ---------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    return_id: int
    cell: int
    level_code: str
    rationale: str
    seen: int  # the decision the page showed (0: none)


def choices_from(meeting_: Meeting, values: dict[str, str]) -> list[Choice]:
    """What the page sent for each cell on it with a grade chosen."""
    out = []
    for col in meeting_.columns:
        for cell in col.cells.values():
            code = values.get(field_name("g", cell.return_id, cell.cell), "").strip()
            rationale = values.get(field_name("r", cell.return_id, cell.cell), "").strip()
            seen = values.get(field_name("s", cell.return_id, cell.cell), "")
            if code or rationale:
                number = whole_number(seen)
                out.append(
                    Choice(
                        cell.return_id, cell.cell, code, rationale, -1 if number is None else number
                    )
                )
    return out


def note_version(note: ChildMeetingNote | None) -> str:
    """What the page's notes were drawn from, to notice another moderator's change."""
    return str(round(note.updated_at.timestamp() * 1_000_000)) if note else "0"


@dataclass
class Problems:
    errors: dict[str, str] = field(default_factory=dict)
    # Someone else saved meanwhile (a 409, not a 422): a decision, or the notes.
    conflict: bool = False


def problems(
    meeting_: Meeting,
    choices: list[Choice],
    notes: dict[str, str] | None,
    notes_seen: str = "",
    flagged: dict[str, str] | None = None,
) -> Problems:
    """Every problem with what the page sent, by field, in the page's words;
    ``flagged``: what ``identifying`` found, by field."""
    flagged = flagged or {}
    found = Problems()
    errors = found.errors
    codes = {lv.code: lv for lv in meeting_.levels}
    cells = {
        (c.return_id, c.cell): (col, c) for col in meeting_.columns for c in col.cells.values()
    }
    titles = {a.cell: a.title for a in meeting_.areas}
    for choice in choices:
        col, cell = cells[(choice.return_id, choice.cell)]
        where = f"{col.heading}, {titles[choice.cell]}"
        g = field_name("g", choice.return_id, choice.cell)
        r = field_name("r", choice.return_id, choice.cell)
        current = cell.decision.id if cell.decision else 0
        if cell.return_status not in service.MODERATABLE or cell.state == CellState.LEFT_OUT:
            errors[g] = f"{where}: the return is not in, so it cannot be moderated yet"
        elif choice.seen != current:
            found.conflict = True
            now = cell.moderated_level.label if cell.moderated_level else "undecided"
            errors[g] = (
                f"{where}: someone else saved a decision since this page was opened (it is "
                f"now {now}). Check it and save again"
            )
        elif not choice.level_code:
            errors[g] = f"{where}: choose the moderated grade, or clear the rationale"
        elif choice.level_code not in codes:
            errors[g] = f"{where}: choose a grade from the scale"
        elif (cell.self_level is None or codes[choice.level_code].id != cell.self_level.id) and (
            not choice.rationale
        ):
            errors[r] = f"{where}: say why the agency's grade is changed"
        elif len(choice.rationale) > RATIONALE_MAX:
            errors[r] = f"{where}: the rationale must be {RATIONALE_MAX:,} characters or fewer"
        elif _has_control(choice.rationale):
            errors[r] = f"{where}: the rationale must not contain control characters"
        if r in flagged and r not in errors:
            errors[r] = f"{where}: {flagged[r]}"
    if notes is None:
        _confirmation(errors, flagged)
        return found
    for name, label in NOTE_FIELDS.items():
        text = notes.get(name, "")
        if len(text) > NOTE_MAX:
            errors[name] = f"{label} must be {NOTE_MAX:,} characters or fewer"
        elif _has_control(text):
            errors[name] = f"{label} must not contain control characters"
        elif name in flagged:
            errors[name] = f"{label}: {flagged[name]}"
    note = meeting_.note
    saved = {name: getattr(note, name) if note else "" for name in NOTE_FIELDS}
    changed = any(notes.get(name, "").strip() != saved[name] for name in NOTE_FIELDS)
    if changed and notes_seen != note_version(note):
        found.conflict = True
        who = note.updated_by_label if note else "someone"
        errors["discussion"] = (
            f"{who} changed the meeting's notes since this page was opened. Check them "
            "(they are shown now) and save again"
        )
    _confirmation(errors, flagged)
    return found


def _confirmation(errors: dict[str, str], flagged: dict[str, str]) -> None:
    # Last, beside the save button: one confirmation covers the page.
    if entry.CONFIRM_FIELD in flagged:
        errors[entry.CONFIRM_FIELD] = flagged[entry.CONFIRM_FIELD]


def identifying(
    session: Session,
    meeting_: Meeting,
    choices: list[Choice],
    notes: dict[str, str] | None,
    *,
    confirmed: bool,
) -> dict[str, str]:
    """What the page would save that looks like it could identify someone (a rationale
    by its cell's field, a note by its own), with the request to confirm it does not
    (``entry.CONFIRM_FIELD``); nothing once the moderator has confirmed. Only what
    saving would write is read: a decision saved before, sent again unchanged, was
    confirmed when it was saved, and an agreement keeps no rationale."""
    cells = {(c.return_id, c.cell): c for col in meeting_.columns for c in col.cells.values()}
    texts: dict[str, str] = {}
    for choice in choices:
        cell = cells[(choice.return_id, choice.cell)]
        agreeing = cell.self_level is not None and cell.self_level.code == choice.level_code
        if choice.rationale and not agreeing and not unchanged(cell, choice):
            texts[field_name("r", choice.return_id, choice.cell)] = choice.rationale
    if notes is not None and meeting_.child is not None:
        note = meeting_.note
        for name in SCREENED_NOTES:
            text = notes.get(name, "").strip()
            if text and text != (getattr(note, name) if note else ""):
                texts[name] = text
    if not texts:
        return {}
    try:
        entry.screen(session, texts, confirmed=confirmed)
    except InvalidInput as refused:  # one message a field, naming all found in it
        return {problem.field: problem.message for problem in refused.fields}
    return {}


def unchanged(cell: Cell, choice: Choice) -> bool:
    """The choice is the decision already there (nothing to save again)."""
    d = cell.decision
    return (
        d is not None
        and cell.state != CellState.REGRADED
        and cell.moderated_level is not None
        and cell.moderated_level.code == choice.level_code
        and (d.rationale or "") == (choice.rationale if d.level_id != d.self_level_id else "")
    )


def save(
    session: Session,
    *,
    actor: Actor,
    audit: Audit,
    meeting_: Meeting,
    choices: list[Choice],
    notes: dict[str, str] | None,
    confirmed: bool = False,
) -> int:
    """Save the page's decisions (and, for a child, its notes); the caller has taken
    the audit's lock and checked ``problems`` (and ``identifying``). ``confirmed``: the
    moderator confirmed that what is flagged on the page identifies no one, logged for
    each decision and for the notes. Returns how many decisions were saved."""
    if audit.status != AuditStatus.MODERATION:
        raise StateError(
            f"The audit is {audit.status.value}: the meeting's decisions and notes can be "
            "saved only while it is in moderation."
        )
    cells = {(c.return_id, c.cell): c for col in meeting_.columns for c in col.cells.values()}
    returns = {col.return_.id: col.return_ for col in meeting_.columns}
    saved = 0
    for choice in choices:
        cell = cells[(choice.return_id, choice.cell)]
        if unchanged(cell, choice):
            continue
        agreeing = cell.self_level is not None and cell.self_level.code == choice.level_code
        service.decide(
            session,
            audit=audit,
            return_=returns[choice.return_id],
            cell=choice.cell,
            level_code=choice.level_code,
            rationale="" if agreeing else choice.rationale,
            actor=actor,
            confirmed=confirmed,
        )
        saved += 1
    if notes is not None and meeting_.child is not None:
        save_note(
            session,
            audit=audit,
            child=meeting_.child,
            notes=notes,
            actor=actor,
            confirmed=confirmed,
        )
    return saved


def save_note(
    session: Session,
    *,
    audit: Audit,
    child: Child,
    notes: dict[str, str],
    actor: Actor,
    confirmed: bool = False,
) -> None:
    """Save the child's meeting notes. A changed discussion or learning point that looks
    identifying is refused unless ``confirmed``; the confirmation is logged."""
    note = session.scalar(select(ChildMeetingNote).where(ChildMeetingNote.child_id == child.id))
    values = {name: notes.get(name, "").strip() for name in NOTE_FIELDS}
    changed = {
        name: values[name]
        for name in SCREENED_NOTES
        if values[name] != (getattr(note, name) if note else "")
    }
    flagged = entry.screen(session, changed, confirmed=confirmed) if any(changed.values()) else []
    if note is None:
        if not any(values.values()):
            return
        note = ChildMeetingNote(
            audit_id=audit.id, child_id=child.id, updated_by_label=actor.label, **values
        )
        session.add(note)
        session.flush()
        auditlog.record(
            session,
            action="moderation.meeting_note",
            object_type="child",
            object_id=child.id,
            after=values,
        )
        entry.record_confirmation(session, flagged, object_type="child", object_id=child.id)
        return
    before = {name: getattr(note, name) for name in NOTE_FIELDS}
    if before == values:
        return
    for name, value in values.items():
        setattr(note, name, value)
    note.updated_by_label = actor.label
    note.updated_at = utcnow()
    session.flush()
    auditlog.record(
        session,
        action="moderation.meeting_note",
        object_type="child",
        object_id=child.id,
        before={k: v for k, v in before.items() if values[k] != v},
        after={k: v for k, v in values.items() if before[k] != v},
    )
    entry.record_confirmation(session, flagged, object_type="child", object_id=child.id)


def listed(meeting_: Meeting) -> str:
    """The grades agree_remaining would agree, as the confirmation page lists them: each
    cell with the decision it has now (0: none), to notice a change before agreeing."""
    return ",".join(
        f"{cell.return_id}-{cell.cell}-{cell.decision.id if cell.decision else 0}"
        for _col, _area, cell in meeting_.remaining()
    )


def agree_remaining(session: Session, *, actor: Actor, audit: Audit, meeting_: Meeting) -> int:
    """Agree with the agency's own grade in every cell of the page still to moderate."""
    remaining = meeting_.remaining()
    for col, _area, cell in remaining:
        level = cell.self_level
        assert level is not None  # remaining() leaves out cells with no own grade
        service.decide(
            session,
            audit=audit,
            return_=col.return_,
            cell=cell.cell,
            level_code=level.code,
            rationale="",
            actor=actor,
        )
    return len(remaining)
