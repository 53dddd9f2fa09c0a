"""The library's full-text search (app/briefings/search.py): a phrase that appears only
inside a published briefing's sections finds it, on both databases; words are stemmed;
what is typed is never read as query syntax; drafts and superseded versions are never
found; and the index is kept in step when a version is published again."""

from __future__ import annotations

from datetime import date

import pytest

from app.briefings import library, render_queue
from app.briefings.models import (
    Briefing,
    BriefingKind,
    BriefingVersion,
    Marking,
    RenderStatus,
    VersionStatus,
)
from tests.helpers.factories import make_audit

SECTIONS = {
    "background": "Why the partnership looked at these children.",
    "findings": "Strategy discussions were held late; the voice of the child was recorded "
    "in most returns. Child sexual exploitation (CSE) screening was used well.",
}


def published(session, audit, *, title: str, sections: dict, number: int = 1, briefing=None):
    """A version published the way the renderer publishes it (render_queue)."""
    if briefing is None:
        briefing = Briefing(audit_id=audit.id, kind=BriefingKind.BRIEFING, title=title, public=True)
        session.add(briefing)
        session.flush()
    version = BriefingVersion(
        briefing_id=briefing.id,
        number=number,
        status=VersionStatus.APPROVED,
        marking=Marking.OFFICIAL,
        sections=sections,
        render_status=RenderStatus.RENDERING,
    )
    session.add(version)
    session.flush()
    render_queue._finish_render(
        session, version_id=version.id, pdf=b"%PDF-1.7 synthetic", today=date(2026, 6, 1)
    )
    session.flush()
    return briefing, version


def found(session, q: str, *, signed_in: bool = True) -> list[int]:
    return [v.id for _b, v in library.library(session, signed_in=signed_in, q=q)]


@pytest.fixture
def two_briefings(db):
    first_audit = make_audit(db, children=1, agencies_count=1)
    second_audit = make_audit(db, children=1, agencies_count=1)
    _, one = published(db, first_audit, title="Learning from the audit", sections=SECTIONS)
    _, other = published(
        db,
        second_audit,
        title="Neglect: what we learned",
        sections={"findings": "Home conditions were assessed with the graded care profile."},
    )
    return one, other


class TestSearch:
    @pytest.mark.parametrize(
        "q",
        [
            '"strategy discussions"',
            "strategy discussion",  # stemmed: discussion finds discussions
            "voice of the child",
            "CSE",
            "cse screening",
        ],
    )
    def test_words_only_inside_the_text_find_it(self, db, two_briefings, q):
        one, _other = two_briefings
        assert found(db, q) == [one.id]

    def test_the_title_and_the_other_briefing(self, db, two_briefings):
        one, other = two_briefings
        assert found(db, "graded care") == [other.id]
        assert found(db, "neglect") == [other.id]  # in its title only
        assert sorted(found(db, "learn")) == sorted([one.id, other.id])  # learning, learned
        assert found(db, "strategy neglect") == []  # every word must appear

    @pytest.mark.parametrize(
        "q", ['"', "AND OR NOT", "child*", "(voice", "NEAR(a b)", "'; DROP TABLE x; --", "-"]
    )
    def test_what_is_typed_is_never_query_syntax(self, db, two_briefings, q):
        found(db, q)  # no error, whatever the result

    def test_nothing_searchable_lists_everything(self, db, two_briefings):
        assert len(found(db, "  !!  ")) == 2

    def test_a_new_version_is_found_by_its_own_words(self, db, two_briefings):
        one, _other = two_briefings
        briefing = db.get(Briefing, one.briefing_id)
        db.refresh(briefing)
        _, newer = published(
            db,
            None,
            title="",
            sections={"findings": "Multi-agency chronologies were rarely shared."},
            number=2,
            briefing=briefing,
        )
        assert found(db, "chronologies") == [newer.id]
        assert found(db, "strategy discussion") == []  # the superseded version is not listed
