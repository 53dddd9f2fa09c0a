"""The library: practitioners browse and search published briefings and download
them; public ones can be read without signing in. Downloads are counted (by agency
for people signed in) as evidence of how the learning was disseminated."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from app.access.policy import Actor
from app.agencies.models import Subgroup
from app.briefings import library as briefing_library
from app.briefings.models import Briefing, BriefingVersion, VersionStatus
from app.deps import FilterId, IdPath, SessionDep, transactional
from app.forms import FormState, Posted, read_date
from app.templating import render

router = APIRouter(include_in_schema=False)


LIBRARY_DATES = {"published_from": "The start date", "published_to": "The end date"}


@router.get("/library", name="briefings.library")
@transactional
def library(
    session: SessionDep,
    request: Request,
    actor: Actor,
    q: Annotated[str, Query(max_length=200)] = "",
    theme: Annotated[str, Query(max_length=200)] = "",
    subgroup_id: FilterId = None,
    audit_id: FilterId = None,
) -> Response:
    """Published briefings, searched and filtered (a GET form, so a search can be
    bookmarked); the dates are GOV.UK date inputs."""
    signed_in = actor.user_id is not None
    query = Posted(request.query_params.multi_items())
    errors: dict[str, str] = {}
    dates = {}
    for name, label in LIBRARY_DATES.items():
        dates[name], problem = read_date(query, name, label)
        if problem:
            errors[name] = problem
    found = briefing_library.library(
        session,
        signed_in=signed_in,
        q=q.strip(),
        theme=theme,
        subgroup_id=subgroup_id,
        audit_id=audit_id,
        published_from=dates["published_from"],
        published_to=dates["published_to"],
    )
    everything = briefing_library.library(session, signed_in=signed_in)
    audits = {b.audit.id: b.audit for b, _v in everything}
    subgroup_ids = {a.lead_subgroup_id for a in audits.values() if a.lead_subgroup_id}
    subgroups = (
        session.scalars(select(Subgroup).where(Subgroup.id.in_(subgroup_ids))).all()
        if subgroup_ids
        else []
    )
    return render(
        request,
        "briefings/library.html",
        {
            "found": found,
            "themes": sorted({a.theme for a in audits.values() if a.theme}),
            "subgroups": sorted(subgroups, key=lambda s: s.name),
            "audits": sorted(audits.values(), key=lambda a: a.title),
            "signed_in": signed_in,
            "form": FormState(
                values=query.shown(),
                errors=errors,
                anchors={name: f"#{name}-day" for name in LIBRARY_DATES},
            ),
        },
    )


@router.get("/library/{briefing_id}", name="briefings.library_entry")
@transactional
def entry(session: SessionDep, request: Request, actor: Actor, briefing_id: IdPath) -> Response:
    briefing = briefing_library.library_entry(
        session, briefing_id=briefing_id, signed_in=actor.user_id is not None
    )
    shown = [
        v
        for v in reversed(briefing.versions)
        if v.status in (VersionStatus.PUBLISHED, VersionStatus.WITHDRAWN)
    ]
    return render(request, "briefings/entry.html", {"briefing": briefing, "versions": shown})


def _filename(briefing: Briefing, version: BriefingVersion) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", briefing.title.lower()).strip("-")[:80] or "briefing"
    return f"{slug}-v{version.number}.pdf"


@router.get("/library/versions/{version_id}/download", name="briefings.download")
@transactional
def download(session: SessionDep, actor: Actor, version_id: IdPath) -> Response:
    """The stored PDF, byte for byte as published (its SHA-256 in the ETag)."""
    version, document = briefing_library.download(session, version_id=version_id, actor=actor)
    return Response(
        document.pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{_filename(version.briefing, version)}"',
            "ETag": f'"{document.sha256}"',
            "X-Content-SHA256": document.sha256,
        },
    )
