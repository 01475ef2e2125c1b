"""What `lakebox health` reads and shows, on plain values: an entry per mapped stage in registry order (closed when
the stage has no circuit yet), the shared dead-letter count read once, the JSON of an entry, why a held stage holds
its files, read once per stage whatever the number of files, and the table where an open circuit stands out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from lakebox.health.model import StageHealth, clock, held, held_files, holds, read_health
from lakebox.health.render import health_table
from lakebox_layer.circuits import Circuit, State
from lakebox_layer.records import FileStatus
from lakebox_layer.registry import Stage
from lakebox_layer.status import FileRow

NOW = datetime(2026, 12, 7, 10, 30, tzinfo=UTC).timestamp()
AT_10_02 = datetime(2026, 12, 7, 10, 2, 13, tzinfo=UTC).timestamp()
GLUE_DOWN = Circuit("curation", State.OPEN, "glue failing: 12 transient failures over 4 files in 2 min",
                    "transient", "glue", since=AT_10_02, cool_down_s=60, next_probe_at=AT_10_02 + 60, version=3)


@dataclass
class Circuits:
    """Circuits by stage (closed when absent), and every read made."""

    stored: dict[str, Circuit] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)

    def circuit(self, stage: str) -> Circuit:
        self.reads.append(stage)
        return self.stored.get(stage, Circuit(stage))


@dataclass
class Counts:
    dead_letter_reads: int = 0

    def waiting(self, stage: Stage) -> int | None:
        return None if stage is Stage.BATCHER else stage.order * 10

    def dead_letters(self) -> int:
        self.dead_letter_reads += 1
        return 4


def row(process_id: str, status: FileStatus, *stages: str) -> FileRow:
    return FileRow(f"input/{process_id}.json", status, None, [], None, process_id, stages=stages)


def test_an_entry_per_mapped_stage_in_registry_order_closed_without_a_circuit() -> None:
    counts = Counts()
    entries = read_health(Circuits({"curation": GLUE_DOWN}), counts)

    assert [e.stage for e in entries] == ["ingestion", "validation", "quality", "curation", "batcher"]
    assert [e.state for e in entries] == [State.CLOSED] * 3 + [State.OPEN, State.CLOSED]
    assert [e.waiting for e in entries] == [10, 20, 30, 40, None]
    assert {e.dead_letters for e in entries} == {4} and counts.dead_letter_reads == 1


def test_an_entry_as_json() -> None:
    [_, _, _, curation, batcher] = read_health(Circuits({"curation": GLUE_DOWN}), Counts())

    assert curation.to_json() == {
        "stage": "curation", "state": "open", "reason": GLUE_DOWN.reason, "since": "2026-12-07T10:02:13Z",
        "next_probe": "2026-12-07T10:03:13Z", "failure_class": "transient", "dependency": "glue", "waiting": 40,
        "dead_letters": 4}
    assert batcher.to_json() == {
        "stage": "batcher", "state": "closed", "reason": None, "since": None, "next_probe": None,
        "failure_class": None, "dependency": None, "waiting": None, "dead_letters": 4}


@pytest.mark.parametrize(("circuit", "says"), [
    (GLUE_DOWN, "curation paused since 10:02 UTC, glue failing"),
    (Circuit("quality", State.OPEN, "code failing", "code", since=AT_10_02),
     "quality paused since 10:02 UTC, its code failing"),
    (Circuit("curation", State.OPEN, "glue upgrade", "manual", "glue", since=AT_10_02),
     "curation paused by hand since 10:02 UTC: glue upgrade"),
    (Circuit("curation", State.HALF_OPEN, "glue answered a probe: trying a few files", "transient", "glue",
             since=AT_10_02), "curation half-open since 10:02 UTC: glue answered a probe: trying a few files"),
    (Circuit("curation", State.CLOSED, "resumed by hand", since=AT_10_02), None),
])
def test_why_a_stage_holds_its_files(circuit: Circuit, says: str | None) -> None:
    assert held(circuit, NOW) == says


def test_a_time_of_another_day_names_its_date() -> None:
    assert clock(AT_10_02, NOW) == "10:02 UTC"
    assert clock(AT_10_02 - 86_400, NOW) == "2026-12-06 10:02 UTC"


def test_the_circuits_are_read_once_per_stage_waited_for() -> None:
    circuits = Circuits({"curation": GLUE_DOWN})
    rows = [row("p1", FileStatus.PROCESSED, "ingestion", "validation", "quality"),  # awaits curation
            row("p2", FileStatus.PROCESSED, "ingestion", "validation", "quality"),
            row("p3", FileStatus.IN_PROGRESS, "ingestion"),  # awaits validation, which is closed
            row("p4", FileStatus.QUARANTINED, "ingestion", "validation", "quality"),  # finished
            row("p5", FileStatus.PROCESSED, "ingestion", "validation", "quality", "curation")]  # finished

    found = held_files(circuits, rows, NOW)

    assert found == {"p1": "curation paused since 10:02 UTC, glue failing",
                     "p2": "curation paused since 10:02 UTC, glue failing"}
    assert sorted(circuits.reads) == ["curation", "validation"]


def test_finished_files_read_no_circuit() -> None:
    circuits = Circuits({"curation": GLUE_DOWN})
    done = row("p1", FileStatus.PROCESSED, "ingestion", "validation", "quality", "curation")
    assert held_files(circuits, [done], NOW) == {}
    assert holds(circuits, [None, Stage.HEALER], NOW) == {}
    assert circuits.reads == []


def test_the_table_makes_an_open_circuit_stand_out_and_names_the_shared_dead_letters() -> None:
    entries = read_health(Circuits({"curation": GLUE_DOWN}), Counts())

    table = health_table(entries, NOW)

    assert [r.style for r in table.rows] == ["", "", "", "bold red", ""]
    stages, states = (list(map(str, table.columns[n]._cells)) for n in (0, 1))
    assert stages == ["ingestion", "validation", "quality", "curation", "batcher"]
    assert states == ["closed", "closed", "closed", "open", "closed"]
    assert [str(c) for c in table.columns[3]._cells][3] == "transient (glue)"
    assert [str(c) for c in table.columns[5]._cells] == ["10", "20", "30", "40", "(stream)"]
    assert table.caption == "dead-letter queue (shared by every stage): 4 messages"


def test_an_entry_of_a_half_open_circuit_is_yellow() -> None:
    half_open = StageHealth.of(Circuit("curation", State.HALF_OPEN, "trying", "transient", "glue"), 3, 0)
    assert [r.style for r in health_table([half_open], NOW).rows] == ["yellow"]
