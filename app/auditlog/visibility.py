"""What a reader of the audit log sees of each event: its values only where they may
read what it describes (``values_for``), and the log as CSV (``write_csv``)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any, TextIO

from app.access.policy import SYSTEM, Actor, Permission
from app.auditlog.models import AuditEvent

CSV_HEADER = (
    "when",
    "user",
    "action",
    "object type",
    "object id",
    "before",
    "after",
    "request id",
    "client address",
)
# A cell starting with one of these is a formula to Excel; the log holds text that
# users typed (names, pseudonyms), so such cells are prefixed with an apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _compact(value: dict | None) -> str:
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


WITHHELD = "[withheld]"


def values_for(actor: Actor, event: AuditEvent) -> tuple[dict | None, dict | None]:
    """An event's before and after as ``actor`` may see them. What a return said is
    for those who may read returns: for anyone else the log shows which answers
    changed, not what they say."""
    if event.object_type != "return" or actor.may(Permission.RETURN_READ):
        return event.before, event.after

    def hide(values: dict | None) -> dict | None:
        if values is None:
            return None
        return {k: v if k in ("status", "version") else WITHHELD for k, v in values.items()}

    return hide(event.before), hide(event.after)


def write_csv(events: Iterable[AuditEvent], out: TextIO, *, actor: Actor = SYSTEM) -> int:
    """Write a header row and one row per event (before and after as compact JSON, as
    ``actor`` may see them); return how many events were written."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    written = 0
    for event in events:
        before, after = values_for(actor, event)
        writer.writerow(
            [
                _cell(event.at.isoformat()),
                _cell(event.user_label),
                _cell(event.action),
                _cell(event.object_type),
                _cell(event.object_id),
                _cell(_compact(before)),
                _cell(_compact(after)),
                _cell(event.request_id),
                _cell(event.client_address),
            ]
        )
        written += 1
    return written
