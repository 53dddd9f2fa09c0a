"""docker-compose.yml cannot be run here (no Docker engine), so check it against the
settings the app really reads."""

import re
from pathlib import Path, PurePosixPath

import yaml
from sqlalchemy.engine import make_url

from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def volume_holding(service: dict, path: PurePosixPath) -> str | None:
    """The volume a compose service mounts ``path`` in, if any."""
    for volume in service.get("volumes", []):
        name, mount = volume.split(":")[:2]
        if path.is_relative_to(mount):
            return name
    return None


def _setting_env_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(f"AUDIT_{name.upper()}")
        alias = field.validation_alias
        for choice in getattr(alias, "choices", []) or ([alias] if isinstance(alias, str) else []):
            names.add(str(choice).upper())
    return names


def _resolve(value: str) -> str:
    """${VAR:?msg} and ${VAR:-default} become a sample value, as compose would."""
    import re

    return re.sub(r"\$\{(\w+)(:[?-][^}]*)?\}", lambda m: "sample", value)


def _service_role() -> str:
    """The role the keying migration creates and grants for the service."""
    from alembic.script import ScriptDirectory

    from app.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    return script.get_revision("5d2f0b8c3e21").module.SERVICE_ROLE


class TestCompose:
    def test_services_are_the_database_the_migrations_the_app_and_its_renderer(self):
        assert set(_compose()["services"]) == {"db", "migrate", "app", "renderer"}

    def test_the_renderer_makes_the_pdfs_with_the_apps_settings_and_the_app_does_not(
        self, monkeypatch
    ):
        services = _compose()["services"]
        app, renderer = services["app"], services["renderer"]
        assert " ".join(renderer["command"]) == "audit-tools renderer"
        assert renderer["environment"] == app["environment"]
        assert renderer["volumes"] == app["volumes"]  # the audit log's checkpoints
        assert renderer["depends_on"] == app["depends_on"]
        for key, value in app["environment"].items():
            monkeypatch.setenv(key, _resolve(str(value)))
        assert Settings(_env_file=None).render_in_background is False

    def test_app_environment_names_are_settings_the_app_reads(self):
        for service in ("app", "migrate", "renderer"):
            env = _compose()["services"][service]["environment"]
            unknown = set(env) - _setting_env_names()
            assert unknown == set(), f"compose sets variables {service} ignores: {unknown}"

    def test_app_settings_load_from_the_compose_environment(self, monkeypatch):
        env = _compose()["services"]["app"]["environment"]
        for key, value in env.items():
            monkeypatch.setenv(key, _resolve(str(value)))
        settings = Settings(_env_file=None)
        assert settings.environment == "production"
        assert settings.host == "0.0.0.0"
        compose_port = _compose()["services"]["app"]["ports"][0]
        assert compose_port.split(":")[1] == str(settings.port)

    def test_database_url_points_at_the_db_service(self):
        compose = _compose()
        db_env = compose["services"]["db"]["environment"]
        for service in ("app", "migrate"):
            url = make_url(_resolve(compose["services"][service]["environment"]["DATABASE_URL"]))
            assert url.drivername == "postgresql+psycopg"
            assert url.host == "db" and url.port == 5432
            assert url.database == db_env["POSTGRES_DB"]
        assert "POSTGRES_PASSWORD" in db_env

    def test_migrations_run_as_the_owner_and_finish_before_the_app_serves(self):
        services = _compose()["services"]
        migrate = services["migrate"]
        assert " ".join(migrate["command"]) == "audit-tools db upgrade"
        url = make_url(_resolve(migrate["environment"]["DATABASE_URL"]))
        assert url.username == services["db"]["environment"]["POSTGRES_USER"]
        assert "${POSTGRES_PASSWORD" in migrate["environment"]["DATABASE_URL"]
        assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
        assert services["app"]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
        command = " ".join(services["app"]["command"])
        assert "serve" in command and "db upgrade" not in command


class TestTheServiceRole:
    """The app connects as the role the migrations grant, which does not own the audit
    log (tests/auditlog/test_service_role.py), and never holds the owner's password."""

    def test_the_app_connects_as_the_service_role(self):
        app_env = _compose()["services"]["app"]["environment"]
        url = make_url(_resolve(app_env["DATABASE_URL"]))
        assert url.username == _service_role() != "case_audit"
        assert "${AUDIT_APP_DB_PASSWORD" in app_env["DATABASE_URL"]

    def test_the_app_never_sees_the_owners_password(self):
        app_env = _compose()["services"]["app"]["environment"]
        assert not any("POSTGRES_PASSWORD" in str(value) for value in app_env.values())

    def test_a_new_database_creates_the_service_role_with_its_password(self):
        db = _compose()["services"]["db"]
        mounts = {v.split(":")[1]: v.split(":")[0] for v in db["volumes"]}
        init = ROOT / mounts["/docker-entrypoint-initdb.d"]
        [script] = sorted(init.iterdir())
        assert f"CREATE ROLE {_service_role()} LOGIN PASSWORD :'password'" in script.read_text()
        assert '"$AUDIT_APP_DB_PASSWORD"' in script.read_text()
        assert "AUDIT_APP_DB_PASSWORD" in db["environment"]

    def test_both_chain_the_log_with_the_same_keys_and_checkpoint_file(self):
        services = _compose()["services"]
        names = ("AUDIT_SECRET_KEY", "AUDIT_AUDIT_LOG_KEY", "AUDIT_AUDIT_CHECKPOINT_PATH")
        app_env, migrate_env = services["app"]["environment"], services["migrate"]["environment"]
        assert {n: app_env[n] for n in names} == {n: migrate_env[n] for n in names}

    def test_the_checkpoints_are_kept_in_a_volume_the_database_cannot_reach(self):
        services = _compose()["services"]
        path = PurePosixPath(services["app"]["environment"]["AUDIT_AUDIT_CHECKPOINT_PATH"])
        held = {service: volume_holding(services[service], path) for service in services}
        assert held["app"] == held["migrate"] == "checkpoints"
        assert held["db"] is None
        assert "checkpoints" in _compose()["volumes"]

    def test_the_renderer_and_the_app_share_one_serving_board(self):
        """Containers do not share /dev/shm, the board's default: without a board in a
        volume both mount, the renderer's workers would neither pause for pages nor take
        turns (app/serving.py)."""
        services = _compose()["services"]
        board = PurePosixPath(services["app"]["environment"]["AUDIT_RENDER_PAUSE_BOARD"])
        assert services["renderer"]["environment"]["AUDIT_RENDER_PAUSE_BOARD"] == str(board)
        held = volume_holding(services["app"], board)
        assert held is not None
        assert volume_holding(services["renderer"], board) == held
        assert held in _compose()["volumes"]  # a named volume, not a path


class TestTheImage:
    """The Dockerfile cannot be built here (no Docker engine): check what it says."""

    def test_the_image_carries_the_front_end_it_serves(self):
        """Pages need GOV.UK Frontend's files and /docs Swagger UI's, which come from npm
        (app/templating.py GOVUK_DIST, app/api_docs.py SWAGGER_UI_DIST); .dockerignore
        keeps the checkout's node_modules out, so the image installs its own."""
        dockerfile = (ROOT / "Dockerfile").read_text()
        assert "node_modules" in (ROOT / ".dockerignore").read_text()
        assert re.search(r"^FROM node:\S+ AS assets$", dockerfile, re.M)
        assert "npm ci --omit=dev" in dockerfile
        assert "COPY --from=assets /build/node_modules ./node_modules" in dockerfile
        # Copied after the checkout, into the folder the app reads them from.
        final = dockerfile.split("FROM python:")[1]
        assert final.index("COPY . .") < final.index("COPY --from=assets")
        assert "WORKDIR /srv/case-audit" in final
        from app.config import PROJECT_ROOT
        from app.templating import GOVUK_DIST

        assert GOVUK_DIST.relative_to(PROJECT_ROOT).parts[0] == "node_modules"
