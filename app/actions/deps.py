"""The tracker's clock, as a dependency: the one place that reads today's date.

Services and ``lifecycle.assess`` are given the date, so tests use fixed ones (and
page tests override this dependency)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app import clock as calendar
from app.actions.lifecycle import Clock


async def clock(request: Request) -> Clock:  # async: no I/O, no thread
    settings = request.app.state.settings
    return Clock(
        today=calendar.today(), executive_after_days=settings.escalate_to_executive_after_days
    )


ClockDep = Annotated[Clock, Depends(clock)]
