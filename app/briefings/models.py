"""Briefings: a learning briefing or subgroup report for an audit, or an
inspection-readiness pack for a period of the partnership's audits, in numbered
versions. A version moves draft -> submitted -> approved -> published; publishing
renders it once and keeps the PDF's bytes and SHA-256, which downloads serve exactly.
A later published version supersedes it (it stays downloadable, marked superseded);
a published version can be withdrawn with a reason. Nothing is changed in place."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.audits.models import Audit
from app.clock import utcnow
from app.db import Base, UTCDateTime, str_enum


class BriefingKind(StrEnum):
    BRIEFING = "briefing"
    SUBGROUP_REPORT = "subgroup-report"
    # For a period (and optionally one theme) of the partnership's audits, not one audit.
    INSPECTION_PACK = "inspection-pack"


class Marking(StrEnum):
    OFFICIAL = "OFFICIAL"
    OFFICIAL_SENSITIVE = "OFFICIAL-SENSITIVE"


class VersionStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class RenderStatus(StrEnum):
    NONE = "none"
    QUEUED = "queued"
    RENDERING = "rendering"
    DONE = "done"
    FAILED = "failed"


class Briefing(Base):
    __tablename__ = "briefing"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Every briefing's but an inspection pack's, which covers a period instead.
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audit.id"), index=True)
    kind: Mapped[BriefingKind] = mapped_column(str_enum(BriefingKind, "briefing_kind"))
    # An inspection pack's period (both days included) and, if it has one, its theme.
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    theme: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    # Public briefings can be read and downloaded without signing in.
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "Did the learning land?": the assurance questionnaire launched when it was first
    # published, an audit of its own (each participating agency answers once).
    assurance_audit_id: Mapped[int | None] = mapped_column(ForeignKey("audit.id"))

    audit: Mapped[Audit | None] = relationship(lazy="raise", foreign_keys=[audit_id])
    versions: Mapped[list[BriefingVersion]] = relationship(
        back_populates="briefing", lazy="raise", order_by="BriefingVersion.number"
    )

    @property
    def drafted_from(self) -> Audit:
        """The audit a learning briefing or subgroup report is drafted from (loaded).
        An inspection pack covers a period instead: asking it for one is a mistake."""
        if self.audit is None:
            raise ValueError(f"briefing {self.id} is an inspection pack, of no one audit")
        return self.audit


class BriefingVersion(Base):
    __tablename__ = "briefing_version"
    __table_args__ = (UniqueConstraint("briefing_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    briefing_id: Mapped[int] = mapped_column(ForeignKey("briefing.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[VersionStatus] = mapped_column(
        str_enum(VersionStatus, "briefing_version_status"), default=VersionStatus.DRAFT
    )
    marking: Mapped[Marking] = mapped_column(str_enum(Marking, "protective_marking"))
    sections: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # What the library's search reads, set when the version is published: its title,
    # the audit's title and theme, and every section's words (app/briefings/search.py).
    search_text: Mapped[str | None] = mapped_column(Text)
    # Optimistic lock for the editor: saving compares the version the page read.
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    # The identification check at submission and approval, and who confirmed the
    # small-count warnings it raised.
    check_report: Mapped[list[dict]] = mapped_column(JSON, default=list)
    small_counts_confirmed_by: Mapped[str | None] = mapped_column(String(320))
    # Who drafted it (created it, or started it as a new version), and the user ids of
    # everyone who wrote in it: none of them may approve it (four eyes).
    drafted_by: Mapped[str] = mapped_column(String(320), default="", server_default="")
    author_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # The tables whose small counts of children are shown as "fewer than N" (with
    # secondary suppression), by the table's key in the document.
    suppressed_tables: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(320))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_on: Mapped[date | None] = mapped_column(Date)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    render_status: Mapped[RenderStatus] = mapped_column(
        str_enum(RenderStatus, "render_status"), default=RenderStatus.NONE
    )
    render_error: Mapped[str | None] = mapped_column(Text)
    # When a dispatcher took it to render: a claim far older than any render means the
    # server stopped mid-render, and the version is queued again.
    render_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Asked for at publishing: launch the assurance questionnaire, answers due then.
    assurance_due_on: Mapped[date | None] = mapped_column(Date)

    briefing: Mapped[Briefing] = relationship(back_populates="versions", lazy="raise")

    @property
    def label(self) -> str:
        return f"version {self.number}"


class BriefingApproval(Base):
    """One approver's approval of a version: someone other than its authors, who
    confirmed they read the identification check. A version is approved once it has as
    many as the setting ``briefing_approvers`` asks for."""

    __tablename__ = "briefing_approval"
    __table_args__ = (UniqueConstraint("version_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("briefing_version.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    approver: Mapped[str] = mapped_column(String(320))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The approver ticked "I have read the identification check".
    check_read: Mapped[bool] = mapped_column(Boolean, default=True)


class BriefingDocument(Base):
    """The published PDF: rendered once, served byte for byte."""

    __tablename__ = "briefing_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("briefing_version.id"), unique=True)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    # Its number of pages, counted when it is stored (None for a PDF stored before:
    # counted when read, app/briefings/library.py page_count).
    pages: Mapped[int | None] = mapped_column(Integer)
    # An inspection pack's figures as a spreadsheet, made from the same reading as its
    # PDF, so that each number in one is the other's (None for every other kind).
    figures_xlsx: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    rendered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BriefingDownload(Base):
    """One download, as evidence of how learning was disseminated: by whom's agency
    when signed in (the person is not kept: counts are what is reported)."""

    __tablename__ = "briefing_download"

    id: Mapped[int] = mapped_column(primary_key=True)
    briefing_id: Mapped[int] = mapped_column(ForeignKey("briefing.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("briefing_version.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    signed_in: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BriefingFeedback(Base):
    """ "Was this useful?" on a published briefing, counted beside its downloads: by
    whom's agency when signed in (the person is not kept), with an optional comment."""

    __tablename__ = "briefing_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    briefing_id: Mapped[int] = mapped_column(ForeignKey("briefing.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("briefing_version.id"), index=True)
    useful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    signed_in: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
