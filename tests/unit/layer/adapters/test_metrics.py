"""QualityMetrics' PutMetricData request as CloudWatch's API model checks it (botocore Stubber): one high-resolution
observation of each metric per judged file, under the pipeline's dimension; a refusal is a MetricsError."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber

from lakebox_layer.adapters.metrics import Observation, QualityMetrics, publish_circuit_states
from lakebox_layer.exceptions import MetricsError

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

DIMENSIONS = [{"Name": "Pipeline", "Value": "lakebox"}]


@pytest.fixture
def client() -> CloudWatchClient:
    return boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def stubber(client: CloudWatchClient) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def metrics(client: CloudWatchClient) -> QualityMetrics:
    return QualityMetrics(client, "lakebox")


def datums(success_rate: float, score: float, records: float) -> list[dict[str, Any]]:
    return [
        {"MetricName": "ValidationSuccessRate", "Value": success_rate, "Unit": "Percent", "Dimensions": DIMENSIONS,
         "StorageResolution": 1},
        {"MetricName": "AverageQualityScore", "Value": score, "Unit": "None", "Dimensions": DIMENSIONS,
         "StorageResolution": 1},
        {"MetricName": "ProcessedRecords", "Value": records, "Unit": "Count", "Dimensions": DIMENSIONS,
         "StorageResolution": 1},
    ]


@pytest.mark.parametrize(("passed", "success_rate"), [(True, 100.0), (False, 0.0)])
def test_one_observation_of_each_metric_per_file(metrics: QualityMetrics, stubber: Stubber, passed: bool,
                                                 success_rate: float) -> None:
    stubber.add_response("put_metric_data", {}, {
        "Namespace": "DataLake/Quality", "MetricData": datums(success_rate, 62.5, 8.0),
    })
    metrics.publish_all([Observation(passed, 62.5, 8)])


@pytest.mark.parametrize("code", ["InvalidParameterValue", "AccessDenied", "Throttling"])
def test_a_refused_call_is_a_metrics_error_naming_the_code(metrics: QualityMetrics, stubber: Stubber,
                                                           code: str) -> None:
    stubber.add_client_error("put_metric_data", service_error_code=code)
    with pytest.raises(MetricsError, match=f"quality metrics of lakebox refused: {code}"):
        metrics.publish_all([Observation(True, 100.0, 1)])


def test_a_batch_of_files_is_one_call_with_each_files_own_values(metrics: QualityMetrics, stubber: Stubber) -> None:
    stubber.add_response("put_metric_data", {}, {
        "Namespace": "DataLake/Quality", "MetricData": datums(100.0, 90.0, 3.0) + datums(0.0, 40.0, 5.0),
    })
    metrics.publish_all([Observation(True, 90.0, 3), Observation(False, 40.0, 5)])


def test_each_stages_circuit_state_is_one_value_of_its_own_in_one_call(client: CloudWatchClient,
                                                                       stubber: Stubber) -> None:
    stubber.add_response("put_metric_data", {}, {"Namespace": "DataLake/Health", "MetricData": [
        {"MetricName": "CircuitState", "Value": value, "Unit": "None",
         "Dimensions": [*DIMENSIONS, {"Name": "Stage", "Value": stage}]}
        for stage, value in (("curation", 2.0), ("quality", 0.0), ("validation", 1.0))]})
    publish_circuit_states(client, "lakebox", {"validation": "half_open", "curation": "open", "quality": "closed"})
    publish_circuit_states(client, "lakebox", {})  # nothing to say: no call


def test_a_refused_circuit_report_is_a_metrics_error(client: CloudWatchClient, stubber: Stubber) -> None:
    stubber.add_client_error("put_metric_data", service_error_code="AccessDenied")
    with pytest.raises(MetricsError, match="circuit states of lakebox refused: AccessDenied"):
        publish_circuit_states(client, "lakebox", {"curation": "open"})
