"""A stage's circuit: what its failures open, how it probes, reopens and closes, what it says, how it is stored."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakebox_layer.circuits import (
    CODE,
    FILE,
    MANUAL,
    TRANSIENT,
    Action,
    Alert,
    Circuit,
    Decision,
    Minute,
    State,
    Thresholds,
    Window,
    pause,
    probed,
    resume,
    step,
    successes_start,
    window_start,
)

STAGE = "curation"
# The clock: epoch seconds on a minute's start.
T0 = 1_800_000_000.0
Failed = tuple[str, str | None, str]  # one failed attempt: (class, dependency, file id)
DEFAULTS = Thresholds()


def attempts(failure_class: str, dependency: str | None, files: int, count: int | None = None) -> list[Failed]:
    """`count` failed attempts (one per file by default) spread over `files` distinct files."""
    return [(failure_class, dependency, f"file-{i % files}") for i in range(files if count is None else count)]


def minute(at: float, successes: int = 0, failed: Iterable[Failed] = ()) -> Minute:
    failed = list(failed)
    files: dict[tuple[str, str | None], set[str]] = {}
    for failure_class, dependency, file_id in failed:
        files.setdefault((failure_class, dependency), set()).add(file_id)
    return Minute(at, successes, Counter((c, d) for c, d, _ in failed),
                  {key: frozenset(ids) for key, ids in files.items()})


def seen(circuit: Circuit, now: float, successes: int = 0, failed: Iterable[Failed] = (),
         thresholds: Thresholds = DEFAULTS, code_version: str | None = None) -> Decision:
    """What the healer does at `now`: the counters of the minute starting now, summed from `window_start`."""
    window = Window.of([minute(now, successes, failed)], window_start(circuit, now, thresholds))
    return step(circuit, window, now, thresholds, code_version)


def open_on_glue(now: float = T0) -> Circuit:
    return seen(Circuit(STAGE), now, 2, attempts(TRANSIENT, "glue", 4, 12)).circuit


def half_open_on_glue(now: float = T0 + 60) -> Circuit:
    return probed(open_on_glue(), True, now).circuit


def test_a_dependency_that_fills_the_window_opens_the_circuit() -> None:
    decision = seen(Circuit(STAGE), T0, 2, attempts(TRANSIENT, "glue", 4, 12))
    reason = "glue failing: 12 transient failures over 4 files in 2 min (12 of 14 attempts)"
    assert decision.circuit == Circuit(STAGE, State.OPEN, reason, TRANSIENT, "glue", since=T0, cool_down_s=60,
                                       next_probe_at=T0 + 60, opened_at=T0, version=1)
    assert decision.actions == (Action.PAUSE,)
    assert decision.alerts == (Alert(STAGE, State.OPEN, TRANSIENT, "glue", reason),)
    assert decision.changed and decision.previous_version == 0


def test_the_dependency_with_the_most_failures_is_the_one_opened_on() -> None:
    failed = attempts(TRANSIENT, "glue", 4, 12) + attempts(TRANSIENT, "s3", 5, 15)
    decision = seen(Circuit(STAGE), T0, 0, failed, Thresholds(min_share=0.3))
    assert decision.circuit.dependency == "s3"


@pytest.mark.parametrize(("successes", "failed"), [
    pytest.param(0, attempts(FILE, None, 500), id="a burst of bad files"),
    pytest.param(0, attempts(FILE, "s3", 500), id="bad files, whatever the dependency"),
    pytest.param(13, attempts(TRANSIENT, "glue", 4, 12), id="below min_share"),
    pytest.param(0, attempts(TRANSIENT, "glue", 2, 20), id="fewer than min_files files"),
    pytest.param(0, attempts(TRANSIENT, "glue", 9), id="fewer than min_failures"),
    pytest.param(0, attempts(TRANSIENT, None, 20), id="transient with no dependency"),
    pytest.param(0, attempts(CODE, None, 2, 30), id="code failures on fewer than code_min_files files"),
    pytest.param(5, attempts(CODE, None, 4), id="code failures below min_share"),
])
def test_what_opens_no_circuit(successes: int, failed: list[Failed]) -> None:
    closed = Circuit(STAGE)
    assert seen(closed, T0, successes, failed) == Decision(closed, (), (), 0)


def test_code_failures_open_a_circuit_that_is_never_probed() -> None:
    decision = seen(Circuit(STAGE), T0, 1, attempts(CODE, None, 4), code_version="7")
    opened = decision.circuit
    assert (opened.state, opened.failure_class, opened.code_version, opened.next_probe_at) == (State.OPEN, CODE, "7",
                                                                                              None)
    assert decision.actions == (Action.PAUSE,)
    assert opened.reason == "code failing: 4 code failures over 4 files in 2 min (4 of 5 attempts), version 7"
    for code_version in ("7", None):
        later = seen(opened, T0 + 600, code_version=code_version)
        assert later == Decision(opened, (), (), opened.version)


def test_a_new_code_version_closes_the_code_circuit() -> None:
    opened = seen(Circuit(STAGE), T0, 0, attempts(CODE, None, 4), code_version="7").circuit
    decision = seen(opened, T0 + 300, code_version="8")
    assert decision.circuit == Circuit(STAGE, State.CLOSED, "code version 8 deployed (the failures were on 7)",
                                       since=T0 + 300, version=2)
    assert decision.actions == (Action.RESTORE,)
    assert decision.alerts == (Alert(STAGE, State.CLOSED, CODE, None, decision.circuit.reason),)


def test_an_open_circuit_asks_for_a_probe_once_its_cool_down_is_over() -> None:
    opened = open_on_glue()
    assert seen(opened, T0 + 59, 0, attempts(TRANSIENT, "glue", 5)) == Decision(opened, (), (), 1)
    assert seen(opened, T0 + 60) == Decision(opened, (Action.PROBE,), (), 1)


def test_a_probe_that_answers_half_opens_the_circuit() -> None:
    decision = probed(open_on_glue(), True, T0 + 60)
    half_open = decision.circuit
    assert (half_open.state, half_open.half_open_since, half_open.next_probe_at) == (State.HALF_OPEN, T0 + 60, None)
    assert (half_open.clean_files, half_open.reopens, half_open.version) == (0, 0, 2)
    assert decision.actions == (Action.ENABLE_SMALL,)
    assert [alert.state for alert in decision.alerts] == [State.HALF_OPEN]


def test_a_failed_probe_doubles_the_cool_down_without_counting_a_reopen() -> None:
    decision = probed(open_on_glue(), False, T0 + 60)
    assert (decision.circuit.state, decision.circuit.cool_down_s, decision.circuit.next_probe_at) == (
        State.OPEN, 120, T0 + 180)
    assert (decision.circuit.reopens, decision.actions, decision.alerts) == (0, (), ())
    assert decision.changed


def test_a_failure_against_the_dependency_while_half_open_reopens() -> None:
    decision = seen(half_open_on_glue(), T0 + 120, 5, attempts(TRANSIENT, "glue", 1))
    reopened = decision.circuit
    assert (reopened.state, reopened.reopens, reopened.cool_down_s, reopened.next_probe_at) == (
        State.OPEN, 1, 120, T0 + 240)
    assert (reopened.half_open_since, reopened.opened_at) == (None, T0)
    assert decision.actions == (Action.PAUSE,)
    assert reopened.reason == "glue failing again while half-open: 1 transient failures over 1 file"
    assert [alert.state for alert in decision.alerts] == [State.OPEN]


def test_other_failures_while_half_open_neither_reopen_nor_count_as_clean() -> None:
    half_open = half_open_on_glue()
    failed = attempts(TRANSIENT, "s3", 5) + attempts(FILE, None, 5) + attempts(CODE, None, 5)
    assert seen(half_open, T0 + 120, 0, failed) == Decision(half_open, (), (), half_open.version)


def test_clean_files_while_half_open_close_the_circuit_and_redrive() -> None:
    half_open = half_open_on_glue()
    counting = seen(half_open, T0 + 120, 2)
    assert (counting.circuit.state, counting.circuit.clean_files, counting.actions) == (State.HALF_OPEN, 2, ())
    # The healer looks again at the same minutes: a recount, not two more files.
    assert not seen(counting.circuit, T0 + 120, 2).changed
    closing = step(counting.circuit, Window.of([minute(T0 + 120, 2), minute(T0 + 180, 1)], T0 + 60), T0 + 180)
    assert closing.circuit == Circuit(STAGE, State.CLOSED, "glue recovered: 3 files succeeded while half-open",
                                      since=T0 + 180, version=4)
    assert closing.actions == (Action.RESTORE, Action.REDRIVE)
    assert closing.alerts == (Alert(STAGE, State.CLOSED, TRANSIENT, "glue", closing.circuit.reason),)


def test_counters_from_before_half_open_are_not_the_probes() -> None:
    half_open = half_open_on_glue(T0 + 90)
    minutes = [minute(T0 + 60, 0, attempts(TRANSIENT, "glue", 5)), minute(T0 + 120, 1)]
    window = Window.of(minutes, window_start(half_open, T0 + 150))
    assert (window.since, window.successes, dict(window.failures)) == (T0 + 90, 1, {})
    assert step(half_open, window, T0 + 150).circuit.state is State.HALF_OPEN
    with pytest.raises(ValueError, match="half_open_since"):
        step(half_open, Window.of(minutes, T0 + 30), T0 + 150)


def test_a_backlog_drained_in_the_minute_it_half_opened_closes_it() -> None:
    """Its successes count from the start of that minute (served after the pause); its failures do not."""
    half_open = half_open_on_glue(T0 + 90)
    assert successes_start(half_open, T0 + 150) == T0 + 60
    minutes = [minute(T0 + 60, 9, attempts(TRANSIENT, "glue", 2))]
    window = Window.of(minutes, window_start(half_open, T0 + 150), successes_start(half_open, T0 + 150))
    assert (window.successes, dict(window.failures)) == (9, {})
    assert step(half_open, window, T0 + 150).circuit.state is State.CLOSED


def test_the_cool_down_doubles_on_each_reopen_up_to_its_cap() -> None:
    circuit, now, cool_downs = open_on_glue(), T0, []
    for _ in range(6):
        now = circuit.next_probe_at or now
        circuit = probed(circuit, True, now).circuit
        circuit = seen(circuit, now, 0, attempts(TRANSIENT, "glue", 1)).circuit
        cool_downs.append(circuit.cool_down_s)
    assert cool_downs == [120, 240, 480, 960, 960, 960]
    assert (circuit.reopens, circuit.opened_at) == (6, T0)


def persistent(decision: Decision) -> list[Alert]:
    return [alert for alert in decision.alerts if alert.persistent]


def test_a_long_incident_gets_one_persistent_alert() -> None:
    opened = open_on_glue()
    assert persistent(seen(opened, T0 + 1799)) == []
    decision = seen(opened, T0 + 1800)
    assert persistent(decision) == [Alert(STAGE, State.OPEN, TRANSIENT, "glue", "glue still failing after 30 min",
                                          persistent=True)]
    assert decision.circuit.persistent_alerted and decision.circuit.version == opened.version + 1
    assert decision.actions == (Action.PROBE,)
    assert persistent(seen(decision.circuit, T0 + 1900)) == []
    assert persistent(probed(decision.circuit, False, T0 + 2000)) == []
    # Closing ends the incident: the next one may alert again.
    closed = resume(decision.circuit, T0 + 2100).circuit
    assert not closed.persistent_alerted
    assert len(persistent(seen(open_on_glue(T0 + 2200), T0 + 4000))) == 1


def test_a_circuit_that_keeps_reopening_gets_one_persistent_alert() -> None:
    circuit, now, alerts = open_on_glue(), T0, []
    for _ in range(5):
        now = circuit.next_probe_at or now
        circuit = probed(circuit, True, now).circuit
        decision = seen(circuit, now, 0, attempts(TRANSIENT, "glue", 1))
        circuit = decision.circuit
        alerts.append([alert.persistent for alert in decision.alerts])
    assert alerts == [[False], [False], [False, True], [False], [False]]


def test_a_code_circuit_waiting_for_a_deployment_is_called_persistent() -> None:
    opened = seen(Circuit(STAGE), T0, 0, attempts(CODE, None, 4), code_version="7").circuit
    assert [alert.reason for alert in persistent(seen(opened, T0 + 3600, code_version="7"))] == [
        "code still failing after 60 min"]


def test_a_manual_pause_holds_until_resumed() -> None:
    decision = pause(Circuit(STAGE), "glue migration", T0)
    paused = decision.circuit
    assert (paused.state, paused.failure_class, paused.reason, paused.next_probe_at) == (
        State.OPEN, MANUAL, "glue migration", None)
    assert decision.actions == (Action.PAUSE,)
    assert decision.alerts == (Alert(STAGE, State.OPEN, MANUAL, None, "glue migration"),)
    # Neither counters, nor time, nor a probe, nor a deployment move it; no persistent alert: someone paused it.
    for later in (seen(paused, T0 + 86_400, 100), seen(paused, T0 + 60, 0, attempts(TRANSIENT, "glue", 50)),
                  seen(paused, T0 + 60, code_version="8"), probed(paused, True, T0 + 60)):
        assert later == Decision(paused, (), (), paused.version)
    assert pause(paused, "glue migration", T0 + 60) == Decision(paused, (Action.PAUSE,), (), paused.version)
    resumed = resume(paused, T0 + 120)
    assert resumed.circuit == Circuit(STAGE, State.CLOSED, "resumed by hand", since=T0 + 120, version=2)
    assert resumed.actions == (Action.RESTORE,)
    assert resumed.alerts == (Alert(STAGE, State.CLOSED, MANUAL, None, "resumed by hand"),)


@pytest.mark.parametrize("during", [open_on_glue, half_open_on_glue])
def test_pausing_an_incident_keeps_it_and_resuming_redrives_it(during: Any) -> None:
    incident = during()
    decision = pause(incident, "hands off", T0 + 300)
    paused = decision.circuit
    assert (paused.state, paused.failure_class, paused.dependency, paused.opened_at) == (
        State.OPEN, MANUAL, "glue", T0)
    assert (paused.next_probe_at, paused.half_open_since, decision.actions) == (None, None, (Action.PAUSE,))
    assert resume(paused, T0 + 400).actions == (Action.RESTORE, Action.REDRIVE)


def test_resuming_a_closed_circuit_only_restores_its_mapping() -> None:
    closed = Circuit(STAGE)
    assert resume(closed, T0) == Decision(closed, (Action.RESTORE,), (), 0)
    assert resume(open_on_glue(), T0 + 10).actions == (Action.RESTORE, Action.REDRIVE)


def test_a_window_sums_the_minutes_from_its_start() -> None:
    minutes = [minute(T0 - 60, 9, attempts(TRANSIENT, "glue", 9)), minute(T0, 1, attempts(TRANSIENT, "glue", 2)),
               minute(T0 + 60, 2, attempts(TRANSIENT, "glue", 3) + attempts(FILE, None, 1))]
    window = Window.of(minutes, T0)
    assert (window.since, window.successes, window.work) == (T0, 3, 9)
    assert dict(window.failures) == {(TRANSIENT, "glue"): 5, (FILE, None): 1}
    assert window.failed_files[(TRANSIENT, "glue")] == frozenset({"file-0", "file-1", "file-2"})


@pytest.mark.parametrize("bad", [{"min_share": 0}, {"cool_down_s": 2000}, {"min_files": 0}, {"window_s": 0}])
def test_thresholds_refuse_what_cannot_work(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Thresholds(**bad)


# One minute of counters: (successes, failed attempts), as incidents make them, or at random.
MINUTES: list[tuple[int, list[Failed]]] = [
    (0, []), (1, []), (3, []), (1, attempts(TRANSIENT, "glue", 4, 12)), (0, attempts(TRANSIENT, "glue", 1)),
    (2, attempts(TRANSIENT, "s3", 5, 20)), (1, attempts(CODE, None, 4)), (0, attempts(FILE, None, 50))]
counters = st.one_of(st.sampled_from(MINUTES), st.builds(
    lambda successes, failure_class, dependency, files, count: (
        successes, attempts(failure_class, dependency, files, count)),
    st.integers(0, 20), st.sampled_from([TRANSIENT, CODE, FILE]), st.sampled_from(["glue", "s3", None]),
    st.integers(1, 6), st.integers(0, 30)))


@st.composite
def calls(draw: st.DrawFn) -> tuple[float, tuple[Any, ...]]:
    """The healer's or the CLI's next call, after a delay; steps and probes more often than pauses and resumes, so
    that sequences reach half-open, reopen and close on their own."""
    name = draw(st.sampled_from(["step"] * 6 + ["probed"] * 3 + ["pause", "resume"]))
    args = {"step": st.tuples(counters, st.sampled_from(["1", "2", None])), "probed": st.tuples(st.booleans()),
            "pause": st.tuples(st.sampled_from(["maintenance", "migration"])), "resume": st.tuples()}[name]
    return draw(st.floats(0, 900)), (name, *draw(args))


@settings(max_examples=300, deadline=None)
@given(st.lists(calls(), max_size=60))
def test_no_sequence_of_calls_breaks_the_circuits_invariants(sequence: list[tuple[float, tuple[Any, ...]]]) -> None:
    circuit, now, persistent_alerts = Circuit(STAGE), T0, 0
    for delay, (name, *args) in sequence:
        now += delay
        if name == "step":
            (successes, failed), code_version = args
            decision = seen(circuit, now, successes, failed, code_version=code_version)
        elif name == "probed":
            decision = probed(circuit, args[0], now)
        else:
            decision = pause(circuit, args[0], now) if name == "pause" else resume(circuit, now)
        after = decision.circuit
        assert decision.previous_version == circuit.version
        assert after.version == circuit.version + decision.changed
        assert decision.changed == (after != circuit)
        if after.state is not circuit.state:
            assert [alert.state for alert in decision.alerts if not alert.persistent] == [after.state]
        persistent_alerts = 0 if after.state is State.CLOSED else persistent_alerts + len(persistent(decision))
        assert persistent_alerts <= 1
        if after.state is State.CLOSED:
            assert (after.next_probe_at, after.opened_at, after.half_open_since) == (None, None, None)
        else:
            assert after.opened_at is not None
        assert (after.next_probe_at is not None) == (after.state is State.OPEN and after.failure_class == TRANSIENT)
        assert (after.half_open_since is not None) == (after.state is State.HALF_OPEN)
        circuit = after
