"""Reminder emails: composed from templates (pure), then sent with yagmail or written as .eml."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable
from datetime import date, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from adapters.private_files import private_folder, write_private
from adapters.rendering import render
from adapters.settings import (
    DEFAULT_PUBLIC_URL,
    REPLY_TO_CENTRAL,
    REPLY_TO_OPERATOR,
    TEMPLATES_DIR,
    Settings,
    SmtpSecurity,
)
from models.links import PAGE_FOR_KIND, absolute, company_path, network_path
from models.network import header_hazard, is_valid_email
from models.reminders import CalendarEvent, CompanyItems, ReminderItem, Term, Text


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


class Letterhead(BaseModel):
    """Who reminders come from, whom a reply goes to, and where the portal they link to is."""

    model_config = ConfigDict(frozen=True)

    mail_from: str
    reply_to: str = REPLY_TO_CENTRAL  # the central coordinator, the operator, or this address
    operator_email: str | None = None
    public_url: str = DEFAULT_PUBLIC_URL

    @classmethod
    def from_settings(cls, settings: Settings) -> Letterhead:
        return cls(mail_from=settings.mail_from, reply_to=settings.reply_to,
                   operator_email=settings.operator_email, public_url=settings.public_url)

    def reply_address(self, central_email: str | None, recipient_email: str) -> str | None:
        """The Reply-To address: the central coordinator (the operator when the network has none
        with an email, or when the email goes to the central coordinator), the operator, or the
        address set; None when that is nobody or the recipient."""
        chosen = self.reply_to
        if chosen == REPLY_TO_CENTRAL:
            answers = central_email and central_email != recipient_email
            chosen = central_email if central_email and answers else REPLY_TO_OPERATOR
        if chosen == REPLY_TO_OPERATOR:
            chosen = self.operator_email or ""
        return chosen if chosen and chosen != recipient_email else None


@lru_cache(maxsize=4)
def strings(lang: str) -> dict[str, Any]:
    """The message catalogue of a language (English for one it does not have)."""
    catalogue = yaml.safe_load((TEMPLATES_DIR / "strings.yaml").read_text(encoding="utf-8"))
    return dict(catalogue.get(lang) or catalogue["en"])


def _form(entry: str | dict[str, str], count: int | None) -> str:
    """A catalogue entry's singular or plural form."""
    if isinstance(entry, dict):
        return entry["one" if count == 1 else "other"]
    return entry


def phrase(t: dict[str, Any], key: str, count: int | None = None, **values: object) -> str:
    """A top-level entry of the catalogue `t` with its values."""
    return _form(t[key], count).format(count=count, **values)


def _word(t: dict[str, Any], value: object) -> str:
    if isinstance(value, Term):
        return ", ".join(t[value.group].get(i, i) for i in value.ids)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def say(t: dict[str, Any], said: Text) -> str:
    """A reminder's sentence in the language of the catalogue `t`, starting with a capital."""
    values = {k: _word(t, v) for k, v in said.values.items()}
    line = _form(t["items"][said.key], said.count).format(count=said.count, **values)
    return line[:1].upper() + line[1:]


def item_link(letterhead: Letterhead, network_id: str, company_id: str | None, item: ReminderItem) -> str:
    """Where in the portal the item is dealt with: the company's page for its kind."""
    path = company_path(network_id, company_id, PAGE_FOR_KIND[item.kind]) if company_id \
        else network_path(network_id)
    return absolute(letterhead.public_url, path)


def most_urgent_first(items: Iterable[ReminderItem]) -> list[ReminderItem]:
    """The most overdue first, then by due date; undated items last."""
    return sorted(items, key=lambda i: (-i.overdue_days, i.due or date.max))


def overdue_words(t: dict[str, Any], days: int) -> str:
    return phrase(t, "overdue_one" if days == 1 else "overdue", days=days)


def present(t: dict[str, Any], item: ReminderItem, link: str) -> dict[str, Any]:
    """An item as the templates show it: every word from the catalogue, dates written out."""
    overdue = overdue_words(t, item.overdue_days) if item.overdue else None
    return dict(kind=t["kinds"][item.kind.value], title=say(t, item.title), action=say(t, item.action),
                lines=[say(t, line) for line in item.lines], due=item.due.isoformat() if item.due else None,
                overdue=overdue, link=link)


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _ics_fold(line: str) -> str:
    """An iCalendar content line folded at 75 octets (RFC 5545 3.1), never inside a character."""
    out: list[str] = []
    current = ""
    for char in line:
        if len((current + char).encode("utf-8")) > (75 if not out else 74):
            out.append(current)
            current = ""
        current += char
    out.append(current)
    return "\r\n ".join(out)


def calendar_invitation(t: dict[str, Any], network_id: str, event: CalendarEvent, organizer: str,
                        stamp: date) -> str:
    """An iCalendar (RFC 5545) all-day event. Its UID names the event, not its date, and its
    SEQUENCE grows with the day it is sent, so a later invitation replaces an earlier one."""
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//hackefors//reminders//EN", "METHOD:PUBLISH",
        "BEGIN:VEVENT", f"UID:{network_id}-{event.uid}@hackefors", f"SEQUENCE:{stamp.toordinal()}",
        f"DTSTAMP:{stamp:%Y%m%d}T000000Z", f"DTSTART;VALUE=DATE:{event.start:%Y%m%d}",
        f"DTEND;VALUE=DATE:{event.end + timedelta(days=1):%Y%m%d}",
        f"SUMMARY:{_ics_text(say(t, event.summary))}", f"DESCRIPTION:{_ics_text(say(t, event.description))}",
        f"ORGANIZER:mailto:{organizer}", "TRANSP:TRANSPARENT", "END:VEVENT", "END:VCALENDAR",
    ]
    return "\r\n".join(_ics_fold(line) for line in lines) + "\r\n"


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as SMTP carries it: CRLF line ends (smtplib sends bytes unchanged), and headers
    folded only past SMTP's 998-character limit, because the email package's folding of a long
    non-ASCII name can drop a space that RFC 2047 readers never see again."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n", max_line_length=998))


class Envelope(BaseModel):
    """The network a message is about and the people it goes between."""

    network_id: str
    network: str  # its name
    operator: str
    recipient_name: str
    recipient_email: str
    lang: str
    letterhead: Letterhead
    reply_to: str | None = None


def compose(template: str, envelope: Envelope, subject: str, context: dict[str, Any],
            events: Iterable[CalendarEvent], as_of: date) -> EmailMessage:
    """A multipart message (plain text, and HTML autoescaped) with an .ics per dated event.

    Raises ValueError (HeaderInjection for a control character) naming the field that cannot go
    into a header."""
    to = to_address(envelope.recipient_name, envelope.recipient_email)
    t = strings(envelope.lang)
    sender = phrase(t, "sender", operator=envelope.operator, network=envelope.network)
    values = dict(context, t=t, lang=envelope.lang, recipient=envelope.recipient_name, subject=subject,
                  network=envelope.network, operator=envelope.operator)
    message = _multipart(template, sender, envelope.letterhead.mail_from, to, subject, values, as_of,
                         envelope.reply_to)
    for event in events:
        message.add_attachment(
            calendar_invitation(t, envelope.network_id, event, envelope.letterhead.mail_from, as_of),
            subtype="calendar", charset="utf-8", cte="quoted-printable", params={"method": "PUBLISH"},
            filename=f"{event.uid}.ics")
    return message


def _multipart(template: str, sender_name: str, sender: str, to: Address, subject: str,
               values: dict[str, Any], as_of: date, reply_to: str | None = None) -> EmailMessage:
    """The headers and the two renderings (plain text, HTML autoescaped) of `template`."""
    message = EmailMessage()
    message["Subject"] = header_safe(subject, "subject")
    message["From"] = Address(display_name=" ".join(header_safe(sender_name, "sender name").split()),
                              addr_spec=sender)
    message["To"] = to
    if reply_to:
        message["Reply-To"] = Address(addr_spec=header_safe(reply_to, "reply-to address"))
    message["Message-ID"] = make_msgid(domain="hackefors.local")
    message["Date"] = f"{as_of:%a, %d %b %Y} 07:00:00 +0000"
    # Quoted-printable keeps every line under SMTP's 998-character limit, whatever the content.
    message.set_content(render(f"{template}.txt.j2", **values), cte="quoted-printable")
    message.add_alternative(render(f"{template}.html.j2", **values), subtype="html",
                            cte="quoted-printable")
    return message


def compose_reminder(envelope: Envelope, company_id: str | None, company: str, items: list[ReminderItem],
                     as_of: date) -> EmailMessage:
    """A coordinator's reminder: each item with what to do, by when and a link to do it."""
    t = strings(envelope.lang)
    events = [i.event for i in items if i.event]
    subject = phrase(t, "subject", count=len(items), company=company)
    ordered = most_urgent_first(items)
    link = partial(item_link, envelope.letterhead, envelope.network_id, company_id)
    shown = [present(t, i, link(i)) for i in ordered]
    return compose("reminder", envelope, subject, dict(company=company, items=shown, has_events=bool(events),
                                                       can_reply=envelope.reply_to is not None),
                   events, as_of)


def compose_digest(envelope: Envelope, by_company: list[CompanyItems],
                   escalated: list[tuple[str, ReminderItem]], escalation_days: int, as_of: date,
                   undeliverable: list[tuple[str, str]] | None = None) -> EmailMessage:
    """The central coordinator's digest: counts per company first, then each company's items;
    `undeliverable` are (recipient, the server's answer) of the network's reminders the mail
    server refused for good."""
    t = strings(envelope.lang)
    late = {i.key for _, i in escalated}
    count = sum(len(part.items) for part in by_company)
    subject = header_safe(phrase(t, "digest_subject", count=count, network=envelope.network,
                                 companies=len(by_company)), "subject")
    width = max((len(p.name) for p in by_company), default=0)
    companies: list[dict[str, Any]] = [dict(name=part.name, width=width, count=len(part.items),
                      overdue=sum(i.overdue for i in part.items),
                      escalated=sum(i.key in late for i in part.items),
                      entries=[dict(present(t, i, item_link(envelope.letterhead, envelope.network_id,
                                                            part.company_id, i)), escalated=i.key in late)
                               for i in most_urgent_first(part.items)])
                 for part in by_company]
    # The companies that need the central coordinator most come first.
    companies.sort(key=lambda c: (-c["escalated"], -c["overdue"], -c["count"]))
    totals = dict(count=count, overdue=sum(c["overdue"] for c in companies), escalated=len(escalated))
    return compose("digest", envelope, subject, dict(
        companies=companies, totals=totals, escalation_days=escalation_days, can_reply=False,
        escalated=[(name, present(t, i, "")) for name, i in escalated], undeliverable=undeliverable or []),
        (), as_of)


def compose_sign_in(recipient_email: str, link: str, minutes: int, sender: str,
                    as_of: date) -> EmailMessage:
    """The email that carries a one-time sign-in link to the portal."""
    subject = "Your sign-in link to the hackefors portal"
    return _multipart("sign_in", "hackefors", sender, to_address("", recipient_email), subject,
                      dict(link=link, minutes=minutes, lang="en", subject=subject), as_of)


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

    def deliver(self, message_id: int, raw: bytes, recipient: str, network_id: str) -> str:
        """Send one message (or write it, in the outbox folder of its network) and say where it went.

        Raises Undeliverable or TryLater about this message alone; ServerUnavailable, LoginRefused
        or SenderRefused when nothing can be sent now; OSError when the file cannot be written.
        """
        if not self.smtp:
            # A sign-in email holds a live link: owner-only, like every message written here.
            private_folder(self.outbox, tighten=True)
            path = write_private(self.outbox / network_id / f"{message_id:06d}.eml", raw, tighten=True)
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
