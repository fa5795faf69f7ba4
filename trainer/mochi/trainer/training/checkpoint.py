"""Checkpoints that let a run resume exactly where it stopped.

`workdir/checkpoints/step-00000025/` holds the trainable weights (safetensors), the
optimizer and scheduler states and torch's RNG states (`state.pt`), and `meta.json`:
step, data-order position, running losses, python and numpy RNG states, the training
parameters and a digest of the data. A checkpoint is written into a temporary folder
and renamed into place; only the latest one is kept. One written with other parameters
or other data is refused.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mochi.trainer.training.params import TrainingError, TrainParams

_PREFIX = "step-"
WEIGHTS_FILE = "trainable.safetensors"
STATE_FILE = "state.pt"
META_FILE = "meta.json"


@dataclass
class Progress:
    """What the loop has done; saved in `meta.json`."""

    step: int = 0
    position: int = 0  # task samples drawn so far (the data-order position)
    losses: list[float] = field(default_factory=list)  # training loss of each step


def latest_checkpoint(root: Path) -> Path | None:
    found = sorted(root.glob(_PREFIX + "*")) if root.is_dir() else []
    return found[-1] if found else None


def save_checkpoint(
    root: Path,
    progress: Progress,
    *,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    params: TrainParams,
    data_digest: str,
) -> Path:
    """Write the checkpoint of `progress.step` atomically and drop the older ones."""
    import numpy as np
    import torch
    from safetensors.torch import save_file

    final = root / f"{_PREFIX}{progress.step:08d}"
    if final.is_dir():  # this very state was saved already (e.g. periodic, then cancel)
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{final.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()

    weights = {
        name: p.detach().cpu().contiguous()
        for name, p in model.named_parameters()
        if p.requires_grad
    }
    save_file(weights, str(tmp / WEIGHTS_FILE))
    torch.save(
        {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        },
        tmp / STATE_FILE,
    )
    np_state: Any = np.random.get_state()
    kind, keys, *rest = np_state
    meta = {
        "step": progress.step,
        "position": progress.position,
        "losses": progress.losses,
        "params": params.to_dict(),
        "data": data_digest,
        "python_rng": _jsonable(random.getstate()),
        "numpy_rng": [kind, keys.tolist(), *rest],
    }
    (tmp / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
    tmp.rename(final)
    for old in root.glob(_PREFIX + "*"):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(
    folder: Path,
    *,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    params: TrainParams,
    data_digest: str,
) -> Progress:
    """Restore weights, optimizer, scheduler and RNG states; return the saved progress."""
    import numpy as np
    import torch
    from safetensors.torch import load_file

    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    _check_same_run(folder, meta, params, data_digest)

    weights = load_file(str(folder / WEIGHTS_FILE))
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    if set(weights) != set(trainable):
        raise TrainingError(f"checkpoint {folder} does not hold this model's trainable weights")
    with torch.no_grad():
        for name, p in trainable.items():
            p.copy_(weights[name])
    state = torch.load(folder / STATE_FILE, weights_only=True)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    if state["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    random.setstate(_tupled(meta["python_rng"]))
    kind, keys, *rest = meta["numpy_rng"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))
    return Progress(step=meta["step"], position=meta["position"], losses=list(meta["losses"]))


def _check_same_run(folder: Path, meta: dict[str, Any], params: TrainParams, digest: str) -> None:
    saved, current = meta.get("params", {}), params.to_dict()
    changed = [
        f"{key}: {saved.get(key)!r} → {current[key]!r}"
        for key in current
        if saved.get(key) != current[key]
    ]
    if changed:
        raise TrainingError(
            f"the checkpoint in {folder} was written with different training parameters "
            f"({'; '.join(changed)}); resume with the same parameters, or delete "
            f"{folder.parent} to start over"
        )
    if meta.get("data") != digest:
        raise TrainingError(
            f"the checkpoint in {folder} was written for different training data; "
            f"delete {folder.parent} to start over"
        )


def _jsonable(value: Any) -> Any:
    return [_jsonable(v) for v in value] if isinstance(value, tuple) else value


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value
