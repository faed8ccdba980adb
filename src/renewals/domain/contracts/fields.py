"""A contract's fields, listed once: read off the model and the API shapes, never spelled out again.

A new contract field is the model column, the schema fields (`ContractIn`, `ContractPatch`,
`ContractOut`) and the migration. Creating, editing, showing and renewing a contract all go
through these functions, so the field is stored, changed, shown and carried into a successor
without another edit.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Row, inspect

from renewals.db.models import Contract
from renewals.domain.contracts.schemas import ContractOut

# What a successor contract sets itself; every other column is carried over from the one it renews.
SUCCESSOR_SETS = frozenset(
    {
        "id",
        "number",
        "start_date",
        "end_date",
        "status",
        "predecessor_id",
        "terminated_on",
        "termination_reason",
        "monthly_value_minor",
        "version",
        "created_at",
        "updated_at",
    }
)


def given(data: msgspec.Struct, *, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The values a request gives, by field name: strings stripped, unset fields left out."""
    out: dict[str, Any] = {}
    for name in data.__struct_fields__:
        value = getattr(data, name)
        if name in skip or value is msgspec.UNSET:
            continue
        out[name] = value.strip() if isinstance(value, str) else value
    return out


# The fields of `ContractOut` that are the contract's own columns (all but its lines).
SHOWN = tuple(name for name in ContractOut.__struct_fields__ if name != "lines")
SHOWN_COLUMNS = tuple(Contract.__table__.c[name] for name in SHOWN)


def shown(contract: Contract | Row[Any]) -> dict[str, Any]:
    """The contract's own values for every field of `ContractOut` but its lines, from the model
    or from a row selecting `SHOWN_COLUMNS`."""
    return {name: getattr(contract, name) for name in SHOWN}


def carried_over(contract: Contract) -> dict[str, Any]:
    """The column values a successor takes from the contract it renews."""
    return {
        attr.key: getattr(contract, attr.key)
        for attr in inspect(Contract).column_attrs
        if attr.key not in SUCCESSOR_SETS
    }
