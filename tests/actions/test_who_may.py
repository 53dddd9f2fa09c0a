"""Who may do what to a learning action: agency leads move only their own agency's
actions on, and only through the progress steps; moderators and admins do everything;
actions are seen by those who may see their audit."""

from __future__ import annotations

import pytest

from app.access.models import Role
from tests.helpers.actions import API, create_action, move, moved
from tests.helpers.factories import make_agency


@pytest.fixture
def api(anonymous_client, fresh_reads):
    """Real authentication here: every request names who makes it."""
    return fresh_reads(anonymous_client)


@pytest.fixture
def moderator(person):
    return person(Role.MODERATOR)[1]


@pytest.fixture
def agreed(api, audit, first, second, moderator):
    """One agreed action owned by each agency: (first's, second's)."""
    ours = create_action(api, audit, first.id, moderator)["id"]
    theirs = create_action(api, audit, second.id, moderator)["id"]
    for aid in (ours, theirs):
        moved(api, aid, "agreed", moderator)
    return ours, theirs


@pytest.fixture
def status_of(api, moderator):
    return lambda aid: api.get(f"{API}/actions/{aid}", headers=moderator).json()["status"]


class TestAgencyLeads:
    def test_move_their_own_agencys_action_through_the_progress_steps(
        self, api, agreed, first, person
    ):
        _lead, headers = person(Role.AGENCY_LEAD, first.id)
        ours, _ = agreed
        for status, extra in (
            ("in_progress", {}),
            ("completed", {"evidence": "Training delivered to 40 staff."}),
            ("impact_evidenced", {"evidence": "Re-audit shows the change."}),
        ):
            r = move(api, ours, status, headers=headers, note="Update", **extra)
            assert r.status_code == 200, r.text
        r = api.post(
            f"{API}/actions/{ours}/notes", json={"note": "Shared at team meeting."}, headers=headers
        )
        assert r.status_code == 200

    def test_are_refused_another_agencys_action(self, api, agreed, first, person, status_of):
        _lead, headers = person(Role.AGENCY_LEAD, first.id)
        _ours, theirs = agreed
        # They may read it (same audit; actions name no child) but not change it.
        assert api.get(f"{API}/actions/{theirs}", headers=headers).status_code == 200
        r = move(api, theirs, "in_progress", headers=headers)
        assert r.status_code == 403
        r = api.post(f"{API}/actions/{theirs}/notes", json={"note": "x"}, headers=headers)
        assert r.status_code == 403
        assert status_of(theirs) == "agreed"

    def test_cannot_agree_refuse_or_close_even_their_own(
        self, api, audit, first, person, moderator, status_of
    ):
        _lead, headers = person(Role.AGENCY_LEAD, first.id)
        aid = create_action(api, audit, first.id, moderator)["id"]
        assert move(api, aid, "agreed", headers=headers).status_code == 403
        r = move(api, aid, "not_accepted", headers=headers, reason="No")
        assert r.status_code == 403
        assert status_of(aid) == "proposed"

    def test_cannot_edit_or_create(self, api, agreed, audit, first, person):
        _lead, headers = person(Role.AGENCY_LEAD, first.id)
        ours, _ = agreed
        r = api.patch(f"{API}/actions/{ours}", json={"title": "x"}, headers=headers)
        assert r.status_code == 403

    def test_of_an_agency_outside_the_audit_see_nothing_of_it(self, api, db, agreed, person):
        outsider = make_agency(db, name="Outside")
        _lead, headers = person(Role.AGENCY_LEAD, outsider.id)
        ours, _ = agreed
        assert api.get(f"{API}/actions/{ours}", headers=headers).status_code == 404
        assert move(api, ours, "in_progress", headers=headers).status_code == 404
        listing = api.get(f"{API}/actions", headers=headers).json()
        assert listing["total"] == 0


class TestOtherRoles:
    @pytest.mark.parametrize("role", [Role.MODERATOR, Role.ADMIN])
    def test_moderators_and_admins_move_any_action(self, api, agreed, role, person):
        _who, headers = person(role)
        for aid in agreed:
            assert move(api, aid, "in_progress", headers=headers).status_code == 200

    @pytest.mark.parametrize("role", [Role.SCRUTINEER, Role.AUDITOR])
    def test_readers_read_but_never_change(self, api, agreed, first, role, person):
        _who, headers = person(role, first.id if role == Role.AUDITOR else None)
        ours, _ = agreed
        assert api.get(f"{API}/actions/{ours}", headers=headers).status_code == 200
        assert move(api, ours, "in_progress", headers=headers).status_code == 403

    def test_practitioners_see_no_actions(self, api, agreed, person):
        _who, headers = person(Role.PRACTITIONER)
        assert api.get(f"{API}/actions", headers=headers).status_code == 403
