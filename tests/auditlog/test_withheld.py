"""The log must not become a way round need-to-know: what a return says is shown only
to those who may read returns."""

import pytest
from sqlalchemy import select

from app.audit_templates import service as templates
from app.auditlog.visibility import WITHHELD
from app.returns import service as returns
from app.returns.models import Return
from app.returns.schemas import AnswerIn, EvidenceIn
from tests.helpers.factories import make_audit

API = "/api/v1"


@pytest.fixture
def web(anonymous_client, db):
    anonymous_client.event_hooks["request"].append(lambda _request: db.expire_all())
    return anonymous_client


def _saved_draft(db) -> int:
    audit = make_audit(db, children=1, agencies_count=1)
    version = templates.get_version(db, version_id=audit.template_version_id)
    key_area = version.key_areas[0]
    return_ = db.scalar(select(Return).where(Return.audit_id == audit.id))
    returns.save_draft(
        db,
        return_=return_,
        read_version=1,
        grades=[],
        answers=[AnswerIn(question_id=key_area.questions[1].id, value="She said she felt safe.")],
        evidence=[EvidenceIn(key_area_id=key_area.id, went_well="Seen the same day.")],
    )
    db.commit()
    return return_.id


def test_admins_see_which_answers_changed_not_what_they_say(web, db, people):
    return_id = _saved_draft(db)
    body = web.get(
        f"{API}/audit-log",
        params={"action": "return.save_draft"},
        headers=people["admin"]["headers"],
    ).json()
    (row,) = body["items"]
    assert row["object_id"] == return_id
    assert row["after"]["status"] == "draft"
    hidden = {k: v for k, v in row["after"].items() if k.startswith(("answer:", "evidence:"))}
    assert hidden and set(hidden.values()) == {WITHHELD}
    csv = web.get(f"{API}/audit-log.csv", headers=people["admin"]["headers"]).text
    assert "felt safe" not in csv and "Seen the same day" not in csv


def test_scrutineers_who_may_read_returns_see_the_words(web, db, people):
    _saved_draft(db)
    body = web.get(
        f"{API}/audit-log",
        params={"action": "return.save_draft"},
        headers=people["scrutineer"]["headers"],
    ).json()
    assert "She said she felt safe." in body["items"][0]["after"].values()


def test_dates_outside_the_calendar_are_422_not_500(web, people):
    for params in ({"from": "0001-01-01T00:00:00+01:00"}, {"to": "9999-12-31T23:59:59-01:00"}):
        for path in ("/audit-log", "/audit-log.csv"):
            r = web.get(f"{API}{path}", params=params, headers=people["admin"]["headers"])
            assert r.status_code == 422, r.text
