from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base, UTCDateTime, str_enum


class AgencyKind(StrEnum):
    SOCIAL_CARE = "social_care"
    POLICE = "police"
    ACUTE_HEALTH = "acute_health"
    COMMUNITY_HEALTH = "community_health"
    GP = "gp"
    EDUCATION = "education"
    PROBATION = "probation"
    YOUTH_JUSTICE = "youth_justice"
    DISTRICT_COUNCIL = "district_council"
    VOLUNTARY = "voluntary"
    OTHER = "other"


class Agency(Base):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[AgencyKind] = mapped_column(str_enum(AgencyKind, "agency_kind"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Subgroup(Base):
    __tablename__ = "subgroup"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Its chair: someone with the subgroup chair role, told when an action of an audit
    # the subgroup leads is overdue (app/notifications/notices.py).
    chair_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
