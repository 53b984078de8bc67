"""A real SMTP server on loopback (aiosmtpd) that can require a login and inject faults: refuse for now
(451), refuse one recipient for good (550), answer slowly, cut the connection before or after keeping a
message."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from deployments.server import free_port


class Inbox:
    """aiosmtpd handler: keeps what it accepts, and injects faults on request.

    `fail_first` messages are answered 451; `reject` maps recipients to the answer their RCPT gets
    (a 550, say); `delay` seconds pass before each DATA answer; the first `drop_first` messages are
    cut off before the server takes them (the connection closes instead of the answer); the first
    `store_then_drop` are kept and then cut off, the client never hearing they arrived;
    `after_storing(n)` is called once the n-th message is kept, before it is answered.
    """

    def __init__(self, fail_first: int = 0, reject: dict[str, str] | None = None, delay: float = 0.0,
                 drop_first: int = 0, store_then_drop: int = 0,
                 after_storing: Callable[[int], None] | None = None) -> None:
        self.fail_first = fail_first
        self.reject = reject or {}
        self.delay = delay
        self.drop_first = drop_first
        self.store_then_drop = store_then_drop
        self.after_storing = after_storing
        self.refused = 0
        self.dropped = 0
        self.rejected: list[str] = []
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.reject:
            self.rejected.append(address)
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.dropped < self.drop_first:
            self.dropped += 1
            server.transport.close()
            return "421 never heard: the connection is closed"
        if self.refused < self.fail_first:
            self.refused += 1
            return "451 4.3.0 Temporary failure, try again later"
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self.after_storing is not None:
            self.after_storing(len(self.messages))
        if self.store_then_drop:
            self.store_then_drop -= 1
            server.transport.close()
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    def copies(self) -> Counter[str]:
        """How many times each message (by its Message-ID) arrived."""
        return Counter(str(m["Message-ID"]) for m in self.messages)


class SmtpServer:
    """The test server on loopback; with `password`, a login is required; with `certificate` (see
    `self_signed_certificate`), it offers STARTTLS and takes a login only after it."""

    def __init__(self, inbox: Inbox, port: int | None = None, password: str | None = None,
                 certificate: tuple[Path, Path] | None = None) -> None:
        self.inbox = inbox
        self.port = port or free_port()
        self.logins: list[str] = []  # the passwords offered, right or wrong
        kwargs: dict[str, Any] = {}
        if password is not None:
            def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                             data: Any) -> AuthResult:
                if isinstance(data, LoginPassword):
                    self.logins.append(data.password.decode())
                ok = isinstance(data, LoginPassword) and data.password.decode() == password
                return AuthResult(success=ok, handled=False)  # False: the server answers 535
            kwargs = dict(authenticator=authenticate, auth_require_tls=certificate is not None,
                          auth_required=True)
        if certificate is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*certificate)
            kwargs.update(tls_context=context, require_starttls=True)
        self.controller = Controller(inbox, hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.controller.stop()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files; a client trusts it when
    SSL_CERT_FILE names the certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


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
