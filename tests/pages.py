"""Reading a written HTML page as a test looks at it: its title, links, tags by class, cells and rows."""

from __future__ import annotations

from html.parser import HTMLParser


class Page(HTMLParser):
    """What a test looks at in a page: title, links, tags by class, the text of cells by class, rows by table."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.title = ""
        self.links: list[str] = []
        self.tags: list[str] = []
        self.cells: dict[str, list[str]] = {}
        self.rows: dict[str, int] = {}
        self._in: list[tuple[str, str]] = []
        self._tables: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append(tag)
        for name in ("href", "src"):
            if found.get(name) is not None:
                self.links.append(str(found[name]))
        if tag == "table":
            self._tables.append(found.get("class") or "")
        if tag == "tr" and self._tables and "data-" in " ".join(a for a, _ in attrs):
            self.rows[self._tables[-1]] = self.rows.get(self._tables[-1], 0) + 1
        if tag not in ("br", "meta", "circle", "line", "polyline"):
            self._in.append((tag, found.get("class") or found.get("id") or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._tables:
            self._tables.pop()
        while self._in:
            if self._in.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1][0] == "title" and any(tag == "head" for tag, _ in self._in):
            self.title += data
        for _, cls in self._in:
            for name in cls.split():
                self.cells.setdefault(name, []).append(data)

    def text(self, cls: str) -> list[str]:
        return [t.strip() for t in self.cells.get(cls, []) if t.strip()]
