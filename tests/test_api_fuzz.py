"""The whole API fuzzed from its own OpenAPI document (schemathesis): every check
schemathesis has (``--checks all``: no server error, every status, content type,
header and body as documented, invalid input refused and valid input accepted,
credentials required where declared, 405 with the right Allow), as an admin, a
moderator and an agency lead with their API tokens, against the app on a copy of the
demo partnership.

Schemathesis's coverage phase sends each operation its boundary and wrong-type cases,
then a few random ones (``max_examples``, ``derandomize``: the same cases every day);
each case goes as the next of the three roles in turn. About a minute, on SQLite only
(the answers do not depend on the database).
Anything it finds is fixed with a regression test of its own beside the code it was
in (tests/test_hardening.py, tests/test_web_protections.py, tests/test_api_docs.py).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis.config import SchemathesisConfig
from sqlalchemy import delete, select, update

from app.access import service as access
from app.access.models import ApiToken, Role, User, UserRole
from app.agencies.models import Agency
from app.audit_templates import sheets
from app.audit_templates.schemas import TemplateContent
from app.clock import utcnow
from app.config import Settings
from app.db import make_engine, make_sessionmaker, session_scope
from app.main import create_app
from tests.conftest import BACKEND
from tests.helpers.factories import template_content

ROLES = (Role.ADMIN, Role.MODERATOR, Role.AGENCY_LEAD)
# Hypothesis keeps caches (no examples: database=None) in .hypothesis under the working
# folder: here, outside the checkout.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "case-audit-hypothesis")


# Changes that may take the fuzzers' own roles or tokens away (the admin's, or anyone's
# own tokens and sessions).
MAY_UNDO_THE_FUZZERS = ("/api/v1/users", "/api/v1/auth", "/api/v1/role-grants")


@dataclass
class Fuzzed:
    app: object
    headers: dict[Role, dict[str, str]]
    users: dict[Role, int]
    tokens: dict[Role, int]
    factory: object
    sent: int = 0

    def next_role(self) -> Role:
        """Each request as the next role in turn, so every operation is tried by all
        three (and each case costs one request)."""
        self.sent += 1
        return ROLES[self.sent % len(ROLES)]

    def restore(self) -> None:
        """Put the three people back as they were: a request as admin may have
        changed their roles, disabled them or revoked their tokens (the fuzzer picks
        ids, and theirs are among them)."""
        with session_scope(self.factory) as session:
            ids = list(self.users.values())
            session.execute(update(User).where(User.id.in_(ids)).values(active=True))
            session.execute(delete(UserRole).where(UserRole.user_id.in_(ids)))
            session.add_all(UserRole(user_id=self.users[r], role=r) for r in ROLES)
            session.execute(
                update(ApiToken)
                .where(ApiToken.id.in_(list(self.tokens.values())))
                .values(revoked_at=None, expires_at=utcnow() + timedelta(days=1))
            )


@pytest.fixture(scope="module")
def fuzzed(demo_database):
    if BACKEND != "sqlite":
        # The API's answers do not depend on the database; a minute and a half once is
        # enough (make test's SQLite run).
        pytest.skip("fuzzed on SQLite only")
    url = demo_database()
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    headers, users, tokens = {}, {}, {}
    with session_scope(factory) as session:
        agency_id = session.scalar(select(Agency.id).order_by(Agency.id).limit(1))
        for role in ROLES:
            user = access.create_user(
                session,
                email=f"fuzz.{role.value}@example.org",
                display_name=f"Fuzz {role.value}",
                roles={role},
                agency_id=agency_id if role == Role.AGENCY_LEAD else None,
            )
            row, plain = access.create_token(session, user=user, name="fuzz", days=1)
            headers[role] = {"Authorization": f"Bearer {plain}"}
            users[role], tokens[role] = user.id, row.id
    app = create_app(Settings(database_url=url, environment="test", render_in_background=False))
    yield Fuzzed(app, headers, users, tokens, factory)
    app.state.engine.dispose()
    engine.dispose()


def _document() -> dict:
    """The OpenAPI document, from an app that never connects to its database (the
    requests go to the one on the demo's copy: ``fuzzed``)."""
    unused = "postgresql+psycopg://unused@127.0.0.1:1/none"
    return create_app(Settings(database_url=unused, environment="test")).openapi()


# Every check schemathesis has. A request valid by the schema may still break a rule
# the schema cannot say (a deadline already past, an answer of the wrong kind for its
# question): the API answers those 422 with the fields named, which is accepted here.
CONFIG = SchemathesisConfig.from_dict(
    {
        "cache": {"enabled": False},
        "checks": {
            "enabled": True,
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]
            },
        },
    }
)
# A template workbook's body (XLSX) is not made from a JSON schema: a real workbook, a
# file that is no workbook, and random bytes.
schemathesis.openapi.media_type(
    sheets.MEDIA_TYPE,
    st.sampled_from(
        [
            sheets.workbook_of(
                TemplateContent.model_validate(template_content(name="Fuzzed workbook"))
            ),
            b"not a workbook",
        ]
    )
    | st.binary(max_size=64),
)
schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)


@schema.parametrize()
@settings(
    max_examples=5,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_as_any_role(case, fuzzed):
    # The schema was read before the app on the demo's copy was made; its checks send
    # requests of their own (without credentials, with other methods) to this app.
    case.operation.app = case.operation.schema.app = fuzzed.app
    role = fuzzed.next_role()
    case.call_and_validate(headers=fuzzed.headers[role])
    if case.method != "GET" and case.path.startswith(MAY_UNDO_THE_FUZZERS):
        fuzzed.restore()
