"""Phone recognition with the content encoder's CTC head (greedy best path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from voxmorph.audio.features import log_mel
from voxmorph.models.content import ContentEncoder, best_path, load_content
from voxmorph.paths import shipped_model
from voxmorph.text.phonemes import decode


class PhoneRecogniser:
    """16 kHz float audio ``(n,)`` -> phones (symbols of :data:`voxmorph.text.phonemes.PHONES`)."""

    def __init__(self, model: ContentEncoder):
        self.model = model.eval()

    @classmethod
    def load(cls, folder: str | Path | None = None) -> PhoneRecogniser:
        model, _ = load_content(folder or shipped_model("content"))
        return cls(model)

    @torch.inference_mode()
    def __call__(self, x: np.ndarray) -> list[str]:
        _, logits = self.model(log_mel(x)[None])
        return decode(best_path(logits[0]))
