"""JSON logs with the process id as correlation id (Powertools Logger)."""

from __future__ import annotations

from aws_lambda_powertools import Logger


def stage_logger(stage: str) -> Logger:
    return Logger(service=f"lakebox-{stage}")
