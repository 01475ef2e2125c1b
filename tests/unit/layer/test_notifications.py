"""objects_created: the raw objects an S3 notification names, keys decoded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lakebox.reconcile.redrive import s3_event
from lakebox_layer.notifications import objects_created
from lakebox_layer.records import RawObject

RAW_BUCKET = "lakebox-raw-000000000000-us-east-1"


def test_every_record_is_returned_in_order_with_decoded_keys(
    load_event: Callable[[str], dict[str, Any]],
) -> None:
    created = objects_created(load_event("s3_put_two_objects.json"))
    assert [item.raw for item in created] == [
        RawObject(RAW_BUCKET, "input/my file+1.csv", "d41d8cd98f00b204e9800998ecf8427e", 1024,
                  "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd"),
        # The quoted multipart etag loses its quotes, so it matches what HeadObject reports after stripping.
        RawObject(RAW_BUCKET, "input/sales/a b.json", "9b2cf535f27731c974343645a3985328-7", 52428800,
                  "096fKKXTRTtl3on89fVO.nfljtsv6qko"),
    ]
    assert [item.event_time for item in created] == ["2026-01-15T10:30:00.000Z", "2026-01-15T10:30:01.500Z"]
    assert [item.raw.dataset for item in created] == ["default", "sales"]


def test_unversioned_object_without_size_has_no_version_and_size_zero(
    load_event: Callable[[str], dict[str, Any]],
) -> None:
    event = load_event("s3_put_two_objects.json")
    obj = event["Records"][0]["s3"]["object"]
    del obj["versionId"], obj["size"]
    [first, _] = objects_created(event)
    assert first.raw.version_id is None
    assert first.raw.size == 0


def test_notification_with_no_records_names_no_objects() -> None:
    assert objects_created({"Records": []}) == []


def test_s3_test_event_names_no_objects(load_event: Callable[[str], dict[str, Any]]) -> None:
    # S3 sends `s3:TestEvent` (no "Records") when a notification is configured; the docstring of
    # objects_created promises "a test event without records gives none".
    assert objects_created(load_event("s3_test_event.json")) == []


def _shape(value: Any) -> Any:
    """The nested keys of a JSON document, without its values."""
    return {key: _shape(item) for key, item in value.items()} if isinstance(value, dict) else None


def test_redriven_event_has_the_shape_s3_sends_and_names_the_same_object(
    load_event: Callable[[str], dict[str, Any]],
) -> None:
    """`lakebox redrive` resubmits S3 events of its own making: they must parse like the ones S3 sends."""
    sent_by_s3 = load_event("s3_object_created.json")
    raw = RawObject("example-raw", "input/my file+1.json", "0123456789abcdef0123456789abcdef", 1, "1")
    redriven = s3_event(raw, "us-east-1")

    [expected] = sent_by_s3["Records"]
    [made] = redriven["Records"]
    assert set(_shape(made)) <= set(_shape(expected))
    assert set(_shape(made)["s3"]["object"]) <= set(_shape(expected)["s3"]["object"])
    assert [item.raw for item in objects_created(redriven)] == [raw]
