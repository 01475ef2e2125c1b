"""The ARN of everything the topology names, derived from the resource names alone. The parts of the topology (the
functions and their roles, the stream, the operator's policy, the alarms) are built from these, and
:class:`lakebox_infra.topology.Topology` puts them together. No AWS calls here."""

from __future__ import annotations

from dataclasses import dataclass

from lakebox_infra.specs import partition
from lakebox_layer.registry import Stage
from lakebox_layer.settings import ResourceNames


@dataclass(frozen=True)
class Arns:
    """ARNs in the account, region and partition the names belong to."""

    names: ResourceNames

    @property
    def partition(self) -> str:
        return partition(self.names.region)

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return ":".join([
            "arn", self.partition, service,
            self.names.region if region else "",
            self.names.account if account else "",
            resource,
        ])

    @property
    def buckets(self) -> list[str]:
        return [self.names.raw_bucket, self.names.processed_bucket, self.names.quarantine_bucket]

    def bucket_arn(self, bucket: str, objects: str | None = None) -> str:
        return self.arn("s3", bucket if objects is None else f"{bucket}/{objects}", region=False, account=False)

    @property
    def table_arn(self) -> str:
        return self.arn("dynamodb", f"table/{self.names.metadata_table}")

    @property
    def bus_arn(self) -> str:
        return self.arn("events", f"event-bus/{self.names.event_bus}")

    def rule_arn(self, rule: str) -> str:
        return self.arn("events", f"rule/{self.names.event_bus}/{rule}")

    def role_arn(self, role: str) -> str:
        return self.arn("iam", f"role/{role}", region=False)

    def function_arn(self, function: str) -> str:
        return self.arn("lambda", f"function:{function}")

    @property
    def workgroup_arn(self) -> str:
        return self.arn("athena", f"workgroup/{self.names.athena_workgroup}")

    @property
    def catalog_arns(self) -> list[str]:
        """The Glue catalog, the project's database and its tables."""
        database = self.names.glue_database
        return [self.arn("glue", "catalog"), self.arn("glue", f"database/{database}"),
                self.arn("glue", f"table/{database}/*")]

    @property
    def queue_arn(self) -> str:
        """The queue that gets the quality stage's events, for consumers outside the pipeline."""
        return self.arn("sqs", self.names.quality_events_queue)

    @property
    def dead_letter_arn(self) -> str:
        return self.arn("sqs", self.names.dead_letter_queue)

    def stage_queue_arn(self, stage: Stage) -> str:
        return self.arn("sqs", self.names.stage_queue(stage.value))

    @property
    def stream_arn(self) -> str:
        return self.arn("kinesis", f"stream/{self.names.ingest_stream}")

    @property
    def alerts_topic(self) -> str:
        """The SNS topic the alarms notify."""
        return f"{self.names.project}-quality-alerts"

    @property
    def alerts_topic_arn(self) -> str:
        return self.arn("sns", self.alerts_topic)
