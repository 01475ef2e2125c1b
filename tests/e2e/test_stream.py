"""The stream path end to end: 10,000 sensor readings sent with `lakebox send`, some invalid and a few poison,
become a handful of raw files that go through the same pipeline as uploaded files, each reading in exactly one
place."""

from __future__ import annotations

import base64
import json
import math
from collections import Counter

from lakebox.send.sensor_sample import BAD_EMAIL, MISSING_TIMESTAMP, POISON_LINES, sensor_sample
from lakebox_layer.records import INPUT_PREFIX, FileStatus
from lakebox_layer.routing import PROCESSED_PREFIX, QUARANTINE_PREFIX
from lakebox_layer.settings import STREAM_DEFAULTS
from lakebox_layer.stream_puts import SendReport
from tests.e2e.lake import Invoke, Lake
from tests.e2e.stream_support import ids, poison_files, raw_files

READINGS, INVALID_EVERY, POISON_EVERY = 10_000, 10, 2_500
# The bounds are the settings' defaults, as bootstrap provisions them.
MAX_RECORDS = STREAM_DEFAULTS["stream_max_records"]
MAX_BYTES = STREAM_DEFAULTS["stream_max_bytes"]


def zone_key(raw_key: str, prefix: str) -> str:
    """Where validation puts a raw file's records in a zone: its key with `input/` swapped for the zone's prefix."""
    return f"{prefix}/{raw_key.removeprefix(INPUT_PREFIX)}"


def test_ten_thousand_readings_become_a_few_files_and_each_reading_lands_once(lake: Lake, invoke: Invoke) -> None:
    result = invoke("send", "--sample", "sensors", "--count", str(READINGS), "--invalid-every", str(INVALID_EVERY),
                    "--poison-every", str(POISON_EVERY), "--wait", "--timeout", "180", "--json")
    assert result.exit_code == 0, result.output
    sent = json.loads(result.stdout)
    sample = sensor_sample(READINGS, invalid_every=INVALID_EVERY, poison_every=POISON_EVERY)
    expected = sample.report()
    assert (expected.valid, expected.invalid, expected.poison) == (9_000, 1_000, 4)
    assert (sent["sent"], sent["failed"], sent["sample"]) == (READINGS + expected.poison, [], expected.to_json())
    report = SendReport(sent["stream"], sent["sent"], [], {shard: (span[0], span[1])
                                                          for shard, span in sent["shards"].items()})

    # Every reading is in exactly one raw file, and the files are as few as the bounds allow.
    files = raw_files(lake, report, "sensors")
    raw_ids = Counter(i for f in files for i in ids(f.lines))
    assert raw_ids == Counter(str(r["id"]) for r in sample.readings)
    per_shard = Counter({shard: 0 for shard in report.shards})
    for stored in files:
        per_shard[stored.shard] += len(stored.lines)
        assert len(stored.lines) <= MAX_RECORDS and sum(len(line) + 1 for line in stored.lines) <= MAX_BYTES
    # A shard's records fill objects of MAX_RECORDS; at most one more per shard where a batching window closed first.
    fewest = sum(math.ceil(count / MAX_RECORDS) for count in per_shard.values())
    assert fewest <= len(files) <= fewest + len(per_shard), [(f.key, len(f.lines)) for f in files]

    # `--wait` reported those files, each processed (record mode: the good records go on, the bad are set aside).
    assert sorted(f["key"] for f in sent["files"]) == sorted(f.key for f in files)
    assert {f["status"] for f in sent["files"]} == {FileStatus.PROCESSED.value}

    processed_bucket, quarantine_bucket = lake.names.processed_bucket, lake.names.quarantine_bucket
    processed: Counter[str] = Counter()
    quarantined: Counter[str] = Counter()
    by_rule: Counter[tuple[str, str]] = Counter()
    reason_of: dict[str, list[tuple[str, str]]] = {}
    for stored in files:
        body = lake.s3.get_object(Bucket=processed_bucket, Key=zone_key(stored.key, PROCESSED_PREFIX))["Body"].read()
        processed.update(ids(body.splitlines()))
        bad_key = zone_key(stored.key, QUARANTINE_PREFIX)
        body = lake.s3.get_object(Bucket=quarantine_bucket, Key=bad_key)["Body"].read()
        bad_ids = ids(body.splitlines())
        quarantined.update(bad_ids)
        error_report = json.loads(lake.s3.get_object(Bucket=quarantine_bucket, Key=f"{bad_key}.error.json")["Body"]
                                  .read())
        assert error_report["records"]["total"] == len(stored.lines)
        assert error_report["record_errors"] == f"s3://{quarantine_bucket}/{bad_key}.errors.jsonl"
        for rule in error_report["rules"].values():
            first = rule["first"][0]
            by_rule[(first["field"], first["message"])] += rule["count"]
        # Each quarantined record's own reasons, a line each in the same order.
        lines = lake.s3.get_object(Bucket=quarantine_bucket, Key=f"{bad_key}.errors.jsonl")["Body"].read()
        record_reasons = [json.loads(line) for line in lines.splitlines()]
        assert len(record_reasons) == len(bad_ids)
        for reading_id, reason in zip(bad_ids, record_reasons, strict=True):
            reason_of[reading_id] = [(e["field"], e["message"]) for e in reason["errors"]]

    # Every valid reading is in the processed zone once; every invalid one is quarantined once, for its reason.
    assert processed == Counter(str(r["id"]) for r in sample.valid_readings())
    assert quarantined == Counter(str(r["id"]) for r, _ in sample.invalid_readings())
    kinds = Counter(kind for _, kind in sample.invalid_readings())
    assert by_rule == {("email", "invalid email"): kinds[BAD_EMAIL],
                       ("timestamp", "missing required field"): kinds[MISSING_TIMESTAMP]}
    # And each invalid reading is quarantined for the very way it was spoiled.
    why = {BAD_EMAIL: [("email", "invalid email")], MISSING_TIMESTAMP: [("timestamp", "missing required field")]}
    assert reason_of == {str(r["id"]): why[kind] for r, kind in sample.invalid_readings()}

    # `lakebox trace` of a streamed file says where it came from and where its records went.
    first = files[0]
    trace = json.loads(invoke("trace", first.key, "--json").stdout)
    origin = trace["stream"]
    assert (origin["shard"], int(origin["first_sequence"]), int(origin["last_sequence"])) == (
        first.shard, first.first, first.last)
    assert [o["kind"] for o in trace["outputs"]][:4] == ["validated", "quarantined", "error_report", "record_errors"]
    assert all(o["exists"] for o in trace["outputs"][:4])

    # The poison lines were set aside with their reasons, as sent, and nothing else was.
    poison = [json.loads(line) for stored in poison_files(lake, report) for line in stored.lines]
    assert sent["poison_records"] == len(poison) == expected.poison
    assert sorted(base64.b64decode(line["data"]).decode() for line in poison) == sorted(POISON_LINES)
    poison_reasons = {base64.b64decode(line["data"]).decode(): line["reason"] for line in poison}
    assert [poison_reasons[line].split(":")[0] for line in POISON_LINES] == [
        "not JSON", "not a JSON object", "not a JSON object", "not JSON"]
