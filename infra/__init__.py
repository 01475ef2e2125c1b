"""The pipeline's topology as data (:mod:`infra.topology`) and the boto3 calls that make it real
(:mod:`infra.provision`, run by `python infra/bootstrap.py`)."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
