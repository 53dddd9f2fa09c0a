from datetime import datetime

from pydantic import Field

from app.notifications.models import NotificationStatus
from app.schemas_base import RequestModel, ResponseModel


class ThemesFollow(RequestModel):
    theme_ids: list[int] = Field(
        default_factory=list,
        max_length=200,
        description="Every theme to follow (ids from GET /me/themes); an empty list follows none.",
    )


class ThemeOption(ResponseModel):
    id: int
    name: str
    followed: bool


class FollowedThemes(ResponseModel):
    themes: list[ThemeOption] = Field(
        description="Every theme that may be followed, and those followed (a retired one too)."
    )


class NotificationOut(ResponseModel):
    id: int
    kind: str
    subject: str
    body: str
    object_type: str
    object_id: int | None
    status: NotificationStatus
    created_at: datetime
    sent_at: datetime | None
