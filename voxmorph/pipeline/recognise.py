"""Phone recognition with the content encoder's CTC head (greedy best path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from voxmorph.audio.features import log_mel
from voxmorph.models.content import ContentEncoder, load_content
from voxmorph.text.phonemes import decode


def best_path(logits: torch.Tensor) -> list[int]:
    """``(symbols, T)`` CTC logits -> symbol ids: best symbol per frame, repeats merged, blanks dropped."""
    best = logits.argmax(0).tolist()
    return [s for i, s in enumerate(best) if s != 0 and (i == 0 or s != best[i - 1])]


class PhoneRecogniser:
    """16 kHz float audio ``(n,)`` -> phones (symbols of :data:`voxmorph.text.phonemes.PHONES`)."""

    def __init__(self, model: ContentEncoder):
        self.model = model.eval()

    @classmethod
    def load(cls, folder: str | Path | None = None) -> PhoneRecogniser:
        from voxmorph.pipeline.neural_converter import WEIGHTS

        model, _ = load_content(folder or WEIGHTS / "content")
        return cls(model)

    @torch.inference_mode()
    def __call__(self, x: np.ndarray) -> list[str]:
        _, logits = self.model(log_mel(x)[None])
        return decode(best_path(logits[0]))
