"""JSON logs (Powertools Logger) whose correlation id is what a line is about: a file's process id in the file
stages, the shard's ledger id in the stream batcher."""

from __future__ import annotations

from aws_lambda_powertools import Logger


def stage_logger(stage: str) -> Logger:
    return Logger(service=f"lakebox-{stage}")
