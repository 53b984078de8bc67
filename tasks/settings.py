"""Settings from the environment, read lazily so that flows import without secrets.

The lowest layer that does I/O reads them; nothing here imports the command line."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The checkout: templates, migrations and the default data and output folders live under it.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PROJECT_ROOT / "templates"
EXAMPLES_DIR = PROJECT_ROOT / "examples"
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


class Settings(BaseSettings):
    """Everything configurable through `HACKEFORS_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="HACKEFORS_", extra="ignore")

    data_dir: Path = Field(default=PROJECT_ROOT / "data", description="Where the SQLite store lives.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the store; SQLite under data_dir when unset."
    )
    sqlite_timeout: float = Field(
        default=15.0, description="Seconds SQLite waits for a lock before it reports a busy database."
    )
    output_dir: Path = Field(default=PROJECT_ROOT / "out", description="Certificates and reports.")
    retry_delay_seconds: float = Field(
        default=2.0, description="First back-off delay of tasks that do I/O; doubles per retry."
    )
    retries: int = Field(default=3, description="How often a task that does I/O is retried.")
    max_file_mb: float = Field(
        default=20.0, gt=0, description="Largest network file read, in MB; larger ones are refused unread."
    )

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: str = Field(default="starttls", description="starttls, ssl or none.")
    smtp_timeout: float = Field(default=30.0, description="Seconds to wait for the SMTP server.")
    mail_from: str = "hackefors@localhost"
    operator_email: str | None = Field(
        default=None, description="The operator's address: emailed when a certification run waits for its "
                                  "sign-off (through the automation `hackefors serve` creates).")

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'hackefors.sqlite3'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
