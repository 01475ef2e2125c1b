"""Quality: add one judged file to the pipeline's totals, publish its metrics and announce "Quality Check Complete"."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from lakebox_layer import ports
from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.events import EventPublisher
from lakebox_layer.adapters.metadata import MetadataStore
from lakebox_layer.adapters.metrics import Observation, QualityMetrics
from lakebox_layer.exceptions import StageAlreadyRecorded
from lakebox_layer.records import DataValidated, QualityTotals
from lakebox_layer.registry import QUALITY_COMPLETE, Stage
from lakebox_layer.settings import Settings
from lakebox_layer.stages.batch import Outcome, single
from lakebox_layer.stages.recorder import stage_record


class Quality:
    """The quality stage: "Data Validated" in, CloudWatch metrics and "Quality Check Complete" out."""

    def __init__(self, settings: Settings, *, metadata: ports.MetadataStore, events: ports.EventPublisher,
                 metrics: ports.QualityMetrics, logger: Logger) -> None:
        self.pipeline = settings.project
        self.metadata = metadata
        self.events = events
        self.metrics = metrics
        self.logger = logger

    @classmethod
    def from_settings(cls, settings: Settings, logger: Logger, clients: AwsClients | None = None) -> Quality:
        """The stage on the AWS clients the settings name; a function builds one per cold start."""
        clients = clients or AwsClients(settings)
        return cls(
            settings,
            metadata=MetadataStore(clients.dynamodb, settings.metadata_table),
            events=EventPublisher(clients.events, settings.event_bus),
            metrics=QualityMetrics(clients.cloudwatch, settings.project),
            logger=logger,
        )

    def assess_quality(self, validated: DataValidated) -> QualityTotals | None:
        """Add one judged file to the pipeline's totals, publish the metrics and announce completion; the totals
        after it, None for a duplicate."""
        return single(self.assess_all([validated])[0])

    def assess_all(self, batch: list[DataValidated]) -> list[Outcome[QualityTotals]]:
        """Assess a batch of judged files: each recorded with the totals in turn, then the totals read once, the
        metrics of every file recorded sent in one call, then every "Quality Check Complete" (each carrying the
        totals after the batch) in as few calls as the bus allows. Per file: the totals after the batch, None for
        a duplicate, or its error (a refused event entry fails only its own file)."""
        outcomes: list[Outcome[QualityTotals]] = []
        recorded: list[tuple[int, DataValidated]] = []
        for validated in batch:
            try:
                fresh = self._record(validated)
            except Exception as error:
                outcomes.append(error)
                continue
            if fresh:
                recorded.append((len(outcomes), validated))
            outcomes.append(None)
        if not recorded:
            return outcomes
        try:
            totals = self.metadata.totals(self.pipeline)
            self.metrics.publish_all([Observation(v.passed, v.quality_score, v.records_total) for _, v in recorded])
        except Exception as error:
            for index, _ in recorded:
                outcomes[index] = error
            return outcomes
        refused = self.events.publish_all([(QUALITY_COMPLETE.source, QUALITY_COMPLETE.detail_type, {
            "process_id": validated.process_id,
            "key": validated.key,
            "status": validated.status.value,
            "quality_score": validated.quality_score,
            "validation_success_rate": round(totals.success_rate, 2),
            "average_quality_score": round(totals.average_score, 2),
            "files": totals.files,
        }) for _, validated in recorded])
        for (index, validated), refusal in zip(recorded, refused, strict=True):
            outcomes[index] = refusal or totals
            if refusal is None:
                self.logger.set_correlation_id(validated.process_id)
                self.logger.info("quality recorded", extra={"key": validated.key, "files": totals.files,
                                                            "success_rate": totals.success_rate})
        return outcomes

    def _record(self, validated: DataValidated) -> bool:
        """The file's record and the totals in one transaction (this stage's write-once); False for a duplicate."""
        self.logger.set_correlation_id(validated.process_id)
        item = stage_record(
            validated.process_id, validated.arrived_at, Stage.QUALITY,
            Pipeline=self.pipeline, RawKey=validated.key, QualityScore=validated.quality_score,
            ValidationPassed=validated.passed, RecordsTotal=validated.records_total,
        )
        try:
            self.metadata.record_quality(
                item, self.pipeline, passed=validated.passed, score=validated.quality_score,
                records=validated.records_total,
            )
        except StageAlreadyRecorded:
            self.logger.info("duplicate delivery: quality already recorded", extra={"key": validated.key})
            return False
        return True
