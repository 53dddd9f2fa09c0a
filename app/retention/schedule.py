"""The retention schedule: for each kind of record, how long it is kept, from when, and
what happens to it then. The periods are settings (app/config.py); this module is the
one list of rules, read by the service (app/retention/service.py), the command
(``audit-tools retention apply``) and, in words, docs/data-protection.md.

Three families:

- **Case text**: the free text about children an audit gathers (return evidence and
  free-text answers, notes on returns, moderation rationales, the meeting's notes on
  each child, children's context tags, findings about one child, briefing drafts never
  published, and the same text where the audit log holds it). Kept
  ``retention_case_text_years`` after the audit closes, then replaced by ``MARKER`` (the
  rows stay, so grades, figures and their history stay whole; in the log, a value
  becomes its keyed digest, which the chain covers, so it still verifies).
- **Sign-in records**: ended web sessions, sign-in throttle and attempt rows: deleted
  ``retention_session_days`` after they ended; kept form posts after a day.
- **The audit log**: its oldest rows, ``retention_log_years`` after each was written,
  deleted from the start of the chain (never from the middle, never the newest row),
  with a signed line saying where the kept chain now starts (docs/security.md).

What is never due: grades (the agency's own and the moderated ones), answers that are
not free text (yes/partly/no, choices, numbers, dates), who decided what and when,
learning actions (they name no child: they are about practice), findings about the
audit, an agency or a key area, and briefings that were published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from app.access.kept import KEEP_FOR
from app.auditlog.chain import REMOVED_SHOWN
from app.config import Settings

# What removed text is replaced with. A constant, so a removed value is recognised as
# such (and not removed again); when and why are in ``retention_removal``.
MARKER = REMOVED_SHOWN


class Family(StrEnum):
    CASE_TEXT = "case text"
    SIGN_IN = "sign-in records"
    AUDIT_LOG = "audit log"


class How(StrEnum):
    REPLACED = "replaced"  # the text becomes MARKER (a list becomes empty); the row stays
    DELETED = "deleted"  # the row is deleted


@dataclass(frozen=True)
class Period:
    amount: int
    unit: str  # "years", "days" or "hours"

    def __str__(self) -> str:
        unit = self.unit[:-1] if self.amount == 1 else self.unit
        return f"{self.amount} {unit}"

    def after(self, start: datetime) -> datetime:
        """When a record that started at ``start`` is due."""
        if self.unit == "years":
            return add_years(start, self.amount)
        return start + timedelta(**{self.unit: self.amount})

    def before(self, now: datetime) -> datetime:
        """Records that started before this moment are due at ``now``."""
        if self.unit == "years":
            return add_years(now, -self.amount)
        return now - timedelta(**{self.unit: self.amount})


def add_years(when: datetime, years: int) -> datetime:
    """The same day and time ``years`` later (or earlier); 29 February becomes the 28th."""
    try:
        return when.replace(year=when.year + years)
    except ValueError:
        return when.replace(year=when.year + years, day=28)


@dataclass(frozen=True)
class Rule:
    kind: str  # a short key, stored in retention_removal.kind and the audit log
    family: Family
    label: str  # what the command and the docs call it
    fields: tuple[str, ...]  # table.column
    setting: str | None  # the Settings attribute holding the period, in ``unit``
    unit: str
    how: How
    basis: str  # from when the period runs, in words
    fixed: int | None = None  # the period, when it is not a setting

    def period(self, settings: Settings) -> Period:
        amount = getattr(settings, self.setting) if self.setting else self.fixed
        assert amount is not None
        return Period(amount, self.unit)

    def describe(self, settings: Settings) -> str:
        """The rule in words: "3 years after the audit closed"."""
        return f"{self.period(settings)} {self.basis}"


def _case_text(kind: str, label: str, *fields: str) -> Rule:
    return Rule(
        kind=kind,
        family=Family.CASE_TEXT,
        label=label,
        fields=fields,
        setting="retention_case_text_years",
        unit="years",
        how=How.REPLACED,
        basis="after the audit closed",
    )


def _sign_in(kind: str, label: str, table: str, basis: str) -> Rule:
    return Rule(
        kind=kind,
        family=Family.SIGN_IN,
        label=label,
        fields=(f"{table} (whole rows)",),
        setting="retention_session_days",
        unit="days",
        how=How.DELETED,
        basis=basis,
    )


CASE_TEXT: tuple[Rule, ...] = (
    _case_text(
        "return_evidence",
        "return evidence boxes (what went well, could be better, impact on the child)",
        "key_area_evidence.went_well",
        "key_area_evidence.could_be_better",
        "key_area_evidence.impact_on_child",
    ),
    _case_text("return_answers", "free-text answers in returns", "answer.value"),
    _case_text(
        "return_notes",
        "notes on returns (why sent back, why left out of moderation)",
        "audit_return.amendment_note",
        "audit_return.excluded_reason",
    ),
    _case_text(
        "return_versions",
        "submitted versions of returns (their free-text answers and evidence)",
        "return_submission.content",
    ),
    _case_text("moderation_rationales", "moderation rationales", "moderated_grade.rationale"),
    _case_text(
        "meeting_notes",
        "moderation meeting notes on each child (discussion, learning points)",
        "child_meeting_note.discussion",
        "child_meeting_note.learning_points",
    ),
    _case_text("context_tags", "children's context tags", "child.context_tags"),
    _case_text("child_findings", "findings about one child", "finding.statement"),
    _case_text(
        "log_values",
        "the same text in the audit log (each value by its keyed digest, so the chain fits)",
        "audit_event.before",
        "audit_event.after",
    ),
    _case_text(
        "briefing_drafts",
        "briefing versions never published (their sections and check report); an "
        "inspection pack's, with the first audit it covers",
        "briefing_version.sections",
        "briefing_version.check_report",
    ),
)

SIGN_IN: tuple[Rule, ...] = (
    _sign_in("web_sessions", "ended web sessions", "web_session", "after the session ended"),
    _sign_in(
        "sign_in_throttle",
        "failed sign-in counts per account and address",
        "sign_in_throttle",
        "after the last failure's window or lock ended",
    ),
    _sign_in(
        "sign_in_attempts",
        "sign-in attempts per address",
        "sign_in_attempt",
        "after the attempt",
    ),
    Rule(
        kind="respondent_link_failures",
        family=Family.SIGN_IN,
        label="one-time links that did not work, per client address",
        fields=("respondent_link_failure (whole rows)",),
        setting=None,
        unit="hours",
        fixed=24,  # they count for an hour (app/respond/answering.py)
        how=How.DELETED,
        basis="after the try",
    ),
    Rule(
        kind="kept_posts",
        family=Family.SIGN_IN,
        label="work kept after a session timed out, never posted back",
        fields=("kept_post (whole rows)",),
        setting=None,
        unit="hours",
        fixed=int(KEEP_FOR.total_seconds() // 3600),
        how=How.DELETED,
        basis="after it was kept",
    ),
)

AUDIT_LOG = Rule(
    kind="audit_log",
    family=Family.AUDIT_LOG,
    label="audit log rows (the oldest, up to the newest row past its period)",
    fields=("audit_event (whole rows)",),
    setting="retention_log_years",
    unit="years",
    how=How.DELETED,
    basis="after the row was written",
)

SCHEDULE: tuple[Rule, ...] = (*CASE_TEXT, *SIGN_IN, AUDIT_LOG)
BY_KIND = {rule.kind: rule for rule in SCHEDULE}
