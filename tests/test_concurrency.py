"""Two people saving the same return at the same moment, on real separate connections.

The other tests share one rolled-back transaction; this one runs the real unit of
work (app.db.get_session) against its own database, so the database's locking is
what is tested.
"""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from fastapi.testclient import TestClient

from app.access import service as access
from app.access.models import Role
from app.config import Settings
from app.db import make_sessionmaker, session_scope
from app.main import create_app
from tests.helpers.factories import make_audit


def test_simultaneous_saves_of_one_version_let_exactly_one_win(migrated_engine):
    engine = migrated_engine()
    url = engine.url.render_as_string(hide_password=False)
    with session_scope(make_sessionmaker(engine)) as session:
        audit = make_audit(session, children=1, agencies_count=1)
        audit_id, version_id = audit.id, audit.template_version_id
        auditor = access.create_user(
            session,
            email="auditor@example.org",
            display_name="Auditor",
            roles={Role.AUDITOR},
            agency_id=audit.agencies[0].id,
        )
        _token, plain = access.create_token(session, user=auditor, name="test", days=1)
    engine.dispose()

    app = create_app(Settings(database_url=url, environment="test"))
    with TestClient(app, headers={"Authorization": f"Bearer {plain}"}) as client:
        template = client.get(f"/api/v1/template-versions/{version_id}").json()
        question = template["key_areas"][0]["questions"][0]["id"]
        return_id = client.get(f"/api/v1/audits/{audit_id}/returns").json()["items"][0]["id"]
        barrier = Barrier(8)

        def save(value: str) -> int:
            barrier.wait()
            body = {"version": 1, "answers": [{"question_id": question, "value": value}]}
            return client.put(f"/api/v1/returns/{return_id}/draft", json=body).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(
                pool.map(save, ["yes", "no", "partly", "yes", "no", "partly", "yes", "no"])
            )
        assert sorted(codes) == [200] + [409] * 7
        final = client.get(f"/api/v1/returns/{return_id}").json()
        assert final["version"] == 2
        assert len(final["answers"]) == 1
    app.state.engine.dispose()
