"""Moderation's figures from grouped counts are exactly the figures the per-pair path
gave (tests/moderation/per_pair_reference.py is that path, as it was): the statistics
on thousands of seeded random tables, every field compared unrounded, and whole
reports on a varied database (two template versions of one family, a second scale,
four agencies, audits in every stage, superseded decisions, grades without a
self-grade) for partnership-wide and agency-bound viewers, every filter and two
small-count thresholds, so the scoping and the suppression are checked too; and the
filters' choices.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.access.models import Role
from app.access.policy import SYSTEM, Actor
from app.agencies.models import Agency
from app.audit_templates import service as templates
from app.audit_templates.models import GradeLevel, GradingScale, KeyArea, TemplateVersion
from app.audit_templates.schemas import TemplateContent
from app.audits import cohort, lifecycle
from app.audits import service as audits
from app.audits.models import Audit, AuditStatus
from app.moderation import analytics, stats
from app.moderation.models import ModeratedGrade
from app.returns.models import Return
from tests.helpers.factories import make_agency, template_content
from tests.moderation import per_pair_reference as reference

SEED = 20261207


def _random_pairs(rng: random.Random) -> tuple[list[tuple[int, int]], int]:
    """A set of pairs of every shape the service meets: empty, one pair, all agreed,
    all in one category, mostly near the diagonal, on scales of 1 to 6 levels."""
    k = rng.randint(1, 6)
    n = rng.choice([0, 1, 2, 3, 4, 5, 7, 10, 20, 33, 50, 117, 300, 1000])
    style = rng.random()
    pairs = []
    for _ in range(n):
        own = rng.randrange(k)
        if style < 0.2:
            pairs.append((own, own))
        elif style < 0.3:
            pairs.append((0, 0))
        else:
            moved = own + rng.choice([-2, -1, 0, 0, 0, 1, 1, 2])
            pairs.append((own, min(k - 1, max(0, moved))))
    return pairs, k


class TestStatisticsFromCounts:
    def test_every_figure_is_the_per_pair_figure(self):
        rng = random.Random(SEED)
        for _ in range(800):
            pairs, k = _random_pairs(rng)
            counts = stats.tabulate(pairs, k)
            for weights in stats.WEIGHTS:
                assert stats.summary_of(counts, weights) == reference.summary(pairs, k, weights)
            # Unrounded, so that a difference in the last bit would show.
            assert stats.agreement_of(counts) == reference.agreement(pairs, k)
            assert stats.shifts_of(counts) == reference.shifts(pairs)
            for weights in ("quadratic", "linear", None):
                kappa = stats.weighted_kappa_of(counts, weights)
                assert kappa == reference.weighted_kappa(pairs, k, weights)
                assert stats.gwet_ac2_of(counts, weights) == reference.gwet_ac2(pairs, k, weights)
            assert stats.gwet_ac1_of(counts) == reference.gwet_ac1(pairs, k)

    def test_a_national_sized_table_is_the_per_pair_figure(self):
        """Hundreds of thousands of pairs: each proportion is 1/n added up that many
        times, which the counted path reaches in a few steps."""
        rng = random.Random(SEED + 1)
        pairs = [(rng.randrange(4), rng.randrange(4)) for _ in range(250_000)]
        counts = stats.tabulate(pairs, 4)
        assert stats.summary_of(counts) == reference.summary(pairs, 4)
        assert stats.weighted_kappa_of(counts) == reference.weighted_kappa(pairs, 4)
        assert stats.gwet_ac1_of(counts) == reference.gwet_ac1(pairs, 4)

    def test_tables_are_checked(self):
        with pytest.raises(ValueError):
            stats.summary_of([[1, 2], [3]])
        with pytest.raises(ValueError):
            stats.agreement_of([[1, -1], [0, 0]])
        with pytest.raises(ValueError):
            stats.tabulate([(0, 2)], 2)


THREE_POINT = {
    "name": "Three-point scale",
    "levels": [
        {"code": "G", "label": "Good"},
        {"code": "RI", "label": "Requires improvement"},
        {"code": "I", "label": "Inadequate"},
    ],
}


def _content(titles: list[str], *, scale: dict | None = None) -> TemplateContent:
    content = template_content(key_areas=len(titles))
    for area, title in zip(content["key_areas"], titles, strict=True):
        area["title"] = title
    if scale:
        content["scale"] = scale
    return TemplateContent.model_validate(content)


@dataclass
class World:
    agencies: list[Agency]
    family_id: int
    three_point_family_id: int
    audit_ids: list[int]


def _published(db, version: TemplateVersion) -> TemplateVersion:
    templates.publish(db, version=version)
    return version


def agencies_and_templates(
    db, first: list[str], second: list[str]
) -> tuple[list[Agency], tuple[TemplateVersion, TemplateVersion, TemplateVersion]]:
    """Four agencies, and three published template versions: two of one family, with the
    key areas titled ``first`` and ``second``, and one of a family on a three-point scale."""
    names = ("Police", "Health", "Children's social care", "Education")
    agencies = [make_agency(db, name=name) for name in names]
    one = _published(db, templates.create_draft(db, content=_content(first)))
    two = _published(
        db,
        templates.create_next_version(
            db,
            family=templates.get_family(db, family_id=one.family_id),
            content=_content(second),
            action="template.new_version",
        ),
    )
    three_point = _published(
        db,
        templates.create_draft(
            db, content=_content(["Voice of the child", "Safety"], scale=THREE_POINT)
        ),
    )
    return agencies, (one, two, three_point)


@pytest.fixture
def world(db) -> World:
    """Nine audits drawn from a seeded generator: versions 1 and 2 of one family (the
    key areas in a different order), a family on a three-point scale, two to four of
    four agencies each, in moderation, learning, closed, or still open (which the
    figures leave out)."""
    rng = random.Random(SEED)
    agencies, (first, second, three_point) = agencies_and_templates(
        db,
        ["Voice of the child", "Assessment", "Plan"],
        ["Assessment", "Voice of the child", "Plan"],
    )
    stages = [AuditStatus.MODERATION, AuditStatus.LEARNING, AuditStatus.CLOSED, AuditStatus.OPEN]
    audit_ids = []
    for i in range(9):
        version = (first, second, three_point)[i % 3]
        involved = rng.sample(agencies, rng.randint(2, 4))
        audit = audits.create_audit(
            db,
            template_version_id=version.id,
            title=f"Audit {i + 1}",
            returns_due_on=date(2026, 1, 1) + timedelta(days=30 * i),
            agency_ids=[a.id for a in involved],
        )
        for c in range(rng.randint(3, 7)):
            cohort.add_child(
                db,
                audit=audit,
                pseudonym=f"Child {chr(65 + c)}",
                agency_ids=[a.id for a in rng.sample(involved, rng.randint(1, len(involved)))],
            )
        lifecycle.open_audit(db, audit=audit, confirm=True)
        audit.status = stages[i % 4]
        if audit.status != AuditStatus.OPEN:
            audit.moderation_started_at = datetime(2026, 1 + i, 10, 9, tzinfo=UTC)
        _decide(db, rng, audit)
        audit_ids.append(audit.id)
    db.flush()
    return World(agencies, first.family_id, three_point.family_id, audit_ids)


def _decide(db, rng: random.Random, audit: Audit) -> None:
    """Moderated grades for most cells (the overall grade's too), some decided twice
    (the first superseded), a few with no self-grade (left out of the figures)."""
    levels = list(
        db.scalars(
            select(GradeLevel.id)
            .join(GradingScale, GradingScale.id == GradeLevel.scale_id)
            .where(GradingScale.template_version_id == audit.template_version_id)
            .order_by(GradeLevel.position)
        )
    )
    areas = list(
        db.scalars(
            select(KeyArea.id).where(KeyArea.template_version_id == audit.template_version_id)
        )
    )
    k = len(levels)
    for return_ in db.scalars(select(Return).where(Return.audit_id == audit.id)):
        for area in [*areas, None]:
            if rng.random() < 0.15:
                continue
            own = rng.randrange(k)
            moderated = min(k - 1, max(0, own + rng.choice([-1, 0, 0, 0, 1, 2])))
            if rng.random() < 0.1:
                db.add(
                    ModeratedGrade(
                        audit_id=audit.id,
                        return_id=return_.id,
                        key_area_id=area,
                        cell=area or 0,
                        self_level_id=levels[own],
                        level_id=levels[k - 1 - moderated],
                        superseded_at=datetime(2026, 11, 1, tzinfo=UTC),
                    )
                )
            db.add(
                ModeratedGrade(
                    audit_id=audit.id,
                    return_id=return_.id,
                    key_area_id=area,
                    cell=area or 0,
                    self_level_id=None if rng.random() < 0.05 else levels[own],
                    level_id=levels[moderated],
                    shift=moderated - own,
                )
            )
    db.flush()


def _viewers(world: World) -> list[Actor]:
    police, _health, _care, education = world.agencies
    return [
        SYSTEM,
        Actor(user_id=None, label="moderator", roles=frozenset({Role.MODERATOR})),
        Actor(user_id=None, label="lead", roles=frozenset({Role.AGENCY_LEAD}), agency_id=police.id),
        Actor(
            user_id=None, label="auditor", roles=frozenset({Role.AUDITOR}), agency_id=education.id
        ),
    ]


def _filters(world: World) -> list[analytics.Filters]:
    _police, health, care, _education = world.agencies
    F = analytics.Filters
    return [
        F(),
        F(weights="linear"),
        F(audit_id=world.audit_ids[0]),
        F(audit_id=world.audit_ids[2], weights="linear"),
        F(agency_id=health.id),
        F(template_id=world.family_id),
        F(template_id=world.three_point_family_id),
        F(key_area="Voice of the child"),
        F(key_area="Safety"),
        F(key_area=analytics.OVERALL),
        F(key_area="No such area"),
        F(agency_id=care.id, key_area="Assessment"),
        F(moderated_from=date(2026, 3, 1), moderated_to=date(2026, 6, 30)),
        F(moderated_from=date(2026, 5, 10), template_id=world.family_id),
    ]


def test_every_report_is_the_per_pair_report(db, world):
    compared = 0
    for actor in _viewers(world):
        for filters in _filters(world):
            for threshold in (5, 25):
                counted = analytics.report(db, actor=actor, filters=filters, threshold=threshold)
                per_pair = reference.report(db, actor=actor, filters=filters, threshold=threshold)
                assert counted == per_pair, (actor.label, filters, threshold)
                compared += bool(per_pair["groups"])
    # Not vacuous: most views have figures, and some rows are suppressed.
    assert compared > 80


def test_the_world_is_varied_enough(db, world):
    """The comparison means something only if the data has several scales, suppressed
    rows and superseded decisions."""
    whole = analytics.report(db, actor=SYSTEM, filters=analytics.Filters())
    assert [g["scale"] for g in whole["groups"]] == [
        "Ofsted four-point scale",
        "Three-point scale",
    ]
    assert whole["pairs"] > 100
    lead = _viewers(world)[2]
    one = analytics.report(
        db, actor=lead, filters=analytics.Filters(audit_id=world.audit_ids[0]), threshold=25
    )
    rows = [r for g in one["groups"] for r in g["by_agency"] + g["by_key_area"]]
    assert any(r["suppressed"] for r in rows)
    assert any(not r["suppressed"] for r in rows)
    assert db.scalar(select(ModeratedGrade.id).where(ModeratedGrade.superseded_at.is_not(None)))


def test_the_filters_offer_what_they_offered(db, world):
    """The choices, now asked audit by audit, are the lists the joins gave (less the
    list of every audit, which the page never showed)."""
    for actor in _viewers(world):
        per_pair = reference.choices(db, actor=actor)
        del per_pair["audits"]
        assert analytics.choices(db, actor=actor) == per_pair, actor.label
