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
mel discriminator (:class:`voxmorph.models.discriminators.MelDiscriminator`) keeps the output from being
over-smoothed.

Causal with an optional look-ahead: mel frame ``t`` depends on conditioning frames
``<= t + lookahead`` (0 in configs that do not set it), so its live form
(:class:`voxmorph.models.frame_neural.FrameDecoder`) is ``lookahead`` frames late, as the content
encoder's is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from voxmorph.audio.constants import N_MELS
from voxmorph.audio.features import LOG_F0_MEAN, LOG_F0_STD, MEL_MEAN, MEL_STD, energy_db, log_mel
from voxmorph.models.blocks import CausalConv1d, CausalConvNeXtBlock, ChannelNorm, pointwise
from voxmorph.models.checkpoint_io import ModelFolder
from voxmorph.models.speaker import EMBED_DIM

KIND = "vae-decoder"
FORMAT_VERSION = 1

ENERGY_MEAN, ENERGY_STD = -40.0, 20.0
"""Fixed normalisation of frame energy (dB); mel and log F0 as every model
(:data:`voxmorph.audio.features.MEL_MEAN`, :data:`~voxmorph.audio.features.LOG_F0_MEAN`)."""


@dataclass(frozen=True)
class DecoderConfig:
    content_dim: int = 64
    channels: int = 192
    blocks: int = 6
    expansion: int = 3
    kernel: int = 5
    style_dim: int = 16
    posterior_channels: int = 128
    lookahead: int = 0
    """Frames of look-ahead (10 ms each): mel frame ``t`` reads conditioning frames ``<= t + lookahead``."""


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


def shift_pitch(cond: torch.Tensor, log_ratio: torch.Tensor) -> torch.Tensor:
    """Conditioning ``cond (B, D + 3, T)`` (:func:`frame_conditioning`) with the F0 of its voiced
    frames multiplied by ``exp(log_ratio)``, ``log_ratio (B,)``."""
    out = cond.clone()
    out[:, -3] += cond[:, -2] * (log_ratio / LOG_F0_STD)[:, None]
    return out


def round_trip(content: nn.Module, decoder: MelDecoder, cond: torch.Tensor, voice: VoiceConditioning,
               log_ratio: torch.Tensor) -> torch.Tensor:
    """``cond`` with its content read back from its rendering in another ``voice`` at a pitch moved
    by ``log_ratio (B,)``: what a conversion from that voice would give the decoder to read."""
    there, _ = content(decoder.render(shift_pitch(cond, log_ratio), voice))
    return torch.cat([there, cond[:, -3:]], dim=1)


def rebuild_mel(content: nn.Module, decoder: MelDecoder, audio: np.ndarray, f0: torch.Tensor,
                voice: VoiceConditioning) -> torch.Tensor:
    """What the neural converter decodes from ``audio (n,)``: its content (``content`` encoder on
    its log-mel), ``f0 (1, T)`` Hz and energy, rendered in ``voice`` -> log-mel ``(1, N_MELS, T)``.
    The converter and the fine-tuning of its vocoder both go through here."""
    feats, energy = source_frames(content, audio, f0.shape[-1])
    return decoder.render(frame_conditioning(feats, f0, energy), voice)


def source_frames(content: nn.Module, audio: np.ndarray, frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """What the decoder reads of ``audio (n,)`` besides F0: its content ``(1, D, frames)`` and
    energy ``(1, frames)`` dB."""
    feats, _ = content(log_mel(audio)[None, :, :frames])
    return feats, energy_db(audio)[None, :frames]


class VoiceConditioning(NamedTuple):
    """What the decoder reads from a voice: the utterance vector ``u (B, E)`` every block's FiLM is
    computed from, and optionally an adapter's FiLM offsets ``(blocks, 2C)`` and mel bias ``(N_MELS,)``."""

    u: torch.Tensor
    film: torch.Tensor | None = None
    mel_bias: torch.Tensor | None = None


class FiLMBlock(nn.Module):
    """A causal ConvNeXt block whose output is scaled and shifted per channel by the utterance
    conditioning: ``(h (B, C, T), cond (B, E)) -> (B, C, T)``."""

    def __init__(self, channels: int, cond_dim: int, expansion: int, kernel: int):
        super().__init__()
        self.block = CausalConvNeXtBlock(channels, expansion, kernel)
        self.film = nn.Linear(cond_dim, 2 * channels)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def _modulate(self, h: torch.Tensor, cond: torch.Tensor, offset: torch.Tensor | None) -> torch.Tensor:
        film = self.film(cond) if offset is None else self.film(cond) + offset
        scale, shift = film.chunk(2, dim=-1)
        return h * (1.0 + scale[..., None]) + shift[..., None]

    def forward(self, h: torch.Tensor, cond: torch.Tensor, offset: torch.Tensor | None = None
                ) -> torch.Tensor:
        return self._modulate(self.block(h), cond, offset)


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

    def voice(self, speaker: torch.Tensor, z: torch.Tensor) -> VoiceConditioning:
        """The conditioning of a voice: speaker embedding ``(B, EMBED_DIM)``, style ``(B, style_dim)``."""
        return VoiceConditioning(self.utterance(torch.cat([speaker, z], dim=-1)))

    def _out(self, h: torch.Tensor, voice: VoiceConditioning) -> torch.Tensor:
        mel = pointwise(self.head, self.norm(h).transpose(1, 2)).transpose(1, 2)
        if voice.mel_bias is not None:
            mel = mel + voice.mel_bias[:, None]
        return mel * MEL_STD + MEL_MEAN

    @staticmethod
    def _offset(voice: VoiceConditioning, i: int) -> torch.Tensor | None:
        return None if voice.film is None else voice.film[i]

    def render(self, cond: torch.Tensor, voice: VoiceConditioning) -> torch.Tensor:
        """``cond (B, content_dim + 3, T)`` in ``voice`` -> log-mel ``(B, N_MELS, T)``; past the
        end the look-ahead reads zeros (as :meth:`DecoderStream.flush`)."""
        la = self.config.lookahead
        h = self.inp(nn.functional.pad(cond, (0, la)))
        for i, block in enumerate(self.blocks):
            h = block(h, voice.u, self._offset(voice, i))
        return self._out(h, voice)[..., la:]

    def forward(self, cond: torch.Tensor, speaker: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.render(cond, self.voice(speaker, z))


class DecoderAdapter(nn.Module):
    """A voice's own small correction to a trained decoder (``voxmorph voice add --adapt``): its
    utterance vector (starting from the zero-shot one), a FiLM scale/shift offset per block and a
    bias per mel band, about ``C + 2·C·blocks + N_MELS`` numbers (2.6k for the small decoder)."""

    def __init__(self, config: DecoderConfig, u: torch.Tensor | None = None):
        super().__init__()
        self.config = config
        start = torch.zeros(1, config.channels) if u is None else u.detach().clone().reshape(1, -1)
        self.u = nn.Parameter(start)
        self.film = nn.Parameter(torch.zeros(config.blocks, 2 * config.channels))
        self.mel_bias = nn.Parameter(torch.zeros(N_MELS))

    def conditioning(self) -> VoiceConditioning:
        return VoiceConditioning(self.u, self.film, self.mel_bias)


_FOLDER = ModelFolder(KIND, FORMAT_VERSION, "decoder")


def save_decoder(model: MelDecoder, folder: str | Path, card: dict | None = None) -> None:
    _FOLDER.save(model, folder, card)


def load_decoder(folder: str | Path) -> tuple[MelDecoder, dict]:
    return _FOLDER.load(folder, lambda config: MelDecoder(DecoderConfig(**config)))


_ADAPTER_FOLDER = ModelFolder("decoder-adapter", 1, "decoder adapter")


def save_adapter(adapter: DecoderAdapter, folder: str | Path, card: dict | None = None) -> None:
    _ADAPTER_FOLDER.save(adapter, folder, card)


def load_adapter(folder: str | Path) -> tuple[DecoderAdapter, dict]:
    return _ADAPTER_FOLDER.load(folder, lambda config: DecoderAdapter(DecoderConfig(**config)))
