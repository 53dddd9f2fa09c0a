"""What a reader of the audit log sees of each event, and the log as CSV.

The log applies the same need-to-know as the objects it describes: a reader sees a
row's values before and after only if they may read that object *now*, as the
object's own routes would let them (the scopes of ``app.access.policy`` and the
domain services). Otherwise the row still says who did what, when, to which kind of
object and which one, with each value shown as ``WITHHELD``. A row about a kind of
object this module does not know is withheld from everyone but the system.

``READERS`` maps each kind to a batch function: given ids, which of them the actor
may read. ``Visibility`` asks it once per kind for a page of rows (one query per
kind, never one per row), so the JSON list of 50 rows costs at most one query for
each kind on the page, and the CSV export one per kind for each batch of rows.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Collection, Container, Iterable, Iterator
from itertools import islice
from typing import Any, TextIO

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import False_, True_

from app.access.models import AccessReview, ApiToken, Role, SsoRegistration
from app.access.policy import (
    REVEALED,
    SYSTEM,
    Actor,
    Permission,
    Via,
    audit_scope,
    child_scope,
    involvement_scope,
    return_scope,
)
from app.actions.models import LearningAction
from app.actions.service import action_scope
from app.auditlog import chain
from app.auditlog.models import AuditEvent
from app.audits.models import Audit, AuditStatus, Child, Involvement
from app.briefings.models import BriefingVersion, VersionStatus
from app.findings.models import Finding
from app.moderation.models import ModeratedGrade
from app.returns.models import Return

P = Permission
WITHHELD = "[withheld]"
# Keys shown whatever the reader may read: where a record stands, never what it says
# (a return's status and version tell the admin its progress, not its answers).
HARMLESS_KEYS = frozenset({"status", "version"})


class _Every:
    """Every object of a kind, deleted ones too, and rows that name no object: what a
    reader whose scope is the whole kind may read."""

    def __contains__(self, _item: object) -> bool:
        return True


EVERY: Container[int | None] = _Every()
NOTHING: Container[int | None] = frozenset()
ReadableIds = Callable[[Session, Actor, Collection[int]], Container[int | None]]


def _ids_where(
    session: Session,
    id_column: InstrumentedAttribute[int],
    scope: ColumnElement[bool],
    ids: Collection[int],
    *joins: tuple[Any, ColumnElement[bool]],
) -> Container[int | None]:
    """The ids in ``scope``: every one when the scope is the whole kind (then deleted
    objects too: they were the reader's to read), none when it is empty, else one
    query."""
    if isinstance(scope, True_):
        return EVERY
    if isinstance(scope, False_) or not ids:
        return NOTHING
    stmt = select(id_column).where(id_column.in_(sorted(ids)), scope)
    for target, on in joins:
        stmt = stmt.join(target, on)
    return set(session.scalars(stmt))


def _permission(*permissions: Permission) -> ReadableIds:
    """Kinds that anyone holding one of ``permissions`` reads whole (reference data,
    templates): the route's rule is the only check."""

    def readable(_session: Session, actor: Actor, _ids: Collection[int]) -> Container[int | None]:
        return EVERY if any(actor.may(p) for p in permissions) else NOTHING

    return readable


def _returns(session: Session, actor: Actor, ids: Collection[int]) -> Container[int | None]:
    return _ids_where(session, Return.id, return_scope(actor), ids)


def _audits(session: Session, actor: Actor, ids: Collection[int]) -> Container[int | None]:
    return _ids_where(session, Audit.id, audit_scope(actor), ids)


def _children(session: Session, actor: Actor, ids: Collection[int]) -> Container[int | None]:
    return _ids_where(session, Child.id, child_scope(actor), ids)


def _involvements(session: Session, actor: Actor, ids: Collection[int]) -> Container[int | None]:
    # Read in the cohort's list of children: the audit's readers, and of its
    # involvements an agency's people see their own agency's.
    scope = involvement_scope(actor) if actor.may(P.AUDIT_READ) else false()
    return _ids_where(session, Involvement.id, scope, ids)


def _moderation_stage(actor: Actor) -> ColumnElement[bool]:
    """When an audit's moderation is the actor's to see (moderation.service.
    check_visible): partnership-wide roles once it opened, agencies while it runs."""
    opened = Audit.status != AuditStatus.PLANNED
    if actor.partnership_wide or actor.via == Via.SYSTEM:
        return opened
    return Audit.status == REVEALED


def _moderated_grades(
    session: Session, actor: Actor, ids: Collection[int]
) -> Container[int | None]:
    # Read with the return's decisions (api.moderation.return_decisions): the return
    # in the reader's scope and its audit's moderation visible to them.
    returns = return_scope(actor)
    if isinstance(returns, False_):
        return NOTHING
    if isinstance(returns, True_) and (actor.partnership_wide or actor.via == Via.SYSTEM):
        return EVERY  # every decision of every audit past planning, and none before
    return _ids_where(
        session,
        ModeratedGrade.id,
        and_(returns, audit_scope(actor), _moderation_stage(actor)),
        ids,
        (Return, Return.id == ModeratedGrade.return_id),
        (Audit, Audit.id == ModeratedGrade.audit_id),
    )


def _meeting_notes(session: Session, actor: Actor, ids: Collection[int]) -> Container[int | None]:
    # A child's meeting notes are read on the meeting page (moderation.meeting: may
    # read returns, the audit in scope, its moderation visible); ids are children's.
    if not actor.may(P.RETURN_READ):
        return NOTHING
    if actor.partnership_wide and isinstance(audit_scope(actor), True_):
        return EVERY
    return _ids_where(
        session,
        Child.id,
        and_(audit_scope(actor), _moderation_stage(actor)),
        ids,
        (Audit, Audit.id == Child.audit_id),
    )


def _findings(session: Session, actor: Actor, ids: Collection[int]) -> Container[int | None]:
    # findings.service.get_finding: the audit in scope, and the child (if it names one).
    audits, children = audit_scope(actor), child_scope(actor)
    if isinstance(audits, True_) and isinstance(children, True_):
        return EVERY
    about_visible_child = or_(
        Finding.child_id.is_(None), Finding.child_id.in_(select(Child.id).where(children))
    )
    return _ids_where(
        session,
        Finding.id,
        false() if isinstance(audits, False_) else and_(audits, about_visible_child),
        ids,
        (Audit, Audit.id == Finding.audit_id),
    )


def _learning_actions(
    session: Session, actor: Actor, ids: Collection[int]
) -> Container[int | None]:
    if not actor.may(P.ACTION_READ):
        return NOTHING
    if isinstance(audit_scope(actor), True_):
        return EVERY
    return _ids_where(session, LearningAction.id, action_scope(actor), ids)


def _briefing_versions(
    session: Session, actor: Actor, ids: Collection[int]
) -> Container[int | None]:
    # Editors and approvers read every version (api.briefings.version); anyone signed
    # in reads the published ones in the library.
    if actor.may(P.BRIEFING_EDIT) or actor.may(P.BRIEFING_APPROVE):
        return EVERY
    if actor.user_id is None:
        return NOTHING
    return _ids_where(
        session, BriefingVersion.id, BriefingVersion.status == VersionStatus.PUBLISHED, ids
    )


def _users(_session: Session, actor: Actor, ids: Collection[int]) -> Container[int | None]:
    # User managers read every account; anyone reads their own (api.auth.me).
    if actor.may(P.USER_MANAGE):
        return EVERY
    return {actor.user_id} & set(ids) if actor.user_id is not None else NOTHING


def _api_tokens(session: Session, actor: Actor, ids: Collection[int]) -> Container[int | None]:
    # A token is its owner's alone (api.auth.tokens): no one else lists it.
    if actor.user_id is None:
        return NOTHING
    return _ids_where(session, ApiToken.id, ApiToken.user_id == actor.user_id, ids)


def _registrations(session: Session, actor: Actor, ids: Collection[int]) -> Container[int | None]:
    # api.registrations.get: administrators every one, an agency lead their agency's.
    if actor.may(P.USER_MANAGE):
        return EVERY
    if not actor.may(P.ACCOUNT_APPROVE) or actor.agency_id is None:
        return NOTHING
    return _ids_where(
        session, SsoRegistration.id, SsoRegistration.agency_id == actor.agency_id, ids
    )


def _access_reviews(session: Session, actor: Actor, ids: Collection[int]) -> Container[int | None]:
    # api.access_reviews.get: administrators every one, an agency's lead their agency's.
    if actor.may(P.USER_MANAGE):
        return EVERY
    if Role.AGENCY_LEAD not in actor.roles or actor.agency_id is None:
        return NOTHING
    return _ids_where(session, AccessReview.id, AccessReview.agency_id == actor.agency_id, ids)


# Every kind of object the service logs (tests/auditlog/test_need_to_know.py checks
# that each object_type in app/ is here, and each against its own routes).
READERS: dict[str, ReadableIds] = {
    "return": _returns,
    "moderated_grade": _moderated_grades,
    "child_meeting_note": _meeting_notes,
    "audit": _audits,
    "child": _children,
    "involvement": _involvements,
    "finding": _findings,
    "learning_action": _learning_actions,
    "briefing_version": _briefing_versions,
    "user": _users,
    "api_token": _api_tokens,
    "role_grant_request": _permission(P.USER_MANAGE),
    # Accounts: requests for one through single sign-on, an identity provider's
    # refusals, agency leads' access reviews (each agency's is the admins' page).
    "sso_registration": _registrations,
    "sso_provider": _permission(P.AUDIT_LOG_READ),  # a provider's refusals, no object
    "access_review": _access_reviews,
    "audit_log": _permission(P.AUDIT_LOG_READ),
    # The year's programme: its entries, and the month each audit made from it is for.
    "programme_entry": _permission(P.PROGRAMME_READ),
    # One-time links for people without an account: made and listed by those who plan
    # audits (the link's token is never logged, nor whom it was given to).
    "respondent_link": _permission(P.AUDIT_MANAGE),
    "agency": _permission(P.REFERENCE_READ),
    "subgroup": _permission(P.REFERENCE_READ),
    "theme": _permission(P.REFERENCE_READ),
    "identify_allowed_term": _permission(P.REFERENCE_MANAGE),
    "template_version": _permission(P.TEMPLATE_READ),
    "key_area": _permission(P.TEMPLATE_READ),
    "question": _permission(P.TEMPLATE_READ),
}

# Rows logged against one object but about another kept with it: a child's meeting
# notes (and the confirmation that they are not identifying) are the moderation
# meeting's, logged against the child.
_ABOUT = {
    ("child", "moderation.meeting_note"): "child_meeting_note",
    ("child", "identify.confirmed"): "child_meeting_note",
}


def kind_of(event: AuditEvent) -> str:
    """The kind of object a row describes, as READERS knows it."""
    return _ABOUT.get((event.object_type, event.action), event.object_type)


# What a reader sees of a value the retention schedule removed (its digest means nothing
# to them): the same words the removed records carry.
REMOVED_SHOWN = chain.REMOVED_SHOWN


def _shown(values: dict | None) -> dict | None:
    if not isinstance(values, dict) or not any(map(chain.removed, values.values())):
        return values
    return {k: REMOVED_SHOWN if chain.removed(v) else v for k, v in values.items()}


def _withheld(values: dict | None) -> dict | None:
    if values is None:
        return None
    return {k: v if k in HARMLESS_KEYS else WITHHELD for k, v in values.items()}


class Visibility:
    """What one reader may see of the rows they are shown. ``learn`` a batch of rows
    first (one query per kind among them), then ask ``values`` of each."""

    def __init__(self, session: Session | None, actor: Actor) -> None:
        self._session = session
        self._actor = actor
        self._everything = actor.via == Via.SYSTEM
        self._readable: dict[str, set[int | None]] = {}
        self._asked: dict[str, set[int | None]] = {}

    def learn(self, events: Iterable[AuditEvent]) -> None:
        if self._everything:
            return
        wanted: dict[str, set[int | None]] = {}
        for event in events:
            kind = kind_of(event)
            if event.object_id not in self._asked.get(kind, ()):
                wanted.setdefault(kind, set()).add(event.object_id)
        for kind, ids in wanted.items():
            self._asked.setdefault(kind, set()).update(ids)
            reader = READERS.get(kind)
            if reader is None or self._session is None:
                continue  # unknown: withheld
            found = reader(self._session, self._actor, {i for i in ids if i is not None})
            self._readable.setdefault(kind, set()).update(i for i in ids if i in found)

    def may_read(self, event: AuditEvent) -> bool:
        if self._everything:
            return True
        kind = kind_of(event)
        if event.object_id not in self._asked.get(kind, ()):
            self.learn([event])
        return event.object_id in self._readable.get(kind, ())

    def values(self, event: AuditEvent) -> tuple[dict | None, dict | None]:
        """The row's before and after, or, for what the reader may not read now, each
        value withheld (its keys still say which fields changed)."""
        if self.may_read(event):
            return _shown(event.before), _shown(event.after)
        return _withheld(event.before), _withheld(event.after)


# --- CSV --------------------------------------------------------------------------------

CSV_HEADER = (
    "when",
    "user",
    "action",
    "object type",
    "object id",
    "before",
    "after",
    "request id",
    "client address",
)
# A cell starting with one of these is a formula to Excel; the log holds text that
# users typed (names, pseudonyms), so such cells are prefixed with an apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Rows whose readability is worked out together: one query per kind per batch.
CSV_BATCH = 500


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _compact(value: dict | None) -> str:
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _batches(events: Iterable[AuditEvent]) -> Iterator[list[AuditEvent]]:
    it = iter(events)
    while batch := list(islice(it, CSV_BATCH)):
        yield batch


def write_csv(
    events: Iterable[AuditEvent], out: TextIO, *, seen_by: Visibility | None = None
) -> int:
    """Write a header row and one row per event (before and after as compact JSON, as
    ``seen_by`` may see them; everything for the server's own command line); return
    how many events were written."""
    seen = seen_by or Visibility(None, SYSTEM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    written = 0
    for batch in _batches(events):
        seen.learn(batch)
        for event in batch:
            before, after = seen.values(event)
            writer.writerow(
                [
                    _cell(event.at.isoformat()),
                    _cell(event.user_label),
                    _cell(event.action),
                    _cell(event.object_type),
                    _cell(event.object_id),
                    _cell(_compact(before)),
                    _cell(_compact(after)),
                    _cell(event.request_id),
                    _cell(event.client_address),
                ]
            )
            written += 1
    return written


def values_for(
    session: Session, actor: Actor, event: AuditEvent
) -> tuple[dict | None, dict | None]:
    """One row's before and after as ``actor`` may see them (a page of rows: use
    ``Visibility``, which asks once per kind)."""
    return Visibility(session, actor).values(event)
