"""`lakebox status` pages over the session's lake: with pages of ten, every file shows up exactly once, in key order,
as its latest version, and nothing the full listing has is missing; `--next` walks the same pages as the tokens."""

from __future__ import annotations

import json
import uuid

from lakebox.ingest.outcomes import wait_for_outcomes
from tests.e2e.lake import Lake, Run

FILES = 30
PAGE = 10


def record(n: int, valid: bool = True) -> bytes:
    document = {"id": str(n), "timestamp": "2026-01-01T00:00:00Z", "data": {"n": n}}
    if not valid:
        del document["timestamp"]
    return json.dumps(document).encode()


def test_pages_of_ten_show_every_file_once_in_key_order(lake: Lake, run: Run) -> None:
    prefix = f"input/paging-{uuid.uuid4().hex[:8]}-"
    keys = [f"{prefix}{n:02d}.json" for n in range(FILES)]
    raws = [lake.put_raw(key, record(n, valid=n % 4 != 0)) for n, key in enumerate(keys)]
    # The first key again: its second version is the one status shows.
    newer = lake.put_raw(keys[0], record(0))
    raws.append(newer)
    wait_for_outcomes(lake.target, raws, deadline_s=120)
    listed = {row["key"]: row for row in json.loads(run("status", "--json"))}

    pages = [json.loads(run("status", "--json", "--limit", str(PAGE)))]
    while pages[-1]["next_page_token"] is not None:
        pages.append(json.loads(run("status", "--json", "--limit", str(PAGE),
                                    "--page-token", pages[-1]["next_page_token"])))
        assert len(pages) <= len(listed) // PAGE + 10, "paging does not end"

    paged = [row for page in pages for row in page["files"]]
    paged_keys = [row["key"] for row in paged]
    assert len(pages) >= FILES // PAGE
    assert all(len(page["files"]) == PAGE for page in pages[:-1]) and len(pages[-1]["files"]) <= PAGE
    assert [page["first"] for page in pages] == [1 + PAGE * i for i in range(len(pages))]
    assert paged_keys == sorted(set(paged_keys)), "key order, every key once"
    assert set(listed) <= set(paged_keys), "a file of the full listing is missing from the pages"
    mine = {row["key"]: row for row in paged if row["key"].startswith(prefix)}
    assert sorted(mine) == keys
    assert mine[keys[0]]["process_id"] == newer.process_id
    for key in keys[1:]:
        assert mine[key]["status"] == ("quarantined" if int(key[-7:-5]) % 4 == 0 else "processed")
        assert mine[key]["process_id"] == listed[key]["process_id"]


def test_next_walks_the_pages_the_tokens_name(lake: Lake, run: Run) -> None:
    prefix = f"input/walk-{uuid.uuid4().hex[:8]}-"
    raws = [lake.put_raw(f"{prefix}{n:02d}.json", record(n)) for n in range(12)]
    wait_for_outcomes(lake.target, raws, deadline_s=120)

    tables = [run("status", "--limit", str(PAGE))]
    while "--next" in tables[-1].splitlines()[-1]:
        tables.append(run("status", "--next"))
        assert len(tables) < 1000, "paging does not end"

    shown = [word for table in tables for word in table.split() if word.startswith(prefix)]
    assert shown == [raw.key for raw in raws]
    assert tables[-1].splitlines()[-1].endswith(("the last page", "all of them"))
