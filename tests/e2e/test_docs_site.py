"""`lakebox docs` against the session's pipeline: an orders file processed and one quarantined for a PII field, the
site built into a folder; the orders page's figures are the metadata's, the quarantined file's sample error is
masked as in its error report, and every link of the site resolves to a page it wrote."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from lakebox.lake.pages import every_row
from lakebox_layer.records import dataset_of
from tests.e2e.lake import Invoke, Lake
from tests.pages import Page

ORDERS = Path(__file__).resolve().parents[2] / "sample_data" / "orders" / "orders-2026-01.csv"
SECRET = "leaky-secret-value"
HEADER = b"order_id,customer_email,phone,amount,currency,ordered_at,sku,channel,region,note\n"


def test_docs_site_tells_the_metadata(lake: Lake, invoke: Invoke, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    good = lake.put_raw(f"input/orders/docs-{tag}-good.csv", ORDERS.read_bytes())
    bad = lake.put_raw(f"input/orders/docs-{tag}-bad.csv", HEADER + (
        f"9001,{SECRET},,1.00,EUR,2026-01-05T10:00:00Z,AB-1001,web,eu,\n"
        f"9002,{SECRET}2,,2.00,EUR,2026-01-05T11:00:00Z,AB-1002,web,eu,\n").encode())
    assert lake.outcome(good).status.value == "processed" and lake.outcome(bad).status.value == "quarantined"
    lake.wait_for_stages(good.process_id, {"validation", "quality", "curation"})
    lake.wait_for_stages(bad.process_id, {"validation", "quality"})
    lake.wait_until_idle()

    result = invoke("docs", "--out", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    site = tmp_path / "site"
    assert f"open {(site / 'index.html').as_uri()}" in result.stdout

    rows = [row for row in every_row(lake.target.metadata, lake.target.project) if dataset_of(row.key) == "orders"]
    total, valid = sum(r.records_total or 0 for r in rows), sum(r.records_valid or 0 for r in rows)
    page = Page((site / "datasets" / "orders.html").read_text(encoding="utf-8"))
    assert page.title == "orders"
    assert page.text("files")[0] == str(len(rows)) and page.text("records") == [str(total)]
    assert page.text("records-valid") == [str(valid)] and page.text("valid") == [f"{valid / total * 100:.1f}%"]
    index = Page((site / "index.html").read_text(encoding="utf-8"))
    assert "datasets/orders.html" in index.links and str(len(rows)) in index.text("files")

    # The quarantined file: its report's sample errors, PII masked, and a link to its own page (its trace).
    dataset_text = (site / "datasets" / "orders.html").read_text(encoding="utf-8")
    quarantine = re.search(rf'<div class="quarantine" data-process-id="{bad.process_id}">(.*?)</div>', dataset_text)
    assert quarantine is not None, "the quarantined file is not among the latest quarantines"
    assert "customer_email" in quarantine.group(1) and "<code>***</code>" in quarantine.group(1)
    assert f"../files/{bad.process_id}.html" in quarantine.group(1)
    for written in site.rglob("*.html"):
        assert SECRET not in written.read_text(encoding="utf-8"), f"{written.name} shows a PII value"
    file_page = Page((site / "files" / f"{bad.process_id}.html").read_text(encoding="utf-8"))
    assert file_page.title == bad.key and file_page.rows == {"timeline": 4}
    good_page = (site / "files" / f"{good.process_id}.html").read_text(encoding="utf-8")
    assert "curated" in good_page and "Data Curated" in good_page

    # Every link of every page names a page of the site: no network, nothing missing.
    for written in site.rglob("*.html"):
        for link in Page(written.read_text(encoding="utf-8")).links:
            assert "://" not in link and (written.parent / link).resolve().is_file(), (written.name, link)
