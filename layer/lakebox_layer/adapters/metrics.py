"""CloudWatch: the pipeline's quality metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakebox_layer.records import QualityTotals

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_cloudwatch.type_defs import MetricDatumTypeDef

NAMESPACE = "DataLake/Quality"
DIMENSION = "Pipeline"


class QualityMetrics:
    def __init__(self, cloudwatch: CloudWatchClient, pipeline: str) -> None:
        self._cloudwatch = cloudwatch
        self.pipeline = pipeline

    def publish(self, totals: QualityTotals, records_in_file: int) -> None:
        dimensions = [{"Name": DIMENSION, "Value": self.pipeline}]
        data: list[MetricDatumTypeDef] = [
            {"MetricName": "ValidationSuccessRate", "Value": totals.success_rate, "Unit": "Percent",
             "Dimensions": dimensions},  # type: ignore[list-item]
            {"MetricName": "AverageQualityScore", "Value": totals.average_score, "Unit": "None",
             "Dimensions": dimensions},  # type: ignore[list-item]
            {"MetricName": "ProcessedRecords", "Value": float(records_in_file), "Unit": "Count",
             "Dimensions": dimensions},  # type: ignore[list-item]
        ]
        self._cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)
