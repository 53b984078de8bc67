"""How a network file merges with what the portal recorded: the rule, on plain rows.

A row is a dict of column values; a table is named by its name; a row's key is its primary key's
values, the network first. What the portal recorded is known per row as a set of field names
(`ROW`: the row itself was recorded outside a network file). The repository reads and writes the
rows; the rule decides what a file may change and what is a conflict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

ROW = "*"  # in recorded_fields: the row itself was recorded outside a network file

# Each table's parents: (parent table, the child's columns that hold the parent's key but for the
# network). A kept row whose parent a file deletes is a conflict, not a silent cascade. These are
# the store's cascading foreign keys but for the network's (tests/unit/test_merging.py holds that).
PARENTS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "employees": (("companies", ("company_id",)),),
    "training_attendance": (("training_sessions", ("session_id",)), ("employees", ("employee_id",))),
    "aspects": (("companies", ("company_id",)),),
    "legal_requirements": (("companies", ("company_id",)),),
    "objectives": (("companies", ("company_id",)),),
    "indicators": (("companies", ("company_id",)),),
    "internal_audits": (("companies", ("company_id",)),),
    "corrective_actions": (("findings", ("finding_id",)),),
    "management_reviews": (("companies", ("company_id",)),),
}


def jsonable(value: Any) -> Any:
    """A stored value as JSON writes it (the history, a conflict's message)."""
    if isinstance(value, Decimal):  # hours: JSON has no decimals (a deleted session's history failed)
        return float(value)
    return value.isoformat() if isinstance(value, date) else value


def entity_key(key: tuple) -> str:
    """A row's key as the history and recorded_fields write it: the primary key but for the network."""
    return "/".join(str(k) for k in key[1:] or key)


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


def merge_row(row: dict[str, Any], old: dict[str, Any], fields: set[str],
              pk: list[str]) -> tuple[dict[str, Any], list[str]]:
    """A file's row merged with the stored one of which `fields` were recorded in the portal (ROW:
    all of them): a field the file leaves empty keeps the portal's value, one the file gives the
    same is fine, and one the file gives another value is a conflict. Positions follow the file."""
    merged, clashes = dict(row), []
    names = [k for k in row if k not in pk and k != "position"] if ROW in fields else sorted(fields)
    for name in names:
        if name not in row or row[name] == old[name]:
            continue
        if _empty(row[name]):
            merged[name] = old[name]
        elif not _empty(old[name]):
            clashes.append(f"{name}: the file has {jsonable(row[name])!r}, the portal recorded "
                           f"{jsonable(old[name])!r}")
    return merged, clashes


def orphans(kept: Mapping[str, list[dict[str, Any]]], deleted: Mapping[str, set[tuple]],
            primary_keys: Mapping[str, Sequence[str]]) -> list[str]:
    """Rows kept for the portal (per table) whose parent the file deletes (the keys deleted, per
    table): conflicts, since the cascade would delete them. `primary_keys` names each table's key."""
    found = []
    for table, rows in kept.items():
        for parent, columns in PARENTS.get(table, ()):
            gone = deleted.get(parent, set())
            for row in rows:
                key = (row["network_id"], *(row[c] for c in columns))
                if key in gone:
                    pk = tuple(row[c] for c in primary_keys[table])
                    found.append(f"{table} {entity_key(pk)}: recorded in the portal, but the file "
                                 f"leaves out its {parent} {entity_key(key)}")
    return found
