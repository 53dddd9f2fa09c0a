"""Every domain's models, imported once so Alembic and the tests see one metadata."""

from app.access.models import (
    ApiToken,
    RecoveryCode,
    Role,
    SignInThrottle,
    User,
    UserRole,
    WebSession,
)
from app.agencies.models import Agency, AgencyKind, Subgroup
from app.auditlog.models import AuditEvent
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
    "ApiToken",
    "AuditEvent",
    "RecoveryCode",
    "Role",
    "SignInThrottle",
    "User",
    "UserRole",
    "WebSession",
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
