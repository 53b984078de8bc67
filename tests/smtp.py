"""A real SMTP server on loopback (aiosmtpd) that can refuse its first attempts or require a login."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from deployments.server import free_port


class Inbox:
    """aiosmtpd handler: keeps what it accepts; answers 451 to the first `fail_first` messages."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.refused = 0
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refused < self.fail_first:
            self.refused += 1
            return "451 4.3.0 Temporary failure, try again later"
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


class SmtpServer:
    def __init__(self, inbox: Inbox, port: int | None = None, password: str | None = None) -> None:
        self.inbox = inbox
        self.port = port or free_port()
        kwargs: dict[str, Any] = {}
        if password is not None:
            def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                             data: Any) -> AuthResult:
                ok = isinstance(data, LoginPassword) and data.password.decode() == password
                return AuthResult(success=ok, handled=False)  # False: the server answers 535
            kwargs = dict(authenticator=authenticate, auth_require_tls=False, auth_required=True)
        self.controller = Controller(inbox, hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.controller.stop()


def parts(message: EmailMessage) -> dict[str, str]:
    """The text, HTML and calendar parts of a message by content type."""
    out: dict[str, str] = {}
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("text/plain", "text/html", "text/calendar"):
            out.setdefault(kind, "")
            raw = part.get_payload(decode=True)
            out[kind] += raw.decode() if kind == "text/calendar" else part.get_content()
    return out
