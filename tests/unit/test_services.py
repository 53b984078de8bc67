"""The use cases against an in-memory unit of work: what they store, refuse and announce."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from adapters.mail import Letterhead, Mailer, ServerUnavailable, TryLater, Undeliverable, classify
from adapters.settings import get_settings, reset_settings
from models.catalogue import Stage
from models.certification import CertificateStatus
from models.errors import NetworkIdTaken, NetworkNotChosen, NetworkNotFound, RefusedChange
from models.gates import CERTIFICATION_GATES
from models.network import Network
from models.portfolio import Group, portfolio_cells
from models.results import Check, GateResult
from services import certificates, gates, networks, outbox, portfolio, reminders
from tests.conftest import HACKEFORS_AS_OF, SMALL_AS_OF, build, example_data
from tests.fakes import FakeUnitOfWork

NUMBER = "HKF-OSTGOTA-SMALL-2025-01"
REVIEW_SEASON = date(2025, 12, 20)  # the small network's management reviews fall due within 30 days


@pytest.fixture(autouse=True)
def folders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The signing key and any file a service writes stay in the test's folder."""
    monkeypatch.setenv("HACKEFORS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HACKEFORS_OUTPUT_DIR", str(tmp_path / "out"))
    monkeypatch.delenv("HACKEFORS_SMTP_HOST", raising=False)
    reset_settings()
    yield tmp_path
    reset_settings()


def small(**overrides: object) -> Network:
    data = example_data("small")
    data.update(overrides)
    return build(data)


def stored(network: Network | None = None) -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    networks.import_network(uow, network or small(), actor="test")
    uow.published.clear()
    uow.commits = 0
    return uow


def certified(folder: Path) -> FakeUnitOfWork:
    uow = stored()
    certificates.issue_certificate(uow, "ostgota-small", SMALL_AS_OF, "run-1", folder)
    uow.published.clear()
    return uow


# --- networks -----------------------------------------------------------------------------------

def test_importing_the_same_network_twice_changes_nothing_the_second_time() -> None:
    uow = FakeUnitOfWork()
    first = networks.import_network(uow, small(), actor="test")
    second = networks.import_network(uow, small(), actor="test")
    assert first.changed and not second.changed
    assert [e.action for e in uow.history.entries] == ["insert"]


def test_a_request_without_a_network_means_the_only_one_or_is_refused() -> None:
    uow = stored()
    assert networks.resolve_network(uow, None) == "ostgota-small"
    with pytest.raises(NetworkNotFound, match="known networks: ostgota-small"):
        networks.resolve_network(uow, "nowhere")
    with pytest.raises(NetworkNotChosen, match="no network yet"):
        networks.resolve_network(FakeUnitOfWork(), None)


def test_status_shows_no_certificate_in_force_while_it_is_suspended(folders: Path) -> None:
    uow = certified(folders)
    assert networks.network_status(uow, "ostgota-small", SMALL_AS_OF).certificate is not None
    certificates.change_status(uow, NUMBER, CertificateStatus.SUSPENDED, date(2025, 6, 1), "missed", "test")
    assert networks.network_status(uow, "ostgota-small", date(2025, 6, 1)).certificate is None
    # Before the suspension it was in force; before its issue it was not.
    assert networks.network_status(uow, "ostgota-small", date(2025, 5, 31)).certificate is not None
    assert networks.network_status(uow, "ostgota-small", date(2025, 3, 2)).certificate is None


def test_a_network_id_that_differs_only_in_case_from_a_stored_one_is_refused() -> None:
    uow = stored()
    with pytest.raises(NetworkIdTaken, match="'OSTGOTA-SMALL' differs only in case from network"):
        networks.import_network(uow, small(id="OSTGOTA-SMALL"), actor="test")
    assert uow.networks.ids() == ["ostgota-small"] and uow.commits == 0


# --- gates --------------------------------------------------------------------------------------

def test_recording_a_gate_stores_it_once_per_run_and_announces_it_after_the_commit() -> None:
    uow = stored()
    result = gates.evaluate(uow, "ostgota-small", Stage.TRAINING, SMALL_AS_OF)
    assert result.passed
    gates.record(uow, result, "run-1")
    gates.record(uow, result, "run-1")  # a retried task replaces its first attempt
    assert gates.results_of_run(uow, "ostgota-small", "run-1") == [result]
    assert [e.name for e in uow.published] == ["gate.passed", "gate.passed"]
    assert uow.published[0].labels == {"hackefors.stage": "training"}
    assert uow.commits == 2
    assert [e.entity_id for e in uow.history.entries[-2:]] == ["run-1/training", "run-1/training"]


def test_a_blocked_gate_is_announced_as_failed_with_its_unmet_requirements() -> None:
    data = example_data("small")
    data["companies"][0]["coordinator"] = None
    uow = stored(build(data))
    result = gates.evaluate(uow, "ostgota-small", Stage.FORMATION, SMALL_AS_OF)
    gates.record(uow, result, "run-1")
    event = uow.published[0]
    assert event.name == "gate.failed"
    assert any("coordinator" in line for line in event.payload["unmet"])


def test_the_decision_needs_every_gate_of_the_run_and_a_named_sign_off() -> None:
    uow = stored()
    for stage in (Stage.FORMATION, Stage.TRAINING):
        gates.record(uow, gates.evaluate(uow, "ostgota-small", stage, SMALL_AS_OF), "run-1")
    decision = gates.decide(uow, "ostgota-small", SMALL_AS_OF, "run-1", approved=True, decided_by="Karin")
    assert not decision.passed
    assert "planning gate did not run" in decision.message()
    unsigned = gates.decide(uow, "ostgota-small", SMALL_AS_OF, "run-1", approved=None)
    assert "no sign-off given" in unsigned.message()


# --- portfolio ----------------------------------------------------------------------------------

def three_networks() -> FakeUnitOfWork:
    uow = stored()
    for name in ("hackefors", "blocked"):
        networks.import_network(uow, build(example_data(name)), actor="test")
    uow.commits = 0
    uow.published.clear()  # the imports' evidence.recorded events
    return uow


def test_checking_a_batch_stores_every_gate_of_every_network_in_one_transaction() -> None:
    uow = three_networks()
    ids = portfolio.portfolio_networks(uow)
    rows = portfolio.check_networks(uow, ids, HACKEFORS_AS_OF, "run-1")
    rows = portfolio.check_networks(uow, ids, HACKEFORS_AS_OF, "run-1")  # a retry replaces the first
    assert [r.network_id for r in rows] == ids == ["hackefors", "hackefors-blocked", "ostgota-small"]
    assert uow.commits == 2
    for network_id in ids:
        stored_gates = gates.results_of_run(uow, network_id, "run-1")
        assert [g.stage for g in stored_gates] == list(CERTIFICATION_GATES)
    blocked = gates.results_of_run(uow, "hackefors-blocked", "run-1")
    assert rows[1].blocking == tuple(g.stage for g in blocked if not g.passed)
    assert len([e for e in uow.history.entries if e.actor == "flow-run:run-1"]) == 2 * 3 * 6
    assert uow.published == []  # one portfolio event, not one per gate


def test_a_finished_check_is_announced_once_with_who_must_act() -> None:
    uow = three_networks()
    checked = portfolio.view_portfolio(uow, HACKEFORS_AS_OF)
    portfolio.announce_check(uow, checked, "run-1", shard=None)
    (event,) = uow.published
    assert (event.name, event.network_id) == ("portfolio.checked", None)
    assert event.payload["networks"] == 3 and event.payload["act_now_networks"] == ["hackefors-blocked"]
    assert (event.payload["act_now"], event.payload["on_track"], event.payload["certified"]) == (1, 2, 0)


def test_viewing_the_portfolio_records_nothing_and_lists_what_needs_action_first(folders: Path) -> None:
    uow = three_networks()
    certificates.issue_certificate(uow, "ostgota-small", SMALL_AS_OF, "run-1", folders)
    history = len(uow.history.entries)
    checked = portfolio.view_portfolio(uow, SMALL_AS_OF, batch_size=2)
    assert [r.network_id for r in checked.rows][0] == "hackefors-blocked"
    small_row = checked.rows[-1]
    assert (small_row.network_id, small_row.group) == ("ostgota-small", Group.CERTIFIED)
    assert small_row.certificate is not None and small_row.certificate.number == NUMBER
    assert uow.gate_results.stored == [] and len(uow.history.entries) == history


def test_a_shard_names_only_networks_in_the_store() -> None:
    uow = three_networks()
    assert portfolio.portfolio_networks(uow, ["ostgota-small", "hackefors"]) == ["ostgota-small", "hackefors"]
    with pytest.raises(NetworkNotFound, match="nowhere"):
        portfolio.portfolio_networks(uow, ["hackefors", "nowhere"])
    assert list(portfolio.batches(["a", "b", "c"], 2)) == [["a", "b"], ["c"]]


# --- certificates -------------------------------------------------------------------------------

def test_a_certificate_is_issued_once_per_cycle(folders: Path) -> None:
    uow = stored()
    first = certificates.issue_certificate(uow, "ostgota-small", SMALL_AS_OF, "run-1", folders)
    again = certificates.issue_certificate(uow, "ostgota-small", SMALL_AS_OF, "run-2", folders)
    assert (first.number, first.newly_issued) == (NUMBER, True)
    assert (again.number, again.newly_issued) == (NUMBER, False)
    assert list(uow.certificates.stored) == [NUMBER]
    assert [e.name for e in uow.published] == ["certificate.issued"]
    assert first.json_path.exists() and first.pdf_path.read_bytes().startswith(b"%PDF")


def test_certificate_numbers_never_collide_even_for_ids_that_differ_only_in_case(folders: Path) -> None:
    uow = stored()
    # Stored before such ids were refused: both networks' numbers start HKF-OSTGOTA-SMALL-2025.
    uow.networks.stored["OSTGOTA-SMALL"] = small(id="OSTGOTA-SMALL")
    first = certificates.issue_certificate(uow, "ostgota-small", SMALL_AS_OF, "run-1", folders)
    second = certificates.issue_certificate(uow, "OSTGOTA-SMALL", SMALL_AS_OF, "run-2", folders)
    assert (first.number, second.number) == (NUMBER, "HKF-OSTGOTA-SMALL-2025-02")
    assert second.newly_issued and uow.certificates.stored[second.number].network_id == "OSTGOTA-SMALL"


def test_a_run_that_stopped_without_an_unmet_requirement_is_an_internal_error() -> None:
    def result(stage: Stage, passed: bool, requirement: str = "policy") -> GateResult:
        return GateResult(network_id="n", stage=stage, as_of=SMALL_AS_OF,
                          checks=(Check(requirement=requirement, passed=passed, detail="x"),))

    every = [result(s, True) for s in (*CERTIFICATION_GATES, Stage.DECISION)]
    assert gates.unmet_in_run(every) is None  # all met, yet nothing issued: the issue step failed
    assert gates.unmet_in_run(every[:3]) is None  # a gate never ran: its flow crashed
    blocked = [result(Stage.TRAINING, False, "training-hours"), *every[2:]]
    assert [c.requirement for c in gates.unmet_in_run([every[0], *blocked]) or []] == ["training-hours"]
    refused = [*every[:-1], result(Stage.DECISION, False, "sign-off")]
    assert [c.requirement for c in gates.unmet_in_run(refused) or []] == ["sign-off"]


@pytest.mark.parametrize(("steps", "refused"), [
    ([CertificateStatus.SUSPENDED, CertificateStatus.VALID, CertificateStatus.WITHDRAWN], None),
    ([CertificateStatus.SUSPENDED, CertificateStatus.SUSPENDED], "is suspended; it cannot become suspended"),
    ([CertificateStatus.VALID], "is valid; it cannot become valid"),
    ([CertificateStatus.WITHDRAWN, CertificateStatus.VALID], "is withdrawn; it cannot become valid"),
])
def test_status_changes_follow_the_rules(folders: Path, steps: list[CertificateStatus],
                                         refused: str | None) -> None:
    uow = certified(folders)
    day = date(2025, 6, 1)
    *allowed, last = steps
    for step in allowed:
        certificates.change_status(uow, NUMBER, step, day, "test", "test")
    before = (len(uow.certificates.history), len(uow.published), uow.certificates.stored[NUMBER].status)
    if refused is None:
        certificates.change_status(uow, NUMBER, last, day, "test", "test")
        assert uow.certificates.stored[NUMBER].status == last
        assert uow.published[-1].name == {CertificateStatus.WITHDRAWN: "certificate.withdrawn"}[last]
        return
    with pytest.raises(RefusedChange, match=refused):
        certificates.change_status(uow, NUMBER, last, day, "test", "test")
    assert (len(uow.certificates.history), len(uow.published),
            uow.certificates.stored[NUMBER].status) == before


def test_reducing_the_scope_reissues_without_the_company_and_supersedes_the_old(folders: Path) -> None:
    uow = certified(folders)
    new = certificates.reduce_scope(uow, NUMBER, ["VTR"], date(2025, 9, 1), "left the network", "test",
                                    folders)
    record = uow.certificates.stored[new.number]
    assert record.companies == ("NSM", "SKT") and record.cycle == "EXT-S2.r1" and record.replaces == NUMBER
    assert record.valid_until == uow.certificates.stored[NUMBER].valid_until
    assert uow.certificates.stored[NUMBER].status == CertificateStatus.SUPERSEDED
    assert [e.name for e in uow.published] == ["certificate.issued", "certificate.superseded"]
    with pytest.raises(RefusedChange, match="only a valid or suspended one"):
        certificates.reduce_scope(uow, NUMBER, ["SKT"], date(2025, 9, 2), "again", "test", folders)


@pytest.mark.parametrize(("remove", "refused"), [
    (["XYZ"], "not on certificate .*: XYZ"),
    (["NSM", "SKT", "VTR"], "at least one company"),
])
def test_a_reduction_that_makes_no_sense_is_refused_and_writes_nothing(
        folders: Path, remove: list[str], refused: str) -> None:
    uow = certified(folders)
    with pytest.raises(RefusedChange, match=refused):
        certificates.reduce_scope(uow, NUMBER, remove, date(2025, 9, 1), "test", "test", folders)
    assert list(uow.certificates.stored) == [NUMBER] and not uow.published


def test_expiry_notices_follow_each_networks_own_policy(folders: Path) -> None:
    # Regression: the check used the default 90 days whatever the network's policy said.
    seven_weeks_before = date(2028, 3, 2) - timedelta(days=47)
    uow = certified(folders)
    assert [n.number for n in certificates.review_certificates(uow, seven_weeks_before)] == [NUMBER]
    uow.networks.stored["ostgota-small"] = uow.networks.stored["ostgota-small"].model_copy(
        update={"policy_overrides": {"certificate_expiry_reminder_days": 30}})
    assert certificates.review_certificates(uow, seven_weeks_before) == []
    assert [n.days_left for n in certificates.review_certificates(uow, date(2028, 2, 20))] == [11]


def test_a_certificate_past_its_validity_is_expired_once(folders: Path) -> None:
    uow = certified(folders)
    notices = certificates.review_certificates(uow, date(2028, 3, 3))
    assert [(n.status, n.days_left) for n in notices] == [("expired", -1)]
    assert certificates.review_certificates(uow, date(2028, 3, 4)) == []
    assert [e.name for e in uow.published] == ["certificate.expired"]


# --- reminders ----------------------------------------------------------------------------------

LETTERHEAD = Letterhead(mail_from="hackefors@example.org")


def eml_mailer(folder: Path) -> Mailer:
    return Mailer(get_settings(), folder / "outbox")


def test_reminders_are_queued_once_per_day_and_not_again_within_the_cadence(folders: Path) -> None:
    uow = stored()
    first = reminders.plan_reminders(uow, "ostgota-small", REVIEW_SEASON, queue=True, letterhead=LETTERHEAD)
    assert first.messages and len(uow.outbox.messages) == len(first.messages)
    again = reminders.plan_reminders(uow, "ostgota-small", REVIEW_SEASON, queue=True, letterhead=LETTERHEAD)
    assert len(uow.outbox.messages) == len(first.messages)  # the same day's run queues nothing new
    next_day = reminders.plan_reminders(uow, "ostgota-small", REVIEW_SEASON + timedelta(days=1), queue=True,
                                        letterhead=LETTERHEAD)
    assert again.messages == next_day.messages == []
    to_coordinators = [e for e in uow.outbox.log if not e["recipient_id"].startswith("central:")]
    assert to_coordinators and again.skipped_recently_sent == next_day.skipped_recently_sent == len(
        to_coordinators)
    assert len(uow.outbox.messages) == len(first.messages)
    delivered = reminders.deliver_queued(uow, eml_mailer(folders))
    assert len(delivered.written) == len(first.messages)
    assert {m["status"] for m in uow.outbox.messages} == {"written"}
    assert reminders.deliver_queued(uow, eml_mailer(folders)).written == []


def test_a_run_that_read_the_log_before_another_run_queued_reports_its_messages_as_already_queued() -> None:
    uow = stored()
    first = reminders.plan_reminders(uow, "ostgota-small", REVIEW_SEASON, queue=True, letterhead=LETTERHEAD)
    uow.outbox.log.clear()  # what the second run read: the first had not committed yet
    second = reminders.plan_reminders(uow, "ostgota-small", REVIEW_SEASON, queue=True, letterhead=LETTERHEAD)
    assert second.messages == [] and second.already_queued == len(first.messages) > 0
    assert len(uow.outbox.messages) == len(first.messages)


def test_a_dry_run_composes_the_reminders_and_queues_nothing() -> None:
    uow = stored()
    result = reminders.plan_reminders(uow, "ostgota-small", REVIEW_SEASON, queue=False, letterhead=LETTERHEAD)
    assert result.messages and uow.outbox.messages == [] and uow.commits == 0


def test_a_company_without_a_coordinator_email_reaches_the_central_coordinator_only() -> None:
    data = example_data("small")
    data["companies"][1]["coordinator"]["email"] = None
    uow = stored(build(data))
    result = reminders.plan_reminders(uow, "ostgota-small", REVIEW_SEASON, queue=True, letterhead=LETTERHEAD)
    skt = data["companies"][1]["id"]
    assert result.without_coordinator == [skt]
    digest = [m for m in result.messages if any(k.endswith(f"/{skt}") for k in m.items)]
    assert len(digest) == 1  # only the central coordinator's digest carries that company's items


class ScriptedMailer(Mailer):
    """Answers each recipient as scripted (an exception to raise, once or always); accepts the rest."""

    def __init__(self, answers: dict[str, list[BaseException]],
                 always: dict[str, BaseException] | None = None) -> None:
        super().__init__(get_settings().model_copy(update={"smtp_host": "scripted"}), Path("unused"))
        self.answers, self.always = answers, always or {}
        self.accepted: list[str] = []

    def deliver(self, message_id: int, raw: bytes, recipient: str, network_id: str) -> str:
        if recipient in self.always:
            raise self.always[recipient]
        pending = self.answers.get(recipient)
        if pending:
            raise pending.pop(0)
        self.accepted.append(recipient)
        return "sent"


def queued_small() -> tuple[FakeUnitOfWork, list[str]]:
    """The small network's reminders queued; their recipients, the two coordinators first who get one
    message each (the central coordinator gets two: her reminder and the digest)."""
    uow = stored()
    reminders.plan_reminders(uow, "ostgota-small", REVIEW_SEASON, queue=True, letterhead=LETTERHEAD)
    recipients = [m["recipient"] for m in uow.outbox.messages]
    return uow, sorted(recipients, key=lambda r: recipients.count(r))


FAST = dict(first_retry=timedelta(milliseconds=10))


def test_a_permanent_refusal_marks_that_message_undeliverable_and_every_other_is_sent() -> None:
    uow, recipients = queued_small()
    refused = recipients[0]
    assert recipients.count(refused) == 1
    mailer = ScriptedMailer({}, always={refused: Undeliverable("550 5.1.1 no such mailbox")})
    result = reminders.deliver_queued(uow, mailer, **FAST)
    assert sorted(mailer.accepted) == sorted(recipients[1:])
    assert result.sent == len(recipients) - 1 and result.deferred == 0
    assert result.undeliverable == [f"{refused}: 550 5.1.1 no such mailbox"]
    [stuck] = [m for m in uow.outbox.messages if m["recipient"] == refused]
    assert stuck["status"] == "undeliverable" and stuck["attempts"] == 1
    assert reminders.deliver_queued(uow, mailer, **FAST).sent == 0  # never tried again by itself


def test_a_temporary_refusal_is_retried_after_a_back_off_within_the_run() -> None:
    uow, recipients = queued_small()
    mailer = ScriptedMailer({recipients[0]: [TryLater("451 try again later"), TryLater("451 try again")]})
    result = reminders.deliver_queued(uow, mailer, **FAST)
    assert result.sent == len(recipients) and result.deferred == 0
    assert sorted(mailer.accepted) == sorted(recipients)
    assert [m["attempts"] for m in uow.outbox.messages if m["recipient"] == recipients[0]] == [3]


def test_a_refusal_that_lasts_leaves_the_message_queued_for_a_later_run_with_a_growing_back_off() -> None:
    uow, recipients = queued_small()
    mailer = ScriptedMailer({}, always={recipients[0]: TryLater("451 greylisted")})
    result = reminders.deliver_queued(uow, mailer, **FAST)
    assert result.sent == len(recipients) - 1 and result.deferred == 1
    [waiting] = [m for m in uow.outbox.messages if m["recipient"] == recipients[0]]
    # 10, 20, 40 and 80 ms waited within the run; the next wait (160 ms) is left to a later run
    assert (waiting["status"], waiting["attempts"], waiting["last_error"]) == ("queued", 5, "451 greylisted")
    assert waiting["next_attempt_at"] is not None


def test_the_central_coordinators_digest_names_what_the_server_refused_for_good() -> None:
    uow, recipients = queued_small()
    refused = recipients[0]
    refusing = ScriptedMailer({}, always={refused: Undeliverable("550 5.1.1 no such mailbox")})
    reminders.deliver_queued(uow, refusing, **FAST)
    a_week_later = reminders.plan_reminders(uow, "ostgota-small", REVIEW_SEASON + timedelta(days=7),
                                            queue=True, letterhead=LETTERHEAD)
    [digest] = [m for m in uow.outbox.messages[len(recipients):] if b"digest" in m["message"]]
    text = message_from_bytes(digest["message"], policy=policy.default)
    body = "".join(part.get_content() for part in text.walk() if part.get_content_type() == "text/plain")
    assert a_week_later.messages
    assert "Not delivered: the mail server refused these reminders for good" in body
    assert f"- {refused}: 550 5.1.1 no such mailbox" in body


def test_the_back_off_doubles_up_to_an_hour() -> None:
    first = timedelta(seconds=1)
    assert [reminders.retry_delay(n, first).total_seconds() for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert reminders.retry_delay(40, first) == timedelta(hours=1)


def test_an_unreachable_server_stops_the_run_and_the_message_in_hand_stays_queued() -> None:
    uow, recipients = queued_small()
    second = uow.outbox.messages[1]
    mailer = ScriptedMailer({second["recipient"]: [ServerUnavailable("cannot connect")]})
    with pytest.raises(ServerUnavailable):
        reminders.deliver_queued(uow, mailer, owner="run-1", **FAST)
    assert [m["status"] for m in uow.outbox.messages[:2]] == ["sent", "queued"]
    assert second["next_attempt_at"] is None  # not the message's fault: no back-off
    # The retried run (same sender) counts what its first attempt sent too.
    assert reminders.deliver_queued(uow, mailer, owner="run-1", **FAST).sent == len(recipients)


def test_a_message_whose_sender_died_is_taken_over_once_its_lease_expires() -> None:
    uow, recipients = queued_small()
    now = datetime.now(UTC)
    taken = uow.outbox.claim_next("dead", now, now + timedelta(minutes=5))
    assert taken is not None
    live = reminders.deliver_queued(uow, ScriptedMailer({}), owner="alive", **FAST)
    assert live.sent == len(recipients) - 1  # the claimed message is left to its sender
    uow.outbox.messages[taken.id - 1]["claimed_until"] = now - timedelta(seconds=1)
    assert reminders.deliver_queued(uow, ScriptedMailer({}), owner="alive", **FAST).sent == len(recipients)


def test_smtp_answers_are_classified_5xx_for_good_4xx_and_faults_for_now() -> None:
    assert isinstance(classify(smtplib.SMTPRecipientsRefused({"a@x.se": (550, b"5.1.1 unknown")})),
                      Undeliverable)
    assert str(classify(smtplib.SMTPDataError(554, b"5.7.1 spam"))) == "554 5.7.1 spam"
    assert isinstance(classify(smtplib.SMTPDataError(451, b"4.3.0 later")), TryLater)
    assert isinstance(classify(smtplib.SMTPRecipientsRefused({"a@x.se": (450, b"busy")})), TryLater)
    assert isinstance(classify(smtplib.SMTPServerDisconnected("Connection unexpectedly closed")), TryLater)
    assert isinstance(classify(TimeoutError("timed out")), TryLater)


def test_the_outbox_lists_retries_and_drops_what_is_stuck() -> None:
    uow, recipients = queued_small()
    mailer = ScriptedMailer({}, always={recipients[0]: Undeliverable("550 no such mailbox"),
                                        recipients[1]: TryLater("451 later")})
    reminders.deliver_queued(uow, mailer, **FAST)
    stuck = outbox.list_outbox(uow)
    assert sorted((e.recipient, e.status) for e in stuck) == sorted([(recipients[0], "undeliverable"),
                                                                     (recipients[1], "queued")])
    assert len(outbox.list_outbox(uow, everything=True)) == len(recipients)
    refused, waiting = (next(e.id for e in stuck if e.recipient == r) for r in recipients[:2])
    assert sorted(e.id for e in outbox.retry_messages(uow, [], actor="test")) == sorted([refused, waiting])
    assert {m["status"] for m in uow.outbox.messages if m["id"] in (refused, waiting)} == {"queued"}
    assert uow.outbox.messages[waiting - 1]["next_attempt_at"] is None
    dropped = outbox.drop_messages(uow, [refused], reason="left the company", actor="test")
    assert [e.recipient for e in dropped] == [recipients[0]]
    assert reminders.deliver_queued(uow, ScriptedMailer({}), **FAST).sent == 1  # the waiting one only
    with pytest.raises(RefusedChange, match="already sent"):
        outbox.drop_messages(uow, [waiting], reason="x", actor="test")
    with pytest.raises(outbox.UnknownMessages, match="no message 99"):
        outbox.retry_messages(uow, [99], actor="test")
    assert [e.action for e in uow.history.entries[-3:]] == ["retry", "retry", "drop"]
    assert uow.history.entries[-1].detail == {"recipient": recipients[0], "was": "queued",
                                              "reason": "left the company"}


def test_the_operator_is_emailed_once_per_run_that_waits_for_its_sign_off(folders: Path) -> None:
    uow = stored()
    mailer = eml_mailer(folders)
    for _ in range(2):  # the automation may fire twice for one event: one email
        sent_to = reminders.notify_operator_of_sign_off(
            uow, mailer, "ostgota-small", SMALL_AS_OF, "run-7",
            Letterhead(mail_from="hackefors@example.org", operator_email="operator@altea.example"))
        assert sent_to == "operator@altea.example"
    assert [m["recipient"] for m in uow.outbox.messages] == ["operator@altea.example"]
    assert b"run-7" in uow.outbox.messages[0]["message"]
    assert reminders.notify_operator_of_sign_off(uow, mailer, "ostgota-small", SMALL_AS_OF, "run-8",
                                                 LETTERHEAD) is None


def test_voiding_a_run_deletes_its_gate_results_only_and_says_why() -> None:
    uow = FakeUnitOfWork()
    small = Network.model_validate(example_data("small"))
    uow.networks.stored[small.id] = small
    for run in ("run-a", "run-b"):
        gates.record(uow, gates.evaluate(uow, small.id, Stage.FORMATION, SMALL_AS_OF), run)
    assert gates.discard_run(uow, small.id, "run-a", "the store went away") == 1
    assert gates.results_of_run(uow, small.id, "run-a") == []
    assert len(gates.results_of_run(uow, small.id, "run-b")) == 1
    assert uow.history.entries[-1].action == "delete" and uow.history.entries[-1].detail == {
        "results": 1, "reason": "the store went away"}


def test_a_network_with_an_undeliverable_reminder_needs_action_in_the_portfolio() -> None:
    uow, recipients = queued_small()
    refused = recipients[0]
    reminders.deliver_queued(uow, ScriptedMailer({}, always={refused: Undeliverable("550 no such mailbox")}),
                             **FAST)
    [row] = portfolio.view_portfolio(uow, REVIEW_SEASON).rows
    assert row.undeliverable == 1 and row.group is Group.ACT_NOW
    assert "1 reminder(s) undeliverable: hackefors outbox list --network ostgota-small" in row.reasons
    assert portfolio_cells(row, REVIEW_SEASON)["undeliverable"] == "1"


def test_a_write_the_store_is_too_busy_for_runs_again_then_is_refused_whole() -> None:
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from services.unit_of_work import StoreBusy, retry_when_busy

    locked = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    tries: list[int] = []

    def flaky() -> str:
        tries.append(1)
        if len(tries) < 3:
            raise locked
        return "written"

    assert retry_when_busy(flaky, pauses=(0, 0, 0)) == "written" and len(tries) == 3
    tries.clear()

    def always() -> str:
        tries.append(1)
        raise locked

    with pytest.raises(StoreBusy):
        retry_when_busy(always, pauses=(0, 0))
    assert len(tries) == 3
    broken = OperationalError("INSERT", {}, sqlite3.OperationalError("no such table: x"))
    with pytest.raises(OperationalError):  # not a busy store: never run again
        retry_when_busy(lambda: (_ for _ in ()).throw(broken), pauses=(0,))
