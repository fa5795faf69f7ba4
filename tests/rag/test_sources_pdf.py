"""PdfTextReader and PDFs in the workspace: text layer, title, OCR fallback, bad files."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image

from mochi.rag.sources import PdfError, PdfTextReader, WorkspaceSource
from mochi.rag.types import DocKind, SkipCounts


def text_pdf(pages: list[str], *, title: str = "", user_password: str = "") -> bytes:
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    if user_password:
        pdf.set_encryption(owner_password="owner", user_password=user_password)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(w=0, text=text)
    return bytes(pdf.output())


def image_pdf() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 120), "white").save(buffer, "PDF")
    return buffer.getvalue()


class FakeOcr:
    def __init__(self) -> None:
        self.pngs: list[bytes] = []

    def read_png(self, png: bytes) -> str:
        self.pngs.append(png)
        return "text seen by ocr"


def test_text_layer_pages_are_joined_by_form_feed() -> None:
    data = text_pdf(["Alpha page about indexing.", "Beta page about retrieval."], title="Guide")
    reader = PdfTextReader()
    assert reader.read(data).split("\f") == [
        "Alpha page about indexing.",
        "Beta page about retrieval.",
    ]
    extracted = reader.extract(data)
    assert (extracted.title, extracted.pages, extracted.ocr_pages) == ("Guide", 2, 0)


def test_workspace_loads_pdf_with_title(tmp_path: Path) -> None:
    data = text_pdf(["The manual of the widget."], title="Widget Manual")
    (tmp_path / "manual.pdf").write_bytes(data)
    source = WorkspaceSource(tmp_path)
    assert set(source.fingerprints()) == {"manual.pdf"}
    doc = source.load("manual.pdf", SkipCounts())
    assert doc is not None
    assert doc.text == "The manual of the widget."
    assert (doc.kind, doc.language, doc.title) == (DocKind.DOC, "pdf", "Widget Manual")


def test_pdf_cap_is_separate_from_text_cap(tmp_path: Path) -> None:
    data = text_pdf(["Small but larger than the text cap."])
    (tmp_path / "doc.pdf").write_bytes(data)
    skips = SkipCounts()
    assert WorkspaceSource(tmp_path, max_file_bytes=10).load("doc.pdf", skips) is not None
    assert WorkspaceSource(tmp_path, max_pdf_bytes=10).load("doc.pdf", skips) is None
    assert skips.too_large == 1


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.4\nthis is not really a pdf", text_pdf(["locked"], user_password="secret")],
    ids=["broken", "encrypted"],
)
def test_broken_or_encrypted_pdf_is_undecodable(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(PdfError):
        PdfTextReader().read(data)
    (tmp_path / "bad.pdf").write_bytes(data)
    skips = SkipCounts()
    assert WorkspaceSource(tmp_path).load("bad.pdf", skips) is None
    assert skips.undecodable == 1 and skips.total() == 1


def test_scan_without_ocr_is_counted_empty(tmp_path: Path) -> None:
    (tmp_path / "scan.pdf").write_bytes(image_pdf())
    skips = SkipCounts()
    assert WorkspaceSource(tmp_path).load("scan.pdf", skips) is None
    assert skips.empty == 1


def test_pages_with_text_are_not_sent_to_ocr() -> None:
    ocr = FakeOcr()
    data = text_pdf(["A page with a real text layer, long enough."])
    assert PdfTextReader(ocr=ocr).read(data) == "A page with a real text layer, long enough."
    assert ocr.pngs == []


def test_scanned_page_is_rendered_and_read_by_ocr() -> None:
    pytest.importorskip("pypdfium2")
    ocr = FakeOcr()
    extracted = PdfTextReader(ocr=ocr).extract(image_pdf())
    assert extracted.text == "text seen by ocr"
    assert extracted.ocr_pages == 1
    assert len(ocr.pngs) == 1 and ocr.pngs[0].startswith(b"\x89PNG")


def test_missing_pypdfium2_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pypdfium2", None)
    with pytest.raises(ImportError, match=r"pip install 'mochi\[ocr\]'"):
        PdfTextReader(ocr=FakeOcr()).read(image_pdf())
