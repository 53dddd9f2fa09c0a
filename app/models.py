"""Every domain's models, imported once so Alembic and the tests see one metadata."""

from app.access.models import (
    ApiToken,
    RecoveryCode,
    Role,
    RoleGrantRequest,
    SignInThrottle,
    User,
    UserRole,
    WebSession,
)
from app.actions.models import ActionStatus, ActionStatusChange, LearningAction, action_finding
from app.agencies.models import Agency, AgencyKind, Subgroup
from app.audit_templates.models import (
    AnswerType,
    GradeLevel,
    GradingScale,
    KeyArea,
    Question,
    TemplateFamily,
    TemplateStatus,
    TemplateVersion,
)
from app.auditlog.models import AuditEvent
from app.audits.models import AgeBand, Audit, AuditStatus, Child, Involvement, audit_agency
from app.briefings.models import (
    Briefing,
    BriefingApproval,
    BriefingDocument,
    BriefingDownload,
    BriefingFeedback,
    BriefingVersion,
)
from app.db import Base
from app.findings.models import Finding, FindingKind, Theme, finding_theme
from app.identify.models import AllowedTerm
from app.moderation.models import ModeratedGrade
from app.notifications.models import Notification
from app.programme.models import ProgrammeEntry, ProgrammeOccurrence, programme_entry_agency
from app.reminders.models import ReminderSent
from app.respond.models import RespondentLink, RespondentLinkFailure
from app.retention.models import RetentionRemoval
from app.returns.models import Answer, Grade, KeyAreaEvidence, Return, ReturnStatus

__all__ = [
    "AllowedTerm",
    "BriefingApproval",
    "ActionStatus",
    "ActionStatusChange",
    "Finding",
    "FindingKind",
    "BriefingFeedback",
    "LearningAction",
    "Notification",
    "ProgrammeEntry",
    "ProgrammeOccurrence",
    "programme_entry_agency",
    "Theme",
    "action_finding",
    "finding_theme",
    "ApiToken",
    "AuditEvent",
    "RecoveryCode",
    "Role",
    "RoleGrantRequest",
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
    "Briefing",
    "BriefingDocument",
    "BriefingDownload",
    "BriefingVersion",
    "Child",
    "Grade",
    "GradeLevel",
    "GradingScale",
    "Involvement",
    "KeyArea",
    "KeyAreaEvidence",
    "ModeratedGrade",
    "ReminderSent",
    "RespondentLink",
    "RespondentLinkFailure",
    "RetentionRemoval",
    "Question",
    "Return",
    "ReturnStatus",
    "Subgroup",
    "TemplateFamily",
    "TemplateStatus",
    "TemplateVersion",
    "audit_agency",
]
