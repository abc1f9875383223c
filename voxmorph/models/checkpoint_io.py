"""Self-describing model folders: ``model.safetensors`` + ``config.json`` (kind, format, config, card),
or for a model that is a few numbers, ``config.json`` alone (:class:`JsonFolder`).

Every shipped or exported model is such a folder; the loader rebuilds the model from the config it
finds, and refuses a folder of another kind or format version with a one-line message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TypeVar

from safetensors.torch import load_file, save_file
from torch import nn

from voxmorph.audio.io import atomic_path
from voxmorph.errors import UserError

M = TypeVar("M", bound=nn.Module)


class ModelFolder:
    """Save and load one kind of model (``model.config`` must be a dataclass)."""

    def __init__(self, kind: str, version: int, label: str):
        self.kind, self.version, self.label = kind, version, label  # label: its name in messages

    def save(self, model: nn.Module, folder: str | Path, card: dict | None = None) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"format": self.version, "kind": self.kind, "config": asdict(model.config), "card": card or {}}
        state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        with atomic_path(folder / "model.safetensors") as tmp:
            save_file(state, str(tmp))
        with atomic_path(folder / "config.json") as tmp:
            tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    def load(self, folder: str | Path, build: Callable[[dict], M]) -> tuple[M, dict]:
        """``build(config dict) -> model``; returns ``(model in eval mode, meta)``."""
        folder = Path(folder)
        meta = _read_meta(folder, self.kind, self.version, self.label)
        model = build(meta["config"])
        model.load_state_dict(load_file(str(folder / "model.safetensors")))
        return model.eval(), meta


def _read_meta(folder: Path, kind: str, version: int, label: str) -> dict:
    try:
        meta = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise UserError(f"{folder}: not a {label} folder ({err.__class__.__name__}: config.json)") from None
    if meta.get("kind") != kind or meta.get("format") != version:
        raise UserError(f"{folder}: not a version-{version} {kind} (found {meta.get('kind')})")
    return meta


class JsonFolder:
    """A model that is a few numbers: ``config.json`` with kind, format, its ``values`` and a card."""

    def __init__(self, kind: str, version: int, label: str):
        self.kind, self.version, self.label = kind, version, label

    def save(self, values: dict, folder: str | Path, card: dict | None = None) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"format": self.version, "kind": self.kind, "values": values, "card": card or {}}
        with atomic_path(folder / "config.json") as tmp:
            tmp.write_text(json.dumps(meta) + "\n", encoding="utf-8")

    def load(self, folder: str | Path) -> dict:
        """The ``values`` saved in ``folder``; a one-line error for a folder of another kind."""
        return _read_meta(Path(folder), self.kind, self.version, self.label)["values"]


def weights_id(folder: str | Path) -> str:
    """A short fingerprint of a model folder's weights (what a voice adapter was tuned against)."""
    digest = hashlib.sha256()
    with open(Path(folder) / "model.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]
