"""What the family-survey page's form may say (the respondent's form is read field by
field against the template: app/respond/answers.py)."""

from __future__ import annotations

from datetime import date

from app.schemas_base import Id, RequestModel


class SurveyCreate(RequestModel):
    template_version_id: Id
    agency_id: Id
    returns_due_on: date


class LinkChoice(RequestModel):
    """Which return a link is made for, or stopped."""

    return_id: Id
