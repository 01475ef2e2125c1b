"""Lake Formation: the LF-tag that marks the personal data of the curated tables, put on the columns curation protects.

The tag's key is `sensitivity`, with two values: the catalog's database carries `public` (its tables and their
columns inherit it) and each column holding protected personal data (the one a `lakebox:pii=` comment marks; not its
token column: a keyed token is not personal data) carries `pii`. Bootstrap defines the tag, tags the database and
the tables it finds, and grants by tag (:mod:`lakebox_infra.lake_formation`); curation tags the columns each file
protects through :class:`LakeFormationTags`, when the lake's `lake_formation` setting is on.

An endpoint without Lake Formation is told from a refusal by its answer: one warning per instance, and curation goes
on. Lake Formation's own refusals name their error code and fail the file, which is retried.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from lakebox_layer.adapters.errors import error_code, unavailable
from lakebox_layer.exceptions import LakeFormationError

SENSITIVITY = "sensitivity"
PII = "pii"
PUBLIC = "public"


def pii_tag(value: str = PII) -> dict[str, Any]:
    """The LF-tag `sensitivity=<value>` as add_lf_tags_to_resource takes it."""
    return {"TagKey": SENSITIVITY, "TagValues": [value]}


def not_offered(error: ClientError) -> bool:
    """Whether the endpoint has no Lake Formation: it says so (see `errors.unavailable`), or it answers with an HTTP
    status and no error code at all (MiniStack: 400 "Unsupported service"; moto's mock: 404), which Lake Formation
    itself never does."""
    return unavailable(error) or error_code(error).isdigit()


class LakeFormationTags:
    """The `sensitivity=pii` tag on a curated table's columns. Each column is tagged once per instance: tagging is
    idempotent, so a column another instance tagged costs one call here, never a wrong tag. `lakeformation` is a
    boto3 Lake Formation client."""

    def __init__(self, lakeformation: Any, database: str, logger: Logger) -> None:
        self._lakeformation = lakeformation
        self.database = database
        self._logger = logger
        self._tagged: dict[str, set[str]] = {}
        self.offered = True

    def tag_pii(self, table: str, columns: list[str]) -> list[str]:
        """Tag `columns` of `table` `sensitivity=pii`, those this instance has not tagged yet, in one call. Returns
        the columns tagged now: none when none was new, or when the endpoint has no Lake Formation (warned about
        once). :class:`LakeFormationError` when Lake Formation refuses."""
        tagged = self._tagged.setdefault(table, set())
        new = [column for column in dict.fromkeys(columns) if column not in tagged]
        if not new or not self.offered:
            return []
        what = f"tagging {self.database}.{table} columns {', '.join(new)} {SENSITIVITY}={PII}"
        try:
            response = self._lakeformation.add_lf_tags_to_resource(
                Resource={"TableWithColumns": {"DatabaseName": self.database, "Name": table, "ColumnNames": new}},
                LFTags=[pii_tag()])
        except ClientError as error:
            if not not_offered(error):
                raise LakeFormationError(f"{what}: {error_code(error)}") from error
            self.offered = False
            self._logger.warning("the endpoint does not offer Lake Formation: protected columns are not tagged",
                                 extra={"code": error_code(error), "table": table, "columns": new})
            return []
        # A refusal can also come back per tag, in a successful answer.
        failures = response.get("Failures") or []
        if failures:
            detail = failures[0].get("Error", {})
            raise LakeFormationError(f"{what}: {detail.get('ErrorCode', '')} {detail.get('ErrorMessage', '')}".strip())
        tagged.update(new)
        return new
