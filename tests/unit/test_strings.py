"""Every word of the reminder emails comes from the message catalogue, in English and Swedish: a
Swedish email holds no sentence of the English catalogue, and ids are named in words."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import yaml

from adapters.mail import Envelope, Letterhead, compose_digest, compose_reminder
from adapters.settings import PROJECT_ROOT, TEMPLATES_DIR
from models.network import ExternalAuditKind, Grade
from models.policy import TRAINING_TOPICS
from models.reminders import CalendarEvent, CompanyItems, Kind, ReminderItem, Term, Text
from services import networks, reminders
from tests.conftest import build, example_data
from tests.fakes import FakeUnitOfWork

CATALOGUE = yaml.safe_load((TEMPLATES_DIR / "strings.yaml").read_text(encoding="utf-8"))
FIELD = re.compile(r"\{(\w+)\}")
AS_OF = date(2025, 12, 20)
TERMS = {"topics": TRAINING_TOPICS, "grades": tuple(g.value for g in Grade),
         "audit_kinds": tuple(k.value for k in ExternalAuditKind)}
# A placeholder that names catalogue words is filled with every one of them.
TERM_FIELDS = {"topics": "topics", "grade": "grades", "kind": "audit_kinds"}


def flat(entries: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in entries.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


EN, SV = flat(CATALOGUE["en"]), flat(CATALOGUE["sv"])


def test_both_languages_have_the_same_entries_with_the_same_placeholders() -> None:
    assert EN.keys() == SV.keys()
    for key in EN:
        assert set(FIELD.findall(EN[key])) == set(FIELD.findall(SV[key])), key


def test_every_kind_topic_audit_kind_and_grade_has_a_name_in_words() -> None:
    for lang in ("en", "sv"):
        t = CATALOGUE[lang]
        assert set(t["kinds"]) == {k.value for k in Kind}
        for group, ids in TERMS.items():
            assert set(t[group]) == set(ids), (lang, group)
            assert all("_" not in name for name in t[group].values())


def test_every_sentence_the_rules_write_is_in_the_catalogue_and_every_one_is_used() -> None:
    source = (PROJECT_ROOT / "models" / "reminders.py").read_text(encoding="utf-8")
    said = re.findall(r'(?:text|counted)\(\s*"(\w+)"(?:\s+if\s[^"]*else\s+"(\w+)")?', source)
    written = {key for pair in said for key in pair if key}
    sentences = set(CATALOGUE["en"]["items"])
    assert written - sentences == set()
    assert {k for k in sentences if f'"{k}"' not in source} == set()


def test_the_templates_hold_no_words_of_their_own() -> None:
    for path in sorted(TEMPLATES_DIR.glob("*.j2")):
        if not path.name.startswith(("reminder", "digest")):
            continue
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", path.read_text(encoding="utf-8"), flags=re.S)
        text = re.sub(r"<[^>]*>|&\w+;", " ", text)
        assert re.findall(r"[^\W\d_]{2,}", text) == [], path.name


def _values(key: str, sentence: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in FIELD.findall(sentence):
        if name in TERM_FIELDS:
            values[name] = Term(group=TERM_FIELDS[name], ids=TERMS[TERM_FIELDS[name]])
        elif name != "count":
            values[name] = "«…»"  # a value, not a word of either language
    return values


def every_sentence() -> list[ReminderItem]:
    """Items that say every sentence of the catalogue, in each of its forms, some overdue by a
    day or by many, with an invitation for each kind of event."""
    items = []
    kinds = list(Kind)
    for n, (key, entry) in enumerate(CATALOGUE["en"]["items"].items()):
        sentence = entry if isinstance(entry, str) else entry["other"]
        late = (0, 1, 20)[n % 3]
        for count in ((1, 3) if isinstance(entry, dict) else (None,)):
            said = Text(key=key, values=_values(key, sentence), count=count)
            event = None
            if key.endswith("_event"):
                description = CATALOGUE["en"]["items"][f"{key}_description"]
                day = AS_OF + timedelta(days=5)
                event = CalendarEvent(uid=f"e{n}", start=day, end=day, summary=said, description=Text(
                                          key=f"{key}_description", values=_values(key, description)))
            items.append(ReminderItem(key=f"{key}/{count}", kind=kinds[n % len(kinds)], company="C",
                                      title=said, action=said, lines=(said,),
                                      due=AS_OF - timedelta(days=late), overdue_days=late, event=event))
    return items


def envelope(lang: str) -> Envelope:
    return Envelope(network_id="net", network="Nätverket", operator="Altea AB", recipient_name="Åsa",
                    recipient_email="asa@kmv.example.se", lang=lang, reply_to="central@example.se",
                    letterhead=Letterhead(mail_from="altea@example.se"))


def emails(lang: str) -> list[EmailMessage]:
    """Every template in every branch: the synthetic items, and the real ones of the examples."""
    items = every_sentence()
    late = [("Co", i) for i in items if i.overdue_days > 14]
    out = [compose_reminder(envelope(lang), "C", "KMV AB", items, AS_OF),
           compose_reminder(envelope(lang), "C", "KMV AB", items[:1], AS_OF),
           compose_digest(envelope(lang), [CompanyItems(company_id="C", name="KMV AB", items=tuple(items))],
                          late, 14, AS_OF, [("a@b.se", "550 no such user")]),
           compose_digest(envelope(lang), [CompanyItems(company_id="C", name="KMV", items=tuple(items[:1]))],
                          [], 14, AS_OF)]
    for name, as_of in (("blocked", date(1999, 2, 15)), ("small", AS_OF), ("hackefors", date(1999, 2, 15))):
        data = example_data(name)
        data["language"] = lang
        uow = FakeUnitOfWork()
        networks.import_network(uow, build(data), actor="test")
        reminders.plan_reminders(uow, data["id"], as_of, queue=True,
                                 letterhead=Letterhead(mail_from="altea@example.se"))
        out += [_parse(m["message"]) for m in uow.outbox.messages]
    return out


def _parse(raw: bytes) -> EmailMessage:
    from email import message_from_bytes, policy

    return message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def words(messages: list[EmailMessage]) -> str:
    """What a reader sees: subjects, sender names, text, HTML as text, calendar summaries."""
    seen = []
    for message in messages:
        seen += [str(message["Subject"]), message["From"].addresses[0].display_name]
        for part in message.walk():
            kind = part.get_content_type()
            if kind == "text/html":
                seen.append(html.unescape(re.sub(r"<[^>]*>", " ", part.get_content())))
            elif kind == "text/plain":
                seen.append(part.get_content())
            elif kind == "text/calendar":
                seen.append(part.get_content().replace("\r\n ", "").replace("\\,", ",").replace("\\;", ";"))
    # Links are paths of the portal (/companies/…/training), not words anyone reads as prose.
    return re.sub(r"\s+", " ", re.sub(r"https?://\S+", " ", "\n".join(seen))).lower()


def says(text: str, fragment: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(fragment)}(?!\w)", text) is not None


def english_fragments() -> dict[str, str]:
    """The words of each English entry between its placeholders, unless Swedish says them too
    (a standard's number, the command line, a word both languages share)."""
    out = {}
    for key, sentence in EN.items():
        for fragment in FIELD.split(sentence)[::2]:
            fragment = fragment.strip(" ,.;:()!?")
            if re.search(r"[^\W\d_]{3,}", fragment) and fragment.lower() not in SV[key].lower():
                out[fragment.lower()] = key
    return out


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return {lang: words(emails(lang)) for lang in ("en", "sv")}


def test_every_english_sentence_is_rendered_in_english(rendered: dict[str, str]) -> None:
    """The check below can fail: every fragment it looks for does show in the English emails."""
    missing = {f: key for f, key in english_fragments().items() if not says(rendered["en"], f)}
    assert missing == {}


def test_a_swedish_email_holds_no_english_from_the_catalogue(rendered: dict[str, str]) -> None:
    left = {f: key for f, key in english_fragments().items() if says(rendered["sv"], f)}
    assert left == {}
    for ids in TERMS.values():
        assert not [i for i in ids if "_" in i and says(rendered["sv"], i)]  # no id shows as prose
