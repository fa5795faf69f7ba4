"""EasyOcr: reading order of boxes, the missing-extra error, and a real scanned PDF.

The end-to-end test needs the OCR environment: `bash scripts/run_ocr_tests.sh`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from mochi.rag.sources import EasyOcr, PdfTextReader, WorkspaceSource
from mochi.rag.sources.ocr import OcrBox, lines_in_reading_order
from mochi.rag.types import SkipCounts

FONT_PATHS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
    Path("/Library/Fonts/Arial.ttf"),
)


def box(text: str, left: float, top: float, width: float = 50, height: float = 20) -> OcrBox:
    return OcrBox(text=text, left=left, top=top, right=left + width, bottom=top + height)


def test_boxes_are_read_line_by_line_left_to_right() -> None:
    boxes = [
        box("world", 70, 12),
        box("second", 10, 60),
        box("Hello", 10, 10),
        box("line", 80, 58),
    ]
    assert lines_in_reading_order(boxes) == ["Hello world", "second line"]
    assert lines_in_reading_order([]) == []


def test_missing_easyocr_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "easyocr", None)
    with pytest.raises(ImportError, match=r"pip install 'mochi\[ocr\]'"):
        EasyOcr().read_png(b"not used")


def render_line(text: str) -> Image.Image:
    font_path = next((path for path in FONT_PATHS if path.exists()), None)
    font = (
        ImageFont.truetype(str(font_path), 56)
        if font_path is not None
        else ImageFont.load_default(size=56)
    )
    image = Image.new("RGB", (1400, 220), "white")
    ImageDraw.Draw(image).text((40, 70), text, fill="black", font=font)
    return image


@pytest.mark.ocr
def test_scanned_pdf_is_read_by_easyocr(tmp_path: Path) -> None:
    pytest.importorskip("easyocr")
    pytest.importorskip("pypdfium2")
    render_line("Hello world from mochi").save(tmp_path / "scan.pdf", "PDF", resolution=200.0)
    source = WorkspaceSource(tmp_path, pdf_reader=PdfTextReader(ocr=EasyOcr()))
    skips = SkipCounts()
    doc = source.load("scan.pdf", skips)
    assert skips.total() == 0
    assert doc is not None
    words = doc.text.lower().split()
    assert {"hello", "world", "mochi"} <= set(words), doc.text
