"""Joiners, movers and leavers: accounts nobody uses are disabled, with a notice first;
an agency lead reviews their agency's accounts each quarter.

- **Last use.** Signing in (password and code, or single sign-on) records it
  (``mark_active``); so does an API token's use, at most hourly (app/access/auth.py).
  An account never used counts from when it was made, so a new account is not
  disabled before its holder has had the time to sign in.
- **Inactivity** (``run_inactivity``, from the courier's rounds and from
  ``audit-tools accounts disable-inactive``): an account unused for
  ``inactive_after_days - inactivity_notice_days`` is told, once, when it will be
  disabled and that signing in keeps it; one unused for ``inactive_after_days`` whose
  holder was told at least ``inactivity_notice_days`` ago is disabled (reason
  "inactive"): their sessions end and their tokens are revoked. A use after the notice
  withdraws it. The last active administrator is never disabled (app/access/grants.py).
  Each account is locked and looked at again before it is told or disabled, so two
  rounds at once (two web processes, or cron beside them) never tell anyone twice.
- **Access review**: an agency lead ticks which of their agency's accounts still need
  access; the rest are disabled, with the lead named as the reason; each review is
  kept (AccessReview) and logged. A review is due ``access_review_every_days`` after
  the last one (or after the agency was added).
- **Movers** are app/access/service.py ``change_user``: a new agency ends their
  sessions and tokens and takes away the roles their old agency gave them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.access import grants, service
from app.access.models import AGENCY_STAFF_ROLES, AccessReview, Role, User
from app.access.policy import Actor
from app.access.policy import Permission as P
from app.agencies.models import Agency
from app.auditlog import service as auditlog
from app.clock import LONDON, utcnow
from app.config import Settings
from app.errors import Conflict, FieldError, InvalidInput, NotFound
from app.formatting import format_date
from app.forms import whole_number
from app.notifications.service import queue

INACTIVE = "inactive"  # User.disabled_reason of an account disabled for not being used
NOTICE_KIND = "account_disabling"


# --- last use ----------------------------------------------------------------------


def mark_active(session: Session, user: User) -> None:
    """Record that ``user`` has just signed in (by password and code, or by single
    sign-on): their account is in use, and any notice that it would be disabled is
    withdrawn. The caller holds the account (signing in locks it)."""
    user.last_active_at = utcnow()
    user.inactivity_notice_at = None


def last_use() -> ColumnElement[datetime]:
    """When the account was last used; never used: when it was made."""
    return func.coalesce(User.last_active_at, User.created_at)


def _used(user: User) -> datetime:
    return user.last_active_at or user.created_at


# --- inactivity --------------------------------------------------------------------


def _start(day: date) -> datetime:
    """The first moment of ``day`` in England, in UTC."""
    return datetime.combine(day, time(), tzinfo=LONDON).astimezone(UTC)


@dataclass(frozen=True)
class Cutoffs:
    """What ``today`` makes due, as instants: an account last used before ``notice`` is
    told; one last used before ``disable``, told before ``told`` (and since its last
    use), is disabled. A notice given today names ``disable_on``."""

    notice: datetime
    disable: datetime
    told: datetime
    disable_on: date

    @classmethod
    def on(cls, today: date, settings: Settings) -> Cutoffs:
        # Unused for N days on ``today``: last used on or before today - N, in England.
        notice_after = max(1, settings.inactive_after_days - settings.inactivity_notice_days)
        return cls(
            notice=_start(today - timedelta(days=notice_after - 1)),
            disable=_start(today - timedelta(days=settings.inactive_after_days - 1)),
            told=_start(today - timedelta(days=settings.inactivity_notice_days - 1)),
            disable_on=today + timedelta(days=settings.inactivity_notice_days),
        )


TELL, DISABLE = "tell", "disable"


def _standing(user: User, cutoffs: Cutoffs) -> str | None:
    """What is due for an active account: TELL, DISABLE or nothing (the SQL of
    ``_due_ids`` says the same)."""
    used, told = _used(user), user.inactivity_notice_at
    if told is not None and told >= used:
        return DISABLE if used < cutoffs.disable and told < cutoffs.told else None
    return TELL if used < cutoffs.notice else None


def _due_ids(session: Session, cutoffs: Cutoffs) -> list[int]:
    """The active accounts that have something due: one query over the accounts, which
    finds none on almost every round."""
    used, told = last_use(), User.inactivity_notice_at
    to_tell = and_(used < cutoffs.notice, or_(told.is_(None), told < used))
    to_disable = and_(used < cutoffs.disable, told >= used, told < cutoffs.told)
    return list(
        session.scalars(
            select(User.id).where(User.active.is_(True), or_(to_tell, to_disable)).order_by(User.id)
        )
    )


@dataclass
class Inactivity:
    """What a run did: whom it told, whom it disabled, and whom it kept although
    unused (the last active administrator)."""

    disable_on: date
    told: list[User] = field(default_factory=list)
    disabled: list[User] = field(default_factory=list)
    kept: list[User] = field(default_factory=list)


def run_inactivity(session: Session, *, today: date, settings: Settings) -> Inactivity:
    """Tell the holders of accounts unused long enough that theirs will be disabled
    (each once), and disable those told long enough ago and still unused, in the
    caller's transaction (the e-mails go after it commits). Running it again on the same
    day does nothing more."""
    cutoffs = Cutoffs.on(today, settings)
    done = Inactivity(disable_on=cutoffs.disable_on)
    for user_id in _due_ids(session, cutoffs):
        user = _locked(session, user_id)
        standing = _standing(user, cutoffs) if user is not None and user.active else None
        if user is None or standing is None:
            continue  # signed in, or dealt with by another round, since the query
        if standing == TELL:
            _tell(session, user, cutoffs, today, settings)
            done.told.append(user)
        elif grants.last_admin_refusal(session, user=user, roles=set(user.roles), active=False):
            done.kept.append(user)  # someone must be left to enable the others again
        else:
            service.update_user(
                session, user=user, changes={"active": False, "disabled_reason": INACTIVE}
            )
            service.revoke_tokens(session, user=user)
            done.disabled.append(user)
    return done


def _locked(session: Session, user_id: int) -> User | None:
    return session.scalars(
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def _tell(session: Session, user: User, cutoffs: Cutoffs, today: date, settings: Settings) -> None:
    used = _used(user)
    user.inactivity_notice_at = utcnow()
    queue(
        session,
        kind=NOTICE_KIND,
        users=[user],
        context={
            "partnership": settings.partnership_name,
            "unused_days": (today - used.astimezone(LONDON).date()).days,
            "disable_on": format_date(cutoffs.disable_on),
            "link": f"{settings.public_url.rstrip('/')}/sign-in",
        },
        object_type="user",
        object_id=user.id,
    )
    auditlog.record(
        session,
        action="user.inactivity_notice",
        object_type="user",
        object_id=user.id,
        after={"last_used": used, "disable_on": cutoffs.disable_on},
    )


def check_inactivity(
    factory: Callable[[], AbstractContextManager[Session]], *, today: date, settings: Settings
) -> Inactivity:
    """``run_inactivity`` in a transaction of its own, committed before the notices are
    sent (the courier's rounds)."""
    with factory() as session:
        done = run_inactivity(session, today=today, settings=settings)
        session.commit()
    return done


# --- the access review -------------------------------------------------------------


def review_due_on(reviewed: datetime, settings: Settings) -> date:
    """When the next review is due, after one on ``reviewed`` (or the agency's adding)."""
    return reviewed.astimezone(LONDON).date() + timedelta(days=settings.access_review_every_days)


def review_dates(
    agency_id: int | None,
) -> tuple[ColumnElement[datetime], ColumnElement[datetime]]:
    """The agency's last review and when it was added, as two columns a query of
    something else can carry (the start page's, whose statements are counted)."""
    last = (
        select(func.max(AccessReview.reviewed_at))
        .where(AccessReview.agency_id == agency_id)
        .correlate(None)
        .scalar_subquery()
    )
    added = select(Agency.created_at).where(Agency.id == agency_id).correlate(None)
    return last, added.scalar_subquery()


@dataclass(frozen=True)
class Review:
    """An agency's accounts as its lead reviews them: every active one, by name."""

    agency: Agency
    accounts: list[User]
    last: AccessReview | None
    due_on: date
    lead_id: int | None  # the lead's own account stays: they do not decide on it

    @property
    def others(self) -> dict[int, User]:
        """The accounts the lead decides on, by id: all but their own, and none holding
        a role beyond their agency's staff's (an administrator, a moderator or a
        scrutineer based in the agency is the administrators' to review)."""
        return {
            u.id: u for u in self.accounts if u.id != self.lead_id and u.roles <= AGENCY_STAFF_ROLES
        }


def review(session: Session, *, actor: Actor, agency_id: int, settings: Settings) -> Review:
    """The agency's accounts, for its own lead only: to anyone else the agency is not
    there to review (404)."""
    if Role.AGENCY_LEAD not in actor.roles or actor.agency_id != agency_id:
        raise NotFound("There is no such agency's access review.")
    agency = session.get(Agency, agency_id)
    if agency is None:
        raise NotFound("There is no such agency's access review.")
    accounts = list(
        session.scalars(
            select(User)
            .where(User.agency_id == agency_id, User.active.is_(True))
            .order_by(func.lower(User.display_name), User.id)
        )
    )
    last = session.scalar(
        select(AccessReview)
        .where(AccessReview.agency_id == agency_id)
        .order_by(AccessReview.id.desc())
        .limit(1)
    )
    reviewed = last.reviewed_at if last else agency.created_at
    return Review(agency, accounts, last, review_due_on(reviewed, settings), actor.user_id)


def account_ids(values: Iterable[str], found: Review, field_name: str) -> set[int]:
    """The ids posted for the review, each one of the agency's accounts (422 if not)."""
    ids = set()
    for value in values:
        number = whole_number(value)
        if number is None or number not in found.others:
            raise InvalidInput(
                "Choose accounts from the list.",
                fields=[FieldError(field_name, "Choose accounts from the list")],
            )
        ids.add(number)
    return ids


def confirm_review(
    session: Session, *, actor: Actor, found: Review, kept: set[int], removed: set[int]
) -> AccessReview:
    """Record the lead's review: ``kept`` still need access, ``removed`` do not and
    are disabled now (their sessions end, their tokens are revoked, the lead is named
    as the reason). Between them they must be every other active account of the agency
    as it is now; otherwise someone was added or disabled since the lead looked (409)."""
    if kept & removed or kept | removed != set(found.others):
        raise Conflict(
            "Your agency's accounts have changed since you started the review: "
            "check them and confirm again."
        )
    reason = f"removed in the access review by {actor.name or actor.label}"[:200]
    for user_id in sorted(removed):
        user = found.others[user_id]
        service.update_user(
            session, user=user, changes={"active": False, "disabled_reason": reason}, actor=actor
        )
        service.revoke_tokens(session, user=user)
    own = {actor.user_id} if actor.user_id in {u.id for u in found.accounts} else set()
    row = AccessReview(
        agency_id=found.agency.id,
        reviewed_by_id=actor.user_id,
        reviewed_by_label=actor.label,
        reviewed_at=utcnow(),
        kept=sorted(kept | own),
        removed=sorted(removed),
    )
    session.add(row)
    session.flush()
    auditlog.record(
        session,
        action="access_review.record",
        object_type="access_review",
        object_id=row.id,
        after={"agency_id": found.agency.id, "kept": row.kept, "removed": row.removed},
    )
    return row


@dataclass(frozen=True)
class AgencyReview:
    agency: Agency
    last: AccessReview | None
    due_on: date


def reviews_by_agency(session: Session, *, settings: Settings) -> list[AgencyReview]:
    """Each active agency with its last access review (if any) and when the next is
    due, by name: what administrators follow."""
    newer = aliased(AccessReview)
    latest = (
        select(func.max(newer.id))
        .where(newer.agency_id == Agency.id)
        .correlate(Agency)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Agency, AccessReview)
        .outerjoin(AccessReview, AccessReview.id == latest)
        .where(Agency.active.is_(True))
        .order_by(func.lower(Agency.name))
    ).all()
    return [
        AgencyReview(
            agency, last, review_due_on(last.reviewed_at if last else agency.created_at, settings)
        )
        for agency, last in rows
    ]


def visible_review(session: Session, *, actor: Actor, review_id: int) -> AccessReview:
    """A review an administrator, or the reviewed agency's own lead, may read; 404
    otherwise."""
    found = session.get(AccessReview, review_id)
    if found is None or not (
        actor.may(P.USER_MANAGE)
        or (Role.AGENCY_LEAD in actor.roles and actor.agency_id == found.agency_id)
    ):
        raise NotFound(f"There is no access review with id {review_id}.")
    return found
