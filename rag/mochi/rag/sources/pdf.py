"""Text of a PDF: the text layer first, OCR for pages that are only a scan."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader

from mochi.rag.protocols import PageOcr

PAGE_SEPARATOR = "\f"
OCR_EXTRA_HINT = "pip install 'mochi[ocr]'"


class PdfError(Exception):
    """The PDF cannot be read: broken, or encrypted with a password we do not have."""


@dataclass(frozen=True, slots=True)
class PdfText:
    """What a PDF yields: its text (pages joined by form feeds) and metadata title."""

    text: str
    title: str
    pages: int
    ocr_pages: int


class PdfTextReader:
    """Reads the text layer of every page with pypdf.

    A page whose text layer has fewer than `min_chars` non-space characters and
    that holds images is treated as a scan: when `ocr` is given the page is
    rendered with pypdfium2 at `dpi` and read by it.
    """

    def __init__(self, ocr: PageOcr | None = None, *, dpi: int = 200, min_chars: int = 20) -> None:
        if dpi <= 0:
            raise ValueError(f"dpi must be positive, got {dpi}")
        self._ocr = ocr
        self._dpi = dpi
        self._min_chars = min_chars

    def read(self, data: bytes) -> str:
        """The text of every page, joined by "\\f"; raises PdfError."""
        return self.extract(data).text

    def extract(self, data: bytes) -> PdfText:
        """Text, title and page counts of a PDF; raises PdfError."""
        reader = _open(data)
        renderer: _PageRenderer | None = None
        texts: list[str] = []
        ocr_pages = 0
        try:
            for index, page in enumerate(reader.pages):
                text = _page_text(page)
                if self._ocr is not None and self._is_scan(page, text):
                    if renderer is None:
                        renderer = _PageRenderer(data, self._dpi)
                    ocr_text = self._ocr.read_png(renderer.png(index)).strip()
                    if ocr_text:
                        text = ocr_text
                        ocr_pages += 1
                texts.append(text)
        finally:
            if renderer is not None:
                renderer.close()
        return PdfText(
            text=PAGE_SEPARATOR.join(texts),
            title=_title(reader),
            pages=len(texts),
            ocr_pages=ocr_pages,
        )

    def _is_scan(self, page: Any, text: str) -> bool:
        return _visible_chars(text) < self._min_chars and _has_images(page)


def _open(data: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise PdfError("the PDF is encrypted")
        _ = len(reader.pages)  # forces the page tree to be parsed
    except PdfError:
        raise
    except Exception as exc:  # pypdf raises many types on malformed input
        raise PdfError(f"cannot read the PDF: {exc}") from exc
    return reader


def _page_text(page: Any) -> str:
    try:
        text = str(page.extract_text() or "")
    except Exception:  # one broken content stream must not lose the other pages
        return ""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _visible_chars(text: str) -> int:
    return sum(1 for char in text if not char.isspace())


def _has_images(page: Any) -> bool:
    try:
        return len(page.images) > 0
    except Exception:  # unreadable image resources: nothing we could OCR either
        return False


def _title(reader: PdfReader) -> str:
    try:
        metadata = reader.metadata
        title = metadata.title if metadata is not None else None
    except Exception:  # broken info dictionary; the title is optional
        return ""
    return str(title).strip() if title else ""


class _PageRenderer:
    """Renders pages of one PDF to PNG with pypdfium2 (imported on first use)."""

    def __init__(self, data: bytes, dpi: int) -> None:
        try:
            import pypdfium2
        except ImportError as exc:
            raise ImportError(
                f"OCR of scanned PDF pages needs pypdfium2: {OCR_EXTRA_HINT}"
            ) from exc
        try:
            self._document = pypdfium2.PdfDocument(data)
        except Exception as exc:  # pypdf could parse it, pdfium cannot
            raise PdfError(f"cannot render the PDF: {exc}") from exc
        self._scale = dpi / 72.0

    def png(self, index: int) -> bytes:
        page = self._document[index]
        try:
            image = page.render(scale=self._scale).to_pil()
        finally:
            page.close()
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()

    def close(self) -> None:
        self._document.close()
