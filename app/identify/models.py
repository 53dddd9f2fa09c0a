"""The partnership's own words that the identification check must never take for a
name or an address: agency, area and place names, themes. The service adds what it
already knows (agencies, subgroups, themes, the partnership's name); an admin adds
the rest here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.db import Base, UTCDateTime


class AllowedTerm(Base):
    __tablename__ = "identify_allowed_term"

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(200))
    # The term in lower case with single spaces: what is compared, and kept unique.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    added_by: Mapped[str] = mapped_column(String(320), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
