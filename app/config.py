"""Settings, read once from the environment (prefix ``AUDIT_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "case-audit.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AUDIT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # DATABASE_URL is read without the prefix too: it is what docker-compose and
    # most hosting platforms set.
    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_SQLITE_PATH}",
        validation_alias=AliasChoices("DATABASE_URL", "AUDIT_DATABASE_URL", "database_url"),
    )
    environment: str = "dev"  # dev | test | production
    host: str = "127.0.0.1"
    port: int = 8000
    partnership_name: str = "Safeguarding Children Partnership"
    page_size_default: int = 50
    page_size_max: int = 200
    sql_echo: bool = False

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants a driver name.
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
