"""CloudWatch: the pipeline's quality metrics.

Each judged file is one observation: ValidationSuccessRate 100 or 0, AverageQualityScore its score, ProcessedRecords
its record count. CloudWatch's statistics then give the true figures for any window (Average of the rate is the
share of files that passed, Sum of records is the volume), with O(1) work per file and no table scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_cloudwatch.type_defs import DimensionTypeDef, MetricDatumTypeDef

NAMESPACE = "DataLake/Quality"
DIMENSION = "Pipeline"
SUCCESS_RATE = "ValidationSuccessRate"
AVERAGE_SCORE = "AverageQualityScore"
PROCESSED_RECORDS = "ProcessedRecords"


@dataclass(frozen=True)
class QualityFigures:
    """The metrics over a window, as CloudWatch aggregates them."""

    files: int
    success_rate: float | None
    average_score: float | None
    records: float | None


class QualityMetrics:
    def __init__(self, cloudwatch: CloudWatchClient, pipeline: str) -> None:
        self._cloudwatch = cloudwatch
        self.pipeline = pipeline

    @property
    def _dimensions(self) -> list[DimensionTypeDef]:
        return [{"Name": DIMENSION, "Value": self.pipeline}]

    def publish(self, *, passed: bool, quality_score: float, records: int) -> None:
        """Record one judged file."""
        # High resolution (1 s), so a window that starts mid-minute holds only its own files.
        data: list[MetricDatumTypeDef] = [
            {"MetricName": name, "Value": value, "Unit": unit, "Dimensions": self._dimensions,  # type: ignore[typeddict-item]
             "StorageResolution": 1}
            for name, value, unit in (
                (SUCCESS_RATE, 100.0 if passed else 0.0, "Percent"),
                (AVERAGE_SCORE, quality_score, "None"),
                (PROCESSED_RECORDS, float(records), "Count"),
            )
        ]
        self._cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)

    def _statistics(self, name: str, start: datetime, end: datetime) -> dict[str, float]:
        period = max(60, int((end - start).total_seconds() // 60 + 1) * 60)
        points = self._cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE, MetricName=name, Dimensions=self._dimensions,
            StartTime=start, EndTime=start + timedelta(seconds=period), Period=period,
            Statistics=["Average", "Sum", "SampleCount"],
        ).get("Datapoints", [])
        count = sum(float(p.get("SampleCount", 0.0)) for p in points)
        total = sum(float(p.get("Sum", 0.0)) for p in points)
        return {"count": count, "sum": total, "average": total / count if count else float("nan")}

    def since(self, start: datetime) -> QualityFigures:
        """The metrics from `start` until now: one window, so the averages are exact."""
        start = start.astimezone(UTC).replace(microsecond=0)
        end = datetime.now(UTC)
        rate = self._statistics(SUCCESS_RATE, start, end)
        score = self._statistics(AVERAGE_SCORE, start, end)
        records = self._statistics(PROCESSED_RECORDS, start, end)
        files = int(rate["count"])
        return QualityFigures(
            files=files,
            success_rate=rate["average"] if files else None,
            average_score=score["average"] if score["count"] else None,
            records=records["sum"] if records["count"] else None,
        )
