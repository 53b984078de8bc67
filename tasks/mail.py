"""Reminder emails: composed from templates (pure), then sent with yagmail or written as .eml."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable
from datetime import date, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from models.network import header_hazard, is_valid_email
from models.reminders import CalendarEvent, ReminderItem
from tasks.rendering import render
from tasks.settings import TEMPLATES_DIR, Settings, SmtpSecurity


class HeaderInjection(ValueError):
    """A name, address or subject that would smuggle extra headers into a message."""


def header_safe(value: str, what: str) -> str:
    """`value`, refused when it holds a line break, another control character, a Unicode line or
    paragraph separator or an encoded word (the network file's validation refuses them too)."""
    found = header_hazard(value)
    if found:
        raise HeaderInjection(f"the {what} {value!r} contains {found}")
    return value


def to_address(name: str, email: str) -> Address:
    """The `To:` address: the email package quotes or encodes the name, so commas, angle brackets,
    colons and non-ASCII letters stay part of it; runs of whitespace become one space."""
    header_safe(name, "recipient name")
    header_safe(email, "recipient address")
    if not is_valid_email(email):
        raise ValueError(f"the recipient address {email!r} is not a valid email address")
    # Runs of whitespace (a no-break space, say) as one space: the email package can split a
    # non-ASCII space from its word when it folds the header, and the reader would lose it.
    return Address(display_name=" ".join(name.split()), addr_spec=email)


@lru_cache(maxsize=4)
def strings(lang: str) -> dict[str, str]:
    catalogue = yaml.safe_load((TEMPLATES_DIR / "strings.yaml").read_text(encoding="utf-8"))
    return dict(catalogue.get(lang) or catalogue["en"])


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def calendar_invitation(event: CalendarEvent, organizer: str, stamp: date) -> str:
    """An iCalendar (RFC 5545) all-day event."""
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//hackefors//reminders//EN", "METHOD:PUBLISH",
        "BEGIN:VEVENT", f"UID:{event.uid}@hackefors", f"DTSTAMP:{stamp:%Y%m%d}T000000Z",
        f"DTSTART;VALUE=DATE:{event.start:%Y%m%d}",
        f"DTEND;VALUE=DATE:{event.end + timedelta(days=1):%Y%m%d}",
        f"SUMMARY:{_ics_text(event.summary)}", f"DESCRIPTION:{_ics_text(event.description)}",
        f"ORGANIZER:mailto:{organizer}", "END:VEVENT", "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as SMTP carries it: CRLF line ends (smtplib sends bytes unchanged), and headers
    folded only past SMTP's 998-character limit, because the email package's folding of a long
    non-ASCII name can drop a space that RFC 2047 readers never see again."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n", max_line_length=998))


def compose(template: str, sender: str, recipient_name: str, recipient_email: str, subject: str,
            lang: str, context: dict[str, Any], events: Iterable[CalendarEvent], as_of: date) -> EmailMessage:
    """A multipart message (plain text and HTML, autoescaped) with an .ics per dated event.

    Raises ValueError (HeaderInjection for a control character) naming the field that cannot go
    into a header."""
    to = to_address(recipient_name, recipient_email)
    header_safe(subject, "subject")
    t = strings(lang)
    values = dict(context, t=t, lang=lang, recipient=recipient_name, subject=subject)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message["Message-ID"] = make_msgid(domain="hackefors.local")
    message["Date"] = f"{as_of:%a, %d %b %Y} 07:00:00 +0000"
    # Quoted-printable keeps every line under SMTP's 998-character limit, whatever the content.
    message.set_content(render(f"{template}.txt.j2", **values), cte="quoted-printable")
    message.add_alternative(render(f"{template}.html.j2", **values), subtype="html",
                            cte="quoted-printable")
    for event in events:
        message.add_attachment(calendar_invitation(event, sender, as_of).encode("utf-8"), maintype="text",
                               subtype="calendar", filename=f"{event.uid}.ics")
    return message


def compose_reminder(network: str, operator: str, company: str, recipient_name: str,
                     recipient_email: str, items: list[ReminderItem], lang: str, sender: str,
                     as_of: date) -> EmailMessage:
    events = [i.event for i in items if i.event]
    subject = strings(lang)["subject"].format(count=len(items))
    return compose("reminder", sender, recipient_name, recipient_email, subject, lang,
                   dict(network=network, operator=operator, company=company, items=items,
                        has_events=bool(events)), events, as_of)


def compose_digest(network: str, operator: str, recipient_name: str, recipient_email: str,
                   by_company: list[tuple[str, list[ReminderItem]]],
                   escalated: list[tuple[str, ReminderItem]], escalation_days: int, lang: str,
                   sender: str, as_of: date,
                   undeliverable: list[tuple[str, str]] | None = None) -> EmailMessage:
    """The central coordinator's digest; `undeliverable` are (recipient, the server's answer) of the
    network's reminders the mail server refused for good."""
    count = sum(len(items) for _, items in by_company)
    subject = strings(lang)["digest_subject"].format(network=network, count=count,
                                                     companies=len(by_company))
    return compose("digest", sender, recipient_name, recipient_email, header_safe(subject, "subject"),
                   lang, dict(network=network, operator=operator, by_company=by_company,
                              escalated=escalated, escalation_days=escalation_days,
                              undeliverable=undeliverable or []), (), as_of)


def compose_sign_in(recipient_email: str, link: str, minutes: int, sender: str,
                    as_of: date) -> EmailMessage:
    """The email that carries a one-time sign-in link to the portal."""
    return compose("sign_in", sender, "", recipient_email, "Your sign-in link to the hackefors portal",
                   "en", dict(link=link, minutes=minutes), (), as_of)


class Undeliverable(Exception):
    """The server refused one message for good (a 5xx answer): it is not tried again."""


class TryLater(Exception):
    """One message was not accepted this time (a 4xx answer, a connection cut off): it is tried
    again after a back-off."""


class ServerUnavailable(ConnectionError):
    """No connection to the SMTP server: nothing can be sent until it answers again."""


class LoginRefused(Exception):
    """The SMTP server refused the login: retrying with the same settings cannot help."""


class SenderRefused(Exception):
    """The SMTP server refuses our sender address for good: no message can be sent with it."""


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)


def smtp_answer(error: BaseException) -> tuple[int, str] | None:
    """The SMTP server's answer (code and text) carried by an smtplib error, if any."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = list(error.recipients.values())
        if not answers:
            return None
        code, text = max(answers)
        return int(code), _text(text)
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code, _text(error.smtp_error)
    return None


def classify(error: BaseException) -> Undeliverable | TryLater:
    """What a failure to send one message means for it: a 5xx answer refuses it for good;
    anything else (a 4xx answer, a dropped connection, a timeout) may pass later."""
    answer = smtp_answer(error)
    if answer is not None:
        code, text = answer
        reason = f"{code} {text}".strip()
        return Undeliverable(reason) if 500 <= code < 600 else TryLater(reason)
    return TryLater(f"{type(error).__name__}: {error}".rstrip(": "))


class Mailer:
    """Sends through yagmail when SMTP is configured; otherwise writes .eml files to `outbox`."""

    def __init__(self, settings: Settings, outbox: Path) -> None:
        self.settings = settings
        self.outbox = outbox
        self._client: Any = None

    @property
    def smtp(self) -> bool:
        return bool(self.settings.smtp_host)

    @property
    def server(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"

    def _connect(self) -> Any:
        import yagmail

        s = self.settings
        if s.smtp_user and s.smtp_security is SmtpSecurity.NONE and not s.smtp_allow_plaintext_login:
            raise LoginRefused("refused to log in without TLS (HACKEFORS_SMTP_SECURITY=none); see "
                               "HACKEFORS_SMTP_ALLOW_PLAINTEXT_LOGIN")
        password = s.smtp_password.get_secret_value() if s.smtp_password else None
        # smtplib checks no certificate unless given a context: the password would go to anyone.
        context = ssl.create_default_context()
        starttls: bool | dict[str, Any] = {"context": context}
        tls: dict[str, Any] = {}
        if s.smtp_security is SmtpSecurity.SSL:
            starttls, tls = False, {"context": context}
        elif s.smtp_security is SmtpSecurity.NONE:
            starttls = False
        client = yagmail.SMTP(
            user=s.smtp_user or s.mail_from, password=password, host=s.smtp_host, port=s.smtp_port,
            smtp_ssl=s.smtp_security is SmtpSecurity.SSL, smtp_starttls=starttls,
            smtp_skip_login=not s.smtp_user, soft_email_validation=False, timeout=s.smtp_timeout, **tls)
        try:
            client.login()
        except smtplib.SMTPAuthenticationError as exc:
            client.close()
            raise LoginRefused(f"the SMTP server {self.server} refused the login of {s.smtp_user!r}: "
                               f"{self.scrub_text(self._answer(exc))}") from None
        except (OSError, smtplib.SMTPException) as exc:
            client.close()
            raise ServerUnavailable(f"cannot connect to the SMTP server {self.server}: "
                                    f"{self.scrub(exc)}") from None
        return client

    @staticmethod
    def _answer(error: BaseException) -> str:
        answer = smtp_answer(error)
        return f"{answer[0]} {answer[1]}" if answer else f"{type(error).__name__}: {error}"

    def deliver(self, message_id: int, raw: bytes, recipient: str) -> str:
        """Send one message (or write it) and say where it went.

        Raises Undeliverable or TryLater about this message alone; ServerUnavailable, LoginRefused
        or SenderRefused when nothing can be sent now; OSError when the file cannot be written.
        """
        if not self.smtp:
            self.outbox.mkdir(parents=True, exist_ok=True)
            path = self.outbox / f"{message_id:06d}.eml"
            path.write_bytes(raw)
            return str(path)
        if self._client is None:
            self._client = self._connect()
        try:
            # yagmail's own send() swallows failures; its SMTP connection lets them surface.
            self._client.smtp.sendmail(self.settings.mail_from, [recipient], raw)
        except smtplib.SMTPSenderRefused as exc:
            if 500 <= exc.smtp_code < 600:
                raise SenderRefused(f"the SMTP server {self.server} refuses the sender "
                                    f"{self.settings.mail_from!r}: {self._answer(exc)}") from None
            raise TryLater(self.scrub_text(self._answer(exc))) from None
        except smtplib.SMTPResponseException as exc:  # the server answered
            if exc.smtp_code == 421:  # ...and closes the connection
                self.close()
            raise classify(exc) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise classify(exc) from None
        except (OSError, smtplib.SMTPException) as exc:  # cut off or timed out: start afresh
            self.close()
            fault = classify(exc)
            raise type(fault)(self.scrub_text(str(fault))) from None
        except Exception as exc:  # what only this message has (an address smtplib cannot encode)
            raise Undeliverable(self.scrub(exc)) from None
        return "sent"

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except (OSError, smtplib.SMTPException):
                pass  # a connection already lost has nothing left to close
            finally:
                self._client = None

    def scrub_text(self, text: str) -> str:
        """`text` with the SMTP password masked, cut to what the outbox keeps."""
        secret = self.settings.smtp_password
        if secret and secret.get_secret_value():
            text = text.replace(secret.get_secret_value(), "***")
        return text[:500]

    def scrub(self, error: BaseException) -> str:
        """An error's text with the SMTP password masked, for logs and the outbox."""
        return self.scrub_text(f"{type(error).__name__}: {error}")
