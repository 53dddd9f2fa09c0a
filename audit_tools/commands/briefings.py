"""``audit-tools briefings``: learning briefings and subgroup reports as PDFs."""

from __future__ import annotations

import os
from datetime import date
from enum import StrEnum
from pathlib import Path

import typer

from app import clock
from app.access.policy import SYSTEM
from app.audits.service import get_audit
from app.briefings import content, drafting, facts
from app.briefings.render import RenderFailed, html_for, render_in_worker
from app.config import get_settings
from audit_tools.context import console, fail, unit_of_work

app = typer.Typer(
    help="Learning briefings and subgroup reports as accessible PDFs.", no_args_is_help=True
)


@app.callback()
def briefings() -> None:
    """Learning briefings and subgroup reports as accessible PDFs."""


class Kind(StrEnum):
    BRIEFING = "briefing"
    SUBGROUP_REPORT = "subgroup-report"


class Marking(StrEnum):
    OFFICIAL = "OFFICIAL"
    OFFICIAL_SENSITIVE = "OFFICIAL-SENSITIVE"


def _render_to(out: Path, kind: str, context: dict, *, timeout: float) -> bytes:
    """Render the document ``kind`` of ``context`` in a worker process and write it to
    ``out``; a render or a write that fails ends the command, saying why."""
    try:
        pdf = render_in_worker(html_for(kind, context), context["doc"]["title"], timeout=timeout)
    except RenderFailed as exc:
        fail(f"The PDF could not be rendered: {exc}")
    try:
        out.write_bytes(pdf)
    except OSError as exc:
        fail(f"Cannot write {out}: {exc.strerror or exc}.")
    return pdf


def _check_writable(out: Path) -> None:
    """Refuse a path the PDF could not be written to before spending a render on it."""
    if out.is_dir():
        fail(f"{out} is a folder: give a file name such as {out / 'briefing.pdf'}.")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        fail(f"Cannot write {out}: the folder {folder} does not exist.")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        fail(f"Cannot write {out}: permission denied.")


@app.command()
def render(
    audit_id: int = typer.Argument(..., help="The audit's id (see the audits page)."),
    kind: Kind = typer.Option(Kind.BRIEFING, "--kind", help="What to render."),
    out: Path = typer.Option(..., "--out", "-o", help="The PDF file to write."),
    marking: Marking = typer.Option(
        Marking.OFFICIAL, "--marking", help="Protective marking at the top and foot of each page."
    ),
    title: str = typer.Option(
        "", "--title", help="The briefing's title (default: 'Learning briefing: <audit title>')."
    ),
    version_label: str = typer.Option("Draft", "--version-label", help="Shown in the footer."),
    timeout: float = typer.Option(120, "--timeout", help="Seconds before the render is stopped."),
) -> None:
    """Render the drafted learning briefing, or the subgroup report, of an audit to a PDF.
    The render runs in a separate worker process; nothing in the database changes."""
    _check_writable(out)
    settings = get_settings()
    today = clock.today()
    with unit_of_work() as session:
        audit = get_audit(session, audit_id=audit_id, actor=SYSTEM)
        facts.check_renderable(audit, kind.value)
        if kind == Kind.BRIEFING:
            context = content.briefing_context(
                session,
                audit=audit,
                sections=drafting.draft_sections(session, audit=audit),
                title=title or f"Learning briefing: {audit.title}",
                marking=marking.value,
                version_label=version_label,
                dated=today,
                settings=settings,
                # No check reads it: small counts of children print as "fewer than N".
                suppressed=content.EveryTable(),
            )
        else:
            context = content.subgroup_report_context(
                session,
                audits=[audit],
                subgroup_name=None,
                marking=marking.value,
                version_label=version_label,
                dated=today,
                today=today,
                settings=settings,
                # No check reads it: small counts of children print as "fewer than N".
                suppressed=content.EveryTable(),
            )
        session.rollback()  # a render only reads
    pdf = _render_to(out, kind.value, context, timeout=timeout)
    console.print(
        f"Wrote the {kind.value.replace('-', ' ')} of audit {audit_id} to {out} "
        f"({len(pdf) // 1024} KB, marked {marking.value}).",
        highlight=False,
    )


@app.command("publish-check")
def publish_check(
    target: str = typer.Argument(
        ..., metavar="FILE_OR_ID", help="A PDF, HTML or text file, or a briefing version's id."
    ),
    audit_id: int = typer.Option(
        0, "--audit", min=0, help="For a file: check it against this audit's children and names."
    ),
) -> None:
    """Look for anything that could identify a child: a pseudonym tied to case detail,
    an NHS number, a date of birth, a postcode, a name from the audit's records (all
    refused), and small counts (warned). A PDF is read as the service reads one before
    publishing it: each page's text, its properties and its XMP metadata. Exit 1 if
    anything would be refused."""
    from app.briefings import service as briefings_service
    from app.briefings import workflow as briefings_workflow
    from app.identify import check as identify

    settings = get_settings()
    path = Path(target)
    with unit_of_work() as session:
        if path.is_file():
            audit = get_audit(session, audit_id=audit_id, actor=SYSTEM) if audit_id else None
            known = briefings_workflow.check_inputs(session, audit=audit, settings=settings)
            if path.suffix.lower() == ".pdf":
                report = briefings_workflow.check_printed(path.read_bytes(), against=known)
            else:
                text = path.read_text(encoding="utf-8", errors="replace")
                if path.suffix.lower() in (".html", ".htm"):
                    text = briefings_workflow._text_of(text)
                report = identify.check([(path.name, text)], **known)
            what = str(path)
        elif target.isdigit():
            version = briefings_service.get_version(session, version_id=int(target))
            report = briefings_workflow.check(session, version=version, settings=settings)
            what = f"{version.briefing.title}, version {version.number}"
        else:
            fail(f"{target} is neither a file nor a briefing version's id.")
    for problem in report.problems:
        tag = "[red]REFUSED[/]" if problem.blocking else "[yellow]CHECK[/]"
        console.print(f"{tag} {problem.where}: {problem.message}")
        console.print(f"        {problem.excerpt}", markup=False, highlight=False)
    refused, warned = len(report.refusals), len(report.warnings)
    if refused:
        console.print(f"{what}: {refused} problem(s) would stop publication, {warned} to check.")
        raise typer.Exit(1)
    console.print(f"{what}: nothing would stop publication; {warned} thing(s) to check.")


@app.command("period-report")
def period_report(
    start: str = typer.Option(..., "--from", metavar="YYYY-MM-DD", help="First day of the period."),
    end: str = typer.Option(..., "--to", metavar="YYYY-MM-DD", help="Last day of the period."),
    out: Path = typer.Option(..., "--out", "-o", help="The PDF file to write."),
    subgroup: str = typer.Option("", "--subgroup", help="Only audits this subgroup leads."),
    marking: Marking = typer.Option(Marking.OFFICIAL, "--marking"),
    timeout: float = typer.Option(120, "--timeout"),
) -> None:
    """Render a subgroup report over every audit moderated in a period (by the day
    moderation opened): per-agency results, pooled moderation analytics, the action
    tracker, the overdue list, downloads and assurance answers."""
    from sqlalchemy import select

    from app.access.policy import MODERATED_STATUSES
    from app.agencies.models import Subgroup
    from app.audits.models import Audit

    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        fail("--from and --to must be dates like 2026-04-01.")
    if last < first:
        fail("--to must be on or after --from.")
    _check_writable(out)
    settings = get_settings()
    today = clock.today()
    with unit_of_work() as session:
        stmt = select(Audit).where(Audit.status.in_(MODERATED_STATUSES)).order_by(Audit.id)
        name = None
        if subgroup:
            group = session.scalar(select(Subgroup).where(Subgroup.name == subgroup))
            if group is None:
                fail(f"There is no subgroup called {subgroup!r}.")
            stmt, name = stmt.where(Audit.lead_subgroup_id == group.id), group.name
        audits = [
            a
            for a in session.scalars(stmt)
            if a.moderation_started_at and first <= a.moderation_started_at.date() <= last
        ]
        if not audits:
            fail(f"No audit was moderated between {first:%-d %B %Y} and {last:%-d %B %Y}.")
        audits = [get_audit(session, audit_id=a.id, actor=SYSTEM) for a in audits]
        context = content.subgroup_report_context(
            session,
            audits=audits,
            subgroup_name=name,
            marking=marking.value,
            version_label=f"{first:%-d %b %Y} to {last:%-d %b %Y}",
            dated=today,
            today=today,
            settings=settings,
            # No check reads it: small counts of children print as "fewer than N".
            suppressed=content.EveryTable(),
        )
        session.rollback()
    _render_to(out, "subgroup-report", context, timeout=timeout)
    console.print(f"Wrote the report on {len(audits)} audit(s) to {out}.", highlight=False)


@app.command("inspection-pack")
def inspection_pack(
    start: str = typer.Option(..., "--from", metavar="YYYY-MM-DD", help="First day of the period."),
    end: str = typer.Option(..., "--to", metavar="YYYY-MM-DD", help="Last day of the period."),
    out: Path = typer.Option(..., "--out", "-o", help="The PDF file to write."),
    theme: str = typer.Option("", "--theme", help="Only the audits of this theme."),
    figures: Path | None = typer.Option(
        None, "--figures", help="Also write the pack's figures to this spreadsheet (.xlsx)."
    ),
    marking: Marking = typer.Option(Marking.OFFICIAL_SENSITIVE, "--marking"),
    timeout: float = typer.Option(120, "--timeout"),
) -> None:
    """Render an inspection readiness pack for a period: the three self-evaluation
    answers drafted from the figures, then the evidence (the audits run, the children
    and agencies in them, grades and moderation, themes audited again, findings,
    actions and their impact, briefings and their reach, assurance answers, families'
    voices), small counts shown as "fewer than N". For a pack to edit, check, approve
    and publish, draft one on the briefings page instead."""
    from app.briefings import pack
    from app.errors import InvalidInput

    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        fail("--from and --to must be dates like 2026-04-01.")
    _check_writable(out)
    if figures is not None:
        _check_writable(figures)
    settings = get_settings()
    today = clock.today()
    with unit_of_work() as session:
        try:
            period = pack.period_of(first, last, theme)
        except InvalidInput as exc:
            fail(f"{exc.message} " + " ".join(f.message + "." for f in exc.fields))
        context = pack.context(
            session,
            period=period,
            title=pack.TITLE,
            sections=None,
            marking=marking.value,
            version_label="Drafted from the figures",
            dated=today,
            settings=settings,
        )
        session.rollback()
    _render_to(out, "inspection-pack", context, timeout=timeout)
    console.print(
        f"Wrote the inspection readiness pack ({period.words}) to {out}.", highlight=False
    )
    if figures is not None:
        figures.write_bytes(pack.to_xlsx(context["trends"], context["doc"]))
        console.print(f"Wrote its figures to {figures}.", highlight=False)
