"""Settings, read once from the environment (prefix ``AUDIT_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "case-audit.db"
DEV_SECRET_KEY = "dev-only-secret-key-change-me"


class SsoProvider(BaseModel):
    """An identity provider people sign in with (OpenID Connect). Only ``issuer`` is
    trusted: an ID token from any other issuer is refused, so a multi-tenant endpoint
    lets in only the tenant named here. ``domains`` maps each e-mail domain it signs in
    to the agency (by name) its people belong to; a domain in ``self_registration``
    lets someone unknown ask for an account, which waits for approval."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,59}$")  # in its sign-in address
    name: str = Field(min_length=1, max_length=100)  # "Sign in with <name>"
    issuer: str = Field(min_length=1, max_length=500)
    client_id: str = Field(min_length=1)
    client_secret: str = ""
    domains: dict[str, str] = Field(default_factory=dict)
    self_registration: list[str] = Field(default_factory=list)
    scopes: str = "openid email profile"
    # ``acr`` values meaning the person gave a second factor (``amr`` is read as RFC
    # 8176 says: "mfa", "otp", "hwk" and the like).
    mfa_acr_values: list[str] = Field(default_factory=list)
    # Read ``preferred_username`` as the e-mail address when ``email`` is missing (Entra
    # ID's user principal name is one); otherwise only ``email`` is.
    username_is_email: bool = False


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
    sql_echo: bool = False
    # Threads a worker process uses for database work (default 2). Few threads beat
    # many: they all compete for the one GIL, and bench/api.py measured 16 concurrent
    # reads at 1.6x the naive baseline with anyio's default 40 threads against 2.5-3x
    # with 1-2; on PostgreSQL, 2 threads gave a p95 of 41-44 ms where 4 gave 48-55.
    db_threads: int = Field(default=2, ge=1, le=64)

    # Signing in. The secret key signs CSRF tokens; it must be set outside dev/test.
    secret_key: str = DEV_SECRET_KEY
    session_idle_minutes: int = Field(default=15, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=8, ge=1, le=7 * 24)
    # Two-factor sign-in for every account; a partnership may turn it off.
    require_second_factor: bool = True
    sign_in_max_failures: int = Field(default=5, ge=1, le=100)
    sign_in_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    api_token_max_days: int = Field(default=365, ge=1, le=3650)
    # One-time links e-mailed to people (an invitation, a password reset) work once,
    # for this many hours.
    account_link_hours: int = Field(default=24, ge=1, le=24 * 14)
    # One-time links for people without an account (a family answering a survey, an
    # agency its self-assessment: app/respond/) work for this many days, and each client
    # address may try this many links that do not work in an hour before being refused.
    respondent_link_days: int = Field(default=14, ge=1, le=60)
    respondent_link_failures_per_hour: int = Field(default=20, ge=1, le=1000)
    # Single sign-on (OpenID Connect, app/access/sso.py): the identity providers, as a
    # JSON list (README, "Single sign-on"); none: passwords only.
    sso_providers: list[SsoProvider] = Field(default_factory=list)
    # Joiners, movers and leavers (app/access/leavers.py): an account unused this many
    # days is disabled, its holder told this many days before; an agency lead reviews
    # their agency's accounts this often.
    inactive_after_days: int = Field(default=90, ge=7, le=3650)
    inactivity_notice_days: int = Field(default=14, ge=1, le=90)
    access_review_every_days: int = Field(default=91, ge=7, le=3650)
    max_request_bytes: int = Field(default=2_000_000, ge=10_000)

    # Learning actions: an overdue action is escalated to the audit's lead subgroup at
    # once, and to the Executive once it is this many days overdue.
    escalate_to_executive_after_days: int = Field(default=28, ge=1, le=365)

    # E-mail (reminders). Nothing is sent until smtp_host is set.
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    # Notifications (app/notifications): through GOV.UK Notify when its API key is set
    # (one e-mail template there with ((subject)) and ((body))), else through SMTP.
    notify_api_key: str = ""
    notify_template_id: str = ""
    # How often each web process's courier sends what is queued; 0: never (cron runs
    # ``audit-tools notifications send`` instead).
    notifications_every_seconds: float = Field(default=15, ge=0, le=3600)
    mail_from: str = "case-audit@localhost"
    # The address people use to reach the service: links in e-mails start with it.
    public_url: str = "http://127.0.0.1:8000"

    # Briefings: the partnership's logo (a PNG or SVG file) and colour on every page.
    brand_logo_path: Path | None = None
    brand_colour: str = Field(default="#1d70b8", pattern=r"^#[0-9a-fA-F]{6}$")
    # Breakdowns with a count below this (but above 0) could identify someone:
    # publishing asks for an explicit confirmation.
    small_count_threshold: int = Field(default=5, ge=1, le=100)
    # How many people, none of them an author of the version, must approve a briefing
    # before it can be published (four eyes: at least one).
    briefing_approvers: int = Field(default=1, ge=1, le=2)
    # Worker processes rendering PDFs; each is replaced after this many renders
    # (WeasyPrint's memory grows by about 0.4 MB a render).
    render_workers: int = Field(default=1, ge=1, le=8)
    # Each web process renders published briefings in the background. Off when
    # `audit-tools renderer` does it (docker-compose.yml), and for tests that share one
    # database transaction, which the renderer's own sessions would wait on.
    render_in_background: bool = True
    renders_per_worker: int = Field(default=50, ge=1, le=10_000)
    # Render workers pause while any web process on this machine is answering a
    # request (app/serving.py): the shared-memory file they share, "" for the machine's
    # default (/dev/shm/case-audit-serving-<uid>), "off" to render without pausing.
    render_pause_board: str = ""
    # How many renders run at once on the machine, all its web processes' and
    # renderers' workers together (through that board): 0 for one fewer than its CPUs,
    # at least one, so that pages always have a CPU no render is on.
    renders_at_once: int = Field(default=0, ge=0, le=64)

    # --- Keeping the data safe (docs/data-protection.md) ---
    # The audit log's chain is an HMAC keyed with this, which is never in the database.
    # Empty: derived from AUDIT_SECRET_KEY. Keep it (or that) with every backup.
    audit_log_key: str = ""
    # Reads are logged at once but chained in batches (app/auditlog/pending.py): each
    # serving process chains what waits this often, in seconds (0: only when the log
    # is read, for tests that share one transaction).
    audit_log_seal_seconds: float = Field(default=1.0, ge=0, le=60)
    # Where a signed checkpoint of the log (its row count and head hash) is appended
    # after each write: a file the database's role cannot write, or "syslog".
    audit_checkpoint_path: str = str(PROJECT_ROOT / "var" / "audit-checkpoints.log")
    # Keys that encrypt data at rest (authenticator secrets) and backups: Fernet keys,
    # comma separated, the first encrypts and every one decrypts (so a key is rotated
    # by putting a new one first). Empty: one key derived from AUDIT_SECRET_KEY.
    data_keys: str = ""
    # Sign-in attempts evaluated a minute from one client address, whatever the account
    # (password spraying); per account and address, sign_in_max_failures above.
    sign_in_max_per_address_per_minute: int = Field(default=10, ge=1, le=10_000)
    # Retention (``audit-tools retention apply``): years after an audit closes that the
    # free text about children (return evidence and answers, moderation rationales,
    # context tags) is kept; years the audit log is kept; days ended sessions and
    # sign-in records are kept. Grades, figures and published briefings stay.
    retention_case_text_years: int = Field(default=3, ge=1, le=100)
    retention_log_years: int = Field(default=7, ge=1, le=100)
    retention_session_days: int = Field(default=90, ge=1, le=3650)
    # The API's documentation (/docs, /openapi.json): on outside production unless set.
    api_docs: bool | None = None
    # The accessibility statement, privacy notice, help and contact pages (app/about):
    # a Markdown file here (accessibility.md, privacy.md, help.md, contact.md) replaces
    # the text shipped in app/about/content/ of the same name; one missing or unreadable
    # there is shown as shipped.
    content_dir: Path = PROJECT_ROOT / "app" / "about" / "content"

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> Settings:
        if self.environment not in ("dev", "test") and self.secret_key == DEV_SECRET_KEY:
            raise ValueError(
                "AUDIT_SECRET_KEY must be set to a long random value outside development "
                '(python -c "import secrets; print(secrets.token_urlsafe(48))")'
            )
        return self

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
