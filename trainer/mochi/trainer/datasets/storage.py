"""A built dataset on disk: train.jsonl, eval.jsonl and card.json (each written atomically;
the card last, so a folder with a card is complete)."""

from __future__ import annotations

import json
from pathlib import Path

from mochi.trainer.datasets.errors import DatasetError
from mochi.trainer.datasets.spec import BuiltDataset, DatasetCard
from mochi.trainer.samples import read_samples, write_samples

TRAIN = "train.jsonl"
EVAL = "eval.jsonl"
CARD = "card.json"


def save_dataset(folder: Path, built: BuiltDataset) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CARD).unlink(missing_ok=True)  # an old card must not vouch for new files
    write_samples(folder / TRAIN, built.train)
    write_samples(folder / EVAL, built.eval)
    tmp = folder / (CARD + ".tmp")
    tmp.write_text(json.dumps(built.card.to_json(), indent=2, ensure_ascii=False) + "\n")
    tmp.replace(folder / CARD)
    return folder


def load_dataset(folder: Path) -> BuiltDataset:
    folder = Path(folder)
    card_path = folder / CARD
    if not card_path.is_file():
        raise DatasetError(f"{folder} holds no dataset ({CARD} is missing)")
    try:
        data = json.loads(card_path.read_text(encoding="utf-8"))
        card = DatasetCard.from_json(data)
        train = list(read_samples(folder / TRAIN))
        evaluation = list(read_samples(folder / EVAL))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{folder} holds a broken dataset: {exc}") from None
    return BuiltDataset(train=train, eval=evaluation, card=card)
