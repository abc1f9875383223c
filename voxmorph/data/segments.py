"""Random fixed-length training segments drawn from cached utterances.

Item ``i`` is a pure function of ``(seed, i)``: the utterance (chosen in proportion to its length),
the start frame and a random gain. The loop can therefore skip to any step after a resume and draw
exactly the batches the killed run would have drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from voxmorph.audio.constants import HOP
from voxmorph.data.cache import Features

GAIN_DB = 6.0
"""Random level change of each segment (+- dB), so the model does not learn one loudness."""

EPOCH = 10**9
"""Nominal dataset length: indices are drawn, not enumerated."""


class SegmentDataset(Dataset):
    """``dataset[i] -> {"audio": (frames * HOP,) float32, "f0": (frames,) Hz, "utterance": index,
    "start": first frame, "gain": level factor}`` (``utterance`` indexes ``features``; the audio is
    the utterance's from frame ``start`` times ``gain``)."""

    def __init__(self, features: Sequence[Features], frames: int, seed: int = 0):
        keep = [i for i, f in enumerate(features)
                if f.frames > frames + 1 and len(f.audio) >= (f.frames - 1) * HOP]
        usable = [features[i] for i in keep]
        self.indices = keep
        if not usable:
            raise ValueError(f"no utterance is longer than {frames * HOP} samples")
        self.features = usable
        self.frames = frames
        self.seed = seed
        lengths = np.array([f.frames - frames for f in usable], dtype=np.float64)
        self.weights = lengths / lengths.sum()

    def __len__(self) -> int:
        return EPOCH

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, int(i)))
        index = int(rng.choice(len(self.features), p=self.weights))
        feats = self.features[index]
        start = int(rng.integers(0, feats.frames - self.frames))
        pcm = feats.audio[start * HOP : (start + self.frames) * HOP]
        audio = pcm.astype(np.float32) / 32768.0
        if len(audio) < self.frames * HOP:
            audio = np.pad(audio, (0, self.frames * HOP - len(audio)))
        gain = 10.0 ** (rng.uniform(-GAIN_DB, GAIN_DB) / 20.0)
        peak = np.abs(audio).max()
        gain = min(gain, 0.99 / peak) if peak > 0 else gain
        f0 = feats.f0[start : start + self.frames]
        return {"audio": torch.from_numpy(audio * gain), "f0": torch.from_numpy(f0.copy()),
                "utterance": self.indices[index], "start": start, "gain": np.float32(gain)}
