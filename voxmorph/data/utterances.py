"""Whole utterances with their phone labels, perturbed, for recognisers and content encoders.

Item ``i`` is a pure function of ``(seed, i)`` (so a resumed run draws the batches the killed run
would have): it picks a transcribed utterance with probability ``transcribed_share`` (else an
untranscribed one, cropped to ``max_frames``), then perturbs the voice:

- **speed** by a factor in ``speed`` (resampling: pitch, formants and tempo move together);
- **vocal-tract length** by a warp in ``warp`` (formants only, through the mel filterbank);
- **level** by +- :data:`GAIN_DB`.

The two voice perturbations together put one sentence into many different voices, which is what
lets unseen speakers map to the same content. :func:`collate` pads a batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from voxmorph.audio.constants import HOP, SAMPLE_RATE
from voxmorph.audio.dsp import resample
from voxmorph.audio.features import SILENCE_LOG_MEL, log_mel
from voxmorph.data.cache import Features

GAIN_DB = 6.0
EPOCH = 10**9
"""Nominal dataset length: indices are drawn, not enumerated."""


@dataclass(frozen=True)
class Perturbation:
    speed: tuple[float, float] = (0.9, 1.1)
    warp: tuple[float, float] = (0.88, 1.12)


@dataclass(frozen=True)
class LabelledUtterance:
    """Cached audio, the speaker's index and the phone ids (``None``: untranscribed)."""

    features: Features
    speaker: int
    phones: tuple[int, ...] | None


class UtteranceDataset(Dataset):
    """``dataset[i] -> {"mel": (N_MELS, T), "phones": (L,) long, "speaker": int}``
    (``L = 0``: read without its transcript).

    A transcribed utterance longer than ``max_frames`` cannot be cut without cutting its
    transcript, so it joins the untranscribed ones: a random crop for the speaker branch only."""

    def __init__(self, items: Sequence[LabelledUtterance], max_frames: int, transcribed_share: float,
                 perturb: Perturbation = Perturbation(), seed: int = 0):
        self.labelled = [u for u in items if u.phones and u.features.frames <= max_frames]
        self.unlabelled = [u for u in items if not u.phones or u.features.frames > max_frames]
        if not self.labelled and not self.unlabelled:
            raise ValueError("no usable utterances")
        self.share = transcribed_share if self.labelled and self.unlabelled else float(bool(self.labelled))
        self.max_frames = max_frames
        self.perturb = perturb
        self.seed = seed

    def __len__(self) -> int:
        return EPOCH

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng((self.seed, int(i)))
        labelled = rng.random() < self.share
        pool = self.labelled if labelled else self.unlabelled
        utt = pool[rng.integers(len(pool))]
        audio = utt.features.audio.astype(np.float32) / 32768.0
        speed = rng.uniform(*self.perturb.speed)
        # crop before resampling (cheaper), long enough for max_frames after it
        span = int(self.max_frames * HOP * speed)
        if not labelled and len(audio) > span:
            start = int(rng.integers(0, len(audio) - span))
            audio = audio[start : start + span]
        audio = resample(audio, SAMPLE_RATE, round(SAMPLE_RATE / speed))[: self.max_frames * HOP]
        gain = 10.0 ** (rng.uniform(-GAIN_DB, GAIN_DB) / 20.0)
        warp = round(float(rng.uniform(*self.perturb.warp)), 2)  # filterbanks are cached per warp
        mel = log_mel(audio * gain, warp=warp)
        phones = torch.tensor(utt.phones if labelled else (), dtype=torch.long)
        return {"mel": mel, "phones": phones, "speaker": utt.speaker}


def collate(items: list[dict]) -> dict[str, torch.Tensor]:
    """Pad a batch: ``mel (B, N_MELS, T)`` with silence, ``frames (B,)``, ``phones (B, L)`` with 0,
    ``phone_count (B,)`` (0 = untranscribed), ``speaker (B,)``."""
    frames = torch.tensor([it["mel"].shape[-1] for it in items])
    counts = torch.tensor([len(it["phones"]) for it in items])
    mel = torch.full((len(items), items[0]["mel"].shape[0], int(frames.max())), SILENCE_LOG_MEL)
    phones = torch.zeros(len(items), max(int(counts.max()), 1), dtype=torch.long)
    for b, it in enumerate(items):
        mel[b, :, : frames[b]] = it["mel"]
        phones[b, : counts[b]] = it["phones"]
    speaker = torch.tensor([it["speaker"] for it in items])
    return {"mel": mel, "frames": frames, "phones": phones, "phone_count": counts, "speaker": speaker}
