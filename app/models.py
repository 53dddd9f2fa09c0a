"""Every domain's models, imported once so Alembic and the tests see one metadata."""

from app.agencies.models import Agency, AgencyKind, Subgroup
from app.audits.models import AgeBand, Audit, AuditStatus, Child, Involvement, audit_agency
from app.db import Base
from app.returns.models import Answer, Grade, KeyAreaEvidence, Return, ReturnStatus
from app.templates_.models import (
    AnswerType,
    GradeLevel,
    GradingScale,
    KeyArea,
    Question,
    TemplateFamily,
    TemplateStatus,
    TemplateVersion,
)

__all__ = [
    "Agency",
    "AgencyKind",
    "AgeBand",
    "Answer",
    "AnswerType",
    "Audit",
    "AuditStatus",
    "Base",
    "Child",
    "Grade",
    "GradeLevel",
    "GradingScale",
    "Involvement",
    "KeyArea",
    "KeyAreaEvidence",
    "Question",
    "Return",
    "ReturnStatus",
    "Subgroup",
    "TemplateFamily",
    "TemplateStatus",
    "TemplateVersion",
    "audit_agency",
]
