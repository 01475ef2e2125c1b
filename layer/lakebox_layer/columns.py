"""The columns of a curated table: from a dataset's contract, or inferred from its data and widened file by file.

Pure logic: the Glue column shapes the catalog stores and the Parquet files carry, with no AWS and no DuckDB.
Types are the portable subset both engines read the same way: bigint, double, boolean, date, timestamp, string.
Nested JSON values (objects, arrays) are stored as JSON text in a string column: a struct's shape would change from
file to file and break the "columns are added, never retyped" rule; `json_extract_string` (DuckDB) and
`json_extract_scalar` (Athena) read into them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lakebox_layer.contracts import Contract
from lakebox_layer.exceptions import CurationRejected

# Contract field types to Glue types; a field without a type is a string.
CONTRACT_TYPES = {"integer": "bigint", "number": "double", "boolean": "boolean", "date": "date",
                  "datetime": "timestamp", "string": "string"}
# JSON Schema property types to Glue types, for fields the contract's schema declares but `fields` does not.
SCHEMA_TYPES = {"integer": "bigint", "number": "double", "boolean": "boolean", "string": "string"}
GLUE_TYPES = ("bigint", "double", "boolean", "date", "timestamp", "string")
PARTITION_KEY = "dt"
# A curated table's data columns at most: wider data stays in the validated copy (a Parquet row group and a query
# planner with thousands of columns cost memory per column, whatever the rows).
MAX_COLUMNS = 1000


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    # What the table says of the column beyond its type: that it holds protected personal data (see
    # lakebox_layer.privacy).
    comment: str | None = None

    def to_glue(self) -> dict[str, str]:
        return {"Name": self.name, "Type": self.type, **({"Comment": self.comment} if self.comment else {})}

    @classmethod
    def from_glue(cls, column: dict[str, Any]) -> Column:
        return cls(str(column["Name"]), str(column.get("Type", "string")).lower(), column.get("Comment") or None)


# Every curated row says where it came from.
LINEAGE = (
    Column("_process_id", "string"),
    Column("_source_key", "string"),
    Column("_source_version", "string"),
    Column("_contract_version", "string"),
    Column("_ingested_at", "timestamp"),
)
LINEAGE_NAMES = frozenset(c.name for c in LINEAGE)


def _schema_properties(contract: Contract) -> list[tuple[str, str]]:
    schema = contract.schema or {}
    properties = schema.get("properties", {}) if isinstance(schema.get("properties"), dict) else {}
    named = [(name, SCHEMA_TYPES.get(str(spec.get("type")), "string") if isinstance(spec, dict) else "string")
             for name, spec in properties.items()]
    required = [(name, "string") for name in schema.get("required", []) if isinstance(name, str)]
    return named + required


def contract_columns(contract: Contract) -> list[Column] | None:
    """The data columns a contract declares (its `fields`, then its schema's properties and required names), or
    None for a dataset without a contract, whose columns are inferred."""
    if not contract.fields and not contract.schema:
        return None
    columns: dict[str, Column] = {}
    for rules in contract.fields:
        columns[rules.name] = Column(rules.name, CONTRACT_TYPES.get(rules.type or "string", "string"))
    for name, glue_type in _schema_properties(contract):
        columns.setdefault(name, Column(name, glue_type))
    return [c for c in columns.values() if c.name not in LINEAGE_NAMES and c.name != PARTITION_KEY]


def table_columns(data: list[Column]) -> list[Column]:
    """A table's columns: its data columns, then the lineage columns."""
    return [*data, *LINEAGE]


def widen(existing: list[Column], found: list[Column]) -> list[Column]:
    """The table's data columns after a file with `found` columns: existing ones kept (never dropped, never retyped;
    the file's values are cast to them), new ones added at the end in the file's order. An existing column without
    a comment takes the file's: a column first curated in the clear is marked protected once a file protects it,
    and a comment is never taken away."""
    comments = {c.name: c.comment for c in found if c.comment}
    kept = [c if c.comment or c.name not in comments else Column(c.name, c.type, comments[c.name]) for c in existing]
    known = {c.name for c in existing}
    return [*kept, *(c for c in found if c.name not in known and c.name not in LINEAGE_NAMES)]


def data_columns(columns: list[Column]) -> list[Column]:
    """A table's columns without the lineage columns."""
    return [c for c in columns if c.name not in LINEAGE_NAMES]


def check_names(names: list[str]) -> None:
    """Column names a table can have: at most MAX_COLUMNS, non-empty, unique ignoring case (Glue and Athena fold
    case), not `dt`."""
    if len(names) > MAX_COLUMNS:
        raise CurationRejected(f"the file has {len(names):,} columns; a curated table keeps at most {MAX_COLUMNS:,}")
    seen: dict[str, str] = {}
    for name in names:
        if not name.strip():
            raise CurationRejected("a column has an empty name")
        if name.lower() == PARTITION_KEY:
            raise CurationRejected(f"column {name!r} clashes with the partition key {PARTITION_KEY!r}")
        if name.lower() in seen:
            raise CurationRejected(f"columns {seen[name.lower()]!r} and {name!r} differ only in case")
        seen[name.lower()] = name
