"""Reading the quality metrics back from CloudWatch: what `lakebox demo` shows for its run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from lakebox_layer.adapters.metrics import AVERAGE_SCORE, NAMESPACE, PROCESSED_RECORDS, SUCCESS_RATE, dimensions

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient


@dataclass(frozen=True)
class QualityFigures:
    """The metrics over a window, as CloudWatch aggregates them."""

    files: int
    success_rate: float | None
    average_score: float | None
    records: float | None


class QualityReadout:
    """The pipeline's quality metrics over a window, as CloudWatch aggregates them."""

    def __init__(self, cloudwatch: CloudWatchClient, pipeline: str) -> None:
        self._cloudwatch = cloudwatch
        self.pipeline = pipeline

    def _statistics(self, name: str, start: datetime, end: datetime) -> dict[str, float]:
        period = max(60, int((end - start).total_seconds() // 60 + 1) * 60)
        points = self._cloudwatch.get_metric_statistics(
            Namespace=NAMESPACE, MetricName=name, Dimensions=dimensions(self.pipeline),
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
