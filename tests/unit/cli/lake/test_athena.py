"""The Athena adapter of `lakebox query`: it starts the query in the workgroup over the database, polls it to an end,
pages through every result page without the header row, and turns a failure or a deadline into a clear error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lakebox.lake.athena import AthenaQueries, QueryFailed

QUERY_ID = "3f0c8d2e-0000-4000-8000-000000000001"
SQL = "SELECT dt, COUNT(*) AS n FROM orders GROUP BY dt ORDER BY dt"
COLUMNS = [{"Name": "dt", "Type": "varchar"}, {"Name": "n", "Type": "bigint"}]


@pytest.fixture
def athena() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test",
                           region_name="us-east-1").client("athena")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def expect_start(stubber: Stubber) -> None:
    stubber.add_response("start_query_execution", {"QueryExecutionId": QUERY_ID}, {
        "QueryString": SQL, "WorkGroup": "lakebox-workgroup",
        "QueryExecutionContext": {"Database": "lakebox_catalog"}})


def expect_state(stubber: Stubber, state: str, reason: str | None = None) -> None:
    status: dict[str, Any] = {"State": state}
    if reason is not None:
        status["StateChangeReason"] = reason
    stubber.add_response("get_query_execution", {"QueryExecution": {"QueryExecutionId": QUERY_ID, "Status": status}},
                         {"QueryExecutionId": QUERY_ID})


def row(*values: str | None) -> dict[str, Any]:
    return {"Data": [{} if value is None else {"VarCharValue": value} for value in values]}


def queries(client: Any) -> AthenaQueries:
    return AthenaQueries(client, "lakebox-workgroup", "lakebox_catalog", interval_s=0)


def test_a_query_is_polled_to_success_and_every_page_is_read(athena: tuple[Any, Stubber]) -> None:
    client, stubber = athena
    expect_start(stubber)
    expect_state(stubber, "QUEUED")
    expect_state(stubber, "RUNNING")
    expect_state(stubber, "SUCCEEDED")
    metadata = {"ColumnInfo": COLUMNS}
    stubber.add_response("get_query_results", {
        "ResultSet": {"Rows": [row("dt", "n"), row("2026-01-01", "3")], "ResultSetMetadata": metadata},
        "NextToken": "page-2"}, {"QueryExecutionId": QUERY_ID})
    # Only the first page starts with the header row.
    stubber.add_response("get_query_results", {
        "ResultSet": {"Rows": [row("2026-01-02", "2"), row(None, "1")], "ResultSetMetadata": metadata}},
        {"QueryExecutionId": QUERY_ID, "NextToken": "page-2"})

    result = queries(client).run(SQL, deadline_s=5)

    assert result.query_id == QUERY_ID
    assert result.columns == ["dt", "n"]
    assert result.types == ["varchar", "bigint"]
    assert result.rows == [["2026-01-01", "3"], ["2026-01-02", "2"], [None, "1"]]


def test_a_result_without_rows_has_its_columns(athena: tuple[Any, Stubber]) -> None:
    client, stubber = athena
    expect_start(stubber)
    expect_state(stubber, "SUCCEEDED")
    stubber.add_response("get_query_results", {"ResultSet": {
        "Rows": [row("dt", "n")], "ResultSetMetadata": {"ColumnInfo": COLUMNS}}}, {"QueryExecutionId": QUERY_ID})

    result = queries(client).run(SQL, deadline_s=5)

    assert (result.columns, result.rows) == (["dt", "n"], [])


@pytest.mark.parametrize(("state", "reason", "message"), [
    ("FAILED", "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved",
     "query failed: COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved"),
    ("CANCELLED", None, "query cancelled: the query ended CANCELLED"),
])
def test_a_query_that_does_not_succeed_raises_the_engines_reason(
        athena: tuple[Any, Stubber], state: str, reason: str | None, message: str) -> None:
    client, stubber = athena
    expect_start(stubber)
    expect_state(stubber, "RUNNING")
    expect_state(stubber, state, reason)

    with pytest.raises(QueryFailed) as failed:
        queries(client).run(SQL, deadline_s=5)

    assert str(failed.value) == message


def test_a_query_past_its_deadline_is_stopped_and_says_what_was_awaited(athena: tuple[Any, Stubber]) -> None:
    client, stubber = athena
    expect_start(stubber)
    expect_state(stubber, "RUNNING")
    stubber.add_response("stop_query_execution", {}, {"QueryExecutionId": QUERY_ID})

    with pytest.raises(TimeoutError) as late:
        queries(client).run(SQL, deadline_s=0)

    assert f"query {QUERY_ID} in workgroup lakebox-workgroup" in str(late.value)
    assert "still RUNNING" in str(late.value)
