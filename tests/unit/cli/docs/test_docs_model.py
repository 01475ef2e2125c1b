"""The data-docs model: files folded from stage records (latest version per key), a dataset's figures, its latest
quarantines from the error reports, and the bound on file pages; the site written with links that resolve."""

from __future__ import annotations

import re
from pathlib import Path

from lakebox.docs.model import DatasetDoc, FileDoc, page_name
from lakebox.docs.site import build_site, gather_site, latest_files
from lakebox_layer.contracts import parse_contract
from tests.fakes.docs import ORDERS, QUARANTINE, FakeReads, file_records, lake, pid, report


def test_latest_files_keep_each_keys_latest_version_in_arrival_order() -> None:
    files = latest_files(lake().records())
    assert [(f.key, f.process_id) for f in files] == [
        ("input/orders/b.csv", pid(2)), ("input/orders/a.csv", pid(3)), ("input/c.json", pid(4))]
    overwritten = files[1]
    assert (overwritten.status, overwritten.quality_score, overwritten.records_total, overwritten.records_valid) == \
        ("processed", 90.0, 10, 9)
    assert overwritten.rule_counts == {"format": 1}
    assert overwritten.report_uri == f"{QUARANTINE}/orders/3.csv.error.json"


def test_dataset_figures_follow_its_latest_files() -> None:
    site, _ = gather_site(lake(), "here")
    orders, default = sorted(site.datasets, key=lambda d: d.name, reverse=True)
    assert orders.name == "orders" and orders.contract == ORDERS
    assert (len(orders.files), orders.records_total, orders.records_valid) == (2, 15, 10)
    assert orders.valid_share == 10 / 15
    assert orders.latest_score == 90.0 and orders.trend == [20.0, 90.0] and orders.direction == "up"
    assert orders.status_counts == {"processed": 1, "quarantined": 1}
    assert orders.rule_failures == [("format", 4, 2), ("required", 1, 1)]
    assert default.contract is None and default.valid_share == 1.0 and default.direction == "steady"


def test_latest_quarantines_come_from_the_error_reports_newest_first() -> None:
    reads = lake()
    del reads.reports[report(2)[0]]
    site, _ = gather_site(reads, "here")
    orders = next(d for d in site.datasets if d.name == "orders")
    newest, older = orders.quarantines
    assert newest.file.process_id == pid(3) and newest.found
    assert newest.samples == [{"rule": "format", "record": 1, "field": "customer_email", "message": "invalid email",
                               "value": "***"}]
    # A report gone from S3: the record's errors stand in, and the page says the report is missing.
    assert older.file.process_id == pid(2) and not older.found
    assert older.errors == ["record 1: email: invalid email (2)"]


def test_the_trend_is_the_last_ten_scores() -> None:
    records = [r for n in range(1, 13) for r in file_records(n, f"input/orders/{n:02d}.csv", score=float(n * 5))]
    dataset = gather_site(FakeReads(records), "here")[0].datasets[0]
    assert dataset.trend == [float(n * 5) for n in range(3, 13)] and dataset.direction == "up"


def test_only_the_latest_files_get_a_page() -> None:
    records = [r for n in range(1, 6) for r in file_records(n, f"input/orders/{n}.csv")]
    dataset = gather_site(FakeReads(records), "here", max_file_pages=2)[0].datasets[0]
    assert [f.process_id for f in dataset.paged] == [pid(4), pid(5)]
    assert gather_site(FakeReads(records), "here", max_file_pages=0)[0].datasets[0].paged == []


def test_page_names_of_hostile_datasets_are_digests() -> None:
    assert page_name("orders") == "orders" and page_name("sales_2026-q1") == "sales_2026-q1"
    for hostile in ("../../etc", "<script>", "Orders", "a/b", ""):
        assert re.fullmatch(r"dataset-[0-9a-f]{16}", page_name(hostile)), hostile


def test_a_dataset_with_no_scored_file_has_no_share_and_no_score() -> None:
    pending = FileDoc("input/x.csv", pid(1), "x", "in_progress", "2026-01-01T00:00:00+00:00")
    dataset = DatasetDoc("x", None, [pending])
    assert dataset.valid_share is None and dataset.latest_score is None and dataset.direction == "steady"
    assert dataset.to_json()["files"] == 1


def test_the_site_is_written_with_every_link_resolving(tmp_path: Path) -> None:
    built = build_site(lake(), tmp_path / "site", "here")
    assert (built.dataset_pages, built.file_pages, built.pages) == (2, 3, 6)
    pages = sorted(p.relative_to(tmp_path / "site").as_posix() for p in (tmp_path / "site").rglob("*.html"))
    assert pages == ["datasets/default.html", "datasets/orders.html", *[f"files/{pid(n)}.html" for n in (2, 3, 4)],
                     "index.html"]
    for page in (tmp_path / "site").rglob("*.html"):
        for href in re.findall(r'(?:href|src)="([^"]*)"', page.read_text(encoding="utf-8")):
            assert not re.match(r"^[a-z]+:", href), (page, href)
            assert (page.parent / href).resolve().is_file(), (page, href)


def test_personal_data_joins_what_the_contract_declares_validation_found_and_curation_protected() -> None:
    records = (file_records(1, "input/crm/a.csv", dataset="crm", pii={"contact": "email", "ip": "ip_address"},
                            undeclared=["contact", "ip"], protected={"contact": "lakebox:pii=encrypt;class=email"})
               + file_records(2, "input/crm/b.csv", dataset="crm", pii={"contact": "email"}, undeclared=["contact"],
                              protected={"contact": "lakebox:pii=encrypt;class=email",
                                         "legacy": "lakebox:pii=mask;class=phone"}))
    crm = parse_contract({"dataset": "crm", "version": "1", "fields": {"email": {"pii": {"protect": "token"}}},
                          "policy": {"undeclared_pii": "protect"}})
    [dataset] = gather_site(FakeReads(records, {"crm": crm}), "here")[0].datasets

    assert [(c.column, c.pii_class, c.declared, c.curated_as, c.files) for c in dataset.personal_data] == [
        ("contact", "email", False, "encrypt", 2), ("email", None, True, None, 0),
        ("ip", "ip_address", False, None, 1), ("legacy", "phone", False, "mask", 0)]
    assert dataset.to_json()["personal_data"][0] == {"column": "contact", "pii_class": "email", "declared": False,
                                                     "curated_as": "encrypt", "files": 2}
