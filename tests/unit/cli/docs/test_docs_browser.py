"""The data docs in a real browser: headless Chromium renders the index and a dataset page from file:// (no network),
and each screenshot shows something: many colours, not one blank page. Skipped, with the reason, without Chromium
(`.ci/run` installs Debian's `chromium` when it can)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from lakebox.docs.site import build_site
from tests.fakes.docs import lake

BROWSERS = ("chromium", "chromium-browser")
WINDOW = (1280, 900)


def browser() -> str:
    found = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        pytest.skip(f"no headless browser: none of {', '.join(BROWSERS)} is on PATH (apt-get install chromium)")
    return found


def screenshot(chromium: str, page: Path, png: Path) -> None:
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--screenshot={png}",
         f"--window-size={WINDOW[0]},{WINDOW[1]}", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> list[bytes]:
    """PNG scanlines with their filters undone (PNG spec, section 9)."""
    stride, rows, previous, at = width * bpp, [], bytearray(width * bpp), 0
    for _ in range(height):
        kind, line = raw[at], bytearray(raw[at + 1: at + 1 + stride])
        at += 1 + stride
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return rows


def pixels(png: Path) -> tuple[int, int, dict[bytes, int]]:
    """Width, height and how often each pixel value occurs in an 8-bit RGB or RGBA PNG."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    at, chunks, header = 8, [], b""
    while at < len(data):
        (length,), kind = struct.unpack(">I", data[at: at + 4]), data[at + 4: at + 8]
        body = data[at + 8: at + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        at += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), f"unexpected PNG depth {depth} colour type {colour}"
    bpp = 3 if colour == 2 else 4
    counts: dict[bytes, int] = {}
    for row in _unfilter(zlib.decompress(b"".join(chunks)), width, height, bpp):
        for x in range(0, len(row), bpp * 4):  # every fourth pixel is plenty to tell a page from a blank one
            counts[row[x: x + bpp]] = counts.get(row[x: x + bpp], 0) + 1
    return width, height, counts


def assert_not_blank(png: Path) -> None:
    width, height, counts = pixels(png)
    assert (width, height) == WINDOW
    background = max(counts.values())
    assert len(counts) > 20, f"{png.name}: only {len(counts)} distinct colours"
    assert background < 0.97 * sum(counts.values()), f"{png.name}: almost all one colour"


@pytest.mark.slow
def test_the_index_and_a_dataset_page_render_in_chromium(tmp_path: Path) -> None:
    chromium = browser()
    built = build_site(lake(), tmp_path / "site", "here")
    for page in (built.index, tmp_path / "site" / "datasets" / "orders.html"):
        png = tmp_path / f"{page.stem}.png"
        screenshot(chromium, page, png)
        assert_not_blank(png)
