from datetime import datetime

from pydantic import Field

from app.agencies.models import AgencyKind
from app.schemas_base import LongText, Name, RequestModel, ResponseModel, reject_null


class AgencyCreate(RequestModel):
    name: Name
    kind: AgencyKind


class AgencyUpdate(RequestModel):
    name: Name | None = None
    kind: AgencyKind | None = None
    active: bool | None = None

    _not_null = reject_null("name", "kind", "active")


class AgencyOut(ResponseModel):
    id: int
    name: str
    kind: AgencyKind
    active: bool
    created_at: datetime


class SubgroupCreate(RequestModel):
    name: Name
    description: LongText = ""


class SubgroupUpdate(RequestModel):
    name: Name | None = None
    description: LongText | None = None
    active: bool | None = None
    chair_user_id: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="Its chair: an active person with the subgroup chair role; null for none.",
    )

    _not_null = reject_null("name", "description", "active")


class SubgroupOut(ResponseModel):
    id: int
    name: str
    description: str
    active: bool
    chair_user_id: int | None
    created_at: datetime
