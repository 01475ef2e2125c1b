"""CloudWatch: the pipeline's quality metrics.

Each judged file is one observation: ValidationSuccessRate 100 or 0, AverageQualityScore its score, ProcessedRecords
its record count. CloudWatch's statistics then give the true figures for any window (Average of the rate is the
share of files that passed, Sum of records is the volume), with O(1) work per file and no table scan.
"""

from __future__ import annotations

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


def dimensions(pipeline: str) -> list[DimensionTypeDef]:
    """The one dimension every quality metric carries: the pipeline (project) it belongs to."""
    return [{"Name": DIMENSION, "Value": pipeline}]


class QualityMetrics:
    """Publishes one observation per judged file."""

    def __init__(self, cloudwatch: CloudWatchClient, pipeline: str) -> None:
        self._cloudwatch = cloudwatch
        self.pipeline = pipeline

    def publish(self, *, passed: bool, quality_score: float, records: int) -> None:
        """Record one judged file."""
        # High resolution (1 s), so a window that starts mid-minute holds only its own files.
        data: list[MetricDatumTypeDef] = [
            {"MetricName": name, "Value": value, "Unit": unit, "Dimensions": dimensions(self.pipeline),  # type: ignore[typeddict-item]
             "StorageResolution": 1}
            for name, value, unit in (
                (SUCCESS_RATE, 100.0 if passed else 0.0, "Percent"),
                (AVERAGE_SCORE, quality_score, "None"),
                (PROCESSED_RECORDS, float(records), "Count"),
            )
        ]
        try:
            self._cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)
        except ClientError as error:
            raise MetricsError(f"quality metrics of {self.pipeline} refused: {error_code(error)}") from error
