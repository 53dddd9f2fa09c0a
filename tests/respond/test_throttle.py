"""Links that do not work count against the client address: past the hourly allowance
every link from it is refused (429, with Retry-After), a working one too, until the
oldest failure is an hour old; another address is not held up."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.respond.models import RespondentLinkFailure
from tests.respond.conftest import issue


def test_many_wrong_tokens_from_one_address_are_refused(
    web, db, admin, family_survey, settings, clock, other_browser
):
    _link, token = issue(db, family_survey.survey, family_survey.return_for(db), admin, settings)
    allowed = settings.respondent_link_failures_per_hour
    for n in range(allowed):
        wrong = web.get(f"/respond/{'w' * 30}{n:013d}")
        assert wrong.status_code == 404, n
    refused = web.get(f"/respond/{'w' * 43}")
    assert refused.status_code == 429 and "Too many attempts" in refused.text
    assert int(refused.headers["retry-after"]) == 3600
    # The working link too, and posting to it: nothing is looked up.
    assert web.get(f"/respond/{token}").status_code == 429
    assert web.post(f"/respond/{token}", data={"then": "save"}).status_code == 429
    # Refusals past the allowance are not counted again.
    assert db.scalar(select(func.count(RespondentLinkFailure.id))) == allowed
    # Another address is not held up.
    elsewhere = other_browser(address="203.0.113.7")
    assert elsewhere.get(f"/respond/{token}").status_code == 200
    # An hour after the first failure, the address may try again.
    clock.shift(timedelta(hours=1))
    assert web.get(f"/respond/{token}").status_code == 200


def test_used_and_expired_links_count_too(web, db, admin, family_survey, settings, clock):
    _link, token = issue(db, family_survey.survey, family_survey.return_for(db), admin, settings)
    clock.shift(timedelta(days=settings.respondent_link_days))
    for _ in range(settings.respondent_link_failures_per_hour):
        assert web.get(f"/respond/{token}").status_code == 410
    assert web.get(f"/respond/{token}").status_code == 429
