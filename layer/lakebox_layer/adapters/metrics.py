"""CloudWatch: the pipeline's quality metrics, and its stages' circuit states.

Each judged file is one observation: ValidationSuccessRate 100 or 0, AverageQualityScore its score, ProcessedRecords
its record count. CloudWatch's statistics then give the true figures for any window (Average of the rate is the
share of files that passed, Sum of records is the volume), with O(1) work per file and no table scan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from lakebox_layer.adapters.errors import error_code
from lakebox_layer.exceptions import MetricsError

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_cloudwatch.type_defs import DimensionTypeDef, MetricDatumTypeDef

NAMESPACE = "DataLake/Quality"
DIMENSION = "Pipeline"
SUCCESS_RATE = "ValidationSuccessRate"
AVERAGE_SCORE = "AverageQualityScore"
PROCESSED_RECORDS = "ProcessedRecords"


# The healer's one value per stage and run: 0 closed, 1 half-open, 2 open (Maximum over a period: its worst state).
HEALTH_NAMESPACE = "DataLake/Health"
CIRCUIT_STATE = "CircuitState"
STAGE_DIMENSION = "Stage"
CIRCUIT_LEVELS = {"closed": 0.0, "half_open": 1.0, "open": 2.0}


def dimensions(pipeline: str) -> list[DimensionTypeDef]:
    """The one dimension every quality metric carries: the pipeline (project) it belongs to."""
    return [{"Name": DIMENSION, "Value": pipeline}]


# PutMetricData takes at most 1000 values a call.
MAX_DATA = 1000


@dataclass(frozen=True)
class Observation:
    """One judged file, as its metrics record it."""

    passed: bool
    quality_score: float
    records: int


class QualityMetrics:
    """Publishes one observation per judged file, many files per call."""

    def __init__(self, cloudwatch: CloudWatchClient, pipeline: str) -> None:
        self._cloudwatch = cloudwatch
        self.pipeline = pipeline

    def publish_all(self, observations: list[Observation]) -> None:
        """Record judged files, each as its own high-resolution (1 s) values, so a window that starts mid-minute
        holds only its own files; a refusal raises :class:`MetricsError`."""
        data: list[MetricDatumTypeDef] = [
            {"MetricName": name, "Value": value, "Unit": unit, "Dimensions": dimensions(self.pipeline),  # type: ignore[typeddict-item]
             "StorageResolution": 1}
            for observation in observations
            for name, value, unit in (
                (SUCCESS_RATE, 100.0 if observation.passed else 0.0, "Percent"),
                (AVERAGE_SCORE, observation.quality_score, "None"),
                (PROCESSED_RECORDS, float(observation.records), "Count"),
            )
        ]
        try:
            for start in range(0, len(data), MAX_DATA):
                self._cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[start:start + MAX_DATA])
        except ClientError as error:
            raise MetricsError(f"quality metrics of {self.pipeline} refused: {error_code(error)}") from error


def publish_circuit_states(cloudwatch: CloudWatchClient, pipeline: str, states: Mapping[str, str]) -> None:
    """Each stage's circuit state (by stage name: "closed", "half_open", "open") as one value of its own, in one
    call; a refusal raises :class:`MetricsError`."""
    data: list[MetricDatumTypeDef] = [
        {"MetricName": CIRCUIT_STATE, "Value": CIRCUIT_LEVELS[state], "Unit": "None",
         "Dimensions": [*dimensions(pipeline), {"Name": STAGE_DIMENSION, "Value": stage}]}
        for stage, state in sorted(states.items())]
    if not data:
        return
    try:
        cloudwatch.put_metric_data(Namespace=HEALTH_NAMESPACE, MetricData=data)
    except ClientError as error:
        raise MetricsError(f"circuit states of {pipeline} refused: {error_code(error)}") from error
