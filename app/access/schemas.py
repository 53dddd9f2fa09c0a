"""Request and response models for signing in, one's own sessions and tokens, and
managing users. No response carries a password hash, an authenticator secret (except
the new one shown once at enrolment) or a token hash."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from app.access.models import GrantDecision, Role, RoleGrantRequest, User
from app.access.secrets import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from app.access.signin import SignInStatus
from app.schemas_base import (
    Id,
    Name,
    OneLine,
    PlainText,
    RequestModel,
    ResponseModel,
    Shows,
    reject_null,
)

# Deliberately loose: the address is checked by sending mail to it, not by a pattern;
# this only refuses what cannot be an address at all.
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=3,
        max_length=320,
        pattern=r"^[^@\s]+@[^@\s]+$",
    ),
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
# A password being set: its length is checked by the service (secrets.password_problem,
# which also refuses the most common passwords), the schema says so.
NewPassword = Annotated[
    str,
    StringConstraints(max_length=MAX_PASSWORD_LENGTH),
    Shows(minLength=MIN_PASSWORD_LENGTH),
    Field(
        description=f"At least {MIN_PASSWORD_LENGTH} characters, and not one of the most "
        "commonly used passwords."
    ),
]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


# --- signing in ----------------------------------------------------------------------


class SignInIn(RequestModel):
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)]
    password: Password


class CodeIn(RequestModel):
    code: Code = Field(description="A 6-digit code from the authenticator app, or a recovery code.")


class Enrolment(ResponseModel):
    secret: str = Field(description="Base32 secret to type into an authenticator app.")
    otpauth_uri: str = Field(description="The same secret as an otpauth:// address (QR code).")


class SignInOut(ResponseModel):
    status: SignInStatus
    expires_at: datetime
    # Only once fully signed in: the header or form value state-changing requests
    # made with the session cookie must carry.
    csrf_token: str | None = None
    enrolment: Enrolment | None = None


class EnrolledOut(SignInOut):
    recovery_codes: list[str] = Field(
        description="Ten single-use codes for when the authenticator is not to hand: "
        "shown only now."
    )


class MeAgency(ResponseModel):
    id: int
    name: str


class MeOut(ResponseModel):
    id: int
    email: str
    display_name: str
    roles: list[Role]
    agency: MeAgency | None
    via: str = Field(description="How this request signed in: session or token.")
    csrf_token: str | None = None


class SessionOut(ResponseModel):
    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    second_factor_at: datetime | None
    client_address: str
    user_agent: str
    current: bool = False


# --- tokens ------------------------------------------------------------------------------


class TokenCreate(RequestModel):
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), OneLine
    ]
    days: int = Field(ge=1, le=3650, description="Days until it expires (at most the setting).")


class TokenOut(ResponseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The token itself: shown only now, never again.")


# --- users ---------------------------------------------------------------------------


class UserCreate(RequestModel):
    email: Email
    display_name: Name
    roles: list[Role] = Field(min_length=1, max_length=len(Role))
    agency_id: Id | None = None
    password: NewPassword | None = None


class UserUpdate(RequestModel):
    display_name: Name | None = None
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=len(Role))
    agency_id: Id | None = None  # null removes the agency
    active: bool | None = None

    _not_null = reject_null("display_name", "roles", "active")


class PasswordIn(RequestModel):
    password: NewPassword


class RoleGrantOut(ResponseModel):
    """Roles asked for someone (admin or moderator among them) and their decision."""

    id: int
    user_id: int
    roles: list[Role] = Field(description="All their roles once approved.")
    roles_before: list[Role] = Field(description="Their roles when it was asked.")
    requested_by_id: int
    requested_by: str
    requested_at: datetime
    decision: GrantDecision
    decided_by: str | None
    decided_at: datetime | None
    reason: str

    @classmethod
    def of(cls, request: RoleGrantRequest) -> RoleGrantOut:
        return cls(
            id=request.id,
            user_id=request.user_id,
            roles=[Role(r) for r in request.roles],
            roles_before=[Role(r) for r in request.roles_before],
            requested_by_id=request.requested_by_id,
            requested_by=request.requested_by_label,
            requested_at=request.requested_at,
            decision=request.decision,
            decided_by=request.decided_by_label or None,
            decided_at=request.decided_at,
            reason=request.reason,
        )


class GrantDecisionIn(RequestModel):
    decision: Literal["approve", "refuse"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000), PlainText] = (
        Field(default="", description="Why it is refused (kept with the request).")
    )


class UserOut(ResponseModel):
    id: int
    email: str
    display_name: str
    roles: list[Role]
    agency_id: int | None
    active: bool
    created_at: datetime
    password_changed_at: datetime | None
    has_password: bool
    second_factor_enrolled: bool
    pending_role_grant: RoleGrantOut | None = Field(
        default=None,
        description="Roles asked for them that wait for a second administrator's approval.",
    )

    @classmethod
    def of(cls, user: User, pending: RoleGrantRequest | None = None) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            display_name=user.display_name,
            roles=sorted(user.roles),
            agency_id=user.agency_id,
            active=user.active,
            created_at=user.created_at,
            password_changed_at=user.password_changed_at,
            has_password=user.password_hash is not None,
            second_factor_enrolled=user.totp_confirmed_at is not None,
            pending_role_grant=RoleGrantOut.of(pending) if pending else None,
        )


# --- invitations and password resets (app/access/links.py) ----------------------------


class InvitationCreate(RequestModel):
    email: Email
    display_name: Name
    roles: list[Role] = Field(min_length=1, max_length=len(Role))
    agency_id: Id | None = Field(
        default=None,
        description="Their agency. An agency lead invites to their own agency only (the "
        "default for them), as auditor, agency lead or practitioner.",
    )


class InvitationOut(ResponseModel):
    user: UserOut
    again: bool = Field(
        description="The account existed, never used: a fresh link was sent and the "
        "older ones stopped working."
    )
    expires_at: datetime = Field(description="When the link stops working.")


class ImportRowOut(ResponseModel):
    line: int = Field(description="The row's line in the file (the header is line 1).")
    name: str
    email: str
    agency: str
    roles: str
    problems: list[str] = Field(description="What stops this person being invited.")


class ImportOut(ResponseModel):
    dry_run: bool
    invited: int = Field(description="How many invitations were sent (none in a dry run).")
    rows: list[ImportRowOut]


class PasswordResetIn(RequestModel):
    email: Email


class PasswordResetOut(ResponseModel):
    detail: str = Field(description="The same answer whether or not the address has an account.")


class RegistrationOut(ResponseModel):
    """Someone who signed in with their organisation's identity provider and asked for
    an account, and what was decided."""

    id: int
    provider: str
    email: str
    display_name: str
    agency_id: int
    requested_at: datetime
    decision: GrantDecision
    decided_by: str | None
    decided_at: datetime | None
    user_id: int | None = Field(description="The account made when it was approved.")
    reason: str


class RegistrationDecide(RequestModel):
    decision: Literal["approve", "refuse"]
    roles: list[Role] = Field(default_factory=list, max_length=10)
    reason: str = Field(default="", max_length=1000)


class AccessReviewOut(ResponseModel):
    """An agency lead's review of their agency's accounts."""

    id: int
    agency_id: int
    reviewed_by: str
    reviewed_at: datetime
    kept: list[int] = Field(description="The accounts confirmed as still needing access.")
    removed: list[int] = Field(description="The accounts the review disabled.")
