"""Fixtures for the learning actions tests: shared with the findings tests."""

from tests.helpers.action_fixtures import (  # noqa: F401 (fixtures)
    api,
    audit,
    browser,
    first,
    fixed_clock,
    fresh_reads,
    moderator,
    person,
    qapp,
    second,
)
