"""Sources of documents: workspace files (PDFs included, OCR optional) and git history."""

from mochi.rag.sources.git_history import GitHistorySource
from mochi.rag.sources.ocr import EasyOcr
from mochi.rag.sources.pdf import PdfError, PdfText, PdfTextReader
from mochi.rag.sources.workspace import WorkspaceSource

__all__ = [
    "EasyOcr",
    "GitHistorySource",
    "PdfError",
    "PdfText",
    "PdfTextReader",
    "WorkspaceSource",
]
