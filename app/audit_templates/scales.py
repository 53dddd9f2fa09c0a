"""The grading scales a new template can start from, instead of typing one in: the
Ofsted four-point scale JTAI audits use, red/amber/green, and yes/partly/no. Each is
an ordinary scale once chosen: the template keeps its own copy, which can be edited.
"""

from __future__ import annotations

from functools import cache

from app.audit_templates import files
from app.audit_templates.schemas import LevelIn, ScaleIn

# The shipped template whose scale is the Ofsted four-point scale, word for word.
OFSTED_FROM = "identification-of-need-and-risk"

# Beside the Ofsted scale, as the shipped JTAI templates word it (starting_scales).
OTHER_SCALES: dict[str, ScaleIn] = {
    "rag": ScaleIn(
        name="Red, amber, green",
        levels=[
            LevelIn(code="G", label="Green", description="Good practice; no concerns."),
            LevelIn(code="A", label="Amber", description="Some practice needs to improve."),
            LevelIn(code="R", label="Red", description="Practice needs to improve urgently."),
        ],
    ),
    "yes-partly-no": ScaleIn(
        name="Yes, partly, no",
        levels=[
            LevelIn(code="Y", label="Yes", description="Fully met."),
            LevelIn(code="P", label="Partly", description="Partly met."),
            LevelIn(code="N", label="No", description="Not met."),
        ],
    ),
}


@cache
def starting_scales() -> dict[str, ScaleIn]:
    """The starting scales by a short name (``ofsted``, ``rag``, ``yes-partly-no``)."""
    ofsted = files.parse((files.LIBRARY / f"{OFSTED_FROM}.yaml").read_text("utf-8")).scale
    assert ofsted is not None
    return {"ofsted": ofsted, **OTHER_SCALES}
