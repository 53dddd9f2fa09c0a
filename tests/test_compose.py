"""docker-compose.yml cannot be run here (no Docker engine), so check it against the
settings the app really reads."""

from pathlib import Path

import yaml
from sqlalchemy.engine import make_url

from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


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


class TestCompose:
    def test_services_are_the_database_and_the_app(self):
        assert set(_compose()["services"]) == {"db", "app"}

    def test_app_environment_names_are_settings_the_app_reads(self):
        env = _compose()["services"]["app"]["environment"]
        unknown = set(env) - _setting_env_names()
        assert unknown == set(), f"compose sets variables the app ignores: {unknown}"

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
        url = make_url(_resolve(compose["services"]["app"]["environment"]["DATABASE_URL"]))
        assert url.drivername == "postgresql+psycopg"
        assert url.host == "db" and url.port == 5432
        assert url.database == db_env["POSTGRES_DB"]
        assert url.username == db_env["POSTGRES_USER"]
        assert "POSTGRES_PASSWORD" in db_env

    def test_app_migrates_before_serving(self):
        command = " ".join(_compose()["services"]["app"]["command"])
        assert command.index("db upgrade") < command.index("serve")
        assert _compose()["services"]["app"]["depends_on"]["db"]["condition"] == "service_healthy"
