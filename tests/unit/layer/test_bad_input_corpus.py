"""The bad-input corpus through the parsers and rules alone: a decision with a reason for every case, quickly."""

from __future__ import annotations

import io
import json
import sys
import time

import pytest

from lakebox_infra import PROJECT_ROOT
from lakebox_layer.contracts import parse_contract, structural_contract
from lakebox_layer.exceptions import ContentRejected
from lakebox_layer.formats import SNIFF_BYTES, detect_format
from lakebox_layer.parsing import RecordReader
from lakebox_layer.records import FileFormat, dataset_of
from lakebox_layer.validation import validate_records
from tests.corpus import PROCESSED, Case, cases

DEFAULT = parse_contract(json.loads((PROJECT_ROOT / "contracts" / "default.json").read_text()))
# CPU seconds a decision may take. The gzip bomb's 17 MB of 4 M short lines take about 15 s; coverage's tracer (CI
# measures the suite's coverage) makes that loop about four times slower.
DECISION_CPU_S = 30.0
TRACED_SLOWDOWN = 4


def decide(case: Case) -> tuple[bool, list[str]]:
    key = f"input/{case.key}"
    detection = detect_format(key, case.body[:SNIFF_BYTES], len(case.body))
    if detection.format is FileFormat.UNSUPPORTED:
        return False, [detection.reason or ""]
    contract = DEFAULT if dataset_of(key) == "default" else structural_contract(dataset_of(key))
    try:
        outcome = validate_records(RecordReader(io.BytesIO(case.body), detection.format, detection.compression),
                                   contract, detection.format)
    except ContentRejected as rejection:
        return False, [rejection.reason]
    return outcome.passed, outcome.errors


# The gzip bomb takes seconds of CPU by design: it runs with the slow tests (`pytest -m slow`, and .ci/run).
@pytest.mark.parametrize("case", [pytest.param(case, marks=pytest.mark.slow) if case.name == "gzip bomb" else case
                                  for case in cases()], ids=lambda c: c.name)
def test_every_case_gets_a_decision_with_a_reason(case: Case) -> None:
    # The decision's own CPU time: the suite runs on parallel workers (and under coverage in CI), so the wall clock
    # also counts the time this worker waits for a CPU; the work, decompressing and reading in-process, is all here.
    started = time.process_time()
    passed, reasons = decide(case)
    elapsed = time.process_time() - started

    assert passed is (case.expected == PROCESSED), reasons
    if not passed:
        assert reasons and all(reasons), "a refusal always says why"
        assert case.reason in " ".join(reasons), reasons
    limit = DECISION_CPU_S * (TRACED_SLOWDOWN if sys.gettrace() is not None else 1)
    assert elapsed < limit, f"{case.name} took {elapsed:.1f} s of CPU (limit {limit:.0f} s)"


def test_the_corpus_has_at_least_thirty_cases() -> None:
    assert len(cases()) >= 30
