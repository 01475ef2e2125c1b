"""Curation: "Data Validated" (processed files) from the curation queue in, Parquet, Glue partitions and
"Data Curated" out."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from lakebox_layer.log import LoggedBatchProcessor, stage_logger
from lakebox_layer.queues import event_detail
from lakebox_layer.records import DataValidated
from lakebox_layer.settings import Settings
from lakebox_layer.stages.curation import Curation

logger = stage_logger("curation")
curation = Curation.from_settings(Settings.from_env(), logger)
processor = LoggedBatchProcessor(logger)


def curate(record: SQSRecord) -> None:
    curation.curate(DataValidated.from_detail(event_detail(record.body)))


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=curate, processor=processor, context=context)
