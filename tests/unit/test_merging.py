"""The rule of a network file against what the portal recorded, on plain rows: no database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from models.merging import PARENTS, ROW, entity_key, jsonable, merge_row, orphans

PK = ["network_id", "id"]
STORED = dict(network_id="n", id="E1", company_id="NSM", position=0, name="Anna Berg",
              hired_on=date(2020, 1, 1), left_on=None)


def test_a_field_the_file_leaves_empty_keeps_the_portals_value() -> None:
    row = dict(STORED, hired_on=None)
    merged, clashes = merge_row(row, STORED, {"hired_on"}, PK)
    assert merged["hired_on"] == date(2020, 1, 1) and clashes == []


def test_a_field_the_file_gives_the_same_value_is_fine() -> None:
    assert merge_row(dict(STORED), STORED, {"name", "hired_on"}, PK) == (STORED, [])


def test_a_field_the_file_gives_another_value_is_a_conflict_in_words() -> None:
    row = dict(STORED, hired_on=date(2021, 3, 1))
    merged, clashes = merge_row(row, STORED, {"hired_on"}, PK)
    assert clashes == ["hired_on: the file has '2021-03-01', the portal recorded '2020-01-01'"]
    assert merged["hired_on"] == date(2021, 3, 1)  # the caller refuses the file; nothing is written


def test_a_field_the_portal_did_not_record_follows_the_file() -> None:
    row = dict(STORED, name="Anna Berg-Ek", hired_on=None)
    merged, clashes = merge_row(row, STORED, {"left_on"}, PK)
    assert (merged["name"], merged["hired_on"], clashes) == ("Anna Berg-Ek", None, [])


def test_a_field_the_portal_left_empty_takes_the_files_value() -> None:
    row = dict(STORED, left_on=date(2024, 6, 30))
    merged, clashes = merge_row(row, STORED, {"left_on"}, PK)
    assert (merged["left_on"], clashes) == (date(2024, 6, 30), [])


def test_a_row_recorded_in_the_portal_guards_every_field_but_its_key_and_position() -> None:
    row = dict(STORED, position=7, name="Someone Else", hired_on=None, left_on=date(2024, 6, 30))
    merged, clashes = merge_row(row, STORED, {ROW}, PK)
    assert clashes == ["name: the file has 'Someone Else', the portal recorded 'Anna Berg'"]
    assert (merged["position"], merged["hired_on"], merged["left_on"]) == (7, date(2020, 1, 1),
                                                                           date(2024, 6, 30))


def test_hours_and_dates_are_quoted_as_json_writes_them() -> None:
    old = dict(network_id="n", id="S1", hours=Decimal("7.5"))
    assert merge_row(dict(old, hours=Decimal("8")), old, {"hours"}, PK)[1] == [
        "hours: the file has 8.0, the portal recorded 7.5"]
    assert (jsonable(Decimal("2.5")), jsonable(date(1999, 2, 15)), jsonable("x")) == (2.5, "1999-02-15", "x")


def test_a_key_is_written_without_its_network() -> None:
    assert entity_key(("n", "S1", "E1")) == "S1/E1"
    assert entity_key(("n",)) == "n"


KEYS = {"employees": ["network_id", "id"], "training_attendance": ["network_id", "session_id", "employee_id"]}


def test_a_kept_row_whose_parent_the_file_deletes_is_a_conflict() -> None:
    kept = {"employees": [STORED], "training_attendance": [
        dict(network_id="n", session_id="T1", employee_id="E2")]}
    deleted = {"companies": {("n", "NSM")}, "training_sessions": {("n", "T1")}}
    assert orphans(kept, deleted, KEYS) == [
        "employees E1: recorded in the portal, but the file leaves out its companies NSM",
        "training_attendance T1/E2: recorded in the portal, but the file leaves out its training_sessions T1"]


def test_a_kept_row_whose_parents_stay_is_no_conflict() -> None:
    kept = {"employees": [STORED], "companies": [dict(network_id="n", id="NSM")]}
    assert orphans(kept, {"companies": {("n", "MLT")}, "employees": {("other", "E1")}}, KEYS) == []


def test_the_parents_are_the_stores_cascades_between_the_tables_a_file_writes() -> None:
    """The rule names tables by name; the tables' metadata (no database) must say the same."""
    from adapters.repositories.common import table_of
    from adapters.repositories.networks import SYNCED

    cascades: dict[str, set[tuple[str, tuple[str, ...]]]] = {}
    for orm in SYNCED:
        for fk in table_of(orm).foreign_key_constraints:
            if fk.referred_table.name != "networks":
                assert fk.ondelete == "CASCADE" and fk.columns[0].name == "network_id"
                cascades.setdefault(orm.__tablename__, set()).add(
                    (fk.referred_table.name, tuple(c.name for c in fk.columns)[1:]))
    assert cascades == {table: set(parents) for table, parents in PARENTS.items()}
