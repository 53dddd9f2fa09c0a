"""Fixtures shared by the template API tests."""

from __future__ import annotations

import pytest

from tests.helpers.audit_templates import create_draft


@pytest.fixture
def draft(client) -> dict:
    """A draft with three key areas, each with three questions."""
    return create_draft(client, key_areas=3)
