"""The API of what a person is told: the notifications they were sent, and the themes
whose new briefings they follow (as the pages, app/notifications/pages.py)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from app.access.policy import Actor
from app.deps import SessionDep, transactional
from app.errors import StateError
from app.notifications import service, subscriptions
from app.notifications.schemas import FollowedThemes, NotificationOut, ThemeOption, ThemesFollow

router = APIRouter(prefix="/api/v1", tags=["notifications"])


def own_user_id(actor: Actor) -> int:
    if actor.user_id is None:
        raise StateError("Only a person's own account is told things and follows themes.")
    return actor.user_id


def themes_of(session: Session, user_id: int) -> FollowedThemes:
    followed = subscriptions.followed(session, user_id=user_id)
    ids = {t.id for t in followed}
    offered = {t.id: t for t in subscriptions.themes(session)} | {t.id: t for t in followed}
    return FollowedThemes(
        themes=[
            ThemeOption(id=t.id, name=t.name, followed=t.id in ids)
            for t in sorted(offered.values(), key=lambda t: t.name)
        ]
    )


@router.get("/me/notifications", name="api.notifications.mine")
@transactional
def my_notifications(session: SessionDep, actor: Actor) -> list[NotificationOut]:
    """The e-mails the service has sent you, or is about to, newest first (the latest 100)."""
    return [
        NotificationOut.model_validate(n) for n in service.mine(session, user_id=own_user_id(actor))
    ]


@router.get("/me/themes", name="api.notifications.themes")
@transactional
def my_themes(session: SessionDep, actor: Actor) -> FollowedThemes:
    """Every theme, and whether you follow it: you are e-mailed when a learning briefing
    on a theme you follow is published."""
    return themes_of(session, own_user_id(actor))


@router.put("/me/themes", name="api.notifications.follow")
@transactional
def follow_themes(session: SessionDep, actor: Actor, body: ThemesFollow) -> FollowedThemes:
    """Follow exactly these themes (422 names an id that is not a theme to follow)."""
    user_id = own_user_id(actor)
    subscriptions.follow(session, user_id=user_id, theme_ids=body.theme_ids)
    return themes_of(session, user_id)
