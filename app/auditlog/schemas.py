from datetime import datetime

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
