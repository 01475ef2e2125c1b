"""The README and the pages under docs/ hold together: every relative link and image names a file of the repository
and, after a `#`, a heading of that file (as GitHub turns headings into anchors); the README stays short and links to
every page; every page has a title and leads back to the README."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MAX_README_LINES = 200

PAGES = [README, *sorted(DOCS.glob("*.md"))]
# `[text](target)` and `![alt](target)`, with an optional title after the target.
LINK = re.compile(r"!?\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(?P<level>#{1,6})\s+(?P<text>.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"(`+).+?\1", re.DOTALL)
EXTERNAL = ("http://", "https://", "mailto:")


def _outside_fences(text: str) -> list[str]:
    """The lines of a markdown text that are not inside a fenced code block (a `#` there is a shell comment)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text lowercased, punctuation other than `-` and `_` dropped, each
    space a `-`."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor of a markdown file; a heading that repeats gets `-1`, `-2`, ... as on GitHub."""
    seen: Counter[str] = Counter()
    found = set()
    for line in _outside_fences(page.read_text()):
        if (heading := HEADING.match(line)) is None:
            continue
        base = slug(heading["text"])
        found.add(f"{base}-{seen[base]}" if seen[base] else base)
        seen[base] += 1
    return found


def links(page: Path) -> list[str]:
    """The targets of the page's links and images, leaving out code (fenced or inline) and other sites."""
    prose = INLINE_CODE.sub("", "\n".join(_outside_fences(page.read_text())))
    return [m["target"] for m in LINK.finditer(prose) if not m["target"].startswith(EXTERNAL)]


def broken(page: Path, target: str) -> str | None:
    """Why `target`, linked from `page`, leads nowhere; None when it resolves."""
    name, _, anchor = target.partition("#")
    destination = (page.parent / name).resolve() if name else page
    if not destination.is_relative_to(ROOT):
        return f"{target}: outside the repository"
    if not destination.exists():
        return f"{target}: no such file ({destination.relative_to(ROOT)})"
    if anchor and destination.suffix != ".md":
        return f"{target}: an anchor into {destination.relative_to(ROOT)}, which has no headings"
    if anchor and anchor not in anchors(destination):
        return f"{target}: no heading of {destination.relative_to(ROOT)} has the anchor #{anchor}"
    return None


@pytest.mark.parametrize(("heading", "anchor"), [
    ("What happened to my file?", "what-happened-to-my-file"),
    ("`lakebox up`", "lakebox-up"),
    ("`python infra/bootstrap.py`", "python-infrabootstrappy"),
    ("`--wait`", "--wait"),
    ("Batches, not a file per record", "batches-not-a-file-per-record"),
    ("The test suite's parallel run", "the-test-suites-parallel-run"),
    ("snake_case stays", "snake_case-stays"),
])
def test_a_heading_gets_githubs_anchor(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_a_repeated_heading_gets_a_numbered_anchor_and_code_blocks_hold_no_headings(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## Options\n\n```bash\n# a comment\n```\n\n## Options\n")
    assert anchors(page) == {"title", "options", "options-1"}


def test_links_in_code_and_to_other_sites_are_not_followed(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("[a](a.md) `[b](b.md)` [c](https://example.com) ![d](d.png)\n```\n[e](e.md)\n```\n")
    assert links(page) == ["a.md", "d.png"]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_and_image_resolves(page: Path) -> None:
    problems = [problem for target in links(page) if (problem := broken(page, target)) is not None]
    assert problems == [], f"{page.relative_to(ROOT)} links to what does not exist"


def test_the_readme_stays_short() -> None:
    lines = len(README.read_text().splitlines())
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines: move detail to a page under docs/"


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {(README.parent / target.partition("#")[0]).resolve() for target in links(README)}
    unlinked = [page.name for page in PAGES[1:] if page.resolve() not in linked]
    assert PAGES[1:], "docs/ has no pages"
    assert unlinked == [], "README.md does not link to these docs pages"


@pytest.mark.parametrize("page", PAGES[1:], ids=lambda page: page.name)
def test_every_docs_page_has_a_title_and_leads_back_to_the_readme(page: Path) -> None:
    first = page.read_text().splitlines()[0]
    assert first.startswith("# "), f"{page.name} starts with {first!r}, not a `# Title`"
    assert any((page.parent / target.partition("#")[0]).resolve() == README for target in links(page)), (
        f"{page.name} has no link back to README.md")
