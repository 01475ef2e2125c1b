"""One circuit per stage: when a stage's failures say a dependency is down (or its code is broken), stop feeding it,
probe the dependency, let a few files through, and resume. Pure, no AWS, no clock: `now` is always given.

Each invocation of a stage adds to its minute's health counters (a :class:`Minute`, keyed by the minute's start).
Every minute the healer reads the stage's circuit and recent minutes, and asks

    step(circuit, Window.of(minutes, window_start(circuit, now, thresholds)), now, thresholds, code_version)

A :class:`Decision` is the circuit to store (only when `changed`, on the condition that the stored version is still
`previous_version`), the actions to carry out on the stage's event source mapping, and the alerts to publish.

    CLOSED --(a dependency's transient failures, or code failures, fill the window)--> OPEN       PAUSE
    OPEN (transient) --(cool-down over)--> PROBE; probed(ok) --> HALF_OPEN                    ENABLE_SMALL
                                              probed(not ok) --> OPEN, cool-down doubled
    HALF_OPEN --(a transient failure against the dependency)--> OPEN, cool-down doubled           PAUSE
    HALF_OPEN --(clean_files_to_close files succeed)--> CLOSED                          RESTORE, REDRIVE
    CLOSED --(broken: the function fails before it reads its batch)--> OPEN (code)              PAUSE
    OPEN (code) --(a new code version)--> CLOSED                                                RESTORE
    pause --> OPEN (manual), never probed; resume --> CLOSED                    RESTORE (+ REDRIVE)

Failure classes are `failures.FailureClass` values, taken here as plain strings: "file" (the file is bad: never
opens anything), "transient" (a dependency failed) and "code" (the function failed); a circuit's class may also be
"manual" (`lakebox pause`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

FILE = "file"
TRANSIENT = "transient"
CODE = "code"
MANUAL = "manual"

# (failure class, dependency): the dependency is a boto3 service name ("glue"), None when none is to blame.
FailureKey = tuple[str, str | None]


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Action(StrEnum):
    """What the healer does to the stage's event source mapping (or its dead letters)."""

    PAUSE = "pause"  # disable the mapping: the stage's messages wait in its queue
    PROBE = "probe"  # probe the dependency now, then call `probed` with the result
    ENABLE_SMALL = "enable_small"  # enable the mapping with probe_batch_size and probe_concurrency
    RESTORE = "restore"  # enable the mapping with the stage's declared batch size and concurrency
    REDRIVE = "redrive"  # send the incident's dead letters back to the stage's queue


@dataclass(frozen=True)
class Thresholds:
    """When a circuit opens, how long it waits, when it closes, when an incident is called persistent."""

    # Counters older than this are not looked at while closed (a minute counts when it starts within it).
    window_s: float = 120
    # A dependency's transient failures in the window, to open...
    min_failures: int = 10
    # ... when they are at least this share of the stage's work (all failures and successes) in the window ...
    min_share: float = 0.5
    # ... over at least this many distinct files.
    min_files: int = 3
    # Code failures over this many distinct files, with min_share of the work, open the code circuit.
    code_min_files: int = 3
    # The first cool-down before a probe; it doubles on each failed probe and each reopen, up to max_cool_down_s.
    cool_down_s: float = 60
    max_cool_down_s: float = 960
    # Files that succeed while half-open, with no transient failure against the dependency, to close.
    clean_files_to_close: int = 3
    # Open (or half-open) this long, or reopened this many times: one "persistent" alert per incident.
    persistent_after_s: float = 1800
    persistent_reopens: int = 3
    # The mapping's batch size and concurrency while half-open.
    probe_batch_size: int = 1
    probe_concurrency: int = 2

    def __post_init__(self) -> None:
        if not 0 < self.min_share <= 1:
            raise ValueError(f"min_share must be in (0, 1], not {self.min_share}")
        if not 0 < self.cool_down_s <= self.max_cool_down_s:
            raise ValueError(f"cool-downs must be 0 < {self.cool_down_s} <= {self.max_cool_down_s}")
        counts = (self.min_failures, self.min_files, self.code_min_files, self.clean_files_to_close,
                  self.persistent_reopens, self.probe_batch_size, self.probe_concurrency)
        if min(counts) < 1 or self.window_s <= 0 or self.persistent_after_s <= 0:
            raise ValueError("counts, the window and persistent_after_s must be positive")


@dataclass(frozen=True)
class Minute:
    """One minute of a stage's health counters: `at` is the minute's start (epoch seconds), the counts are of the
    invocations that ended in it."""

    at: float
    successes: int = 0
    failures: Mapping[FailureKey, int] = field(default_factory=dict)
    failed_files: Mapping[FailureKey, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Window:
    """What a stage's counters say from `since` on: the sum of the minutes that start at or after it."""

    successes: int = 0  # files that succeeded
    failures: Mapping[FailureKey, int] = field(default_factory=dict)  # failed attempts
    failed_files: Mapping[FailureKey, frozenset[str]] = field(default_factory=dict)  # distinct file ids
    # The start the minutes were counted from; -inf: unknown (refused while half-open).
    since: float = float("-inf")

    @classmethod
    def of(cls, minutes: Iterable[Minute], since: float, successes_since: float | None = None) -> Window:
        """The sum of the minutes starting at or after `since` (build it with :func:`window_start`); successes from
        `successes_since` on where given (see :func:`successes_start`)."""
        failures: dict[FailureKey, int] = {}
        files: dict[FailureKey, frozenset[str]] = {}
        minutes, start = list(minutes), since if successes_since is None else successes_since
        successes = sum(m.successes for m in minutes if m.at >= start)
        for minute in (m for m in minutes if m.at >= since):
            for (failure_class, dependency), count in minute.failures.items():
                key = (str(failure_class), dependency)
                failures[key] = failures.get(key, 0) + count
            for (failure_class, dependency), ids in minute.failed_files.items():
                key = (str(failure_class), dependency)
                files[key] = files.get(key, frozenset()) | ids
        return cls(successes, failures, files, since)

    @property
    def work(self) -> int:
        """Successes and failed attempts: what a share is a share of."""
        return self.successes + sum(self.failures.values())

    def of_class(self, failure_class: str) -> tuple[int, frozenset[str]]:
        """Failed attempts and distinct failed files of one class, whatever the dependency."""
        count = sum(n for (c, _), n in self.failures.items() if c == failure_class)
        files = frozenset().union(*(ids for (c, _), ids in self.failed_files.items() if c == failure_class))
        return count, files


@dataclass(frozen=True)
class Circuit:
    """One stage's circuit, as the healer stores it. An incident runs from opening to closing, across reopens."""

    stage: str
    state: State = State.CLOSED
    reason: str | None = None
    failure_class: str | None = None  # "transient" (dependency down), "code", or "manual" (lakebox pause)
    # The dependency a transient incident is against; kept when `pause` makes the incident manual (resume redrives).
    dependency: str | None = None
    since: float | None = None  # when the current state began
    cool_down_s: float | None = None
    next_probe_at: float | None = None  # None while closed or half-open, and for code and manual circuits
    reopens: int = 0  # reopened from half-open in this incident
    clean_files: int = 0  # successes counted while half-open
    half_open_since: float | None = None  # counters from before this are not the probe's
    persistent_alerted: bool = False
    opened_at: float | None = None  # start of the incident (kept across reopens)
    code_version: str | None = None  # the function's code version when a code circuit opened
    version: int = 0  # bumped on every change: the healer's conditional write compares it


@dataclass(frozen=True)
class Alert:
    """A notice for people; the healer adds how many files wait when it publishes it."""

    stage: str
    state: State
    failure_class: str | None
    dependency: str | None
    reason: str | None
    persistent: bool = False


@dataclass(frozen=True)
class Decision:
    """The circuit to store, what to do, what to say. Store the circuit only when `changed`, on the condition that
    the stored version is still `previous_version` (another healer may have moved it); carry out the actions even
    when it has not changed (a probe, or a pause or resume asked again)."""

    circuit: Circuit
    actions: tuple[Action, ...]
    alerts: tuple[Alert, ...]
    previous_version: int

    @property
    def changed(self) -> bool:
        return self.circuit.version != self.previous_version


def window_start(circuit: Circuit, now: float, thresholds: Thresholds = Thresholds()) -> float:
    """Where the window handed to `step` starts: half_open_since while half-open, else `window_s` back from now."""
    if circuit.state is State.HALF_OPEN and circuit.half_open_since is not None:
        return circuit.half_open_since
    return now - thresholds.window_s


def successes_start(circuit: Circuit, now: float, thresholds: Thresholds = Thresholds()) -> float:
    """Where the window's successes start: while half-open, the start of the minute it half-opened in. A success
    there was served after the circuit opened (the mapping was paused since: at most a call still running), so it
    counts; a failure there may be such a stale call and does not. Else a backlog drained in that minute would leave
    the circuit half-open for good."""
    if circuit.state is State.HALF_OPEN and circuit.half_open_since is not None:
        return circuit.half_open_since - circuit.half_open_since % 60
    return window_start(circuit, now, thresholds)


def step(circuit: Circuit, window: Window, now: float, thresholds: Thresholds = Thresholds(),
         code_version: str | None = None) -> Decision:
    """What the window's counters mean for the circuit now. `code_version` is the stage function's current one.
    A half-open circuit refuses a window that starts before half_open_since (its failures would not be the probe's).
    """
    if circuit.state is State.HALF_OPEN and window.since < (circuit.half_open_since or 0):
        raise ValueError(f"{circuit.stage}: a half-open circuit's window starts at half_open_since "
                         f"({circuit.half_open_since}), not {window.since}")
    if circuit.state is State.CLOSED:
        return _closed(circuit, window, now, thresholds, code_version)
    if circuit.failure_class == CODE and None not in (circuit.code_version, code_version) \
            and code_version != circuit.code_version:
        reason = f"code version {code_version} deployed (the failures were on {circuit.code_version})"
        return _close(circuit, reason, now, (Action.RESTORE,))
    if circuit.failure_class != TRANSIENT:  # code awaiting a deployment, or manual: only `resume` closes them
        decision = _unchanged(circuit)
    elif circuit.state is State.HALF_OPEN:
        decision = _half_open(circuit, window, now, thresholds)
    elif now >= (circuit.next_probe_at or now):
        decision = Decision(circuit, (Action.PROBE,), (), circuit.version)
    else:
        decision = _unchanged(circuit)
    return _with_persistent(decision, now, thresholds)


def probed(circuit: Circuit, ok: bool, now: float, thresholds: Thresholds = Thresholds()) -> Decision:
    """The result of the probe `step` asked for: the dependency answered (half-open: a few files through) or not
    (the cool-down doubles). Ignored unless the circuit is open on a transient failure."""
    if circuit.state is not State.OPEN or circuit.failure_class != TRANSIENT:
        return _unchanged(circuit)
    if ok:
        half_open = _changed(circuit, state=State.HALF_OPEN, since=now, next_probe_at=None, half_open_since=now,
                             clean_files=0, reason=f"{circuit.dependency} answered a probe: trying a few files")
        decision = Decision(half_open, (Action.ENABLE_SMALL,), (_alert(half_open),), circuit.version)
    else:
        cool_down = _doubled(circuit, thresholds)
        decision = Decision(_changed(circuit, cool_down_s=cool_down, next_probe_at=now + cool_down), (), (),
                            circuit.version)
    return _with_persistent(decision, now, thresholds)


def broken(circuit: Circuit, reason: str, now: float, code_version: str | None = None) -> Decision:
    """The stage's function fails before it reads a batch (a broken package, a missing handler): it counts nothing,
    so its window stays empty; the code circuit opens at once. A circuit already open or half-open stays as it is."""
    if circuit.state is not State.CLOSED:
        return _unchanged(circuit)
    return _open(circuit, now, CODE, None, reason, code_version=code_version)


def pause(circuit: Circuit, reason: str, now: float) -> Decision:
    """`lakebox pause`: open the circuit by hand; it is never probed and only `resume` closes it. An incident under
    way stays the same incident."""
    if circuit.state is State.OPEN and circuit.failure_class == MANUAL:
        paused = circuit if reason == circuit.reason else _changed(circuit, reason=reason)
        return Decision(paused, (Action.PAUSE,), (), circuit.version)
    incident = circuit.state is not State.CLOSED
    paused = _changed(
        circuit, state=State.OPEN, failure_class=MANUAL, reason=reason, next_probe_at=None, half_open_since=None,
        clean_files=0, since=circuit.since if circuit.state is State.OPEN else now,
        opened_at=circuit.opened_at if incident else now, dependency=circuit.dependency if incident else None)
    return Decision(paused, (Action.PAUSE,), (_alert(paused),), circuit.version)


def resume(circuit: Circuit, now: float) -> Decision:
    """`lakebox resume`: close the circuit, restore the mapping, and redrive the dead letters of a transient
    incident (one with a dependency). A closed circuit only has its mapping restored."""
    if circuit.state is State.CLOSED:
        return Decision(circuit, (Action.RESTORE,), (), circuit.version)
    actions = (Action.RESTORE, Action.REDRIVE) if circuit.dependency is not None else (Action.RESTORE,)
    return _close(circuit, "resumed by hand", now, actions)


def _closed(circuit: Circuit, window: Window, now: float, thresholds: Thresholds,
            code_version: str | None) -> Decision:
    """Open on the dependency with the most transient failures that fill the window, else on code failures."""

    def fills(count: int, files: int, min_files: int) -> bool:
        return count >= thresholds.min_share * window.work and files >= min_files

    def reason(subject: str, failure_class: str, count: int, files: int) -> str:
        return (f"{subject} failing: {count} {failure_class} failures over {_files(files)} in "
                f"{thresholds.window_s / 60:g} min ({count} of {window.work} attempts)")

    down = []
    for (failure_class, dependency), count in window.failures.items():
        files = len(window.failed_files.get((failure_class, dependency), ()))
        if (failure_class == TRANSIENT and dependency is not None and count >= thresholds.min_failures
                and fills(count, files, thresholds.min_files)):
            down.append((count, files, dependency))
    if down:
        count, files, dependency = max(down)  # the most failures; on a tie, the most files
        return _open(circuit, now, TRANSIENT, dependency, reason(dependency, TRANSIENT, count, files),
                     cool_down_s=thresholds.cool_down_s, next_probe_at=now + thresholds.cool_down_s)
    count, failed = window.of_class(CODE)
    if count and fills(count, len(failed), thresholds.code_min_files):
        version = f", version {code_version}" if code_version else ""
        return _open(circuit, now, CODE, None, reason("code", CODE, count, len(failed)) + version,
                     code_version=code_version)
    return _unchanged(circuit)


def _half_open(circuit: Circuit, window: Window, now: float, thresholds: Thresholds) -> Decision:
    """Reopen on any transient failure against the dependency; close once enough files got through."""
    key = (TRANSIENT, circuit.dependency)
    if failures := window.failures.get(key, 0):
        cool_down = _doubled(circuit, thresholds)
        files = len(window.failed_files.get(key, ()))
        reopened = _changed(
            circuit, state=State.OPEN, since=now, cool_down_s=cool_down, next_probe_at=now + cool_down,
            half_open_since=None, clean_files=0, reopens=circuit.reopens + 1,
            reason=f"{circuit.dependency} failing again while half-open: {failures} transient failures "
                   f"over {_files(files)}")
        return Decision(reopened, (Action.PAUSE,), (_alert(reopened),), circuit.version)
    # A recount of every minute since half-open, so a second look at the same minutes adds nothing.
    clean = max(circuit.clean_files, window.successes)
    if clean >= thresholds.clean_files_to_close:
        return _close(circuit, f"{circuit.dependency} recovered: {_files(clean)} succeeded while half-open", now,
                      (Action.RESTORE, Action.REDRIVE))
    if clean != circuit.clean_files:
        return Decision(_changed(circuit, clean_files=clean), (), (), circuit.version)
    return _unchanged(circuit)


def _open(circuit: Circuit, now: float, failure_class: str, dependency: str | None, reason: str,
          **incident: Any) -> Decision:
    """A new incident: nothing of an earlier one carries over."""
    opened = Circuit(circuit.stage, State.OPEN, reason, failure_class, dependency, since=now, opened_at=now,
                     version=circuit.version + 1, **incident)
    return Decision(opened, (Action.PAUSE,), (_alert(opened),), circuit.version)


def _close(circuit: Circuit, reason: str, now: float, actions: tuple[Action, ...]) -> Decision:
    """Closed, the incident forgotten; the alert names what it was."""
    closed = Circuit(circuit.stage, State.CLOSED, reason=reason, since=now, version=circuit.version + 1)
    alert = Alert(circuit.stage, State.CLOSED, circuit.failure_class, circuit.dependency, reason)
    return Decision(closed, actions, (alert,), circuit.version)


def _with_persistent(decision: Decision, now: float, thresholds: Thresholds) -> Decision:
    """Add the incident's one persistent alert when it has lasted or reopened too long (never for a manual one:
    someone paused it)."""
    circuit = decision.circuit
    if (circuit.state is State.CLOSED or circuit.failure_class == MANUAL or circuit.persistent_alerted
            or circuit.opened_at is None):
        return decision
    lasted = now - circuit.opened_at
    if lasted < thresholds.persistent_after_s and circuit.reopens < thresholds.persistent_reopens:
        return decision
    alerted = replace(circuit, persistent_alerted=True, version=decision.previous_version + 1)
    subject = circuit.dependency if circuit.failure_class == TRANSIENT else circuit.failure_class
    reopened = f", reopened {circuit.reopens} times" if circuit.reopens else ""
    reason = f"{subject} still failing after {lasted / 60:.0f} min{reopened}"
    alert = replace(_alert(alerted), reason=reason, persistent=True)
    return replace(decision, circuit=alerted, alerts=(*decision.alerts, alert))


def _changed(circuit: Circuit, **changes: Any) -> Circuit:
    return replace(circuit, **{"version": circuit.version + 1, **changes})


def _unchanged(circuit: Circuit) -> Decision:
    return Decision(circuit, (), (), circuit.version)


def _doubled(circuit: Circuit, thresholds: Thresholds) -> float:
    return min((circuit.cool_down_s or thresholds.cool_down_s) * 2, thresholds.max_cool_down_s)


def _alert(circuit: Circuit) -> Alert:
    return Alert(circuit.stage, circuit.state, circuit.failure_class, circuit.dependency, circuit.reason)


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"
