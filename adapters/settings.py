"""Settings from the environment, read lazily so that flows import without secrets.

The lowest layer that does I/O reads them; nothing here imports the command line."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The checkout: templates, migrations and the default data and output folders live under it.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PROJECT_ROOT / "templates"
EXAMPLES_DIR = PROJECT_ROOT / "examples"
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"
# HACKEFORS_REPLY_TO: whom a coordinator's reply reaches.
REPLY_TO_CENTRAL = "central"  # the network's central coordinator (the operator when it has none)
REPLY_TO_OPERATOR = "operator"  # HACKEFORS_OPERATOR_EMAIL


class SmtpSecurity(StrEnum):
    """How the connection to the SMTP server is protected."""

    STARTTLS = "starttls"  # plain connection, then STARTTLS before anything else (port 587)
    SSL = "ssl"  # TLS from the start (port 465)
    NONE = "none"  # no TLS: only for a relay on the same machine or a test server


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

    max_evidence_mb: float = Field(
        default=10.0, gt=0,
        description="Largest evidence file (PDF, PNG, JPEG) and spreadsheet accepted, in MB.")

    readiness_settle_seconds: float = Field(
        default=30.0, ge=0, le=3600,
        description="After evidence is recorded, how long `check-readiness` waits for more before it runs "
                    "(one run per window and network).")

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: SmtpSecurity = Field(
        default=SmtpSecurity.STARTTLS, description="starttls, ssl or none, in any case.")
    smtp_allow_plaintext_login: bool = Field(
        default=False, description="Let smtp_user log in although smtp_security is none, so that the "
        "password crosses the network in clear text.")
    smtp_timeout: float = Field(default=30.0, description="Seconds to wait for the SMTP server.")
    mail_from: str = "hackefors@localhost"
    public_url: str = Field(
        default=DEFAULT_PUBLIC_URL, description="Where the portal is reached from outside: the base "
        "of the links in emails and of the verification URL printed on certificates. Unset: the address "
        "the last `hackefors portal` on this data folder serves (data_dir/portal-address), else "
        f"{DEFAULT_PUBLIC_URL}.")
    operator_email: str | None = Field(
        default=None, description="The operator's address: emailed when a certification run waits for its "
                                  "sign-off (through the automation `hackefors serve` creates).")
    reply_to: str = Field(
        default=REPLY_TO_CENTRAL, description="Whom a reply to a reminder reaches: `central` (the network's "
        "central coordinator, or the operator when it has none with an email), `operator` "
        "(HACKEFORS_OPERATOR_EMAIL) or an email address.")
    smtp_retry_delay: float = Field(
        default=1.0, gt=0, description="Seconds before a message the server refused for now (4xx) or "
        "cut off is tried again; doubles with each attempt, up to an hour.")
    outbox_lease_seconds: float = Field(
        default=300.0, gt=0, description="How long a claimed message is reserved for the process "
        "sending it; a sender that died leaves it to others after this.")

    portal_secret_key: SecretStr | None = Field(
        default=None, description="Signs the portal's cookies and CSRF tokens; when unset, a random key is "
        "made once and kept in data_dir/portal-secret-key (0600).")
    portal_secure_cookies: bool = Field(
        default=False, description="Mark the portal's cookies Secure (sent over HTTPS only): set it behind "
        "TLS.")
    portal_session_hours: float = Field(
        default=12.0, gt=0, description="How long a portal session lasts after signing in.")
    portal_as_of: date | None = Field(
        default=None, description="The day the portal takes for today (its to-do lists and gate status); "
        "unset: today. For demonstrations on the bundled networks, which are set in 1999.")
    portal_max_upload_mb: float = Field(
        default=25.0, gt=0, description="Largest request the portal reads (an upload), in MB; larger "
        "ones are refused unread.")
    portal_sign_in_per_minute: int = Field(
        default=5, gt=0, description="Sign-in requests one client address may make per minute; more get "
        "429 Too Many Requests.")
    portal_verify_per_minute: int = Field(
        default=30, ge=1, description="Requests one client address may make per minute of the public "
        "verification page, the key set and the status list; more get 429.")
    portal_trusted_proxies: str = Field(
        default="", description="The reverse proxies whose X-Forwarded-For the portal believes (for its "
        "rate limits), as addresses or networks separated by commas (`127.0.0.1, 10.0.0.0/8`); empty, "
        "the default: none, and every client is its connection's address.")

    @field_validator("smtp_security", mode="before")
    @classmethod
    def _security_in_any_case(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().lower()
            if value not in {s.value for s in SmtpSecurity}:
                raise ValueError(f"{value!r} is not one of {', '.join(s.value for s in SmtpSecurity)}")
        return value

    @field_validator("portal_trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str) -> str:
        for part in (p.strip() for p in value.split(",")):
            if part:
                try:
                    ip_network(part, strict=False)
                except ValueError:
                    raise ValueError(f"{part!r} is not an IP address or network") from None
        return value

    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """HACKEFORS_PORTAL_TRUSTED_PROXIES as networks (none by default)."""
        return tuple(ip_network(p.strip(), strict=False) for p in self.portal_trusted_proxies.split(",")
                     if p.strip())

    @field_validator("reply_to")
    @classmethod
    def _reply_to_known(cls, value: str) -> str:
        from models.network import is_valid_email

        value = value.strip()
        if value.lower() in (REPLY_TO_CENTRAL, REPLY_TO_OPERATOR):
            return value.lower()
        if not is_valid_email(value):
            raise ValueError(f"{value!r} is not central, operator or an email address")
        return value

    @model_validator(mode="after")
    def _no_password_in_clear_text(self) -> Settings:
        if self.smtp_host and self.smtp_user and self.smtp_security is SmtpSecurity.NONE \
                and not self.smtp_allow_plaintext_login:
            raise ValueError("HACKEFORS_SMTP_USER would log in over a connection without TLS "
                             "(HACKEFORS_SMTP_SECURITY=none), sending the password in clear text: choose "
                             "starttls or ssl, or set HACKEFORS_SMTP_ALLOW_PLAINTEXT_LOGIN=true")
        return self

    @model_validator(mode="after")
    def _public_url_of_the_portal_served(self) -> Settings:
        if "public_url" not in self.model_fields_set:
            served = served_portal_address(self.data_dir)
            if served is not None:
                self.public_url = served
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'hackefors.sqlite3'}"


# Where `hackefors portal` notes the address it serves, so that the links made by other commands
# (`invite`, a certification run's certificate) lead to it when HACKEFORS_PUBLIC_URL is unset.
PORTAL_ADDRESS = "portal-address"


def served_portal_address(data_dir: Path) -> str | None:
    """The address the last portal started on this data folder without HACKEFORS_PUBLIC_URL serves."""
    try:
        text = (Path(data_dir) / PORTAL_ADDRESS).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    usable = text.startswith(("http://", "https://")) and text.isprintable() and len(text) < 300
    return text if usable else None


def record_portal_address(data_dir: Path, address: str) -> None:
    from adapters.private_files import write_private

    write_private(Path(data_dir) / PORTAL_ADDRESS, (address + "\n").encode("ascii"))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


class SettingsError(ValueError):
    """A setting that is missing its sense: the message names the variable and what is wrong."""


def check_settings() -> Settings:
    """The settings, or SettingsError naming every variable that is wrong (no traceback needed)."""
    try:
        return get_settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = "_".join(str(part) for part in error["loc"])
            where = f"HACKEFORS_{field.upper()}: " if field else ""
            problems.append(where + error["msg"].removeprefix("Value error, "))
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
