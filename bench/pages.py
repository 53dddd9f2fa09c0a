"""Server time of each page on the demo data.

Loads the demo into a temporary SQLite database and asks each page many times, in
process (no network), signed in as the person who would use it; prints the median
and 95th-percentile server time per page, and the SQL statements one request of it
runs. The aim: every page under 100 ms.

    .venv/bin/python bench/pages.py [--repeat 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import event, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.access.models import User, WebSession  # noqa: E402
from app.access.secrets import digest, new_token  # noqa: E402
from app.agencies.models import Agency  # noqa: E402
from app.audits.models import Audit, Child  # noqa: E402
from app.briefings.models import (  # noqa: E402
    Briefing,
    BriefingKind,
    BriefingVersion,
    VersionStatus,
)
from app.clock import utcnow  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from app.demo import MEETING_TITLE, load_demo  # noqa: E402
from app.main import create_app  # noqa: E402
from app.migrate import alembic_config  # noqa: E402
from app.returns.models import Return  # noqa: E402

AIM_MS = 100


def signed_in(session, email: str) -> str:
    from datetime import timedelta

    user = session.scalar(select(User).where(User.email == email))
    token = new_token()
    now = utcnow()
    session.add(
        WebSession(
            token_hash=digest(token),
            user_id=user.id,
            expires_at=now + timedelta(hours=8),
            second_factor_at=now,
            last_seen_at=now,
        )
    )
    return token


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/pages.db"
        engine = make_engine(url)
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "head")
        with session_scope(make_sessionmaker(engine)) as session:
            audit = load_demo(session)
            auditor = signed_in(session, "auditor.police@example.org")
            moderator = signed_in(session, "moderator@example.org")
            admin = signed_in(session, "admin@example.org")
            practitioner = signed_in(session, "practitioner@example.org")
            admin_id = session.scalar(select(User.id).where(User.email == "admin@example.org"))
            police_return = session.scalar(
                select(Return.id)
                .join(Agency, Agency.id == Return.agency_id)
                .where(Return.audit_id == audit.id, Agency.name == "Westshire Police")
            )
            version = audit.template_version_id
            # The meeting view for the child known to six agencies (six key areas each).
            meeting_audit = session.scalar(select(Audit.id).where(Audit.title == MEETING_TITLE))
            child_d = session.scalar(
                select(Child.id).where(
                    Child.audit_id == meeting_audit, Child.pseudonym == "Child D"
                )
            )
            # A published learning briefing in the library, shown with its web version.
            briefing = session.scalar(
                select(Briefing.id)
                .join(BriefingVersion, BriefingVersion.briefing_id == Briefing.id)
                .where(
                    Briefing.kind == BriefingKind.BRIEFING,
                    BriefingVersion.status == VersionStatus.PUBLISHED,
                )
                .order_by(Briefing.id)
            )
        engine.dispose()
        from app.audit_templates.models import KeyArea

        engine = make_engine(url)
        with engine.connect() as connection:
            key_area = connection.scalar(
                select(KeyArea.id)
                .where(KeyArea.template_version_id == version)
                .order_by(KeyArea.position)
            )
        engine.dispose()

        app = create_app(Settings(database_url=url, environment="test"))
        statements = [0]

        def counted(*_args) -> None:
            statements[0] += 1

        event.listen(app.state.engine, "before_cursor_execute", counted)
        pages = [
            ("sign in", None, "/sign-in"),
            ("my work", auditor, "/my-work"),
            ("return task list", auditor, f"/returns/{police_return}"),
            ("key area", auditor, f"/returns/{police_return}/areas/{key_area}"),
            ("check your answers", auditor, f"/returns/{police_return}/check"),
            ("audits", moderator, "/audits"),
            ("audit overview", moderator, f"/audits/{audit.id}"),
            ("agencies", admin, "/admin/agencies"),
            ("users", admin, "/admin/users"),
            ("a user", admin, f"/admin/users/{admin_id}"),
            ("templates", admin, "/admin/templates"),
            ("template builder", admin, f"/admin/template-versions/{version}"),
            ("template preview", admin, f"/admin/template-versions/{version}/preview"),
            ("preview a key area", admin, f"/admin/template-versions/{version}/preview/{key_area}"),
            ("plan a new audit", admin, "/admin/audits/new"),
            ("audit planning", admin, f"/admin/audits/{audit.id}"),
            ("moderation grid", moderator, f"/audits/{meeting_audit}/moderation"),
            (
                "meeting: 6 agencies",
                moderator,
                f"/audits/{meeting_audit}/moderation/meeting?child={child_d}",
            ),
            ("library", practitioner, "/library"),
            ("a briefing (web version)", practitioner, f"/library/{briefing}"),
            ("page not found", None, "/no-such-page"),
        ]
        print(f"{'page':<26}{'median ms':>10}{'p95 ms':>9}{'SQL':>5}  aim")
        worst = 0.0
        with TestClient(app) as client:
            for name, cookie, path in pages:
                client.cookies.clear()
                if cookie:
                    client.cookies.set("case_audit_session", cookie)
                times = []
                statements[0] = 0
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    response = client.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    if response.status_code not in (200, 404):
                        print(f"{name}: unexpected {response.status_code}")
                        return 1
                times.sort()
                p95 = times[int(len(times) * 0.95) - 1]
                worst = max(worst, p95)
                aim = "meets aim" if p95 < AIM_MS else "below aim"
                per_request = statements[0] / args.repeat
                print(
                    f"{name:<26}{statistics.median(times):>10.1f}{p95:>9.1f}"
                    f"{per_request:>5.0f}  {aim}"
                )
        print(f"aim: every page under {AIM_MS} ms (server time, in process, one at a time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
