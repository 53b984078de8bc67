"""The unit of work's contract, run the same against the in-memory fake of the unit tests
(tests/fakes.py) and the real store on SQLite and PostgreSQL: what a service may rely on whichever
it is given. A service unit-tested against the fake behaves the same on the store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from adapters.evidence_files import BlobStore
from models.accounts import Account, Role
from models.catalogue import Stage
from models.certification import CertificateEvent, CertificateRecord, CertificateStatus
from models.errors import ConcurrentChange, NetworkNotFound
from models.events import HistoryEntry
from models.evidence import EvidenceFile
from models.keys import SigningKey
from models.network import Network
from models.results import Check, GateResult
from services.unit_of_work import AbstractUnitOfWork, SqlAlchemyUnitOfWork
from tests.conftest import SMALL_AS_OF, build, example_data
from tests.fakes import FakeUnitOfWork

AT = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
NETWORK = "ostgota-small"


@pytest.fixture(params=["fake", "sqlite", "postgres"])
def uow(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AbstractUnitOfWork]:
    """A unit of work on an empty store: the fake, or the store on SQLite or PostgreSQL."""
    if request.param == "fake":
        yield FakeUnitOfWork()
    else:
        engine = request.getfixturevalue(f"{request.param}_engine")
        yield SqlAlchemyUnitOfWork(engine, blobs=BlobStore(tmp_path / "evidence"))


@pytest.fixture
def network() -> Network:
    return build(example_data("small"))


@pytest.fixture
def stored(uow: AbstractUnitOfWork, network: Network) -> AbstractUnitOfWork:
    """The unit of work with the small network saved and committed."""
    with uow:
        uow.networks.save(network, "test", AT)
        uow.commit()
    return uow


def entry(entity_id: str, at: datetime = AT) -> HistoryEntry:
    return HistoryEntry(at=at, actor="test", network_id=NETWORK, entity="companies", entity_id=entity_id,
                        action="update", detail={"name": ["a", "b"]}, source="cli")


def evidence(sha: str = "a" * 64) -> EvidenceFile:
    return EvidenceFile(network_id=NETWORK, company_id="NSM", sha256=sha, media_type="application/pdf",
                        size=4, filename="policy.pdf", stored_at=AT, actor="test", source="portal")


def certificate(number: str = "HKF-OSTGOTA-SMALL-2025-01", cycle: str = "2025") -> CertificateRecord:
    return CertificateRecord(number=number, network_id=NETWORK, cycle=cycle, issued_on=SMALL_AS_OF,
                             valid_until=date(2028, 3, 2), scope="Manufacturing", companies=("NSM", "MLT"),
                             status=CertificateStatus.VALID, html="<p>certificate</p>", pdf=b"%PDF-1.7",
                             key_id="k1", signature="sig")


def test_leaving_the_unit_of_work_without_a_commit_rolls_back(uow: AbstractUnitOfWork,
                                                               network: Network) -> None:
    with uow:
        uow.networks.save(network, "test", AT)
        uow.history.add([entry("NSM")])
        assert uow.networks.ids() == [NETWORK]  # seen inside the transaction
    with uow:
        assert uow.networks.ids() == []
        assert uow.history.newest(NETWORK, 10) == []
        with pytest.raises(NetworkNotFound):
            uow.networks.load(NETWORK)


def test_an_error_inside_the_unit_of_work_rolls_back_what_it_wrote(stored: AbstractUnitOfWork) -> None:
    with pytest.raises(RuntimeError), stored:
        stored.evidence.add(evidence())
        stored.certificates.add(certificate(), AT)
        raise RuntimeError("the service failed half-way")
    with stored:
        assert stored.evidence.get(NETWORK, "NSM", "a" * 64) is None
        assert stored.certificates.get("HKF-OSTGOTA-SMALL-2025-01") is None


def test_what_is_committed_stays_and_a_later_rollback_keeps_it(stored: AbstractUnitOfWork,
                                                               network: Network) -> None:
    with stored:
        stored.history.add([entry("NSM")])
        stored.commit()
        stored.history.add([entry("MLT")])  # after the commit, then left without one
    with stored:
        assert [e.entity_id for e in stored.history.newest(NETWORK, 10)] == ["NSM"]
        assert stored.networks.ids() == [NETWORK]


def test_what_is_saved_loads_back_equal(stored: AbstractUnitOfWork, network: Network) -> None:
    with stored:
        assert stored.networks.load(NETWORK) == network
        assert stored.networks.load_many([NETWORK, NETWORK]) == [network]
        assert stored.networks.load(NETWORK, parts=()).companies[0].id == network.companies[0].id


def test_saving_the_same_network_again_changes_nothing_and_an_edit_is_one_update(
        stored: AbstractUnitOfWork, network: Network) -> None:
    with stored:
        again = stored.networks.save(network, "test", AT)
        assert not again.changed and again.changes == []
        renamed = network.model_copy(update={"name": "Östgöta Network, renamed"})
        edit = stored.networks.save(renamed, "test", AT)
        assert edit.changed and edit.updated == {"networks": 1}
        assert [(c.entity, c.entity_id, c.action) for c in edit.changes] == [("networks", NETWORK, "update")]
        stored.commit()
    with stored:
        assert stored.networks.load(NETWORK) == renamed


def test_an_unknown_network_is_not_found(uow: AbstractUnitOfWork) -> None:
    with uow, pytest.raises(NetworkNotFound):
        uow.networks.load("nowhere")


def test_history_is_appended_and_read_newest_first(stored: AbstractUnitOfWork) -> None:
    with stored:
        stored.history.add([entry("NSM"), entry("MLT", AT + timedelta(seconds=1))])
        stored.history.add([])
        stored.history.add([entry("ABC", AT + timedelta(seconds=2))])
        stored.commit()
    with stored:
        newest = stored.history.newest(NETWORK, 2)
        assert [e.entity_id for e in newest] == ["ABC", "MLT"]
        assert newest[1].detail == {"name": ["a", "b"]} and newest[1].source == "cli"
        assert [e.entity_id for e in stored.history.newest(NETWORK, 10)] == ["ABC", "MLT", "NSM"]
        assert stored.history.newest("another", 10) == []


def test_evidence_added_twice_is_false_the_second_time(stored: AbstractUnitOfWork) -> None:
    with stored:
        assert stored.evidence.add(evidence()) is True
        assert stored.evidence.add(evidence()) is False
        assert stored.evidence.add(evidence("b" * 64)) is True
        stored.commit()
    with stored:
        assert stored.evidence.get(NETWORK, "NSM", "a" * 64) == evidence()
        assert stored.evidence.get(NETWORK, "MLT", "a" * 64) is None
        assert [f.sha256 for f in stored.evidence.for_company(NETWORK, "NSM")] == ["a" * 64, "b" * 64]


def test_a_certificate_is_issued_once_per_number_and_cycle(stored: AbstractUnitOfWork) -> None:
    with stored:
        stored.certificates.add(certificate(), AT)
        stored.commit()
    for duplicate in (certificate(), certificate(number="HKF-OTHER", cycle="2025")):
        with stored, pytest.raises(ConcurrentChange):
            stored.certificates.add(duplicate, AT)
    with stored:
        assert stored.certificates.get("HKF-OSTGOTA-SMALL-2025-01") == certificate()
        assert stored.certificates.for_cycle(NETWORK, "2025") == certificate()
        assert stored.certificates.count_for_network(NETWORK) == 1 and stored.certificates.key_ids() == {"k1"}
        assert [c.number for c in stored.certificates.for_network(NETWORK)] == ["HKF-OSTGOTA-SMALL-2025-01"]
        assert [c.number for c in stored.networks.load(NETWORK).certificates] == ["HKF-OSTGOTA-SMALL-2025-01"]


def test_a_status_change_is_recorded_and_becomes_the_certificates_status(stored: AbstractUnitOfWork) -> None:
    suspended = CertificateEvent(number="HKF-OSTGOTA-SMALL-2025-01", on=date(2026, 4, 1),
                                 status=CertificateStatus.SUSPENDED, reason="surveillance missed")
    with stored:
        stored.certificates.add(certificate(), AT)
        stored.certificates.add_event(suspended, "test", AT)
        stored.commit()
    with stored:
        assert stored.certificates.events(["HKF-OSTGOTA-SMALL-2025-01"]) == [suspended]
        record = stored.certificates.get("HKF-OSTGOTA-SMALL-2025-01")
        assert record is not None and record.status is CertificateStatus.SUSPENDED
        assert stored.certificates.with_status([CertificateStatus.VALID]) == []
        assert [r.number for r in stored.certificates.with_status([CertificateStatus.SUSPENDED])] == [
            "HKF-OSTGOTA-SMALL-2025-01"]


def test_a_key_is_retired_once_and_known_by_when_it_first_signed(stored: AbstractUnitOfWork) -> None:
    key = SigningKey(key_id="k1", public_key="cHVibGlj", valid_from=AT)
    with stored:
        stored.keys.add(key)
        stored.certificates.add(certificate(), AT + timedelta(hours=1))
        stored.commit()
    with stored:
        assert stored.keys.all() == [key]
        assert stored.keys.first_signed("k1") == AT + timedelta(hours=1)
        assert stored.keys.first_signed("k2") is None
        assert stored.keys.retire("k1", AT + timedelta(days=1)) is True
        assert stored.keys.retire("k1", AT + timedelta(days=2)) is False
        stored.commit()
    with stored:
        assert stored.keys.all()[0].valid_until == AT + timedelta(days=1)


def test_a_retried_gate_result_replaces_the_earlier_attempt_of_its_run(stored: AbstractUnitOfWork) -> None:
    def result(passed: bool) -> GateResult:
        return GateResult(network_id=NETWORK, stage=Stage.FORMATION, as_of=SMALL_AS_OF, checks=(
            Check(requirement="commitment", passed=passed, detail="adopted" if passed else "missing"),))

    with stored:
        stored.gate_results.replace(result(False), "run-1", AT)
        stored.gate_results.replace(result(True), "run-1", AT)
        stored.gate_results.replace_many([result(False)], "run-2", AT)
        stored.commit()
    with stored:
        assert stored.gate_results.for_run(NETWORK, "run-1") == [result(True)]
        assert stored.gate_results.for_run(NETWORK, "run-1", stages=["training"]) == []
        assert stored.gate_results.discard_run(NETWORK, "run-2") == 1
        assert stored.gate_results.for_run(NETWORK, "run-2") == []


def test_the_outbox_queues_a_key_once_and_leases_each_message_to_one_sender(
        stored: AbstractUnitOfWork) -> None:
    log = [dict(recipient_id="NSM", item_key="training:E1", period=date(2025, 3, 1), as_of=SMALL_AS_OF,
                overdue_days=3)]
    with stored:
        first = stored.outbox.add("key-1", NETWORK, "a@example.se", "Reminder", b"body", SMALL_AS_OF, AT, log)
        assert first is not None
        assert stored.outbox.add("key-1", NETWORK, "a@example.se", "Reminder", b"body", SMALL_AS_OF, AT,
                                 log) is None
        stored.commit()
    with stored:
        assert stored.outbox.reminded(NETWORK, SMALL_AS_OF, SMALL_AS_OF) == {("NSM", "training:E1")}
        claimed = stored.outbox.claim_next("sender-1", AT, AT + timedelta(minutes=5))
        assert claimed is not None and (claimed.id, claimed.attempts, claimed.message) == (first, 1, b"body")
        stored.commit()
    with stored:
        later = AT + timedelta(minutes=1)
        assert stored.outbox.claim_next("sender-2", later, later + timedelta(minutes=5)) is None
        stored.outbox.mark_delivered(first, "sender-1", "sent", "smtp", AT + timedelta(minutes=1))
        stored.outbox.forget_delivered(NETWORK)
        stored.commit()
    with stored:
        [sent] = stored.outbox.entries(NETWORK)
        assert (sent.status, sent.attempts, sent.claimed_by) == ("sent", 1, "sender-1")
        assert stored.outbox.handled_by("sender-1") == [("sent", "a@example.se", "smtp", None)]
        assert stored.outbox.entries(NETWORK, statuses=["queued"]) == []


def test_a_sign_in_link_signs_in_once_and_a_session_ends_when_it_expires(uow: AbstractUnitOfWork) -> None:
    account = Account(email="op@example.se", role=Role.OPERATOR)
    with uow:
        uow.accounts.put(account, AT)
        uow.accounts.add_link("hash-1", account.email, AT)
        uow.commit()
    with uow:
        assert uow.accounts.get(account.email) == account and uow.accounts.all() == [account]
        assert uow.accounts.links_since(account.email, AT) == 1
        assert uow.accounts.use_link("hash-1", AT - timedelta(minutes=15), AT) == account.email
        assert uow.accounts.use_link("hash-1", AT - timedelta(minutes=15), AT) is None
        uow.accounts.add_session("session-1", account.email, AT, AT + timedelta(hours=12))
        uow.commit()
    with uow:
        assert uow.accounts.session_account("session-1", AT + timedelta(hours=1)) == account
        assert uow.accounts.session_account("session-1", AT + timedelta(hours=12)) is None
        assert uow.accounts.end_sessions(account.email) == 1
        assert uow.accounts.remove(account.email) is True
        assert uow.accounts.remove(account.email) is False


def test_a_kept_to_do_list_holds_for_its_day_until_a_write_moves_the_mark(stored: AbstractUnitOfWork) -> None:
    todo = {"items": [{"requirement": "training", "company": "NSM"}]}
    with stored:
        mark = stored.readiness.mark(NETWORK)
        stored.readiness.keep(NETWORK, "en", SMALL_AS_OF, mark, {"NSM": todo}, AT)
        stored.commit()
    with stored:
        assert stored.readiness.kept(NETWORK, "NSM", "en", SMALL_AS_OF, mark) == todo
        assert stored.readiness.kept(NETWORK, "NSM", "sv", SMALL_AS_OF, mark) is None
        assert stored.readiness.kept(NETWORK, "NSM", "en", SMALL_AS_OF + timedelta(days=1), mark) is None
        stored.history.add([entry("NSM")])
        assert stored.readiness.mark(NETWORK) != mark
        stored.commit()


def test_a_rate_limit_counts_a_key_within_the_last_minute(uow: AbstractUnitOfWork) -> None:
    with uow:
        allowed = [uow.rate_limits.count_and_add("sign-in", "10.0.0.1", AT + timedelta(seconds=s), 2)
                   for s in (0, 10, 20)]
        assert allowed == [True, True, False]
        assert uow.rate_limits.count_and_add("sign-in", "10.0.0.2", AT, 2) is True
        assert uow.rate_limits.count_and_add("sign-in", "10.0.0.1", AT + timedelta(seconds=61), 2) is True
