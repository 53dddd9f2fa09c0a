"""Small counts that mean something: only counts of children go to the identification
check (never agencies, returns or grades); a table's small counts are one problem,
grouped under the table; one action per table shows them as "fewer than N" with the
counts that would give them away hidden too, and can be undone while the version is a
draft; the threshold is a setting; and the demo's briefing and subgroup report, as the
demo leaves them, raise nothing at all."""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html import unescape

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import service as access
from app.access.models import Role
from app.access.policy import SYSTEM
from app.auditlog.models import AuditEvent
from app.audits import cohort, lifecycle
from app.audits.models import AgeBand, Audit, AuditStatus
from app.briefings import content, render, service, suppression, workflow
from app.briefings.models import BriefingKind, BriefingVersion, Marking, VersionStatus
from app.config import Settings
from app.errors import StateError
from app.identify import check as identify
from app.identify import suppress
from tests.helpers.access import actor_of, browse_as
from tests.helpers.factories import make_audit
from tests.helpers.sessions import engine_on, rolled_back, rolled_back_session

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
SUMMARY = re.compile(r'class="govuk-error-summary".*?</ul>', re.S)
AGE_BANDS = "children-by-age-band"
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
# 12 children: 6 aged 14-15, 5 aged 16-17 and 1 aged 10-13. Only the 1 is small; hidden
# alone it is 12 less the others, and hidden with the 5 it is still the only way to
# make 6 from "fewer than 5" and "0 or 5 and more": so all three are hidden.
TWELVE = {AgeBand.AGE_14_15: 6, AgeBand.AGE_16_17: 5, AgeBand.AGE_10_13: 1}


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(NOW, tick=True):
        yield


def settings(**changes) -> Settings:
    return Settings(database_url="sqlite://", **changes)


def audit_with(db: Session, bands: dict[AgeBand, int]) -> Audit:
    """A moderated audit of one agency whose children have these age bands (each child
    a pseudonym: "Child A", "Child B" ...)."""
    audit = make_audit(db, children=0, agencies_count=1, open_=False)
    letters = iter("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    for band, n in bands.items():
        for _ in range(n):
            cohort.add_child(
                db,
                audit=audit,
                pseudonym=f"Child {next(letters)}",
                age_band=band,
                agency_ids=[audit.agencies[0].id],
            )
    lifecycle.open_audit(db, audit=audit, confirm=True)
    # No grades are needed for the children's table: the audit is simply taken to be
    # moderated, as a briefing needs.
    audit.status = AuditStatus.LEARNING
    db.flush()
    return audit


@pytest.fixture
def author(db):
    return access.create_user(
        db, email="author@example.org", display_name="Author", roles={Role.MODERATOR}
    )


def draft(db: Session, audit: Audit, author, kind=BriefingKind.BRIEFING) -> BriefingVersion:
    version = workflow.create(
        db,
        audit=audit,
        kind=kind,
        title="Learning from the audit",
        marking=Marking.OFFICIAL,
        public=False,
        actor=actor_of(author),
    )
    db.commit()
    return service.get_version(db, version_id=version.id)


def printed(db: Session, version: BriefingVersion, settings: Settings) -> str:
    context = service.document_context(db, version=version, settings=settings)
    return render.html_for(version.briefing.kind.value, context)


def age_band_rows(html: str) -> tuple[dict[str, str], int]:
    """The printed table of children by age band: each band's cell as printed, and the
    total."""
    table = re.search(r"<caption>Children by age band</caption>(.*?)</table>", html, re.S)
    assert table, "no table of children by age band"
    rows = dict(
        re.findall(r'<th scope="row">([^<]+)</th><td class="num">([^<]+)</td>', table.group(1))
    )
    total = int(rows.pop("All children"))
    return rows, total


def worked_out(cells: dict[str, str], total: int, threshold: int) -> list[str]:
    """The hidden cells whose number can be worked out from the cells as printed and the
    total, by trying every number each could be: "fewer than N" is 1 to N - 1; "not
    shown" is 0 or N and more (it would say "fewer than N" otherwise); the hidden cells
    add up to the total less the cells shown. ("Fewer than 2" says 1 by itself.)"""
    shown = {k: int(v) for k, v in cells.items() if v.isdigit()}
    hidden = [k for k in cells if k not in shown]
    left = total - sum(shown.values())

    def values(cell: str) -> list[int]:
        if cells[cell] == f"fewer than {threshold}":
            return list(range(1, threshold))
        assert cells[cell] == "not shown", cells[cell]
        return [0, *range(threshold, left + 1)]

    possible: dict[str, set[int]] = {k: set() for k in hidden}
    for combination in itertools.product(*(values(k) for k in hidden)):
        if sum(combination) == left:
            for k, v in zip(hidden, combination, strict=True):
                possible[k].add(v)
    assert all(possible.values()), "the printed cells do not add up to the total"
    return [k for k in hidden if len(possible[k]) == 1 and len(values(k)) > 1]


def post(client, page: str, path: str, **data):
    token = CSRF.search(client.get(page).text).group(1)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


class TestWhatTheCheckCounts:
    def test_a_tables_small_counts_are_one_problem_naming_its_cells(self):
        counts = [
            ("ages", "Children by age band", "0-4", 2, "children"),
            ("ages", "Children by age band", "5-9", 1, "children"),
            ("ages", "Children by age band", "10-13", 7, "children"),
            ("ages", "Children by age band", "16-17", 3, "children"),
            ("kin", "Children by family", "Siblings", 4, "children"),
        ]
        problems = identify.check([], counts=counts).problems
        assert [(p.kind, p.table, p.where, p.blocking) for p in problems] == [
            ("small_count", "ages", "Children by age band", False),
            ("small_count", "kin", "Children by family", False),
        ]
        assert problems[0].message.startswith(
            "Children by age band: 3 cells show fewer than 5 children: 0-4 (2), 5-9 (1), 16-17 (3)."
        )
        assert problems[1].message.startswith(
            "Children by family: 1 cell shows fewer than 5 children: Siblings (4)."
        )

    def test_agencies_returns_and_grades_are_not_checked(self, db, author):
        # Four agencies with a return each for each of the 3 children: "Agencies shows
        # 4" and "returns shows 3" used to be flagged, and every small grade count.
        audit = make_audit(db, children=3, agencies_count=4)
        audit.status = AuditStatus.LEARNING
        version = draft(db, audit, author, BriefingKind.SUBGROUP_REPORT)
        context = service.document_context(db, version=version, settings=settings())
        listed = {(c.label, c.of) for c in context["counts"]}
        assert ("Agencies", "agencies") in listed and ("Children", "cohort") in listed
        assert {of for _label, of in listed if of != "cohort"} >= {"agencies", "returns"}
        small = [c for c in context["counts"] if 0 < c.n < 5 and c.of != "cohort"]
        assert small, "the report shows small counts of agencies and returns"
        # None of them reaches the check: these children have no age band recorded, so
        # the report has no table of children at all.
        assert content.checked_counts(context["counts"]) == []
        report = workflow.check(db, version=version, settings=settings())
        assert [p for p in report.problems if p.kind == "small_count"] == []


class TestTheAction:
    def test_the_editor_groups_the_problem_under_the_table_and_fewer_than_5_hides_it(
        self, anonymous_client, db, author
    ):
        version = draft(db, audit_with(db, TWELVE), author)
        web = anonymous_client
        browse_as(web, db, author)
        editor = f"/briefings/versions/{version.id}"
        message = "Children by age band: 1 cell shows fewer than 5 children: 10-13 (1)."
        page = unescape(web.get(editor).text)
        assert message in page
        assert f'id="table-{AGE_BANDS}"' in page
        assert "Show small numbers as 'fewer than 5'" in page

        # Submitting is refused for the table (no tick box can wave it through): one
        # entry in the error summary, linking to the table's group, where it is said.
        refused = post(web, editor, f"{editor}/submit")
        assert refused.status_code == 422
        text = unescape(refused.text)
        summary = SUMMARY.search(text).group(0)
        assert summary.count("<li>") == 1
        assert f'href="#table-{AGE_BANDS}"' in summary and message in summary
        assert text.count(message) == 2  # the summary, and the table's group
        assert 'name="confirm_small_counts"' not in text
        refused = post(web, editor, f"{editor}/submit", confirm_small_counts="yes")
        assert refused.status_code == 422
        db.expire_all()
        assert db.get(BriefingVersion, version.id).status == VersionStatus.DRAFT

        done = post(web, editor, f"{editor}/small-numbers", table=AGE_BANDS)
        assert done.status_code == 303, done.text
        page = unescape(web.get(editor).text)
        assert "Children by age band now shows its small numbers as “fewer than 5”." in page
        assert message not in page
        assert "Show small numbers as 'fewer than 5'" not in page
        assert "Show the numbers again" in page
        db.expire_all()
        version = service.get_version(db, version_id=version.id)
        assert version.suppressed_tables == [AGE_BANDS]
        event = db.scalars(
            select(AuditEvent).where(AuditEvent.action == "briefing.suppress_table")
        ).one()
        assert event.object_id == version.id and event.after["table"] == AGE_BANDS

        html = web.get(f"{editor}/preview").text
        cells, total = age_band_rows(unescape(html))
        assert cells == {"10-13": "fewer than 5", "14-15": "not shown", "16-17": "not shown"}
        assert total == 12
        assert "“Fewer than 5” stands for a number of children from 1 to 4" in unescape(html)
        # No hidden cell can be worked out from the total and the cells shown.
        assert worked_out(cells, total, 5) == []
        report = workflow.check(db, version=version, settings=settings())
        assert [p for p in report.problems if p.kind == "small_count"] == []

        # The way back, while it is a draft: the numbers, and the problem, return.
        undone = post(web, editor, f"{editor}/small-numbers/show", table=AGE_BANDS)
        assert undone.status_code == 303, undone.text
        page = unescape(web.get(editor).text)
        assert "Children by age band shows every number again." in page
        assert message in page
        assert age_band_rows(unescape(web.get(f"{editor}/preview").text))[0] == {
            "10-13": "1",
            "14-15": "6",
            "16-17": "5",
        }
        db.expire_all()
        assert db.get(BriefingVersion, version.id).suppressed_tables == []
        assert db.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "briefing.show_table_numbers")
        ).all() == ["briefing.show_table_numbers"]

        # Shown as "fewer than 5" again, it goes for approval with nothing to confirm.
        post(web, editor, f"{editor}/small-numbers", table=AGE_BANDS)
        submitted = post(web, editor, f"{editor}/submit")
        assert submitted.status_code == 303, submitted.text

    def test_what_was_typed_is_saved_with_the_action(self, anonymous_client, db, author):
        # The editor's table buttons belong to its sections' form: the typed text comes too.
        version = draft(db, audit_with(db, TWELVE), author)
        browse_as(anonymous_client, db, author)
        editor = f"/briefings/versions/{version.id}"
        page = anonymous_client.get(editor).text
        assert 'form="sections-form"' in page and 'id="sections-form"' in page
        typed = {**version.sections, "reflection": "Read this with your team."}
        done = post(
            anonymous_client,
            editor,
            f"{editor}/small-numbers",
            **typed,
            marking="OFFICIAL",
            lock_version=str(version.lock_version),
            table=AGE_BANDS,
        )
        assert done.status_code == 303, done.text
        db.expire_all()
        saved = db.get(BriefingVersion, version.id)
        assert saved.sections["reflection"] == "Read this with your team."
        assert saved.suppressed_tables == [AGE_BANDS]

    def test_only_a_draft_and_only_its_own_tables(self, anonymous_client, db, author):
        version = draft(db, audit_with(db, TWELVE), author)
        web = anonymous_client
        browse_as(web, db, author)
        editor = f"/briefings/versions/{version.id}"
        unknown = post(web, editor, f"{editor}/small-numbers", table="someone-elses-table")
        assert unknown.status_code == 422
        assert "Choose a table of children in this document" in unescape(unknown.text)

        # (Each request ends its transaction: the version is read again after one.)
        version = service.get_version(db, version_id=version.id)
        suppression.suppress_table(
            db, version=version, table=AGE_BANDS, settings=settings(), actor=SYSTEM
        )
        workflow.submit(db, version=version, actor=actor_of(author), settings=settings())
        db.commit()
        for path in ("small-numbers", "small-numbers/show"):
            refused = post(web, editor, f"{editor}/{path}", table=AGE_BANDS)
            assert refused.status_code == 409, refused.text
        version = service.get_version(db, version_id=version.id)
        with pytest.raises(StateError, match="submitted"):
            suppression.show_table_numbers(
                db, version=version, table=AGE_BANDS, settings=settings(), actor=SYSTEM
            )
        db.expire_all()
        assert db.get(BriefingVersion, version.id).suppressed_tables == [AGE_BANDS]

    def test_through_the_api(self, client, db, author):
        version = draft(db, audit_with(db, TWELVE), author)
        url = f"/api/v1/briefings/versions/{version.id}/suppressed-tables"
        shown = client.post(url, json={"table": AGE_BANDS})
        assert shown.status_code == 200, shown.text
        assert shown.json()["suppressed_tables"] == [AGE_BANDS]
        assert client.post(url, json={"table": "nope"}).status_code == 422
        back = client.delete(f"{url}/{AGE_BANDS}")
        assert back.status_code == 200 and back.json()["suppressed_tables"] == []

    def test_a_new_version_keeps_its_tables_shown_as_fewer(self, db, author):
        version = draft(db, audit_with(db, TWELVE), author)
        suppression.suppress_table(
            db, version=version, table=AGE_BANDS, settings=settings(), actor=SYSTEM
        )
        version.status = VersionStatus.PUBLISHED  # as if published
        db.flush()
        nxt = workflow.new_version(db, version=version, actor=actor_of(author))
        assert nxt.suppressed_tables == [AGE_BANDS]


class TestTheThreshold:
    @pytest.mark.parametrize(
        ("threshold", "flagged", "printed_as"),
        [
            (5, "1 cell shows fewer than 5 children: 10-13 (1)", {"10-13": "fewer than 5"}),
            (
                7,
                "3 cells show fewer than 7 children: 10-13 (1), 14-15 (6), 16-17 (5)",
                {"14-15": "fewer than 7", "16-17": "fewer than 7", "10-13": "fewer than 7"},
            ),
            (2, "1 cell shows fewer than 2 children: 10-13 (1)", {"10-13": "fewer than 2"}),
        ],
    )
    def test_it_changes_what_is_flagged_and_the_words_printed(
        self, db, author, threshold, flagged, printed_as
    ):
        chosen = settings(small_count_threshold=threshold)
        version = draft(db, audit_with(db, TWELVE), author)
        [table] = suppression.child_tables(db, version=version, settings=chosen)
        assert table.problem and f"Children by age band: {flagged}." in table.problem.message
        suppression.suppress_table(
            db, version=version, table=AGE_BANDS, settings=chosen, actor=SYSTEM
        )
        cells, total = age_band_rows(printed(db, version, chosen))
        assert {k: v for k, v in cells.items() if v.startswith("fewer")} == printed_as
        assert worked_out(cells, total, threshold) == []
        [table] = suppression.child_tables(db, version=version, settings=chosen)
        assert table.suppressed and table.problem is None


class TestSecondarySuppression:
    def test_no_hidden_count_can_be_worked_out_from_the_total(self):
        """Lines of up to 6 counts from 0 to 12, thresholds 2 to 6: whatever is printed,
        every hidden count could be at least two numbers; or, where nothing else can
        hide them, the line is withheld."""
        rng = random.Random(2026)
        for _ in range(400):
            threshold = rng.randint(2, 6)
            line = {f"band {i}": rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 12]) for i in range(6)}
            line = dict(itertools.islice(line.items(), rng.randint(1, 6)))
            cut = suppress.suppress_line(line, threshold=threshold)
            assert cut.small == frozenset(k for k, n in line.items() if 0 < n < threshold)
            if cut.withheld:
                continue
            cells = {k: str(cut.shown(k)) for k in line}
            assert worked_out(cells, sum(line.values()), threshold) == [], (line, cells)

    def test_every_child_in_one_band_withholds_the_bands(self, db, author):
        version = draft(db, audit_with(db, {AgeBand.AGE_14_15: 4}), author)
        suppression.suppress_table(
            db, version=version, table=AGE_BANDS, settings=settings(), actor=SYSTEM
        )
        html = unescape(printed(db, version, settings()))
        cells, total = age_band_rows(html)
        assert (cells, total) == ({}, 4)
        assert "The age bands are not shown" in html


# -- the demo -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_database) -> Iterator[Session]:
    with (
        engine_on(demo_database()) as engine,
        rolled_back(engine) as connection,
        rolled_back_session(connection) as session,
    ):
        yield session


class TestTheDemo:
    def demo_versions(self, demo: Session) -> list[BriefingVersion]:
        versions = [
            service.get_version(demo, version_id=v)
            for v in demo.scalars(select(BriefingVersion.id).order_by(BriefingVersion.id))
        ]
        # The deep dive's briefing and report, and last year's briefing.
        assert sorted(v.briefing.kind for v in versions) == [
            BriefingKind.BRIEFING,
            BriefingKind.BRIEFING,
            BriefingKind.SUBGROUP_REPORT,
        ]
        return versions

    def test_as_the_demo_leaves_them_they_raise_nothing(self, demo):
        for version in self.demo_versions(demo):
            report = workflow.check(demo, version=version, settings=settings())
            assert report.problems == [], (version.briefing.title, report.problems)

    def test_without_the_action_only_the_children_by_age_band_are_flagged(self, demo):
        for version in self.demo_versions(demo):
            assert version.suppressed_tables, version.briefing.title
            kept = version.suppressed_tables
            version.suppressed_tables = []
            try:
                problems = workflow.check(demo, version=version, settings=settings()).problems
            finally:
                version.suppressed_tables = kept
            [problem] = problems
            assert (problem.kind, problem.where) == ("small_count", "Children by age band")
            assert problem.table == kept[0] and problem.table.endswith(AGE_BANDS)
            # The deep dive's six young people, and last year's five.
            assert problem.message.startswith(
                (
                    "Children by age band: 3 cells show fewer than 5 children: "
                    "10-13 (1), 14-15 (3), 16-17 (2).",
                    "Children by age band: 3 cells show fewer than 5 children: "
                    "10-13 (1), 14-15 (2), 16-17 (2).",
                )
            ), problem.message
