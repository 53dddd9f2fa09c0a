"""A fair, reproducible sample (app/audits/sampling.py): the same seed and numbers draw
the same positions, here, through the API and on the command line; the rule is the one
the README gives, checked against SHA-256 written out by hand; the drawn positions
become the cohort's children in order, and the seed and the result are in the audit
log. The seeds are invented."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.auditlog.models import AuditEvent
from app.audits import sampling
from app.audits.models import AuditStatus
from audit_tools.cli import app as cli
from tests.helpers.factories import make_audit

API = "/api/v1"


class TestTheRule:
    def test_the_same_seed_and_numbers_draw_the_same_positions(self):
        first = sampling.draw(eligible=143, count=7, seed="westshire-2027-01")
        again = sampling.draw(eligible=143, count=7, seed="westshire-2027-01")
        assert first == again
        assert len(first.positions) == 7 == len(set(first.positions))
        assert first.positions == sorted(first.positions)
        assert all(1 <= p <= 143 for p in first.positions)
        assert first.sentence().startswith("7 of 143, seed westshire-2027-01: positions ")

    def test_it_is_the_rule_the_readme_gives(self):
        """The K positions whose SHA-256 of "<seed>:<position>" is smallest."""
        seed = "check-by-hand"
        keys = {p: hashlib.sha256(f"{seed}:{p}".encode()).hexdigest() for p in range(1, 31)}
        smallest = sorted(sorted(keys, key=keys.__getitem__)[:5])
        assert sampling.draw(eligible=30, count=5, seed=seed).positions == smallest

    def test_another_seed_draws_otherwise(self):
        draws = {
            tuple(sampling.draw(eligible=500, count=10, seed=f"s{n}").positions) for n in range(5)
        }
        assert len(draws) == 5

    def test_drawing_all_draws_everyone(self):
        assert sampling.draw(eligible=6, count=6, seed="all").positions == [1, 2, 3, 4, 5, 6]

    @pytest.mark.parametrize(
        ("eligible", "count", "seed", "field"),
        [
            (0, 1, "s", "eligible"),
            (5, 6, "s", "count"),
            (5, 0, "s", "count"),
            (5, 2, "", "seed"),
            (5, 2, "has space", "seed"),
        ],
    )
    def test_what_cannot_be_drawn_is_refused_by_field(self, eligible, count, seed, field):
        with pytest.raises(sampling.InvalidInput) as refused:
            sampling.draw(eligible=eligible, count=count, seed=seed)
        assert [f.field for f in refused.value.fields] == [field]


class TestTheCohort:
    def test_drawn_positions_become_the_cohort_in_order_and_are_logged(self, client, db):
        audit = make_audit(db, children=0, agencies_count=2, open_=False)
        db.commit()
        body = {
            "eligible": 143,
            "count": 7,
            "seed": "westshire-2027-01",
            "agency_ids": [a.id for a in audit.agencies],
        }
        r = client.post(f"{API}/audits/{audit.id}/cohort/draw", json=body)
        assert r.status_code == 201, r.text
        found = r.json()
        expected = sampling.draw(eligible=143, count=7, seed="westshire-2027-01").positions
        assert found["positions"] == expected
        assert [c["position"] for c in found["children"]] == expected
        assert [c["child"]["pseudonym"] for c in found["children"]] == [
            f"Child {x}" for x in "ABCDEFG"
        ]
        assert all(len(c["child"]["involvements"]) == 2 for c in found["children"])
        logged = db.scalar(select(AuditEvent).where(AuditEvent.action == "audit.cohort_drawn"))
        assert logged.object_id == audit.id
        assert (logged.after["seed"], logged.after["eligible"], logged.after["positions"]) == (
            "westshire-2027-01",
            143,
            expected,
        )

    def test_without_a_seed_a_new_one_is_chosen_and_returned(self, client, db):
        audit = make_audit(db, children=1, agencies_count=1, open_=False)  # has Child A
        db.commit()
        r = client.post(f"{API}/audits/{audit.id}/cohort/draw", json={"eligible": 20, "count": 2})
        assert r.status_code == 201
        seed = r.json()["seed"]
        assert r.json()["positions"] == sampling.draw(eligible=20, count=2, seed=seed).positions
        # Child A was there already: the drawn are the next pseudonyms free.
        assert [c["child"]["pseudonym"] for c in r.json()["children"]] == ["Child B", "Child C"]

    def test_bad_numbers_are_422_by_field_and_an_audit_in_moderation_409(self, client, db):
        audit = make_audit(db, children=1, agencies_count=1, open_=False)
        db.commit()
        r = client.post(f"{API}/audits/{audit.id}/cohort/draw", json={"eligible": 3, "count": 5})
        assert r.status_code == 422
        assert [e["field"] for e in r.json()["errors"]] == ["count"]
        opened = make_audit(db, children=1, agencies_count=1)
        opened.status = AuditStatus.MODERATION  # its cohort can no longer change
        db.commit()
        r = client.post(f"{API}/audits/{opened.id}/cohort/draw", json={"eligible": 9, "count": 2})
        assert r.status_code == 409


class TestTheCommandLine:
    def test_redraw_prints_the_positions_one_a_line(self):
        done = CliRunner().invoke(
            cli,
            ["audits", "redraw", "--seed", "westshire-2027-01", "--eligible", "143", "--draw", "7"],
        )
        assert done.exit_code == 0, done.output
        expected = sampling.draw(eligible=143, count=7, seed="westshire-2027-01").positions
        assert done.output.split() == [str(p) for p in expected]

    def test_redraw_refuses_what_cannot_be_drawn(self):
        done = CliRunner().invoke(
            cli, ["audits", "redraw", "--seed", "s", "--eligible", "3", "--draw", "5"]
        )
        assert done.exit_code == 2


class TestStratifiedByAgeBand:
    """Each age band is its own numbered list, drawn in turn with the same seed; a band's
    key is SHA-256 of "<seed>:<band>:<position>"."""

    def test_a_bands_rule_is_the_one_the_readme_gives(self):
        seed, band = "check-by-hand", "5-9"
        keys = {p: hashlib.sha256(f"{seed}:{band}:{p}".encode()).hexdigest() for p in range(1, 41)}
        smallest = sorted(sorted(keys, key=keys.__getitem__)[:4])
        drawn = sampling.draw(eligible=40, count=4, seed=seed, stratum=band)
        assert drawn.positions == smallest
        assert drawn.sentence().startswith("4 of 40 aged 5-9, seed check-by-hand: positions ")
        # The bands are independent draws: the same numbers in another band differ.
        assert sampling.draw(eligible=40, count=4, seed=seed, stratum="10-13") != drawn

    def test_each_band_drawn_in_turn_gives_its_children_the_band(self, client, db):
        audit = make_audit(db, children=0, agencies_count=1, open_=False)
        db.commit()
        found = {}
        for band, eligible, count in (("1-4", 30, 2), ("14-15", 12, 3)):
            r = client.post(
                f"{API}/audits/{audit.id}/cohort/draw",
                json={"eligible": eligible, "count": count, "seed": "ws-2027", "age_band": band},
            )
            assert r.status_code == 201, r.text
            assert r.json()["age_band"] == band
            expected = sampling.draw(eligible=eligible, count=count, seed="ws-2027", stratum=band)
            assert r.json()["positions"] == expected.positions
            found[band] = [
                (c["child"]["pseudonym"], c["child"]["age_band"]) for c in r.json()["children"]
            ]
        assert found == {
            "1-4": [("Child A", "1-4"), ("Child B", "1-4")],
            "14-15": [("Child C", "14-15"), ("Child D", "14-15"), ("Child E", "14-15")],
        }
        logged = db.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "audit.cohort_drawn")
            .order_by(AuditEvent.id)
        ).all()
        assert [(e.after["age_band"], e.after["eligible"]) for e in logged] == [
            ("1-4", 30),
            ("14-15", 12),
        ]

    def test_redraw_by_age_band_prints_that_bands_positions(self):
        args = ["audits", "redraw", "--seed", "ws-2027", "--eligible", "12", "--draw", "3"]
        done = CliRunner().invoke(cli, [*args, "--age-band", "14-15"])
        assert done.exit_code == 0, done.output
        expected = sampling.draw(eligible=12, count=3, seed="ws-2027", stratum="14-15")
        assert done.output.split() == [str(p) for p in expected.positions]
        refused = CliRunner().invoke(cli, [*args, "--age-band", "teenagers"])
        assert refused.exit_code == 2 and "age_band" in refused.output
