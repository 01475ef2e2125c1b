"""Dataset names: which are valid, and the Glue/Athena table each one becomes. Pure, no AWS.

A dataset is a table users query, so its name must be a table name Glue and Athena accept without quoting games:
lowercase letters, digits and `_`, starting with a letter. A `-` is accepted too (folder names like `sales-eu` are
common) and becomes `_` in the table name. Uppercase is refused rather than lower-cased, so `Sales/` and `sales/`
never silently become one table.
"""

from __future__ import annotations

import json
import re

# Glue allows 255 characters; a short cap leaves room for prefixes and keeps S3 keys and queries readable.
MAX_DATASET_NAME_LENGTH = 100
DATASET_NAME_RULE = (
    f'lowercase letters, digits, "_" and "-", starting with a letter, at most {MAX_DATASET_NAME_LENGTH} characters'
)
_VALID = re.compile(rf"[a-z][a-z0-9_-]{{0,{MAX_DATASET_NAME_LENGTH - 1}}}")
_SHOWN_NAME_CHARS = 120


def dataset_name_problem(name: str) -> str | None:
    """Why `name` is not a valid dataset name, or None when it is."""
    if _VALID.fullmatch(name):
        return None
    shown = name if len(name) <= _SHOWN_NAME_CHARS else name[:_SHOWN_NAME_CHARS] + "..."
    # JSON quoting shows spaces, quotes and control characters unambiguously.
    return f"dataset {json.dumps(shown, ensure_ascii=False)} is not a valid dataset name: use {DATASET_NAME_RULE}"


def table_name(dataset: str) -> str:
    """The Glue/Athena table of a valid dataset: its name with `-` mapped to `_`."""
    problem = dataset_name_problem(dataset)
    if problem is not None:
        raise ValueError(problem)
    return dataset.replace("-", "_")
