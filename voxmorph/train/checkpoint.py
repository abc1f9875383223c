"""Training checkpoints: Accelerate's full state plus a ``meta.json`` that describes it.

A checkpoint is a folder ``RUN/checkpoints/step-00001234`` holding everything Accelerate saves
(model and optimiser weights, schedulers, every RNG state) and ``meta.json``: format version,
recipe kind and config, loop config and the step reached. It is written to a temporary folder
and renamed, so a run killed mid-save keeps its previous checkpoint.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from voxmorph.errors import UserError

FORMAT_VERSION = 1
KEEP = 2
"""Checkpoints kept per run (older ones are deleted after a successful save)."""


def checkpoint_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def save_checkpoint(accelerator, run_dir: Path, step: int, meta: dict) -> Path:
    root = checkpoint_dir(run_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:08d}"
    tmp = root / f".step-{step:08d}.part"
    shutil.rmtree(tmp, ignore_errors=True)
    accelerator.save_state(str(tmp), safe_serialization=True)
    (tmp / "meta.json").write_text(
        json.dumps({"format": FORMAT_VERSION, "step": step, **meta}, indent=2) + "\n", encoding="utf-8"
    )
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in sorted(root.glob("step-*"))[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = sorted(checkpoint_dir(run_dir).glob("step-*"))
    return found[-1] if found else None


def read_meta(path: Path) -> dict:
    try:
        meta = json.loads((Path(path) / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserError(f"{path}: not a voxmorph checkpoint (no readable meta.json)") from None
    if meta.get("format") != FORMAT_VERSION:
        raise UserError(f"{path}: checkpoint format {meta.get('format')}; reads {FORMAT_VERSION}")
    return meta
