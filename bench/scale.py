"""Latency of the most used endpoints as a PostgreSQL database grows from 1k to 1M returns.

Starts a throwaway PostgreSQL cluster (tests/helpers/pg_cluster.py) or takes the URL of
an empty database, migrates it with Alembic, loads the demo partnership (its agencies,
templates and accounts) and then grows the data in steps to each size in ``--sizes``
(returns in all, the demo's included). Rows are bulk loaded: audits, children,
involvements, returns, findings and learning actions are written with COPY; answers,
grades, evidence, moderated grades and the audit log are generated inside PostgreSQL
with INSERT ... SELECT over the rows just copied, never the ORM row by row. As a
superuser the loader sets ``session_replication_role = replica``, which skips the foreign
key triggers (the rows refer only to rows that exist, by construction; checking them
made loading about four times slower). The load goes around the lifecycle, which keeps
the pooled moderation analytics' tally of settled audits (app/moderation/tally.py), so
every step recounts it with ``tally.rebuild``, as the migration did for data already
there. Every step ends with VACUUM (ANALYZE), as a database that has lived that long
would have been.

At each size it serves the app with uvicorn (a subprocess, one worker, production
settings), waits until it is idle (it builds the identification check's analyzer in the
background for some seconds after it starts), asks every endpoint once, and then times
one client asking, one request after another, for: the audits list (API and page), one
large audit's returns (API and page), the action tracker (API and page), moderation
analytics pooled over all audits (API and page), the audit-log list and My work. The API
is asked with a token of an account holding the admin and moderator roles (between them
they read everything these pages offer), the pages with a signed-in web session of the
same account, second factor given; My work with the demo's police auditor, as it is an
auditor's page. Each endpoint gets 3 untimed requests, then 30 timed (``--warmup``,
``--requests``); one that is still slow after ``--max-seconds`` stops with what it has
(at least ``--min-requests``), so a size where a request takes half a minute still
finishes. It prints, per endpoint, the median and p95 at each size, the page's size, and
their ratio to the first size or ``--baseline`` ("within 2x" / "over 2x"); the aim is
every endpoint within 2x of its 1k time at 1M. Missing it never fails the run; a non-200
answer or a server that will not start does (exit 1 or 2).

    .venv/bin/python bench/scale.py --sizes 1k,10k                 # a quick run
    .venv/bin/python bench/scale.py                                # 1k, 10k, 100k, 1M
    .venv/bin/python bench/scale.py --sizes 1k,100k --keep --json  # keep it to EXPLAIN

The data's shape is the same at every size. An audit has 6-8 of the ten agencies and
7-15 children, each known to three or more of them (about 55 returns, so about 18k
audits at 1M returns) and one of the three graded templates. A fixed handful of audits
is current (two open, one in moderation, two in learning, one planned, besides the
demo's own) and everything else is closed history, added further back in time at each
step, so the work people have in hand stays the same while the history grows. At 1k the
audits list and the tracker are shorter than a page, so their answers grow until 10k
whatever the queries do: the table notes it, and ``--baseline 10k`` compares from there.
Returns are answered, evidenced and graded in full (drafts in part); in moderated audits
about two cells per return have a moderated grade, a few with an earlier decision
superseded. Audits in learning or closed have findings and learning actions (about 3.5
an audit) with their history, and every object has the log rows the service would have
written (about 7 per return).

Known gaps: the audit log's rows are chained with made-up hashes, not the keyed HMAC
(computing millions of those is what the bulk load avoids), so ``audit-tools audit-log
verify`` fails on a bench database; submitted returns have no ``return_submission``
snapshot (no endpoint measured here reads one). The throwaway cluster runs with the
test suite's settings (fsync off) and PostgreSQL's default memory settings, which the
output prints; against your own server, ``--database-url`` measures its settings.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from fastapi import FastAPI
from sqlalchemy import Engine, inspect, select

from app import clock
from app.access import service as access
from app.access.models import Role, User, WebSession
from app.access.secrets import digest, new_token
from app.agencies.models import Agency, Subgroup
from app.audit_templates.models import (
    GradeLevel,
    GradingScale,
    KeyArea,
    Question,
    TemplateFamily,
    TemplateVersion,
)
from app.audits.models import AgeBand
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.demo import EVIDENCE, GENERIC_EVIDENCE, LIVED_EXPERIENCE, load_demo
from app.findings.models import Theme
from app.main import create_app
from app.migrate import alembic_config
from app.moderation import tally
from app.moderation.demo import LOWERED, RAISED

# Run as a script, the project's root is not on the path: bench and tests are there.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.api import free_port, settle, stop  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
URL_ENV = "BENCH_DATABASE_URL"
HOST = "127.0.0.1"
AIM_RATIO = 2.0
BATCH_RETURNS = 50_000  # rows generated per transaction while growing
# The graded templates audits use, and how often.
TEMPLATE_WEIGHTS = {
    "identification-of-need-and-risk": 5,
    "child-exploitation-cp-procedures": 3,
    "voice-of-the-child-send": 2,
}
# The audits in hand at every size (the first is the one whose returns are read).
CURRENT = ("open", "open", "moderation", "learning", "learning", "planned")
HISTORY_SPACING = timedelta(hours=4)  # between closed audits, going back in time
DAY = timedelta(days=1)
TAGS = ["CP plan", "CIN", "SEND", "exploitation", "missing", "looked after", "young carer"]
OWNERS = [
    "Head of Service, Front Door",
    "Named Nurse for Safeguarding Children",
    "Principal Social Worker",
    "Detective Inspector, Public Protection",
    "Designated Safeguarding Lead network chair",
]
ACTION_TITLES = [
    "Add a 'voice of the child' section to the strategy discussion minutes template",
    "Invite the hospital safeguarding team to every strategy discussion",
    "Reissue the consent and information-sharing guidance to front door staff",
    "Introduce SMART action templates for interim safety plans",
    "Hold a joint workshop on strategy discussion thresholds",
    "Add health visitors' chronology to the front door information request",
]
FINDING_STATEMENTS = [
    "Strategy discussion minutes rarely recorded the child's own views.",
    "Health colleagues were not invited to every strategy discussion.",
    "Consent to share information was neither sought nor its absence explained.",
    "Interim safety plans listed actions without an owner or a date.",
    "Referrals described the child's lived experience in the child's own words.",
]
ACTION_PATH = ["proposed", "agreed", "in_progress", "completed", "impact_evidenced", "closed"]
# Where learning actions stand: in closed audits, and in audits still in learning.
CLOSED_ACTIONS = {"closed": 60, "impact_evidenced": 15, "completed": 5, "not_accepted": 20}
LEARNING_ACTIONS = {
    "proposed": 15,
    "agreed": 25,
    "in_progress": 35,
    "completed": 15,
    "not_accepted": 10,
}
OPEN_RETURNS = {"not_started": 2, "draft": 3, "submitted": 4, "returned_for_amendment": 1}
COMPLETE = ("submitted", "returned_for_amendment", "moderated")
BOXES = ("went_well", "could_be_better", "impact_on_child")


# --- the server -----------------------------------------------------------------------


def app() -> FastAPI:
    """The service as production runs it, on the bench's database (uvicorn's factory).
    The idle timeout is a day so that a slow size cannot sign the bench out; briefings
    are not rendered in the background, which would only add noise."""
    return create_app(
        Settings(
            database_url=os.environ[URL_ENV],
            environment="production",
            secret_key=os.environ["AUDIT_SECRET_KEY"],
            session_idle_minutes=24 * 60,
            render_in_background=False,
        )
    )


def serve(url: str, log: Path) -> tuple[subprocess.Popen, int]:
    """Start uvicorn on a free port (one worker, uvloop, httptools); wait until it answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "bench.scale:app", "--app-dir"]
    cmd += [str(ROOT), "--host", HOST, "--port", str(port), "--loop", "uvloop"]
    cmd += ["--http", "httptools", "--log-level", "warning", "--no-access-log"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env={**os.environ, URL_ENV: url}, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", "/api/health")
            if connection.getresponse().status == 200:
                settle(proc.pid)
                return proc, port
        except OSError:
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError(f"the server did not start; its log:\n{log.read_text()[-2000:]}")


# --- reference data -------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    version_id: int
    name: str
    theme: str
    key_areas: tuple[int, ...]
    levels: tuple[int, ...]  # grade level ids, best first
    has_overall: bool
    # The save_draft log row's before and after, built once (as the service writes them).
    draft_before: str
    draft_after: str


@dataclass(frozen=True)
class Reference:
    """What the demo loaded that the grown data refers to."""

    agencies: tuple[int, ...]
    subgroups: tuple[int, ...]
    themes: tuple[int, ...]
    templates: tuple[Template, ...]
    weights: tuple[int, ...]
    users: dict[str, int]  # admin, moderator, police auditor, social care auditor
    police: int
    social_care: int


def reference(engine: Engine) -> Reference:
    """The demo's agencies, subgroups, themes, graded templates and accounts, by id."""
    with session_scope(make_sessionmaker(engine)) as session:
        templates, weights = [], []
        for slug, weight in TEMPLATE_WEIGHTS.items():
            version = session.scalars(
                select(TemplateVersion)
                .join(TemplateFamily)
                .where(TemplateFamily.slug == slug, TemplateVersion.status == "published")
            ).one()
            key_areas = session.scalars(
                select(KeyArea.id)
                .where(KeyArea.template_version_id == version.id)
                .order_by(KeyArea.position)
            ).all()
            questions = session.scalars(
                select(Question.id).join(KeyArea).where(KeyArea.id.in_(key_areas))
            ).all()
            levels = session.scalars(
                select(GradeLevel.id)
                .join(GradingScale)
                .where(GradingScale.template_version_id == version.id)
                .order_by(GradeLevel.position)
            ).all()
            before: dict[str, Any] = {f"answer:{q}": None for q in questions}
            before |= {f"grade:{k}": None for k in key_areas} | {"status": "not_started"}
            after: dict[str, Any] = {f"answer:{q}": "yes" for q in questions}
            after |= {f"grade:{k}": "G" for k in key_areas} | {"status": "draft"}
            for k in key_areas:
                for box, text in zip(BOXES, GENERIC_EVIDENCE, strict=True):
                    before[f"evidence:{k}:{box}"], after[f"evidence:{k}:{box}"] = None, text[0]
            family = session.scalars(
                select(TemplateFamily).where(TemplateFamily.id == version.family_id)
            ).one()
            templates.append(
                Template(
                    version.id,
                    family.name,
                    version.theme,
                    tuple(key_areas),
                    tuple(levels),
                    version.has_overall_grade,
                    json.dumps(before, sort_keys=True),
                    json.dumps(after, sort_keys=True),
                )
            )
            weights.append(weight)
        emails = {
            "admin": "admin@example.org",
            "moderator": "moderator@example.org",
            "police": "auditor.police@example.org",
            "social_care": "auditor.socialcare@example.org",
        }
        # Ids only: loading a User would open its sealed authenticator secret.
        users = {
            key: session.execute(select(User.id, User.agency_id).where(User.email == email)).one()
            for key, email in emails.items()
        }
        return Reference(
            agencies=tuple(session.scalars(select(Agency.id).order_by(Agency.id))),
            subgroups=tuple(session.scalars(select(Subgroup.id).order_by(Subgroup.id))),
            themes=tuple(session.scalars(select(Theme.id).order_by(Theme.id))),
            templates=tuple(templates),
            weights=tuple(weights),
            users={key: user.id for key, user in users.items()},
            police=users["police"].agency_id or 0,
            social_care=users["social_care"].agency_id or 0,
        )


# --- growing the data -----------------------------------------------------------------

COLUMNS = {
    "audit": "id template_version_id title theme description lead_subgroup_id status "
    "returns_due_on moderation_meeting_on lead_sign_off created_at opened_at "
    "moderation_started_at learning_started_at closed_at close_reason",
    "audit_agency": "audit_id agency_id",
    "child": "id audit_id pseudonym age_band context_tags created_at",
    "involvement": "id audit_id child_id agency_id created_at",
    "audit_return": "id audit_id involvement_id child_id status auditor_name overall_grade_id "
    "amendment_note version created_at updated_at started_at submitted_at returned_at agency_id",
    "finding": "id audit_id kind statement key_area_id agency_id created_by_id "
    "created_by_label created_at updated_at",
    "finding_theme": "finding_id theme_id",
    "learning_action": "id audit_id title description owning_agency_id owner_name due_on "
    "success_measure status evidence_of_completion evidence_of_impact not_accepted_reason "
    "version created_by_id created_by_label created_at updated_at",
    "action_finding": "action_id finding_id",
    "action_status_change": "action_id from_status to_status note evidence reason "
    "changed_by_id changed_by_label changed_at",
}
WITH_IDS = ("audit", "child", "involvement", "audit_return", "finding", "learning_action")


def h(*parts: str) -> str:
    """SQL for a pseudo-random non-negative integer drawn from ``parts``: the same data
    on every run, without a random generator's state."""
    mixed = f"({parts[0]})::bigint"
    for part in parts[1:]:
        mixed = f"({mixed} * 1000003 + ({part}))"
    return f"(hashint8({mixed}) & 2147483647)"


KEY_AREAS = """ka AS (
    SELECT k.id, k.template_version_id, k.graded,
           row_number() OVER (PARTITION BY k.template_version_id ORDER BY k.position) AS n
    FROM key_area k)"""
# A draft has touched its first one or two key areas; the rest of a return, all of them.
TOUCHED = f"(r.status <> 'draft' OR ka.n <= 1 + mod({h('r.id', '11')}, 2))"
IN_BATCH = "r.id > %(after)s AND r.status <> 'not_started'"
DRAFT_QUALITY = f"""CASE WHEN mod({h("r.id", "13")}, 12) < 2 THEN 0
    WHEN mod({h("r.id", "13")}, 12) < 8 THEN 1 WHEN mod({h("r.id", "13")}, 12) < 11 THEN 2
    ELSE 3 END"""

ANSWERS = f"""WITH {KEY_AREAS}
INSERT INTO answer (return_id, question_id, value, updated_at)
SELECT r.id, q.id, CASE q.answer_type
    WHEN 'yes_partly_no' THEN (%(ypn)s::text[])[1 + mod({h("r.id", "q.id")}, 6)]
    WHEN 'single_choice' THEN coalesce(q.options ->> mod({h("r.id", "q.id")},
        greatest(json_array_length(q.options), 1)), 'Not recorded')
    WHEN 'date' THEN to_char(r.started_at + ka.n * interval '2 days', 'YYYY-MM-DD')
    WHEN 'number' THEN (6 + mod({h("r.id", "q.id")}, 16))::text
    ELSE (%(lived)s::text[])[1 + mod({h("r.id", "q.id")}, %(n_lived)s)] END,
  r.updated_at
FROM audit_return r
JOIN audit a ON a.id = r.audit_id
JOIN ka ON ka.template_version_id = a.template_version_id
JOIN question q ON q.key_area_id = ka.id
WHERE {IN_BATCH} AND {TOUCHED}
  AND (r.status <> 'draft' OR q.required OR mod({h("r.id", "q.id", "3")}, 2) = 0)"""

# Own grades: the return's overall grade (or, for a draft, a drawn one) moved by -1, 0
# or +1 per key area, as the demo grades.
GRADES = f"""WITH {KEY_AREAS}, sc AS (
    SELECT s.template_version_id, s.id AS scale_id, max(l.position) AS top
    FROM grading_scale s JOIN grade_level l ON l.scale_id = s.id GROUP BY 1, 2)
INSERT INTO grade (return_id, key_area_id, level_id, updated_at)
SELECT r.id, ka.id, gl.id, r.updated_at
FROM audit_return r
JOIN audit a ON a.id = r.audit_id
JOIN sc ON sc.template_version_id = a.template_version_id
JOIN ka ON ka.template_version_id = a.template_version_id AND ka.graded
LEFT JOIN grade_level og ON og.id = r.overall_grade_id
JOIN grade_level gl ON gl.scale_id = sc.scale_id AND gl.position = least(sc.top, greatest(0,
    coalesce(og.position, {DRAFT_QUALITY}) + (ARRAY[0, 0, 0, 1, -1])[1 + mod({h("r.id", "ka.id")}, 5)]))
WHERE {IN_BATCH} AND {TOUCHED}"""

EVIDENCE_ROWS = f"""WITH {KEY_AREAS}
INSERT INTO key_area_evidence
    (return_id, key_area_id, went_well, could_be_better, impact_on_child, updated_at)
SELECT r.id, ka.id,
    (%(well)s::text[])[1 + mod({h("r.id", "ka.id", "1")}, %(n_well)s)],
    (%(better)s::text[])[1 + mod({h("r.id", "ka.id", "2")}, %(n_better)s)],
    (%(impact)s::text[])[1 + mod({h("r.id", "ka.id", "3")}, %(n_impact)s)],
    r.updated_at
FROM audit_return r
JOIN audit a ON a.id = r.audit_id
JOIN template_version tv ON tv.id = a.template_version_id AND tv.has_evidence_boxes
JOIN ka ON ka.template_version_id = a.template_version_id
WHERE {IN_BATCH} AND {TOUCHED}"""

# About two moderated cells a return: a third of its key areas and, for half the returns,
# the overall grade. Most are agreed, a fifth lowered, a few raised.
MODERATED = f"""WITH cells AS (
    SELECT r.id AS return_id, r.audit_id, g.key_area_id, g.key_area_id AS cell,
           g.level_id AS own, a.moderation_started_at AS started
    FROM grade g JOIN audit_return r ON r.id = g.return_id JOIN audit a ON a.id = r.audit_id
    WHERE r.id > %(after)s AND r.status = 'moderated' AND mod({h("r.id", "g.key_area_id", "5")}, 3) = 0
    UNION ALL
    SELECT r.id, r.audit_id, NULL, 0, r.overall_grade_id, a.moderation_started_at
    FROM audit_return r JOIN audit a ON a.id = r.audit_id
    WHERE r.id > %(after)s AND r.status = 'moderated' AND r.overall_grade_id IS NOT NULL
      AND mod(r.id, 2) = 0
), tops AS (
    SELECT scale_id, max(position) AS top FROM grade_level GROUP BY scale_id
), decided AS (
    SELECT c.*, own.scale_id, own.position AS own_position,
        least(greatest(own.position + CASE
            WHEN mod({h("c.return_id", "c.cell", "7")}, 100) < 20 THEN 1
            WHEN mod({h("c.return_id", "c.cell", "7")}, 100) < 27 THEN -1 ELSE 0 END, 0),
            tops.top) AS position
    FROM cells c JOIN grade_level own ON own.id = c.own JOIN tops ON tops.scale_id = own.scale_id
)
INSERT INTO moderated_grade (audit_id, return_id, key_area_id, cell, self_level_id, level_id,
    rationale, decided_by_id, decided_by_label, decided_at, shift)
SELECT d.audit_id, d.return_id, d.key_area_id, d.cell, d.own, moderated.id,
    CASE WHEN d.position > d.own_position
             THEN (%(lowered)s::text[])[1 + mod(d.return_id, %(n_lowered)s)]
         WHEN d.position < d.own_position
             THEN (%(raised)s::text[])[1 + mod(d.return_id, %(n_raised)s)]
         ELSE '' END,
    %(moderator)s, %(moderator_label)s,
    d.started + mod({h("d.return_id", "d.cell", "9")}, 14) * interval '1 day',
    d.position - d.own_position
FROM decided d
JOIN grade_level moderated ON moderated.scale_id = d.scale_id AND moderated.position = d.position"""

# A quarter of the changed cells were first agreed, then decided again.
SUPERSEDED = f"""INSERT INTO moderated_grade (audit_id, return_id, key_area_id, cell,
    self_level_id, level_id, rationale, decided_by_id, decided_by_label, decided_at,
    superseded_at, shift)
SELECT m.audit_id, m.return_id, m.key_area_id, m.cell, m.self_level_id, m.self_level_id, '',
    m.decided_by_id, m.decided_by_label, m.decided_at - interval '2 days', m.decided_at, 0
FROM moderated_grade m
WHERE m.audit_id BETWEEN %(low)s AND %(high)s AND m.shift <> 0 AND mod({h("m.id")}, 4) = 0"""


def chained(seq: str) -> str:
    """A made-up hash for the log row at ``seq``: unique and chained, but not the keyed
    HMAC, so the bench's log does not verify."""
    return f"md5('scale bench ' || ({seq})) || md5('scale bench/' || ({seq}))"


# Every row the service would have logged for the batch's objects, in time order.
LOG = f"""WITH ev (at, user_id, user_label, action, object_type, object_id, before, after) AS (
    SELECT a.created_at, %(admin)s, %(admin_label)s, 'audit.create', 'audit', a.id, NULL::json,
        json_build_object('title', a.title, 'status', 'planned')
    FROM audit a WHERE a.id BETWEEN %(low)s AND %(high)s
  UNION ALL
    SELECT a.opened_at, %(admin)s, %(admin_label)s, 'audit.open', 'audit', a.id,
        json_build_object('status', 'planned'), json_build_object('status', 'open')
    FROM audit a WHERE a.id BETWEEN %(low)s AND %(high)s AND a.opened_at IS NOT NULL
  UNION ALL
    SELECT a.moderation_started_at, %(moderator)s, %(moderator_label)s, 'audit.open_moderation',
        'audit', a.id, json_build_object('status', 'open'),
        json_build_object('status', 'moderation')
    FROM audit a WHERE a.id BETWEEN %(low)s AND %(high)s AND a.moderation_started_at IS NOT NULL
  UNION ALL
    SELECT a.learning_started_at, %(moderator)s, %(moderator_label)s,
        'audit.finish_moderation', 'audit', a.id, json_build_object('status', 'moderation'),
        json_build_object('status', 'learning')
    FROM audit a WHERE a.id BETWEEN %(low)s AND %(high)s AND a.learning_started_at IS NOT NULL
  UNION ALL
    SELECT a.closed_at, %(admin)s, %(admin_label)s, 'audit.close', 'audit', a.id,
        json_build_object('status', 'learning'), json_build_object('status', 'closed')
    FROM audit a WHERE a.id BETWEEN %(low)s AND %(high)s AND a.closed_at IS NOT NULL
  UNION ALL
    SELECT c.created_at, %(admin)s, %(admin_label)s, 'child.create', 'child', c.id, NULL,
        json_build_object('pseudonym', c.pseudonym, 'age_band', c.age_band)
    FROM child c WHERE c.audit_id BETWEEN %(low)s AND %(high)s
  UNION ALL
    SELECT i.created_at, %(admin)s, %(admin_label)s, 'involvement.create', 'involvement', i.id,
        NULL, json_build_object('child_id', i.child_id, 'agency_id', i.agency_id)
    FROM involvement i WHERE i.audit_id BETWEEN %(low)s AND %(high)s
  UNION ALL
    SELECT r.started_at, u.user_id, u.label, 'return.save_draft', 'return', r.id, d.before,
        d.after
    FROM audit_return r JOIN audit a ON a.id = r.audit_id
    JOIN bench_draft d ON d.template_version_id = a.template_version_id
    JOIN bench_auditor u ON u.agency_id = r.agency_id
    WHERE r.id > %(after)s AND r.started_at IS NOT NULL
  UNION ALL
    SELECT r.submitted_at, u.user_id, u.label, 'return.submit', 'return', r.id,
        json_build_object('status', 'draft', 'version', 2),
        json_build_object('status', 'submitted', 'version', 3)
    FROM audit_return r JOIN bench_auditor u ON u.agency_id = r.agency_id
    WHERE r.id > %(after)s AND r.submitted_at IS NOT NULL
  UNION ALL
    SELECT r.returned_at, %(moderator)s, %(moderator_label)s, 'return.reopen', 'return', r.id,
        json_build_object('status', 'submitted'),
        json_build_object('status', 'returned_for_amendment', 'note', r.amendment_note)
    FROM audit_return r WHERE r.id > %(after)s AND r.returned_at IS NOT NULL
  UNION ALL
    SELECT m.decided_at, %(moderator)s, %(moderator_label)s, 'moderation.decide',
        'moderated_grade', m.id, NULL, json_build_object('cell', m.cell, 'level_id',
        m.level_id, 'self_level_id', m.self_level_id, 'rationale', m.rationale)
    FROM moderated_grade m WHERE m.audit_id BETWEEN %(low)s AND %(high)s
  UNION ALL
    SELECT a.moderation_started_at + interval '14 days', %(moderator)s, %(moderator_label)s,
        'return.moderated', 'return', r.id, json_build_object('status', 'submitted'),
        json_build_object('status', 'moderated')
    FROM audit_return r JOIN audit a ON a.id = r.audit_id
    WHERE r.id > %(after)s AND r.status = 'moderated'
  UNION ALL
    SELECT f.created_at, %(moderator)s, %(moderator_label)s, 'finding.create', 'finding', f.id,
        NULL, json_build_object('kind', f.kind, 'statement', f.statement)
    FROM finding f WHERE f.audit_id BETWEEN %(low)s AND %(high)s
  UNION ALL
    SELECT s.changed_at, %(moderator)s, %(moderator_label)s,
        CASE WHEN s.from_status IS NULL THEN 'learning_action.create'
             ELSE 'learning_action.status' END,
        'learning_action', s.action_id, json_build_object('status', s.from_status),
        json_build_object('status', s.to_status)
    FROM action_status_change s JOIN learning_action la ON la.id = s.action_id
    WHERE la.audit_id BETWEEN %(low)s AND %(high)s
), numbered AS (
    SELECT ev.*, row_number() OVER (ORDER BY at, action, object_id) AS n FROM ev
)
INSERT INTO audit_event (id, seq, at, user_id, user_label, action, object_type, object_id,
    before, after, request_id, client_address, prev_hash, hash)
SELECT %(last_id)s + n, %(last_seq)s + n, at, user_id, user_label, action, object_type,
    object_id, before, after, '', '',
    CASE WHEN n = 1 THEN %(last_hash)s ELSE {chained("%(last_seq)s + n - 1")} END,
    {chained("%(last_seq)s + n")}
FROM numbered"""


def one(conn: psycopg.Connection | psycopg.Cursor, sql: str, params: tuple = ()) -> tuple:
    """The one row a query returns."""
    row = conn.execute(sql, params).fetchone()
    if row is None:
        raise RuntimeError(f"no row from {sql}")
    return row


def flatten(texts: list[list[str]]) -> list[str]:
    return [text for group in texts for text in group]


@dataclass
class Batch:
    """Rows for COPY, by table, and the ranges the SQL steps work on."""

    rows: dict[str, list[tuple]] = field(default_factory=lambda: {t: [] for t in COLUMNS})
    first_audit: int = 0
    last_audit: int = 0
    returns: int = 0


class Grower:
    """Grows the database, one batch of whole audits at a time, to a number of returns."""

    def __init__(self, engine: Engine, conninfo: str, seed: int) -> None:
        self.engine = engine
        self.ref = reference(engine)
        self.conn = psycopg.connect(conninfo)
        # Foreign keys are checked by triggers, which would make loading about four times
        # slower; the rows refer only to rows that exist, by construction. A role that
        # is not a superuser may not skip them: then the load is slower.
        self.foreign_keys_checked = False
        try:
            self.conn.execute("SET session_replication_role = replica")
        except psycopg.errors.InsufficientPrivilege:
            self.conn.rollback()
            self.foreign_keys_checked = True
        self.rng = random.Random(seed)
        self.now = clock.utcnow().replace(tzinfo=None, microsecond=0)
        self.history = 0  # closed audits made so far: each one further back in time
        self.returns_audit = 0  # the large current audit whose returns are read
        with self.conn.cursor() as cur:
            self.next_id = {
                table: one(cur, f"SELECT coalesce(max(id), 0) + 1 FROM {table}")[0]
                for table in WITH_IDS
            }
            self.returns = one(cur, "SELECT count(*) FROM audit_return")[0]
            cur.execute(
                "CREATE TEMP TABLE bench_draft (template_version_id int, before json, after json)"
            )
            cur.executemany(
                "INSERT INTO bench_draft VALUES (%s, %s, %s)",
                [(t.version_id, t.draft_before, t.draft_after) for t in self.ref.templates],
            )
            # Who the log says saved and submitted each agency's returns.
            cur.execute("CREATE TEMP TABLE bench_auditor (agency_id int, user_id int, label text)")
            cur.executemany(
                "INSERT INTO bench_auditor VALUES (%s, %s, %s)",
                [
                    (
                        agency,
                        self.ref.users["police"] if agency == self.ref.police else None,
                        f"auditor{agency}@example.org",
                    )
                    for agency in self.ref.agencies
                ],
            )
        self.conn.commit()
        self.timings: dict[str, float] = {}

    def close(self) -> None:
        self.conn.close()

    def _id(self, table: str) -> int:
        self.next_id[table] += 1
        return self.next_id[table] - 1

    @contextmanager
    def timed(self, part: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.timings[part] = self.timings.get(part, 0.0) + time.perf_counter() - started

    def grow_to(self, target: int) -> dict[str, float]:
        """Add audits until the database holds at least ``target`` returns; recount the
        moderation tally; VACUUM ANALYZE. Returns the seconds each part took."""
        self.timings = {}
        while self.returns < target:
            batch = Batch(first_audit=self.next_id["audit"])
            with self.timed("plan rows in Python"):
                if self.returns_audit == 0:
                    for n, status in enumerate(CURRENT):
                        self._audit(batch, status, self._current_dates(status, n), big=n == 0)
                    self.returns_audit = batch.first_audit
                while batch.returns < BATCH_RETURNS and self.returns + batch.returns < target:
                    created = self.now - 220 * DAY - self.history * HISTORY_SPACING
                    self.history += 1
                    self._audit(batch, "closed", self._dates(created))
            batch.last_audit = self.next_id["audit"] - 1
            self._write(batch)
            self.returns += batch.returns
            print(f"  ... {self.returns:,} returns", flush=True)
        with (
            self.timed("moderation tally"),
            session_scope(make_sessionmaker(self.engine)) as session,
        ):
            tally.rebuild(session)
        with self.timed("VACUUM ANALYZE"):
            self.conn.autocommit = True
            self.conn.execute("VACUUM (ANALYZE)")
            self.conn.autocommit = False
        return self.timings

    # -- one audit ---------------------------------------------------------------------

    @staticmethod
    def _dates(created: datetime) -> dict[str, Any]:
        opened = created + 7 * DAY
        moderation = opened + 33 * DAY
        return {
            "created": created,
            "opened": opened,
            "due": (opened + 30 * DAY).date(),
            "meeting": (opened + 44 * DAY).date(),
            "moderation": moderation,
            "learning": moderation + 14 * DAY,
            "closed": moderation + 164 * DAY,
        }

    def _current_dates(self, status: str, n: int) -> dict[str, Any]:
        """Audits in hand today; the second open one is past its due date."""
        started = {"open": 20, "moderation": 70, "learning": 150, "planned": 3}[status]
        dates = self._dates(self.now - started * DAY)
        if status == "open" and n == 1:
            dates["due"] = (self.now - 2 * DAY).date()
        dates["closed"] = None
        if status in ("open", "planned"):
            dates["moderation"] = None
        if status != "learning":
            dates["learning"] = None
        if status == "planned":
            dates["opened"] = None
        return dates

    def _audit(self, batch: Batch, status: str, dates: dict[str, Any], big: bool = False) -> None:
        rng, ref, rows = self.rng, self.ref, batch.rows
        template = rng.choices(ref.templates, weights=ref.weights)[0]
        agencies = sorted(rng.sample(ref.agencies, 8 if big else rng.randint(6, 8)))
        if big or status != "closed":
            agencies = sorted({ref.police, ref.social_care, *agencies[2:]})
        audit_id = self._id("audit")
        created = dates["created"]
        rows["audit"].append(
            (audit_id, template.version_id, f"{template.name}: audit {audit_id}", template.theme,
             "", rng.choice(ref.subgroups[:2]), status, dates["due"], dates["meeting"], False,
             created, dates["opened"], dates["moderation"], dates["learning"], dates["closed"], "")
        )  # fmt: skip
        rows["audit_agency"] += [(audit_id, a) for a in agencies]
        for c in range(15 if big else rng.randint(7, 15)):
            child_id = self._id("child")
            pseudonym = f"Child {chr(65 + c % 26)}{c // 26 or ''}"
            tags = json.dumps(rng.sample(TAGS, rng.randint(0, 2)))
            rows["child"].append(
                (child_id, audit_id, pseudonym, rng.choice(list(AgeBand)).value, tags, created)
            )
            for agency in sorted(rng.sample(agencies, rng.randint(3, len(agencies)))):
                involvement = self._id("involvement")
                rows["involvement"].append((involvement, audit_id, child_id, agency, created))
                if dates["opened"] is not None:
                    rows["audit_return"].append(
                        self._return(template, status, dates, (audit_id, involvement, child_id))
                        + (agency,)
                    )
                    batch.returns += 1
        if status in ("learning", "closed"):
            self._learning(batch, audit_id, template, agencies, dates, status)

    def _return(
        self, template: Template, status: str, dates: dict[str, Any], parents: tuple[int, ...]
    ) -> tuple:
        """A return's row (its agency is added last), in a state its audit's status allows."""
        rng = self.rng
        if status == "open":
            state = rng.choices(list(OPEN_RETURNS), weights=list(OPEN_RETURNS.values()))[0]
        elif status == "moderation":
            state = rng.choice(["submitted", "moderated", "moderated"])
        else:
            state = "moderated"
        opened: datetime = dates["opened"]
        late = min(self.now - timedelta(hours=1), (dates["moderation"] or self.now) - DAY)
        started: datetime | None = None
        submitted: datetime | None = None
        returned: datetime | None = None
        if state != "not_started":
            started = min(opened + rng.uniform(1, 20) * DAY, late)
            if state in COMPLETE:
                submitted = min(started + rng.uniform(0.5, 8) * DAY, late)
                if state == "returned_for_amendment":
                    returned = submitted + timedelta(hours=2)
        quality = min(rng.choices(range(4), weights=[2, 6, 3, 1])[0], len(template.levels) - 1)
        overall = template.levels[quality] if state in COMPLETE and template.has_overall else None
        version = {"not_started": 1, "draft": 2, "submitted": 3}.get(state, 4)
        note = "Please add the date of the strategy discussion." if returned else None
        updated = returned or submitted or started or opened
        author = rng.choice(["A. Auditor", "B. Reviewer", "C. Safeguarding lead"])
        return (self._id("audit_return"), *parents, state,
                author if started else None, overall, note, version, opened, updated, started,
                submitted, returned)  # fmt: skip

    def _learning(
        self,
        batch: Batch,
        audit_id: int,
        template: Template,
        agencies: list[int],
        dates: dict[str, Any],
        status: str,
    ) -> None:
        """Findings and learning actions, with each action's history."""
        rng, rows, moderator = self.rng, batch.rows, self.ref.users["moderator"]
        at: datetime = dates["learning"]
        findings = []
        for _ in range(rng.randint(2, 4)):
            finding = self._id("finding")
            findings.append(finding)
            kind = "good_practice" if rng.random() < 0.3 else "area_for_improvement"
            rows["finding"].append(
                (finding, audit_id, kind, rng.choice(FINDING_STATEMENTS),
                 rng.choice([None, *template.key_areas]), rng.choice([None, *agencies]),
                 moderator, "moderator@example.org", at, at)
            )  # fmt: skip
            rows["finding_theme"] += [(finding, t) for t in rng.sample(self.ref.themes, 2)]
        weights = CLOSED_ACTIONS if status == "closed" else LEARNING_ACTIONS
        for _ in range(rng.randint(2, 5)):
            action = self._id("learning_action")
            target = rng.choices(list(weights), weights=list(weights.values()))[0]
            path = ["not_accepted"] if target == "not_accepted" else ACTION_PATH[1:]
            path = path[: path.index(target) + 1] if target != "proposed" else []
            due = (at + rng.randint(10, 240) * DAY).date()
            steps: list[tuple[str | None, str, datetime]] = [(None, "proposed", at)]
            for n, step in enumerate(path):
                when = min(at + (n + 1) * 14 * DAY, self.now - timedelta(hours=1))
                steps.append((steps[-1][1], step, when))
            rows["learning_action"].append(
                (action, audit_id, rng.choice(ACTION_TITLES), "", rng.choice(agencies),
                 rng.choice(OWNERS), due, "A re-audit shows the change in practice.", target,
                 "Guidance reissued and briefed." if target in ACTION_PATH[3:] else "",
                 "A dip sample showed the change held." if target in ACTION_PATH[4:] else "",
                 "Covered by another action." if target == "not_accepted" else "",
                 len(steps), moderator, "moderator@example.org", at, steps[-1][2])
            )  # fmt: skip
            rows["action_finding"] += [(action, f) for f in rng.sample(findings, 1)]
            rows["action_status_change"] += [
                (action, old, new, "", "", "", moderator, "moderator@example.org", when)
                for old, new, when in steps
            ]

    # -- writing a batch ---------------------------------------------------------------

    def _write(self, batch: Batch) -> None:
        ref = self.ref
        params = {
            "after": batch.rows["audit_return"][0][0] - 1 if batch.returns else 2**31 - 1,
            "low": batch.first_audit,
            "high": batch.last_audit,
            "admin": ref.users["admin"],
            "admin_label": "admin@example.org",
            "moderator": ref.users["moderator"],
            "moderator_label": "Morgan Moderator",
            "ypn": ["yes", "yes", "yes", "partly", "partly", "no"],
            "lived": LIVED_EXPERIENCE,
            "n_lived": len(LIVED_EXPERIENCE),
            "lowered": LOWERED,
            "n_lowered": len(LOWERED),
            "raised": RAISED,
            "n_raised": len(RAISED),
        }
        for box, n in (("well", 0), ("better", 1), ("impact", 2)):
            texts = flatten([evidence[n] for evidence in EVIDENCE.values()])
            texts += GENERIC_EVIDENCE[n]
            params[box], params[f"n_{box}"] = texts, len(texts)
        with self.conn.cursor() as cur:
            with self.timed("COPY audits, children, returns, actions"):
                for table, columns in COLUMNS.items():
                    names = ", ".join(columns.split())
                    with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                        for row in batch.rows[table]:
                            copy.write_row(row)
                for table in WITH_IDS:
                    cur.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s, false)",
                        (self.next_id[table],),
                    )
            for part, sql in (
                ("answers", ANSWERS),
                ("grades", GRADES),
                ("evidence", EVIDENCE_ROWS),
                ("moderated grades", MODERATED),
                ("moderated grades", SUPERSEDED),
            ):
                with self.timed(part):
                    cur.execute(sql, params)
            with self.timed("audit log"):
                last = one(cur, "SELECT id, seq, hash FROM audit_event ORDER BY id DESC LIMIT 1")
                params |= {"last_id": last[0], "last_seq": last[1], "last_hash": last[2]}
                cur.execute(LOG, params)
                cur.execute(
                    "SELECT setval(pg_get_serial_sequence('audit_event', 'id'), max(id)) "
                    "FROM audit_event"
                )
        with self.timed("commit"):
            self.conn.commit()


# --- measuring ------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str
    route: str  # the route's name (app/access/rules.py), so the path is the app's own
    who: str  # "token" (API), "reader" or "auditor" (a web session)
    audit: bool = False  # the path names the large audit


ENDPOINTS = [
    Endpoint("GET /api/v1/audits", "api.audits.list", "token"),
    Endpoint("/audits page", "audits.list", "reader"),
    Endpoint("GET /api/v1/audits/{id}/returns", "api.returns.list", "token", audit=True),
    Endpoint("/audits/{id}/returns page", "audits.returns", "reader", audit=True),
    Endpoint("GET /api/v1/actions", "api.actions.list", "token"),
    Endpoint("/actions page", "actions.tracker", "reader"),
    Endpoint("GET /api/v1/moderation/analytics", "api.moderation.analytics", "token"),
    Endpoint("/analytics page", "moderation.analytics", "reader"),
    Endpoint("GET /api/v1/audit-log", "api.audit_log.list", "token"),
    Endpoint("/my-work page", "returns.my_work", "auditor"),
]


def credentials(engine: Engine, reader_email: str) -> dict[str, str]:
    """A fresh API token and two web sessions (second factor given), as request headers."""
    headers = {}
    with session_scope(make_sessionmaker(engine)) as session:
        reader = session.scalars(select(User).where(User.email == reader_email)).one()
        _row, token = access.create_token(session, user=reader, name="scale bench", days=1)
        headers["token"] = f"Bearer {token}"
        now = clock.utcnow()
        for who, email in (("reader", reader_email), ("auditor", "auditor.police@example.org")):
            user_id = session.scalars(select(User.id).where(User.email == email)).one()
            plain = new_token()
            session.add(
                WebSession(
                    token_hash=digest(plain),
                    user_id=user_id,
                    expires_at=now + timedelta(hours=8),
                    second_factor_at=now,
                    last_seen_at=now,
                )
            )
            headers[who] = plain
    return headers


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest rank: the smallest value with ``pct`` percent of the values at or below it."""
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def ask(
    connection: http.client.HTTPConnection, path: str, header: tuple[str, str]
) -> tuple[float, bytes, str]:
    """One GET: the milliseconds it took, the body, and what went wrong ("" for a 200)."""
    begun = time.perf_counter()
    connection.request("GET", path, headers=dict([header]))
    response = connection.getresponse()
    body = response.read()
    took = (time.perf_counter() - begun) * 1000
    return took, body, "" if response.status == 200 else f"{response.status}: {body[:300]!r}"


def measure(
    port: int, path: str, header: tuple[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    """Warm-ups, then timed requests one after another on one keep-alive connection. A
    slow endpoint stops warming up after a third of ``max_seconds`` and stops timing once
    ``max_seconds`` have passed with at least ``min_requests`` timed, so a size where a
    request takes half a minute still finishes."""
    connection = http.client.HTTPConnection(HOST, port, timeout=args.timeout)
    try:
        started = time.perf_counter()
        warmups = 0
        while warmups < args.warmup and time.perf_counter() - started < args.max_seconds / 3:
            _took, _body, error = ask(connection, path, header)
            if error:
                return {"error": error}
            warmups += 1
        times: list[float] = []
        started = time.perf_counter()
        while len(times) < args.requests:
            took, body, error = ask(connection, path, header)
            if error:
                return {"error": error}
            times.append(took)
            if len(times) >= args.min_requests and time.perf_counter() - started > args.max_seconds:
                break
    finally:
        connection.close()
    ordered = sorted(times)
    return {
        "n": len(ordered),
        "warmups": warmups,
        "median_ms": statistics.median(ordered),
        "p95_ms": percentile(ordered, 95),
        "kb": len(body) / 1024,
    }


Target = tuple[Endpoint, str, tuple[str, str]]  # what to ask, where, with which header


def measure_size(
    port: int, targets: list[Target], size: int, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Every endpoint at one size. A new server's first few requests are slow whatever
    they ask, so each endpoint is asked once before any is timed; otherwise the first
    one timed would pay for the server's start."""
    connection = http.client.HTTPConnection(HOST, port, timeout=args.timeout)
    for _endpoint, path, header in targets:
        ask(connection, path, header)  # a refusal is reported when the endpoint is timed
    connection.close()
    rows = []
    for endpoint, path, header in targets:
        row = {"size": size, "path": path, **measure(port, path, header, args)}
        rows.append(row)
        if "error" in row:
            print(f"  {endpoint.name:<36} error: {row['error']}", flush=True)
        else:
            print(
                f"  {endpoint.name:<36}{row['median_ms']:>9.1f} ms median"
                f"{row['p95_ms']:>9.1f} ms p95  ({row['n']} timed, {row['kb']:.0f} KB)",
                flush=True,
            )
    return rows


# --- the run --------------------------------------------------------------------------

READER = "scale.bench@example.org"
SHAPE = [
    ("audits", "audit"),
    ("returns", "audit_return"),
    ("answers", "answer"),
    ("grades", "grade"),
    ("evidence", "key_area_evidence"),
    ("moderated", "moderated_grade"),
    ("actions", "learning_action"),
    ("log rows", "audit_event"),
]
SERVER_SETTINGS = [
    "server_version",
    "shared_buffers",
    "work_mem",
    "effective_cache_size",
    "max_parallel_workers_per_gather",
    "fsync",
    "synchronous_commit",
]


def prepare(url: str) -> Engine:
    """Migrate an empty database to head, load the demo and add the bench's reader."""
    engine = make_engine(url)
    if inspect(engine).get_table_names():
        raise SystemExit(f"error: the database at {engine.url!r} is not empty")
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    with session_scope(make_sessionmaker(engine)) as session:
        load_demo(session)
        access.create_user(
            session,
            email=READER,
            display_name="Scale bench",
            roles={Role.ADMIN, Role.MODERATOR},
        )
    return engine


def shape(conn: psycopg.Connection) -> dict[str, int]:
    """Rows per table as ANALYZE estimated them, and the database's size on disk."""
    found = {}
    for label, table in SHAPE:
        found[label] = int(
            one(conn, "SELECT reltuples FROM pg_class WHERE relname = %s", (table,))[0]
        )
    found["bytes"] = one(conn, "SELECT pg_database_size(current_database())")[0]
    return found


def label(size: int) -> str:
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size >= 1000 and size % 1000 == 0:
        return f"{size // 1000}k"
    return str(size)


def parse_sizes(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        part = part.strip().lower()
        scale = {"k": 1000, "m": 1_000_000}.get(part[-1:], 1)
        sizes.append(int(float(part.rstrip("km")) * scale))
    if sorted(sizes) != sizes or len(set(sizes)) != len(sizes):
        raise argparse.ArgumentTypeError("sizes must be increasing")
    return sizes


def verdict(median_ratio: float, p95_ratio: float) -> str:
    if median_ratio <= AIM_RATIO and p95_ratio <= AIM_RATIO:
        return "within 2x"
    if median_ratio <= AIM_RATIO:
        return "over 2x (p95)"
    return "over 2x"


def print_results(results: dict[str, list[dict]], baseline: int) -> None:
    """The table: each endpoint's figures at each size, and their ratio to ``baseline``'s."""
    base = label(baseline)
    print(f"\n{'endpoint / size':<34}{'n':>4}{'median ms':>11}{'x' + base:>7}", end="")
    print(f"{'p95 ms':>10}{'x' + base:>7}{'KB':>9}  aim: within {AIM_RATIO:.0f}x of {base}")
    for name, rows in results.items():
        print(name)
        first = next((r for r in rows if r["size"] == baseline and "error" not in r), None)
        for row in rows:
            if "error" in row:
                print(f"  {label(row['size']):<32}error: {row['error']}")
                continue
            if first:
                row["median_ratio"] = row["median_ms"] / first["median_ms"]
                row["p95_ratio"] = row["p95_ms"] / first["p95_ms"]
                row["verdict"] = verdict(row["median_ratio"], row["p95_ratio"])
            print(
                f"  {label(row['size']):<32}{row['n']:>4}{row['median_ms']:>11.1f}"
                f"{row.get('median_ratio', math.nan):>7.2f}{row['p95_ms']:>10.1f}"
                f"{row.get('p95_ratio', math.nan):>7.2f}{row['kb']:>9.1f}"
                f"  {row.get('verdict', '') if row is not first else ''}"
            )
        last = rows[-1] if rows and "error" not in rows[-1] else None
        if first and last and last["kb"] > 1.5 * first["kb"]:
            # A list shorter than a page at the baseline: its ratios overstate the growth.
            print(
                f"  note: the answer grew from {first['kb']:.0f} KB at {base} to "
                f"{last['kb']:.0f} KB at {label(last['size'])}: compare with a size "
                "where it is as long (--baseline)"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", help="an empty PostgreSQL database (default: a temp cluster)"
    )
    parser.add_argument(
        "--sizes", type=parse_sizes, default=parse_sizes("1k,10k,100k,1M"),
        help="returns in all at each step, e.g. 1k,10k,100k,1M (the default)",
    )  # fmt: skip
    parser.add_argument(
        "--baseline", type=lambda text: parse_sizes(text)[0],
        help="the size the ratios are to (default: the first)",
    )  # fmt: skip
    parser.add_argument("--requests", type=int, default=30, help="timed, per endpoint and size")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first")
    parser.add_argument(
        "--max-seconds", type=float, default=60.0,
        help="stop timing an endpoint after this long (with at least --min-requests)",
    )  # fmt: skip
    parser.add_argument("--min-requests", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds, per request")
    parser.add_argument("--only", help="only endpoints whose name contains this text")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep the temp cluster running")
    parser.add_argument("--json", action="store_true", help="also print results as JSON")
    args = parser.parse_args(argv)
    if args.baseline is None:
        args.baseline = args.sizes[0]
    elif args.baseline not in args.sizes:
        parser.error("--baseline must be one of --sizes")
    endpoints = [e for e in ENDPOINTS if not args.only or args.only in e.name]

    tmp = Path(tempfile.mkdtemp(prefix="case-audit-scale-"))
    # The service's settings outside the app (the log's key, its checkpoints) come from
    # the environment, in this process and the server's: a throwaway key, a temp file.
    os.environ["AUDIT_SECRET_KEY"] = secrets.token_urlsafe(32)
    os.environ["AUDIT_AUDIT_CHECKPOINT_PATH"] = str(tmp / "checkpoints.log")
    cluster = engine = grower = None
    server: dict[str, str] = {}
    failed = False
    results: dict[str, list[dict]] = {e.name: [] for e in endpoints}
    loads: list[dict] = []
    try:
        if args.database_url:
            url = args.database_url
        else:
            from tests.helpers import pg_cluster

            cluster = pg_cluster.start()
            url = cluster.create_database("scale")
        os.environ[URL_ENV] = url
        started = time.perf_counter()
        engine = prepare(url)
        conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
        grower = Grower(engine, conninfo, args.seed)
        server = {s: one(grower.conn, f"SHOW {s}")[0] for s in SERVER_SETTINGS}
        # The code measured: figures from a tree with uncommitted changes say so.
        server["code"] = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        print(f"migrated and loaded the demo in {time.perf_counter() - started:.1f} s; ", end="")
        print(", ".join(f"{k} {v}" for k, v in server.items()))
        if grower.foreign_keys_checked:
            print("note: not a superuser, so foreign keys are checked while loading (slower)")
        routes = app()
        for size in args.sizes:
            print(f"growing to {size:,} returns", flush=True)
            started = time.perf_counter()
            timings = grower.grow_to(size)
            took = time.perf_counter() - started
            found = shape(grower.conn)
            loads.append({"size": size, "seconds": took, "parts": timings, "shape": found})
            print(
                f"{label(size)}: loaded in {took:.0f} s ("
                + ", ".join(f"{part} {seconds:.0f} s" for part, seconds in timings.items())
                + "); "
                + ", ".join(f"{k} {v:,}" for k, v in found.items() if k != "bytes")
                + f"; {found['bytes'] / 2**30:.2f} GiB"
            )
            headers = credentials(engine, READER)
            targets: list[Target] = []
            for e in endpoints:
                params = {"audit_id": grower.returns_audit} if e.audit else {}
                header = (
                    ("Authorization", headers["token"])
                    if e.who == "token"
                    else ("Cookie", f"case_audit_session={headers[e.who]}")
                )
                targets.append((e, routes.url_path_for(e.route, **params), header))
            proc, port = serve(url, tmp / f"server-{size}.log")
            try:
                for e, row in zip(endpoints, measure_size(port, targets, size, args), strict=True):
                    results[e.name].append(row)
                    failed = failed or "error" in row
            finally:
                stop(proc)
            if failed:
                print("stopping: a request was not answered 200")
                break
    finally:
        if grower:
            grower.close()
        if engine:
            engine.dispose()
        if cluster and args.keep:
            print(f"kept: {cluster.url('scale')}")
            print(f"  psql -h {cluster.folder} -p {cluster.port} -U postgres scale")
            stop_it = [*cluster.as_user, pg_cluster._binary("pg_ctl"), "-D"]
            print(f"  stop it with: {' '.join(stop_it)} {cluster.folder / 'data'} stop")
            print(f"  serve it with AUDIT_SECRET_KEY={os.environ['AUDIT_SECRET_KEY']}")
        elif cluster:
            cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print_results(results, args.baseline)
    if args.json:
        print(json.dumps({"server": server, "loads": loads, "results": results}, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
