"""Which records a trend counts: the audit filters every figure shares, on whichever
audit a query reaches (an action's, a briefing's)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute

from app.audit_templates.models import KeyArea, TemplateVersion
from app.audits.models import Audit, audit_agency
from app.clock import LONDON
from app.moderation.analytics import OVERALL
from app.trends.figures import Filters


def utc_start(day: date) -> datetime:
    """The start of ``day`` in UTC: as the moderation analytics counts days."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def london_start(day: date) -> datetime:
    """The start of ``day`` in England: as a briefing's downloads are counted by month."""
    return datetime.combine(day, time.min, tzinfo=LONDON)


def utc_span(attribute, start: date, end: date) -> list[ColumnElement[bool]]:
    return [attribute >= utc_start(start), attribute < utc_start(end + timedelta(days=1))]


def london_span(attribute, start: date, end: date) -> list[ColumnElement[bool]]:
    return [attribute >= london_start(start), attribute < london_start(end + timedelta(days=1))]


def audit_filters(filters: Filters, audit=Audit) -> list[ColumnElement[bool]]:
    """The theme, lead subgroup and template filters on ``audit`` (Audit or an alias)."""
    f = filters
    found: list[ColumnElement[bool]] = []
    if f.theme:
        found.append(audit.theme == f.theme)
    if f.subgroup_id:
        found.append(audit.lead_subgroup_id == f.subgroup_id)
    if f.template_id:
        versions = select(TemplateVersion.id).where(TemplateVersion.family_id == f.template_id)
        found.append(audit.template_version_id.in_(versions))
    return found


def took_part(agency_id: int, audit=Audit) -> ColumnElement[bool]:
    """The agency is one of the audit's participants."""
    return (
        select(audit_agency.c.audit_id)
        .where(audit_agency.c.audit_id == audit.id, audit_agency.c.agency_id == agency_id)
        .exists()
    )


def key_area_is(key_area: str, column: InstrumentedAttribute) -> ColumnElement[bool]:
    """A record (a finding) about the key area of that title, or about none ("overall")."""
    if key_area == OVERALL:
        return column.is_(None)
    return column.in_(select(KeyArea.id).where(KeyArea.title == key_area))
