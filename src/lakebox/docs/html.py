"""The data docs as HTML: an index of datasets, a page per dataset and a page per file, every value escaped, the
style inline and the charts inline SVG, so the site needs no network and works from file://."""

from __future__ import annotations

import json
from collections.abc import Iterable
from html import escape
from typing import Any
from urllib.parse import quote

from lakebox.docs.model import DatasetDoc, FileDoc, Quarantine, Site
from lakebox.docs.svg import score_chart, sparkline
from lakebox.trace.render import outcome_text
from lakebox.trace.story import Lineage, Trace

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;margin:0;background:#f9fafb}
header{background:#1e3a8a;color:#fff;padding:14px 28px}header a{color:#fff;text-decoration:none}
header .crumbs{font-size:13px;opacity:.85}main{padding:18px 28px;max-width:1200px}
h1{font-size:22px;margin:4px 0}h2{font-size:17px;margin:26px 0 8px}
table{border-collapse:collapse;background:#fff;margin:6px 0;width:100%}
th,td{border:1px solid #e5e7eb;padding:5px 8px;text-align:left;vertical-align:top}th{background:#f3f4f6}
td.num{text-align:right;font-variant-numeric:tabular-nums}code,pre{font:12px ui-monospace,Menlo,monospace}
pre{background:#fff;border:1px solid #e5e7eb;padding:10px;overflow:auto}
.st{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;background:#e5e7eb}
.st-processed,.st-curated,.st-recorded,.st-received{background:#dcfce7;color:#166534}
.st-quarantined{background:#fef9c3;color:#854d0e}.st-failed{background:#fee2e2;color:#991b1b}
.up{color:#166534}.down{color:#991b1b}.steady{color:#6b7280}.note{color:#6b7280;font-size:13px}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:2px 16px;background:#fff;padding:10px;
border:1px solid #e5e7eb}dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.quarantine{background:#fff;border:1px solid #e5e7eb;padding:8px 12px;margin:10px 0}
ul.lineage{list-style:none;padding-left:18px}ul.lineage li:before{content:"└ ";color:#9ca3af}
"""
_ARROWS = {"up": "▲", "down": "▼", "steady": "■"}


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _score(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def share(value: float | None) -> str:
    """A share of valid records as the pages print it."""
    return "" if value is None else f"{value * 100:.1f}%"


def _status(status: str) -> str:
    return f'<span class="st st-{_e(status)}">{_e(status)}</span>'


def _page(title: str, root: str, crumbs: list[tuple[str, str | None]], body: str) -> str:
    trail = " / ".join(f'<a href="{_e(href)}">{_e(name)}</a>' if href else _e(name) for name, href in crumbs)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
            f'<header><div class="crumbs"><a href="{root}index.html">lakebox data docs</a>'
            f"{' / ' + trail if trail else ''}</div><h1>{_e(title)}</h1></header><main>{body}</main></body></html>\n")


def _table(headers: Iterable[str], rows: Iterable[str], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def dataset_href(dataset: DatasetDoc, root: str = "") -> str:
    return f"{root}datasets/{quote(dataset.slug)}.html"


def file_href(file: FileDoc, root: str) -> str:
    return f"{root}files/{quote(file.process_id)}.html"


def index_page(site: Site) -> str:
    """Every dataset: files, records, share valid, latest score and its trend."""
    rows = []
    for d in site.datasets:
        statuses = ", ".join(f"{n} {s}" for s, n in d.status_counts.items())
        rows.append(
            f'<tr data-dataset="{_e(d.name)}"><td class="name"><a href="{_e(dataset_href(d))}">{_e(d.name)}</a></td>'
            f'<td>{_e(d.contract.version if d.contract else "none")}</td>'
            f'<td class="num files">{len(d.files)}</td><td class="num records">{d.records_total}</td>'
            f'<td class="num valid">{share(d.valid_share)}</td><td class="num score">{_score(d.latest_score)}</td>'
            f'<td class="trend">{sparkline(d.trend)} <span class="{d.direction}" title="latest against the mean '
            f'of the {len(d.trend) - 1} before">{_ARROWS[d.direction]}</span></td><td>{_e(statuses)}</td></tr>')
    body = (f'<p class="note">Built {_e(site.built_at)} from the metadata table and error reports at '
            f"{_e(site.where)}. Each raw key counts once, at its latest version.</p>"
            + (_table(["dataset", "contract", "files", "records", "valid", "latest score", "trend (last 10 scores)",
                       "statuses"], rows, "datasets") if rows else "<p>No files yet.</p>"))
    return _page("Datasets", "", [], body)


def _contract(dataset: DatasetDoc) -> str:
    contract = dataset.contract
    if contract is None:
        return "<p>No published contract: files get structural checks only.</p>"
    facts = [("version", contract.version), ("mode", contract.mode.value), ("threshold", f"{contract.threshold:g}"),
             ("partition by", contract.partition_by or "arrival day")]
    rows = []
    for f in contract.fields:
        rules = [r for r in (f.type, f.format and f"format {f.format}", f.pattern and f"pattern {f.pattern}",
                             f.enum and "one of " + ", ".join(map(str, f.enum)),
                             f.minimum is not None and f"min {f.minimum:g}",
                             f.maximum is not None and f"max {f.maximum:g}", f.unique and "unique") if r]
        rows.append(f"<tr><td><code>{_e(f.name)}</code></td><td>{'yes' if f.required else ''}</td>"
                    f"<td>{_e('; '.join(map(str, rules)))}</td><td>{_e(f.protect or '')}</td></tr>")
    document = json.dumps(contract.document, indent=2, ensure_ascii=False)
    return (f"<p>{_e(contract.description)}</p><dl class=\"facts\">"
            + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts) + "</dl>"
            + (_table(["field", "required", "rules", "PII"], rows, "fields") if rows else "")
            + f"<details><summary>contract document</summary><pre>{_e(document)}</pre></details>")


def _personal_data(dataset: DatasetDoc) -> str:
    """Which columns hold personal data and how the curated zone keeps them; names and classes, never values."""
    rows = [f'<tr data-column="{_e(c.column)}"><td><code>{_e(c.column)}</code></td><td>{_e(c.pii_class or "")}</td>'
            f"<td>{'yes' if c.declared else 'no'}</td><td>{_e(c.curated_as or 'in the clear')}</td>"
            f'<td class="num">{c.files}</td></tr>' for c in dataset.personal_data]
    if not rows:
        return "<p>No personal data declared or found.</p>"
    return ('<p class="note">Columns the contract declares personal data, validation found it in, or curation '
            "protects: <code>encrypt</code> keeps ciphertext (masks outside production) and a token column, "
            "<code>token</code> only the token, <code>mask</code> a mask, <code>drop</code> nothing. The raw and "
            "quarantine zones keep files as they came.</p>"
            + _table(["column", "class", "declared", "curated as", "found in files"], rows, "personal-data"))


def _file_link(file: FileDoc, root: str) -> str:
    if file.page:
        return f'<a href="{_e(file_href(file, root))}"><code>{_e(file.key)}</code></a>'
    return f"<code>{_e(file.key)}</code>"


def _quarantine(q: Quarantine) -> str:
    samples = [f"<tr><td>{_e(s.get('rule'))}</td><td class=\"num\">{_e(s.get('record'))}</td>"
               f"<td><code>{_e(s.get('field'))}</code></td><td>{_e(s.get('message'))}</td>"
               f"<td class=\"value\"><code>{_e(s.get('value'))}</code></td></tr>" for s in q.samples]
    told = (_table(["rule", "record", "field", "error", "value"], samples, "samples") if samples
            else "<ul>" + "".join(f"<li>{_e(e)}</li>" for e in q.errors) + "</ul>")
    missing = "" if q.found else ' <span class="st st-failed">report missing</span>'
    return (f'<div class="quarantine" data-process-id="{_e(q.file.process_id)}"><p>{_file_link(q.file, "../")} '
            f"{_status(q.file.status)} score {_score(q.file.quality_score)}, {q.file.records_valid or 0}/"
            f"{q.file.records_total or 0} records valid, arrived {_e(q.file.arrived_at)}<br>"
            f'<span class="note">report <code>{_e(q.report_uri)}</code></span>{missing}</p>{told}</div>')


def dataset_page(site: Site, dataset: DatasetDoc) -> str:
    """A dataset: figures, contract, quality over time, failures per rule, latest quarantines, its files."""
    facts = [("files", len(dataset.files), "files"), ("records", dataset.records_total, "records"),
             ("valid records", dataset.records_valid, "records-valid"),
             ("share valid", share(dataset.valid_share), "valid"),
             ("latest score", _score(dataset.latest_score), "score"),
             ("statuses", ", ".join(f"{n} {s}" for s, n in dataset.status_counts.items()), "statuses")]
    summary = "<dl class=\"facts\">" + "".join(f'<dt>{_e(k)}</dt><dd id="{i}">{_e(v)}</dd>' for k, v, i in facts)
    scored = [(f.key, float(f.quality_score)) for f in dataset.files if f.quality_score is not None]
    threshold = dataset.contract.threshold if dataset.contract else None
    rules = [f'<tr data-rule="{_e(rule)}"><td><code>{_e(rule)}</code></td><td class="num">{n}</td>'
             f'<td class="num">{files}</td></tr>' for rule, n, files in dataset.rule_failures]
    paged = dataset.paged[::-1]
    files = [f'<tr data-process-id="{_e(f.process_id)}"><td>{_file_link(f, "../")}</td><td>{_e(f.arrived_at)}</td>'
             f'<td>{_status(f.status)}</td><td class="num">{_score(f.quality_score)}</td>'
             f'<td class="num">{_e(f.records_valid)}/{_e(f.records_total)}</td></tr>' for f in paged]
    left = len(dataset.files) - len(paged)
    body = (summary + "</dl>"
            + f"<h2>Quality over time</h2><p class=\"note\">Quality score per file, in arrival order "
              f"({len(scored)} scored files; red: below the threshold).</p>{score_chart(scored, threshold)}"
            + "<h2>Failures per rule</h2>"
            + (_table(["rule", "failures", "files"], rules, "rules") if rules else "<p>No rule failed.</p>")
            + f"<h2>Latest quarantines</h2><p class=\"note\">The latest {len(dataset.quarantines)} files with "
              "quarantined records, newest first, with the first errors of their error report (PII masked as "
              "in the report).</p>" + "".join(_quarantine(q) for q in dataset.quarantines)
            + "<h2>Personal data</h2>" + _personal_data(dataset)
            + "<h2>Contract</h2>" + _contract(dataset)
            + f"<h2>Files</h2><p class=\"note\">The latest {len(paged)} files, newest first, each with its own "
              f"page (at most {site.max_file_pages} per dataset)"
            + (f"; {left} older files are left out: <code>lakebox status</code> lists every file" if left else "")
            + ".</p>" + _table(["file", "arrived", "status", "score", "valid/total"], files, "files"))
    return _page(dataset.name, "../", [(dataset.name, None)], body)


def _lineage(node: Lineage) -> str:
    mark = {True: "✓", False: "missing", None: "?"}[node.exists]
    children = "".join(_lineage(child) for child in node.children)
    return (f"<li><b>{_e(node.kind)}</b> <code>{_e(node.name)}</code> {mark}"
            + (f'<ul class="lineage">{children}</ul>' if children else "") + "</li>")


def file_page(site: Site, dataset: DatasetDoc, file: FileDoc, trace: Trace) -> str:
    """One file's trace: facts, versions, timeline, outputs and lineage (log lines: `lakebox trace`)."""
    raw = trace.raw
    facts = [("key", raw.key), ("process id", raw.process_id), ("status", trace.status),
             ("dataset", trace.dataset), ("contract", f"{trace.contract_version or 'none'}"
                                                      + (f" ({trace.mode} mode)" if trace.mode else "")),
             ("raw object", f"s3://{trace.raw_bucket}/{raw.key}" + ("" if raw.in_s3 else " (gone from S3)")),
             ("version", raw.version_id or "none"), ("size", "" if raw.size is None else f"{raw.size} B"),
             ("uploaded", raw.uploaded_at), ("quality score", _score(file.quality_score))]
    versions = [f"<tr><td>{'▶' if v.process_id == raw.process_id else ''}</td><td>{_e(v.version_id)}</td>"
                f"<td>{_e(v.uploaded_at)}</td><td>{_e(v.status)}</td><td><code>{_e(v.process_id)}</code></td></tr>"
                for v in trace.versions]
    steps = [f'<tr data-stage="{_e(s.stage)}"><td>{_e(s.stage)}</td><td>{_e(s.started_at)}</td>'
             f'<td>{_e(s.ended_at)}</td><td class="num">{"" if s.duration_s is None else f"{s.duration_s:.3f} s"}'
             f"</td><td>{_status(s.status)}</td><td>{_e(s.event)}</td><td>{_e(outcome_text(s))}</td></tr>"
             for s in trace.stages]
    outputs = [f'<tr><td>{_e(o.kind)}</td><td><code>{_e(o.uri)}</code></td><td>{_e(o.partition)}</td>'
               f'<td>{ {True: "✓", False: "missing", None: "?"}[o.exists] }</td><td class="num">{_e(o.size)}</td></tr>'
               for o in trace.outputs]
    body = ("<dl class=\"facts\">" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts) + "</dl>"
            + "<h2>Versions of this key</h2>"
            + _table(["", "version", "uploaded", "status", "process id"], versions, "versions")
            + "<h2>Timeline</h2><p class=\"note\">UTC; start = when the stage's input existed, end = its record.</p>"
            + _table(["stage", "start", "end", "duration", "status", "event", "outcome"], steps, "timeline")
            + "<h2>Outputs</h2>"
            + (_table(["kind", "object", "partition", "in S3", "size"], outputs, "outputs") if outputs
               else "<p>No outputs.</p>")
            + f'<h2>Lineage</h2><ul class="lineage">{_lineage(trace.lineage)}</ul>'
            + f"<p class=\"note\">Log lines are not part of the data docs: <code>lakebox trace {_e(raw.key)}</code> "
              "shows them.</p>")
    return _page(raw.key, "../", [(dataset.name, dataset_href(dataset, "../")), (raw.key, None)], body)
