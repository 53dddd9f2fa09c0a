"""The log's list counts its matching rows only up to a limit: past it, ``total`` is
the limit and ``total_exact`` is false, so a page of a log of millions of rows costs
what the page costs. The response keeps the shape every list has (items, total, page,
per_page), with ``total_exact`` added and described in the API's schema."""

from __future__ import annotations

from sqlalchemy import func, select

from app.auditlog import api as log_api
from app.auditlog import service
from app.auditlog.models import AuditEvent
from app.pagination import PageParams
from tests.helpers.auditlog import API
from tests.helpers.factories import make_audit


def test_counting_stops_one_row_past_the_limit(db):
    make_audit(db, children=1, agencies_count=2)
    db.flush()
    every = db.scalar(select(func.count()).select_from(AuditEvent))
    assert every > 5
    everything = service.LogFilter()
    rows, total, exact = service.search(
        db, filters=everything, params=PageParams(1, 2), count_up_to=every
    )
    assert (len(rows), total, exact) == (2, every, True)
    rows, total, exact = service.search(
        db, filters=everything, params=PageParams(1, 2), count_up_to=every - 1
    )
    assert (len(rows), total, exact) == (2, every - 1, False)
    # The filters narrow the count as they narrow the rows.
    first = rows[-1]
    one = service.LogFilter(object_type=first.object_type, object_id=first.object_id)
    found, total, exact = service.search(db, filters=one, params=PageParams(1, 50), count_up_to=3)
    assert exact == (len(found) <= 3) and total == min(len(found), 3)


def test_the_list_says_when_more_match_than_it_counted(anonymous_client, db, people, monkeypatch):
    make_audit(db, children=1, agencies_count=2)
    db.commit()
    admin = people["admin"]["headers"]
    body = anonymous_client.get(f"{API}/audit-log", headers=admin, params={"per_page": 2}).json()
    assert body["total_exact"] is True and body["total"] > 3
    monkeypatch.setattr(log_api, "COUNTED_UP_TO", 3)
    body = anonymous_client.get(f"{API}/audit-log", headers=admin, params={"per_page": 2}).json()
    assert (body["total"], body["total_exact"], len(body["items"])) == (3, False, 2)
    assert set(body) == {"items", "total", "total_exact", "page", "per_page"}


def test_the_schema_describes_the_flag(anonymous_client):
    schema = anonymous_client.get("/openapi.json").json()["components"]["schemas"]
    flag = schema["AuditLogPage"]["properties"]["total_exact"]
    assert flag["type"] == "boolean" and "10,000" in flag["description"]
    assert "total_exact" in schema["AuditLogPage"]["required"]
