"""What a function's handler finds in its process: the environment bootstrap gives every function."""

from __future__ import annotations

FUNCTION_ENV = {
    "RAW_BUCKET": "lakebox-raw-000000000000-us-east-1",
    "PROCESSED_BUCKET": "lakebox-processed-000000000000-us-east-1",
    "QUARANTINE_BUCKET": "lakebox-quarantine-000000000000-us-east-1",
    "METADATA_TABLE": "lakebox-metadata",
    "EVENT_BUS": "lakebox-bus",
    "GLUE_DATABASE": "lakebox_catalog",
    "LAKEBOX_PROJECT": "lakebox",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "x",
    "AWS_SECRET_ACCESS_KEY": "x",
}
