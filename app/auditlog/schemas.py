from datetime import datetime

from pydantic import Field

from app.pagination import Page
from app.schemas_base import ResponseModel


class AuditEventOut(ResponseModel):
    id: int
    at: datetime
    user_id: int | None
    user_label: str
    action: str
    object_type: str
    object_id: int | None
    before: dict | None
    after: dict | None
    request_id: str
    client_address: str
    prev_hash: str
    hash: str


class AuditLogPage(Page[AuditEventOut]):
    """A page of the log. Counting stops past 10,000 matching rows: ``total`` is then
    10,000 and ``total_exact`` is false (narrow the filters for an exact count)."""

    total_exact: bool = Field(
        description="True when ``total`` is the exact number of matching rows; false when "
        "more than ``total`` (10,000) match and counting stopped there."
    )
