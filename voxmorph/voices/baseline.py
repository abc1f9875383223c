"""A speaker's neutral pitch level (log-F0 mean), predicted from their speaker embedding — what
lets a conversion keep the source's emotion.

The converter moves the source's pitch into the target's range from the source's own statistics.
Measured on one take, those statistics hold the take's emotion too (anger is 8–9 semitones above
the same actor's neutral reading), so mapping them onto the target's neutral range erases it. The
speaker embedding hardly moves with emotion, so a linear map from it to the pitch of neutral read
speech gives a baseline the take can be compared with: what the take holds above (or below) it
beyond the prediction's own error is emotion, and the converter keeps it (:func:`kept_level`).
The pitch *range* is not predicted: from the embedding it came out too unreliable to tell a
lively take from a lively speaker. Fitted by
``voxmorph train pitch-baseline`` (:mod:`voxmorph.train.pitch_baseline`); model card
docs/models/pitch-baseline.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxmorph.models.checkpoint_io import JsonFolder
from voxmorph.paths import shipped_model

KIND, FORMAT_VERSION = "pitch-baseline", 1
LEVEL_DEADBAND_ST = 2.5
"""A take's level within this many semitones of the predicted baseline is taken as the speaker's
own; beyond it, the rest is kept (the prediction's held-out error spreads 4.2 semitones,
docs/bench/pitch_baseline.md: a compromise between keeping emotion and moving neutral takes)."""


@dataclass(frozen=True)
class PitchBaseline:
    weights: np.ndarray
    """``(E,)``: log-F0 mean from an embedding ``(E,)``."""
    bias: float

    def predict(self, embedding: np.ndarray) -> float:
        """The log-F0 mean of the speaker's neutral read speech."""
        return float(self.weights @ np.asarray(embedding, np.float64) + self.bias)


_FOLDER = JsonFolder(KIND, FORMAT_VERSION, "pitch-baseline")


def save_baseline(model: PitchBaseline, folder: str | Path, card: dict | None = None) -> None:
    _FOLDER.save({"weights": np.round(model.weights, 6).tolist(), "bias": float(model.bias)}, folder, card)


def load_baseline(folder: str | Path | None = None) -> PitchBaseline:
    values = _FOLDER.load(folder or shipped_model(KIND))
    return PitchBaseline(np.asarray(values["weights"], np.float64), float(values["bias"]))


def kept_level(take: float, baseline: float) -> float:
    """The log-F0 offset a conversion should keep: the take's log-F0 mean against the speaker's
    predicted neutral ``baseline``, minus the dead band that covers the prediction's error."""
    band = LEVEL_DEADBAND_ST * math.log(2.0) / 12.0
    d = take - baseline
    return math.copysign(max(0.0, abs(d) - band), d)
