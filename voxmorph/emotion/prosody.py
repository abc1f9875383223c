"""The learned emotional prosody: a conditional VAE, trained against an adversarial critic, that
turns a neutral delivery's pitch and loudness contours into an emotion's.

Per frame (100 frames/s) it reads the contour of what is said (:func:`contour_features`: pitch in
semitones about the utterance's median, voicing, loudness about its speech mean, speech) and
writes the change the emotion makes there: pitch (semitones) and loudness (dB). The change is a
whole contour, not a constant: accents, declination, where the range widens. The emotion enters
as a learned embedding; a latent ``z`` (``N(0, I)`` at inference) gives take-to-take variation.
Language-independent: no phones, no words. It was learned from actors' emotional and neutral
readings of the same sentence, aligned frame by frame (:mod:`voxmorph.train.emotion_prosody`).

Inference only; model card docs/models/emotion-prosody.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from voxmorph.models.checkpoint_io import ModelFolder
from voxmorph.paths import shipped_model

KIND, FORMAT_VERSION = "emotion-prosody", 1
N_IN, N_OUT = 4, 2
PITCH_SCALE_ST, LOUDNESS_SCALE_DB = 6.0, 10.0
"""Semitones and dB per unit of the model's inputs and outputs."""
SPEECH_RANGE_DB = 35.0


@dataclass(frozen=True)
class ProsodyConfig:
    emotions: tuple[str, ...] = ("happy", "sad", "angry", "fearful")
    channels: int = 64
    latent: int = 8
    emotion_dim: int = 16
    dilations: tuple[int, ...] = (1, 2, 4, 8, 1, 2, 4, 8)


CONFIGS = {"debug": ProsodyConfig(channels=8, dilations=(1, 2)), "small": ProsodyConfig()}


def contour_features(f0: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
    """``f0 (B, T)`` Hz (0 unvoiced) and ``energy (B, T)`` dB -> ``(B, N_IN, T)``: pitch about
    the median of the voiced frames, voicing, loudness about the speech frames' mean, speech."""
    voiced = f0 > 0
    st = 12.0 * torch.log2(f0.clamp(min=1.0) / 100.0)
    rows = []
    for s, v, e in zip(st, voiced, energy, strict=True):
        med = s[v].median() if bool(v.any()) else s.new_zeros(())
        speech = e > e.max() - SPEECH_RANGE_DB
        mean = e[speech].mean() if bool(speech.any()) else e.mean()
        rows.append(torch.stack([torch.where(v, (s - med) / PITCH_SCALE_ST, torch.zeros_like(s)),
                                 v.float(), ((e - mean) / LOUDNESS_SCALE_DB).clamp(-4, 2),
                                 speech.float()]))
    return torch.stack(rows)


class _Stack(nn.Module):
    def __init__(self, n_in: int, channels: int, dilations: tuple[int, ...]):
        super().__init__()
        self.inp = nn.Conv1d(n_in, channels, 1)
        self.convs = nn.ModuleList([nn.Conv1d(channels, channels, 5, padding=2 * d, dilation=d)
                                    for d in dilations])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inp(x)
        for conv in self.convs:
            x = x + conv(nn.functional.leaky_relu(x, 0.2))
        return nn.functional.leaky_relu(x, 0.2)


class EmotionProsody(nn.Module):
    """``forward(features (B, N_IN, T), emotion ids (B,), z (B, latent)) -> (B, N_OUT, T)`` in
    model units (pitch / PITCH_SCALE_ST, loudness / LOUDNESS_SCALE_DB)."""

    def __init__(self, config: ProsodyConfig = ProsodyConfig()):
        super().__init__()
        self.config = config
        c = config
        self.embed = nn.Embedding(len(c.emotions), c.emotion_dim)
        self.body = _Stack(N_IN + c.emotion_dim + c.latent, c.channels, c.dilations)
        self.out = nn.Conv1d(c.channels, N_OUT, 1)
        self.posterior = _Stack(N_IN + N_OUT + c.emotion_dim, c.channels, c.dilations[:2])
        self.stats = nn.Linear(c.channels, 2 * c.latent)

    def _cond(self, x: torch.Tensor, emotion: torch.Tensor, *more: torch.Tensor) -> torch.Tensor:
        t = x.shape[-1]
        extra = [m[:, :, None].expand(-1, -1, t) for m in (self.embed(emotion), *more)]
        return torch.cat([x, *extra], 1)

    def forward(self, x: torch.Tensor, emotion: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(self._cond(x, emotion, z)))

    def encode_posterior(self, x: torch.Tensor, target: torch.Tensor, emotion: torch.Tensor,
                         mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu, logvar)`` of ``z`` given the real change ``target (B, N_OUT, T)``."""
        h = self.posterior(self._cond(torch.cat([x, target], 1), emotion)) * mask
        pooled = h.sum(-1) / mask.sum(-1).clamp(min=1.0)
        mu, logvar = self.stats(pooled).chunk(2, -1)
        return mu, logvar.clamp(-8, 4)

    @torch.inference_mode()
    def change(self, f0: torch.Tensor, energy: torch.Tensor, emotion: str, z: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """``f0, energy (B, T)`` -> the emotion's ``(pitch change st, loudness change dB)``, each
        ``(B, T)``, at full intensity."""
        ids = torch.full((f0.shape[0],), self.config.emotions.index(emotion), dtype=torch.long)
        y = self(contour_features(f0, energy), ids, z.expand(f0.shape[0], -1))
        return y[:, 0] * PITCH_SCALE_ST, y[:, 1] * LOUDNESS_SCALE_DB


_FOLDER = ModelFolder(KIND, FORMAT_VERSION, "emotion prosody model")


def save_prosody(model: EmotionProsody, folder: str | Path, card: dict | None = None) -> None:
    _FOLDER.save(model, folder, card)


def load_prosody(folder: str | Path | None = None) -> tuple[EmotionProsody, dict]:
    def build(config: dict) -> EmotionProsody:
        return EmotionProsody(ProsodyConfig(**{k: tuple(v) if isinstance(v, list) else v
                                               for k, v in config.items()}))

    return _FOLDER.load(folder or shipped_model(KIND), build)


def latent(seed: int, size: int) -> torch.Tensor:
    """The style latent a seed picks, ``(1, size)``."""
    return torch.from_numpy(np.random.default_rng(seed).standard_normal((1, size)).astype(np.float32))
