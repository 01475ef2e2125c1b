"""The demo's streamed part says plainly where the readings did not end as sent."""

from __future__ import annotations

from datetime import UTC, datetime

from lakebox.demo.samples import StreamDemo
from lakebox.send.entries import Sent
from lakebox.send.landing import Landed, StreamFile
from lakebox.send.sensor_sample import sensor_sample
from lakebox_layer.records import FileStatus, RawObject
from lakebox_layer.status import FileRow
from lakebox_layer.stream_puts import SendReport

SAMPLE = sensor_sample(1_000, invalid_every=10, poison_every=250).report()
SENT = Sent("sensors", SendReport("lakebox-ingest", sent=1_004), datetime(2026, 1, 1, tzinfo=UTC))


def landed(*files: tuple[int, int, FileStatus], poison: int = 4) -> Landed:
    found = []
    for n, (total, valid, status) in enumerate(files):
        key = f"input/sensors/stream/2026/01/01/00/shardId-000000000000-{n}0-{n}9.jsonl"
        raw = RawObject("raw", key, "etag", 10, "v1")
        row = FileRow(key, status, 90.0, [], None, raw.process_id, records_total=total, records_valid=valid)
        found.append((StreamFile(raw, "shardId-000000000000", f"{n}0", f"{n}9"), row))
    return Landed(found, ["quarantine/stream/x.jsonl"] if poison else [], poison)


def test_readings_that_all_landed_as_sent_are_not_unexpected() -> None:
    demo = StreamDemo(SENT, SAMPLE, landed((600, 540, FileStatus.PROCESSED), (400, 360, FileStatus.PROCESSED)))

    assert demo.unexpected == []
    assert demo.summary() == ("1000 readings streamed into 2 raw file(s): 900 valid, 100 quarantined with their "
                              "errors, 4 malformed record(s) set aside")


def test_missing_readings_a_wrong_invalid_count_lost_poison_and_a_failed_file_are_each_named() -> None:
    demo = StreamDemo(SENT, SAMPLE, landed((600, 545, FileStatus.PROCESSED), (390, 350, FileStatus.FAILED),
                                           poison=3))

    assert demo.unexpected == [
        "readings in raw files: 990, expected 1000",
        "invalid readings: 95, expected 100",
        "malformed records set aside: 3, expected 4",
        "input/sensors/stream/2026/01/01/00/shardId-000000000000-10-19.jsonl is failed",
    ]
