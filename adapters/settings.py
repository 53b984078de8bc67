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

    data_dir: Path = Field(
        default=PROJECT_ROOT / "data",
        description="where the SQLite store (and the signing key under `keys/`) lives; the folder is made"
                    " 0700 and the store (with its `-wal` and `-shm` files) 0600, also when an earlier "
                    "version created them 0644, since they hold people's names and email addresses")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the store, e.g. `postgresql+psycopg://user@host/db`; migrated on "
                    "first use")
    sqlite_timeout: float = Field(
        default=15.0,
        description="seconds SQLite waits on a lock before a task fails (and retries)")
    output_dir: Path = Field(
        default=PROJECT_ROOT / "out",
        description="certificates (and reports)")
    max_file_mb: float = Field(
        default=20.0, gt=0,
        description="largest network file `validate` and `import` read; a larger one is refused unread")

    max_evidence_mb: float = Field(
        default=10.0, gt=0,
        description="largest evidence file (PDF, PNG, JPEG) and roster or attendance spreadsheet the "
                    "portal accepts")

    readiness_settle_seconds: float = Field(
        default=30.0, ge=0, le=3600,
        description="after evidence is recorded, how long the triggered `check-readiness` waits for more "
                    "writes before it runs (one run per window and network)")

    smtp_host: str | None = Field(
        default=None,
        description="SMTP server for reminders (sent with yagmail)")
    smtp_port: int = Field(
        default=587,
        description="the SMTP server's port")
    smtp_user: str | None = Field(
        default=None,
        description="credentials; the password is never logged nor stored")
    smtp_password: SecretStr | None = Field(
        default=None,
        description="credentials; the password is never logged nor stored")
    smtp_security: SmtpSecurity = Field(
        default=SmtpSecurity.STARTTLS,
        description="`starttls` (TLS before anything else is said), `ssl` (TLS from the start) or `none`,"
                    " in any case; any other value is an error. The server's certificate is verified "
                    "against the system's certificate authorities (`SSL_CERT_FILE` names another bundle);"
                    " a server that cannot be verified or does not offer STARTTLS gets nothing")
    smtp_allow_plaintext_login: bool = Field(
        default=False,
        description="with `HACKEFORS_SMTP_SECURITY=none`, a login (and its password in clear text) is "
                    "refused unless this is `true`: for a relay on the same machine")
    smtp_timeout: float = Field(
        default=30.0,
        description="seconds to wait for the SMTP server")
    mail_from: str = Field(
        default="hackefors@localhost",
        description="the sender address (shown as \"the operator for the network\")")
    public_url: str = Field(
        default=DEFAULT_PUBLIC_URL,
        description="where the portal is reached from outside: the base of the links in emails and of the "
                    "verification URL on certificates; unset, the address the last `hackefors portal` on "
                    "this data folder serves (`data/portal-address`); `hackefors portal` warns when it "
                    "differs from the address it serves")
    operator_email: str | None = Field(
        default=None,
        description="the operator's address, emailed when a run waits for its sign-off")
    reply_to: str = Field(
        default=REPLY_TO_CENTRAL,
        description="whom a reply to a reminder reaches (`Reply-To`): `central`, the network's central "
                    "coordinator (the operator, `HACKEFORS_OPERATOR_EMAIL`, when the network has none "
                    "with an email, and for the central coordinator's own emails); `operator`, the "
                    "operator; or an email address")
    smtp_retry_delay: float = Field(
        default=1.0, gt=0,
        description="seconds before a message refused for now (4xx) or cut off is tried again; doubles "
                    "per attempt, up to an hour")
    outbox_lease_seconds: float = Field(
        default=300.0, gt=0,
        description="how long a claimed message is reserved for the process sending it; a sender that "
                    "died leaves it to others after this")

    portal_secret_key: SecretStr | None = Field(
        default=None,
        description="signs the portal's session cookies and CSRF tokens; set the same value on every "
                    "machine that serves the portal")
    portal_secure_cookies: bool = Field(
        default=False,
        description="mark the portal's cookies `Secure` (HTTPS only): set it behind TLS")
    portal_session_hours: float = Field(
        default=12.0, gt=0,
        description="how long a portal session lasts after signing in")
    portal_as_of: date | None = Field(
        default=None,
        description="the day the portal takes for today (to-do lists, gate status): for demonstrations on"
                    " the bundled networks, set in 1999")
    portal_max_upload_mb: float = Field(
        default=25.0, gt=0,
        description="largest request (an upload) the portal reads; a larger one gets 413, unread (files "
                    "up to `HACKEFORS_MAX_EVIDENCE_MB` are then kept)")
    portal_sign_in_per_minute: int = Field(
        default=5, gt=0,
        description="sign-in requests one client address may make per minute; more get 429")
    portal_verify_per_minute: int = Field(
        default=30, ge=1,
        description="requests one client address may make per minute of the public pages without sign-in "
                    "(`/verify/NUMBER`, the key set, the status list); more get 429")
    portal_trusted_proxies: str = Field(
        default="",
        description="the reverse proxies whose `X-Forwarded-For` names the client for the rate limits, as "
                    "addresses or networks separated by commas (`127.0.0.1, 10.0.0.0/8`); empty, the "
                    "default: none, and every client is its connection's address")

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
