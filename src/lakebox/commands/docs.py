"""`lakebox docs`: the static data-docs site, built from the metadata, the contracts and the error reports."""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from lakebox.commands import common
from lakebox.docs.model import MAX_FILE_PAGES
from lakebox.docs.site import build_site
from lakebox.docs.sources import DocsSources
from lakebox.lake.target import Target, state_dir


def docs(
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="folder to write the site to (default: docs/ in the state folder, .lakebox/docs)")] = None,
    open_: Annotated[bool, typer.Option("--open", help="open the index in a web browser when built")] = False,
    max_file_pages: Annotated[int, typer.Option(min=0, help="latest files per dataset with a page of their own")]
    = MAX_FILE_PAGES,
) -> None:
    """A static data-docs site: datasets, their contracts, quality over time, quarantines, a page per file."""
    target = Target.resolve()
    where = (out_dir or state_dir() / "docs").resolve()
    built = build_site(DocsSources(target), where, target.where, max_file_pages=max_file_pages)
    common.out.print(f"wrote {built.pages} pages ({built.dataset_pages} datasets, {built.file_pages} files) to "
                     f"{where}", highlight=False, soft_wrap=True)
    common.out.print(f"open {built.index.as_uri()}", highlight=False, soft_wrap=True)
    if open_:
        webbrowser.open(built.index.as_uri())
