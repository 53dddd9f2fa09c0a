"""Themes a person follows: when a learning briefing on one of them is published, they
are told (``notices.briefing_published``). A briefing is on the themes its audit's
findings are tagged with (the controlled list the business unit keeps,
app/findings/models.py), and on the audit's own theme where that is one of them."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.access.models import User
from app.audits.models import Audit
from app.errors import FieldError, InvalidInput
from app.findings.models import Finding, Theme, ThemeSubscription, finding_theme


def themes(session: Session) -> list[Theme]:
    """The themes anyone may follow: the active ones, by name."""
    return list(session.scalars(select(Theme).where(Theme.active).order_by(Theme.name)))


def followed(session: Session, *, user_id: int) -> list[Theme]:
    """The themes the person follows, by name (a retired one too, until they drop it)."""
    return list(
        session.scalars(
            select(Theme)
            .join(ThemeSubscription, ThemeSubscription.theme_id == Theme.id)
            .where(ThemeSubscription.user_id == user_id)
            .order_by(Theme.name)
        )
    )


def follow(session: Session, *, user_id: int, theme_ids: list[int]) -> list[Theme]:
    """Follow exactly ``theme_ids`` (none: follow nothing): each an active theme, or
    one the person already follows."""
    wanted = list(dict.fromkeys(theme_ids))
    had = {t.id for t in followed(session, user_id=user_id)}
    offered = {t.id for t in themes(session)} | had
    unknown = [i for i in wanted if i not in offered]
    if unknown:
        raise InvalidInput(
            "Choose themes from the list.",
            fields=[FieldError("theme_ids", f"There is no theme to follow with id {unknown[0]}")],
        )
    session.execute(
        delete(ThemeSubscription).where(
            ThemeSubscription.user_id == user_id, ThemeSubscription.theme_id.not_in(wanted)
        )
    )
    session.add_all(ThemeSubscription(user_id=user_id, theme_id=i) for i in wanted if i not in had)
    session.flush()
    return followed(session, user_id=user_id)


def briefing_themes(session: Session, *, audit: Audit) -> list[Theme]:
    """The themes a briefing of ``audit`` is on: its findings' and the audit's own."""
    tagged = (
        select(finding_theme.c.theme_id)
        .join(Finding, Finding.id == finding_theme.c.finding_id)
        .where(Finding.audit_id == audit.id)
    )
    named = func.lower(Theme.name) == (audit.theme or "").strip().lower()
    return list(
        session.scalars(select(Theme).where(Theme.id.in_(tagged) | named).order_by(Theme.name))
    )


def followers(session: Session, *, theme_ids: list[int]) -> list[User]:
    """Active people following any of the themes, each once."""
    if not theme_ids:
        return []
    return list(
        session.scalars(
            select(User)
            .where(
                User.active,
                User.id.in_(
                    select(ThemeSubscription.user_id).where(
                        ThemeSubscription.theme_id.in_(theme_ids)
                    )
                ),
            )
            .order_by(User.id)
        )
    )
