"""The data docs' HTML: titles, table rows and numbers as the model has them, hostile names escaped, no external
resource (every src and href relative), the charts inline SVG."""

from __future__ import annotations

from lakebox.docs.html import dataset_page, file_page, index_page, share
from lakebox.docs.model import Site
from lakebox.docs.site import gather_site
from lakebox.docs.svg import score_chart, sparkline
from lakebox.trace.story import gather
from tests.fakes.docs import FakeReads, FakeTraceSources, file_records, lake, pid
from tests.pages import Page

HOSTILE = 'input/hostile/<script>alert("x")</script>&.csv'


def site() -> Site:
    return gather_site(lake(), "http://127.0.0.1:4566")[0]


def assert_offline(text: str) -> None:
    page = Page(text)
    assert page.links and all("://" not in link and not link.startswith("//") for link in page.links), page.links
    assert "<script" not in text and "<link" not in text and "@import" not in text and "url(" not in text


def test_the_index_lists_each_dataset_with_its_figures() -> None:
    text = index_page(site())
    page = Page(text)
    assert page.title == "Datasets" and page.rows == {"datasets": 2}
    assert page.text("files") == ["1", "2"] and page.text("records") == ["1", "15"]
    assert page.text("valid") == ["100.0%", "66.7%"] and page.text("score") == ["100", "90"]
    assert "datasets/orders.html" in page.links and text.count('<svg class="spark"') == 2
    assert_offline(text)


def test_a_dataset_page_tells_contract_chart_rules_quarantines_and_files() -> None:
    built = site()
    orders = next(d for d in built.datasets if d.name == "orders")
    text = dataset_page(built, orders)
    page = Page(text)
    assert page.title == "orders"
    assert page.text("files")[:1] == ["2"] and page.text("records") == ["15"] and page.text("valid") == ["66.7%"]
    assert page.rows == {"rules": 2, "personal-data": 2, "files": 2} and "customer_email" in page.text("fields")
    # Personal data: each column, its class, whether the contract declares it, how it is curated; no values.
    assert page.text("personal-data")[5:] == ["customer_email", "email", "yes", "encrypt", "1",
                                               "phone", "phone", "no", "encrypt", "1"]
    assert text.count('class="point"') == 2 and 'class="threshold"' in text
    # The quarantines show the report's masked values, and link to each file's page.
    assert page.text("value") == ["***", "***"] and f"../files/{pid(3)}.html" in page.links
    assert f"../files/{pid(2)}.html" in page.links and "../index.html" in page.links
    assert_offline(text)


def test_hostile_names_are_escaped_everywhere() -> None:
    records = file_records(7, HOSTILE, dataset='<img src=x onerror="alert(1)">', status="quarantined", score=0,
                           total=1, valid=0, rules={"<b>rule</b>": 1})
    sample = {"record": 1, "field": "<i>f</i>", "message": "<script>", "value": "***"}
    uri = f"s3://quarantine-bucket/quarantine/{records[0]['Dataset']}/7.csv.error.json"
    reads = FakeReads(records, reports={uri: {"rules": {"<b>rule</b>": {"first": [sample]}}, "errors": []}})
    built = gather_site(reads, "<here>")[0]
    dataset = built.datasets[0]
    file = dataset.files[0]
    pages = [index_page(built), dataset_page(built, dataset),
             file_page(built, dataset, file, gather(FakeTraceSources(records), file.process_id))]
    for text in pages:
        assert "<script" not in text and "<img" not in text and "<b>rule" not in text and "<i>f" not in text
        assert_offline(text)
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;.csv" in pages[2]
    assert Page(pages[2]).title == HOSTILE
    assert f'href="datasets/{dataset.slug}.html"' in pages[0] and dataset.slug.startswith("dataset-")


def test_a_file_page_is_its_trace_without_log_lines() -> None:
    built = site()
    orders = next(d for d in built.datasets if d.name == "orders")
    file = next(f for f in orders.files if f.process_id == pid(2))
    trace = gather(FakeTraceSources(lake().records()), file.process_id)
    text = file_page(built, orders, file, trace)
    page = Page(text)
    assert page.title == "input/orders/b.csv" and page.rows == {"timeline": 4}
    assert "error_report" in text and "skipped" in text and "lakebox trace input/orders/b.csv" in text
    assert "../datasets/orders.html" in page.links
    assert_offline(text)


def test_charts_and_shares_render_edge_cases() -> None:
    assert share(None) == "" and share(2 / 3) == "66.7%" and share(1.0) == "100.0%"
    assert "<polyline" not in sparkline([]) and 'aria-label="scores: no scores"' in sparkline([])
    assert "<circle" in sparkline([50.0]) and "<polyline" in sparkline([0.0, 100.0])
    assert "no scored files yet" in score_chart([], 50.0) and "threshold" not in score_chart([("a", 1.0)], None)
    assert "<title>a&lt;b: 150</title>" in score_chart([("a<b", 150.0)], None)
