"""Accounts, roles and the ways in: web sessions, API tokens, second factors.

Passwords are stored as argon2id hashes; session and API tokens as SHA-256 digests
(they are 256-bit random strings, so a fast hash is enough); recovery codes as HMACs
keyed with the service's secret key, which is not in the database. Authenticator
secrets must be read back to compute the codes, so they are encrypted (``app.crypto``,
under ``AUDIT_DATA_KEYS``) rather than hashed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.agencies.models import Agency
from app.clock import utcnow
from app.crypto import EncryptedString
from app.db import Base, UTCDateTime, str_enum


class Role(StrEnum):
    ADMIN = "admin"  # partnership business unit
    AUDITOR = "auditor"  # bound to one agency
    MODERATOR = "moderator"  # QAPP chair and moderators
    AGENCY_LEAD = "agency_lead"  # bound to one agency
    PRACTITIONER = "practitioner"
    SCRUTINEER = "scrutineer"  # read-only across the partnership
    SUBGROUP_CHAIR = "subgroup_chair"  # chairs a subgroup (Subgroup.chair_user_id)
    EXECUTIVE = "executive"  # a member of the partnership's Executive


AGENCY_ROLES = frozenset({Role.AUDITOR, Role.AGENCY_LEAD})
# The roles of an agency's own staff: all an agency lead may give (inviting someone,
# approving a request for an account) or take away (an access review).
AGENCY_STAFF_ROLES = frozenset({Role.AUDITOR, Role.AGENCY_LEAD, Role.PRACTITIONER})


class User(Base):
    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-case
    display_name: Mapped[str] = mapped_column(String(200))
    # Null for an account that signs in only through single sign-on.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Sealed in the database, plain here: the type encrypts and decrypts.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedString(255))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last 30-second step whose code was accepted: each code works once.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Joiners, movers and leavers (app/access/leavers.py): when they last signed in (or
    # their token was last used); when they were told their unused account would be
    # disabled; and why it was disabled ("inactive", or by whom), while it is.
    last_active_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    inactivity_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))

    agency: Mapped[Agency | None] = relationship(lazy="raise")
    role_rows: Mapped[list[UserRole]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="UserRole.role"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(r.role for r in self.role_rows)


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"), primary_key=True)


class WebSession(Base):
    """A signed-in browser. The cookie holds the token; only its digest is stored."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the absolute lifetime
    # Set once the second factor is given; until then the session can only finish
    # signing in (or enrol an authenticator).
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(40))
    client_address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    # What the next page shows in its success banner ("The action has been saved"),
    # kept here rather than in the address, where anyone could craft a link whose
    # banner says anything. Cleared by the page that shows it.
    flash: Mapped[str | None] = mapped_column(String(1000))


class KeptPost(Base):
    """A form posted after its web session had ended (sitting idle, or at its absolute
    lifetime): what the person typed is kept for them, not lost, and offered back to
    them alone once they sign in again (app/access/kept.py). Removed when offered, or
    after ``kept_post_hours``."""

    __tablename__ = "kept_post"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(500))
    fields: Mapped[list] = mapped_column(JSON)  # [[name, value], ...] as posted, in order
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """A personal access token, acting with its owner's rights until it expires."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(Base):
    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignInThrottle(Base):
    """Failed sign-ins per (account, client address), in the database so the limit
    holds across server processes; one address cannot lock a user out elsewhere."""

    __tablename__ = "sign_in_throttle"
    __table_args__ = (UniqueConstraint("account", "client_address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(String(320))
    client_address: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignInAttempt(Base):
    """A password evaluated for a client address, whatever the account: at most
    ``sign_in_max_per_address_per_minute`` in any minute, so one address cannot try a
    few passwords on every account (password spraying). Rows older than a minute are
    of no use and are removed at later sign-ins (app/access/signin.py)."""

    __tablename__ = "sign_in_attempt"
    __table_args__ = (
        Index("ix_sign_in_attempt_client_address_attempted_at", "client_address", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_address: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GrantDecision(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    REPLACED = "replaced"  # a later request for the same person took its place


class RoleGrantRequest(Base):
    """A change of someone's roles that gives them admin or moderator, asked by one
    administrator and kept pending until another (neither the one who asked nor the
    person it is for) approves or refuses it; only an approval changes their roles
    (app/access/grants.py). The command line on the server grants directly."""

    __tablename__ = "role_grant_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    roles: Mapped[list] = mapped_column(JSON)  # all their roles once approved, as values
    roles_before: Mapped[list] = mapped_column(JSON)  # their roles when it was asked
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    requested_by_label: Mapped[str] = mapped_column(String(320))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decision: Mapped[GrantDecision] = mapped_column(
        str_enum(GrantDecision, "grant_decision"), default=GrantDecision.PENDING
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_by_label: Mapped[str] = mapped_column(String(320), default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(1000), default="")  # why it was refused


class LinkPurpose(StrEnum):
    INVITATION = "invitation"  # set a password and an authenticator (or use SSO)
    RESET = "reset"  # set a new password, the authenticator still asked for


class AccountLink(Base):
    """A one-time link e-mailed to someone: an invitation to their new account, or a
    password reset. Only the token's digest is kept; it works once, until
    ``expires_at`` (app/access/links.py)."""

    __tablename__ = "account_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[LinkPurpose] = mapped_column(str_enum(LinkPurpose, "link_purpose"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_by_label: Mapped[str] = mapped_column(String(320), default="")


class ExternalIdentity(Base):
    """A person's account at an identity provider (OpenID Connect): the issuer and the
    subject it gives them, never reused for anyone else; what single sign-on matches
    (app/access/sso.py), the e-mail address only the first time."""

    __tablename__ = "external_identity"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SsoRegistration(Base):
    """Someone the identity provider knows, in an agency's e-mail domain that allows it,
    signing in for the first time with no account: they wait for an administrator (or
    their agency's lead) to approve, and choose their roles, or refuse."""

    __tablename__ = "sso_registration"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(60))
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decision: Mapped[GrantDecision] = mapped_column(
        str_enum(GrantDecision, "registration_decision"), default=GrantDecision.PENDING
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_by_label: Mapped[str] = mapped_column(String(320), default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(1000), default="")


class SsoAttempt(Base):
    """One sign-in sent to an identity provider and not yet back: its ``state`` (kept as
    a digest), bound to the browser that started it (a cookie's digest), with the
    ``nonce`` the ID token must carry and the PKCE verifier. Used once; stale after a
    few minutes."""

    __tablename__ = "sso_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    browser_hash: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(60))
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_path: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccessReview(Base):
    """An agency lead's review of their agency's accounts (each quarter): who they
    confirmed still needs access, and whose access they removed."""

    __tablename__ = "access_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_by_label: Mapped[str] = mapped_column(String(320))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kept: Mapped[list] = mapped_column(JSON)  # user ids confirmed
    removed: Mapped[list] = mapped_column(JSON)  # user ids disabled by the review
