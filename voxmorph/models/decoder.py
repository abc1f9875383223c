"""The decoder: content + F0 + energy + voice (+ style latent) -> log-mel, a conditional VAE.

Per 10 ms frame it reads the content encoder's output, log F0 with a voicing flag and the frame
energy; per utterance it reads the voice's speaker embedding (resemblyzer, 256-d) and a style
latent ``z``. A causal ConvNeXt stack turns these into log-mel for the vocoder. Voice and style
enter every block as a per-channel scale and shift (FiLM), so they shape all layers, not just
the input.

The VAE part: a posterior encoder reads the *target* mel and pools it into an utterance-level
Gaussian over ``z`` (``style_dim`` numbers), trained with a KL term toward ``N(0, I)``. ``z``
carries what content, pitch, energy and the speaker embedding leave unexplained (recording
conditions, voice quality, speaking style). At conversion the voice supplies ``z``: the mean
posterior over its enrolment recordings, or 0 (the prior mean). Adversarial training against a
mel discriminator (:mod:`voxmorph.models.mel_discriminator`) keeps the output from being
over-smoothed.

Causal: frame ``t`` depends on conditioning frames ``<= t``, so it streams with no look-ahead of
its own (:class:`DecoderStream`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from voxmorph.audio.constants import N_MELS
from voxmorph.models.blocks import CausalConv1d, CausalConvNeXtBlock, ChannelNorm, pointwise
from voxmorph.models.checkpoint_io import ModelFolder
from voxmorph.models.speaker import EMBED_DIM

KIND = "vae-decoder"
FORMAT_VERSION = 1

MEL_MEAN, MEL_STD = -5.0, 2.5
LOG_F0_MEAN, LOG_F0_STD = 5.0, 0.5
ENERGY_MEAN, ENERGY_STD = -40.0, 20.0
"""Fixed normalisations: natural-log mel, log F0 (Hz) and frame energy (dB)."""


@dataclass(frozen=True)
class DecoderConfig:
    content_dim: int = 64
    channels: int = 192
    blocks: int = 6
    expansion: int = 3
    kernel: int = 5
    style_dim: int = 16
    posterior_channels: int = 128


CONFIGS = {
    "debug": DecoderConfig(content_dim=8, channels=24, blocks=1, expansion=2, style_dim=4,
                           posterior_channels=16),
    "small": DecoderConfig(),
    "base": DecoderConfig(channels=256, blocks=8),
}


def frame_conditioning(content: torch.Tensor, f0: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
    """``content (B, D, T)``, ``f0 (B, T)`` Hz (0 = unvoiced), ``energy (B, T)`` dB -> ``(B, D + 3, T)``.
    Unvoiced frames get log F0 0 (normalised mean) and voicing flag 0."""
    voiced = f0 > 0
    lf0 = torch.where(voiced, (torch.log(f0.clamp(min=1.0)) - LOG_F0_MEAN) / LOG_F0_STD, torch.zeros_like(f0))
    e = (energy - ENERGY_MEAN) / ENERGY_STD
    return torch.cat([content, lf0[:, None], voiced[:, None].to(content.dtype), e[:, None]], dim=1)


class FiLMBlock(nn.Module):
    """A causal ConvNeXt block whose output is scaled and shifted per channel by the utterance
    conditioning: ``(h (B, C, T), cond (B, E)) -> (B, C, T)``."""

    def __init__(self, channels: int, cond_dim: int, expansion: int, kernel: int):
        super().__init__()
        self.block = CausalConvNeXtBlock(channels, expansion, kernel)
        self.film = nn.Linear(cond_dim, 2 * channels)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def _modulate(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(cond).chunk(2, dim=-1)
        return h * (1.0 + scale[..., None]) + shift[..., None]

    def forward(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self._modulate(self.block(h), cond)

    def stream(self, h: torch.Tensor, cond: torch.Tensor, state):
        y, state = self.block.stream(h, state)
        return self._modulate(y, cond), state


class PosteriorEncoder(nn.Module):
    """Target mel ``(B, N_MELS, T)`` + frame mask ``(B, T)`` -> ``(mean, log_var)`` ``(B, style_dim)``."""

    def __init__(self, config: DecoderConfig):
        super().__init__()
        c = config.posterior_channels
        self.net = nn.Sequential(
            nn.Conv1d(N_MELS, c, 5, padding=2), nn.GELU(), nn.Conv1d(c, c, 5, padding=2), nn.GELU(),
            nn.Conv1d(c, c, 5, padding=2), nn.GELU(),
        )
        self.out = nn.Linear(c, 2 * config.style_dim)

    def forward(self, mel: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.net((mel - MEL_MEAN) / MEL_STD)
        m = mask[:, None].to(h.dtype)
        pooled = (h * m).sum(-1) / m.sum(-1).clamp(min=1.0)
        mean, log_var = self.out(pooled).chunk(2, dim=-1)
        return mean, log_var.clamp(-8.0, 4.0)


class MelDecoder(nn.Module):
    """``forward(cond (B, content_dim + 3, T), speaker (B, EMBED_DIM), z (B, style_dim)) -> (B, N_MELS, T)``
    (``cond`` from :func:`frame_conditioning`). Training also uses :attr:`posterior`."""

    def __init__(self, config: DecoderConfig = DecoderConfig()):
        super().__init__()
        self.config = config
        c, e = config.channels, config.channels
        self.inp = CausalConv1d(config.content_dim + 3, c, 3)
        self.utterance = nn.Sequential(nn.Linear(EMBED_DIM + config.style_dim, e), nn.GELU())
        self.blocks = nn.ModuleList(
            FiLMBlock(c, e, config.expansion, config.kernel) for _ in range(config.blocks)
        )
        self.norm = ChannelNorm(c, eps=1e-6)
        self.head = nn.Conv1d(c, N_MELS, 1)
        self.posterior = PosteriorEncoder(config)

    def utterance_conditioning(self, speaker: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.utterance(torch.cat([speaker, z], dim=-1))

    def _out(self, h: torch.Tensor) -> torch.Tensor:
        mel = pointwise(self.head, self.norm(h).transpose(1, 2)).transpose(1, 2)
        return mel * MEL_STD + MEL_MEAN

    def forward(self, cond: torch.Tensor, speaker: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        u = self.utterance_conditioning(speaker, z)
        h = self.inp(cond)
        for block in self.blocks:
            h = block(h, u)
        return self._out(h)


class DecoderStream:
    """Streaming form for one voice: ``process(cond (B, content_dim + 3, k)) -> (B, N_MELS, k)``,
    equal to the offline decoder on the concatenated frames (it is causal, so no delay)."""

    def __init__(self, model: MelDecoder, speaker: torch.Tensor, z: torch.Tensor):
        self.model = model
        self.u = model.utterance_conditioning(speaker, z)
        self.states: list = [None] * (1 + len(model.blocks))

    def process(self, cond: torch.Tensor) -> torch.Tensor:
        m = self.model
        h, self.states[0] = m.inp.stream(cond, self.states[0])
        for i, block in enumerate(m.blocks):
            h, self.states[i + 1] = block.stream(h, self.u, self.states[i + 1])
        return m._out(h)


_FOLDER = ModelFolder(KIND, FORMAT_VERSION, "decoder")


def save_decoder(model: MelDecoder, folder: str | Path, card: dict | None = None) -> None:
    _FOLDER.save(model, folder, card)


def load_decoder(folder: str | Path) -> tuple[MelDecoder, dict]:
    return _FOLDER.load(folder, lambda config: MelDecoder(DecoderConfig(**config)))
