"""Contracts and record mode through the whole pipeline on the emulator."""

from __future__ import annotations

import csv
import gzip
import io
import json
import uuid
from collections.abc import Sequence

from lakebox_layer.adapters.contract_store import ContractStore
from lakebox_layer.contracts import parse_contract
from lakebox_layer.records import FileStatus
from tests.e2e.lake import Lake

HEADER = ["order_id", "customer_email", "phone", "amount", "currency", "ordered_at", "sku", "channel", "region",
          "note"]


def order(n: int, **overrides: str) -> dict[str, str]:
    row = {"order_id": str(n), "customer_email": f"c{n}@example.com", "phone": "+1 555 010 2000", "amount": "10.50",
           "currency": "EUR", "ordered_at": "2026-01-02T09:15:00Z", "sku": "AB-1001", "channel": "web",
           "region": "eu", "note": "n/a"}
    return {**row, **overrides}


def orders_csv(rows: list[dict[str, str]], extra_lines: Sequence[str] = ()) -> bytes:
    text = io.StringIO()
    writer = csv.DictWriter(text, HEADER, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return (text.getvalue() + "".join(line + "\n" for line in extra_lines)).encode()


def read_text(lake: Lake, bucket: str, key: str) -> str:
    text: str = lake.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return text


def test_record_mode_splits_good_and_bad_records_and_loses_none(lake: Lake) -> None:
    name = f"orders-{uuid.uuid4().hex[:6]}.csv"
    good = [order(n) for n in range(1, 9)]
    bad = [order(100, customer_email="alice-at-example"), order(101, amount="-5"), order(102, currency="JPY"),
           order(1)]  # order 1 again: breaks `unique`
    raw = lake.put_raw(f"input/orders/{name}", orders_csv(good + bad, extra_lines=["103,ragged"]))

    row = lake.outcome(raw)

    assert row.status is FileStatus.PROCESSED
    assert (row.records_total, row.records_valid, row.records_invalid) == (13, 8, 5)
    processed = list(csv.DictReader(io.StringIO(read_text(lake, lake.names.processed_bucket,
                                                          f"validated/orders/{name}"))))
    assert [r["order_id"] for r in processed] == [str(n) for n in range(1, 9)]
    quarantined = read_text(lake, lake.names.quarantine_bucket, f"quarantine/orders/{name}").splitlines()
    assert quarantined[0] == ",".join(HEADER)
    assert len(quarantined) - 1 == 5, "every bad record is in quarantine, the ragged row as it was read"
    assert quarantined[-1] == "103,ragged"
    report = json.loads(read_text(lake, lake.names.quarantine_bucket, f"quarantine/orders/{name}.error.json"))
    assert report["records"] == {"total": 13, "valid": 8, "invalid": 5}
    assert report["contract"]["dataset"] == "orders"
    assert report["contract"]["mode"] == "record"
    rules = report["rules"]
    assert {"format", "range", "enum", "unique", "parse"} <= set(rules)
    assert rules["format"]["first"][0] == {"record": 9, "field": "customer_email", "message": "invalid email",
                                           "value": "***"}, "PII values are masked in reports"
    assert rules["range"]["first"][0]["value"] == "-5"
    assert "alice-at-example" not in json.dumps(report)
    records = {r["Stage"]: r for r in lake.stage_records(raw.process_id)}
    validation = records["validation"]
    assert validation["ContractVersion"] == report["contract"]["version"]
    assert validation["Mode"] == "record"
    assert validation["RecordsInvalid"] == 5
    assert validation["QuarantineDestination"].endswith(f"quarantine/orders/{name}")


def test_record_mode_below_the_threshold_quarantines_the_whole_file(lake: Lake) -> None:
    name = f"mostly-bad-{uuid.uuid4().hex[:6]}.csv"
    rows = [order(1)] + [order(n, customer_email="nope") for n in range(2, 6)]
    raw = lake.put_raw(f"input/orders/{name}", orders_csv(rows))

    row = lake.outcome(raw)

    assert row.status is FileStatus.QUARANTINED
    assert "quality score 20.00 is below the threshold 50" in row.errors
    assert row.errors[0] == "record 2: customer_email: invalid email"
    assert f"validated/orders/{name}" not in lake.keys(lake.names.processed_bucket, "validated/orders/")
    whole = lake.s3.get_object(Bucket=lake.names.quarantine_bucket, Key=f"quarantine/orders/{name}")["Body"].read()
    # Below the threshold the whole file is quarantined, every row, with formula-like cells (the phone numbers'
    # leading "+") defused; the raw file stays as it came.
    assert whole == orders_csv(rows).replace(b",+1 555", b",'+1 555")
    assert lake.s3.get_object(Bucket=raw.bucket, Key=raw.key)["Body"].read() == orders_csv(rows)


def test_record_mode_json_array_becomes_json_lines(lake: Lake) -> None:
    stem = f"orders-{uuid.uuid4().hex[:6]}"
    records = [{"order_id": 1, "customer_email": "a@example.com", "amount": 3.5, "currency": "USD",
                "ordered_at": "2026-02-01T10:00:00Z", "items": [{"sku": "AB-100"}]},
               {"order_id": 2, "customer_email": "b@example.com", "amount": 4, "currency": "USD",
                "ordered_at": "2026-02-01T10:05:00Z", "items": [{"qty": 1}]},
               *({"order_id": n, "customer_email": "c@example.com", "amount": 1, "currency": "EUR",
                  "ordered_at": "2026-02-02T08:00:00Z"} for n in (3, 4)),
               "not an object"]
    raw = lake.put_raw(f"input/orders/{stem}.json", json.dumps(records).encode())

    row = lake.outcome(raw)

    assert row.status is FileStatus.PROCESSED
    assert (row.records_total, row.records_valid) == (5, 3)
    good = read_text(lake, lake.names.processed_bucket, f"validated/orders/{stem}.json.jsonl").splitlines()
    assert [json.loads(line)["order_id"] for line in good] == [1, 3, 4]
    bad = read_text(lake, lake.names.quarantine_bucket, f"quarantine/orders/{stem}.json.jsonl").splitlines()
    assert [json.loads(line) for line in bad][1] == "not an object"
    report_key = f"quarantine/orders/{stem}.json.jsonl.error.json"
    report = json.loads(read_text(lake, lake.names.quarantine_bucket, report_key))
    assert report["rules"]["schema:required"]["first"][0]["field"] == "items[0].sku"


def test_gzip_csv_is_read_through_and_a_corrupt_gzip_is_quarantined(lake: Lake) -> None:
    name = f"customers-{uuid.uuid4().hex[:6]}.csv.gz"
    good = lake.put_raw(f"input/{name}", gzip.compress(b"id;email\n1;a@example.com\n2;b@example.com\n"))
    corrupt = lake.put_raw(f"input/broken-{name}", gzip.compress(b"id,email\n1,a@example.com\n")[:-12] + b"garbage")

    good_row, corrupt_row = lake.outcome(good), lake.outcome(corrupt)

    assert good_row.status is FileStatus.PROCESSED
    assert good_row.records_total == 2
    assert corrupt_row.status is FileStatus.QUARANTINED
    assert any("gzip" in e for e in corrupt_row.errors), corrupt_row.errors


def test_a_contract_change_takes_effect_without_redeploying_code(lake: Lake) -> None:
    dataset = f"scratch{uuid.uuid4().hex[:6]}"
    store = ContractStore(lake.target.clients.dynamodb, lake.names.metadata_table)
    lam = lake.client("lambda")
    code_before = lam.get_function(FunctionName=lake.names.function("validation"))["Configuration"]["CodeSha256"]
    strict = parse_contract({"dataset": dataset, "version": "1", "fields": {"level": {"enum": ["low", "high"]}},
                             "policy": {"threshold": 0, "mode": "file"}})
    store.publish(strict)
    body = b'{"level": "medium"}\n{"level": "low"}\n'

    first = lake.outcome(lake.put_raw(f"input/{dataset}/a.jsonl", body))
    relaxed = parse_contract({"dataset": dataset, "version": "2",
                              "fields": {"level": {"enum": ["low", "medium", "high"]}},
                              "policy": {"threshold": 0, "mode": "file"}})
    store.publish(relaxed)
    second_raw = lake.put_raw(f"input/{dataset}/b.jsonl", body)
    second = lake.outcome(second_raw)

    assert first.status is FileStatus.QUARANTINED
    assert first.errors == ["record 1: level: not one of: low, high"]
    assert second.status is FileStatus.PROCESSED
    versions = {r["Stage"]: r.get("ContractVersion") for r in lake.stage_records(second_raw.process_id)}
    assert versions["validation"] == relaxed.version
    assert lam.get_function(FunctionName=lake.names.function("validation"))["Configuration"]["CodeSha256"] \
        == code_before
    store.withdraw(dataset)


def test_a_dataset_without_a_contract_gets_structural_checks_only(lake: Lake) -> None:
    dataset = f"free{uuid.uuid4().hex[:6]}"
    fine = lake.put_raw(f"input/{dataset}/x.json", b'{"anything": "goes", "email": "not checked"}')
    ragged = lake.put_raw(f"input/{dataset}/y.csv", b"a,b\n1,2\n3\n")

    fine_row, ragged_row = lake.outcome(fine), lake.outcome(ragged)

    assert fine_row.status is FileStatus.PROCESSED
    assert ragged_row.status is FileStatus.QUARANTINED
    assert ragged_row.errors == ["record 2: 1 values for 2 columns"]
    versions = {r["Stage"]: r.get("ContractVersion") for r in lake.stage_records(fine.process_id)}
    assert versions["validation"] == "structural"


def test_bootstrap_published_the_shipped_contracts(lake: Lake) -> None:
    from lakebox_infra.contract_files import contracts

    store = ContractStore(lake.target.clients.dynamodb, lake.names.metadata_table)
    for contract in contracts():
        assert store.published_version(contract.dataset) == contract.version
    assert {"default", "orders"} <= set(store.published_datasets())
