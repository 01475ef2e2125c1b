"""How `lakebox trace` and `lakebox logs` look on a terminal: a timeline table, a lineage tree, log lines; no AWS
calls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from lakebox.trace.logs import LogLine
from lakebox.trace.story import Lineage, Output, StageStep, Trace

_STATUS_STYLES = {"processed": "green", "received": "green", "recorded": "green", "curated": "green",
                  "quarantined": "yellow", "failed": "red", "pending": "cyan", "skipped": "dim"}
_LEVEL_STYLES = {"DEBUG": "dim", "INFO": "", "WARNING": "yellow", "ERROR": "red", "CRITICAL": "bold red",
                 "TEXT": "magenta"}
_EXISTS = {True: Text("✓", style="green"), False: Text("missing", style="red"), None: Text("?", style="dim")}


def _clock(text: str | None) -> str:
    """A record's time as HH:MM:SS.mmm (the date is in the header)."""
    if not text:
        return ""
    return datetime.fromisoformat(text).strftime("%H:%M:%S.%f")[:-3]


def _status(status: str) -> Text:
    return Text(status, style=_STATUS_STYLES.get(status, ""))


def _facts(trace: Trace) -> Table:
    raw = trace.raw
    facts = Table(show_header=False, box=None, pad_edge=False)
    which = "the latest" if raw.process_id == trace.versions[0].process_id else "an earlier one"
    versions = f"{len(trace.versions)} (tracing {which})"
    rows = [("key", raw.key), ("process id", raw.process_id), ("status", _status(trace.status)),
            ("dataset", trace.dataset or ""),
            ("contract", f"{trace.contract_version or 'none'}" + (f" ({trace.mode} mode)" if trace.mode else "")),
            ("raw object", f"s3://{trace.raw_bucket}/{raw.key}" + ("" if raw.in_s3 else " (gone from S3)")),
            ("version", raw.version_id or "none (unversioned)"), ("size", "" if raw.size is None else f"{raw.size} B"),
            ("ETag", raw.etag or ""), ("uploaded", raw.uploaded_at or ""), ("versions", versions)]
    if trace.stream is not None:
        origin = trace.stream
        rows.insert(6, ("from the stream", f"{origin['shard']}, records {origin['first_sequence']} to "
                                           f"{origin['last_sequence']} (lakebox logs --stage batcher)"))
    for name, value in rows:
        facts.add_row(Text(name, style="bold"), value if isinstance(value, Text) else Text(str(value)))
    return facts


def versions_table(trace: Trace) -> Table:
    """Every version of the key, newest first, the traced one marked."""
    table = Table(title="versions of this key", title_justify="left")
    for column in ("", "version", "uploaded", "size", "status", "process id"):
        table.add_column(column)
    for version in trace.versions:
        mark = "▶" if version.process_id == trace.raw.process_id else ""
        table.add_row(mark, version.version_id or "none", version.uploaded_at or "",
                      "" if version.size is None else str(version.size), version.status or "not ingested",
                      version.process_id)
    return table


def _ingestion(details: dict[str, Any]) -> str:
    return f"format {details['format']}" + (f" ({details['compression']})" if details.get("compression") else "") \
        if "format" in details else ""


def _validation(details: dict[str, Any]) -> str:
    if "quality_score" not in details:
        return ""
    return (f"score {details['quality_score']}, {details.get('records_valid', 0)}/{details.get('records_total', 0)} "
            "records valid" + (f"; {details['errors'][0]}" if details.get("errors") else ""))


def _quality(details: dict[str, Any]) -> str:
    return f"score {details['quality_score']} added to the totals" if "quality_score" in details else ""


def _curation(details: dict[str, Any]) -> str:
    return details.get("reason") or f"{details.get('rows', 0)} rows in {', '.join(details.get('partitions', []))}"


# The phrase of the stages people read most; any other stage shows its record's details as the registry names them.
_PHRASES: dict[str, Callable[[dict[str, Any]], str]] = {
    "ingestion": _ingestion, "validation": _validation, "quality": _quality, "curation": _curation}


def outcome_text(step: StageStep) -> str:
    """What the stage decided for the file, in a phrase ("" before it has recorded it)."""
    if not step.recorded:
        return ""
    phrase = _PHRASES.get(step.stage)
    if phrase is not None:
        return phrase(step.details)
    return ", ".join(f"{name} {value}" for name, value in step.details.items() if not isinstance(value, (list, dict)))


def timeline_table(trace: Trace) -> Table:
    """One row per stage: start, end, duration, status, the event it emitted, what it decided."""
    table = Table(title="timeline (UTC; start = when the stage's input existed, end = its record)",
                  title_justify="left")
    for column in ("stage", "start", "end", "duration", "status", "event", "outcome"):
        table.add_column(column, overflow="fold")
    for step in trace.stages:
        duration = "" if step.duration_s is None else f"{step.duration_s:.3f} s"
        table.add_row(step.stage, _clock(step.started_at), _clock(step.ended_at), duration, _status(step.status),
                      step.event or "", outcome_text(step))
    return table


def _node(tree: Tree, node: Lineage) -> None:
    label = Text.assemble((f"{node.kind} ", "bold"), node.name, " ", _EXISTS[node.exists])
    # A partition's one child is its table: said on the partition's line, not repeated as a branch per day.
    tables = [child for child in node.children if child.kind == "table"]
    for table in tables:
        label.append_text(Text.assemble(" → ", ("table ", "bold"), table.name))
    branch = tree.add(label)
    for child in node.children:
        if child.kind != "table":
            _node(branch, child)


def lineage_tree(trace: Trace) -> Tree:
    """raw version → validated / quarantined → (error report | curated partitions → table)."""
    root = trace.lineage
    tree = Tree(Text.assemble(("lineage: ", "bold"), (f"{root.kind} ", "bold"), root.name, " ", _EXISTS[root.exists]))
    for child in root.children:
        _node(tree, child)
    return tree


def outputs_table(outputs: list[Output]) -> Table:
    table = Table(title="outputs", title_justify="left")
    for column in ("kind", "object", "in S3", "size"):
        table.add_column(column, overflow="fold")
    for output in outputs:
        table.add_row(output.kind, output.uri, _EXISTS[output.exists], "" if output.size is None else str(output.size))
    return table


def log_text(line: LogLine, *, with_process: bool = True) -> Text:
    """One log line: time, stage, level, key (or the process id's start), message."""
    who = line.key or (line.process_id[:8] if line.process_id else "")
    parts: list[str | tuple[str, str]] = [
        (line.time.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3], "dim"), " ", (f"{line.stage:<10}", "cyan"), " ",
        (f"{line.level:<7}", _LEVEL_STYLES.get(line.level, "")), " "]
    if with_process and who:
        parts += [(who, "bold"), "  "]
    parts.append(line.message)
    return Text.assemble(*parts)


def trace_view(trace: Trace) -> RenderableType:
    """All of `lakebox trace`: the facts, versions (when there are several), the timeline, lineage, outputs, logs."""
    parts: list[RenderableType] = [_facts(trace), Text("")]
    if len(trace.versions) > 1:
        parts += [versions_table(trace), Text("")]
    parts += [timeline_table(trace), Text(""), lineage_tree(trace)]
    if trace.raw.process_id != trace.versions[0].process_id:
        parts.append(Text("validated and quarantined copies are named after the raw key: a later version's copy "
                          "has replaced this one's (curated objects are named by process id)", style="yellow"))
    parts.append(Text(""))
    if trace.outputs:
        parts += [outputs_table(trace.outputs), Text("")]
    parts.append(Text(f"log lines of process {trace.raw.process_id} ({len(trace.logs)})", style="bold"))
    if trace.logs_error:
        parts.append(Text(f"could not read the logs: {trace.logs_error}", style="yellow"))
    parts += [log_text(line, with_process=False) for line in trace.logs]
    return Group(*parts)
