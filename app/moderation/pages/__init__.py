"""Pages: the grid and each cell's decision; opening moderation and the returns not
in; the meeting, one child at a time; what moderation shows."""

from fastapi import APIRouter

from app.moderation.pages import analytics, grid, late, meeting

router = APIRouter(include_in_schema=False)
router.include_router(grid.router)
router.include_router(late.router)
router.include_router(meeting.router)
router.include_router(analytics.router)
