"""The neural vocoder: a learned source-filter model, ``(B, N_MELS, T) mel + (B, T) F0 -> (B, T * HOP)``.

A small causal ConvNeXt network reads log-mel and F0 at the frame rate and predicts, for every
10 ms frame, two filters as log-magnitude spectra: one for a band-limited harmonic pulse train at
F0 and one for white noise (see :mod:`voxmorph.models.excitation`). Both filters are made
minimum-phase, applied to Hann slices of their sources in the frequency domain and overlap-added.

Why this shape for a CPU: the pitch comes from the explicit F0, so the network never has to learn
phase or periodicity (the slow part of training a HiFi-GAN or Vocos on little compute); all the
sample-rate work is FFTs and one cumulative sum, and the network runs 100 times a second, not
16 000. It is causal: frame ``t`` uses features up to ``t``, so a stream needs no look-ahead beyond
the mel analysis window.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from voxmorph.audio.constants import HOP, N_MELS
from voxmorph.audio.features import LOG_F0_MEAN, LOG_F0_STD, MEL_MEAN, MEL_STD
from voxmorph.models.blocks import CausalConv1d, CausalConvNeXtBlock, ChannelNorm, pointwise
from voxmorph.models.checkpoint_io import ModelFolder
from voxmorph.models.excitation import (
    SYN_BINS,
    centred_f0,
    complex_mul,
    fill_unvoiced,
    filter_frames,
    frame_spectra,
    harmonic_pulses,
    minimum_phase,
)

FORMAT_VERSION = 1
KIND = "source-filter-vocoder"

MAX_LOG_GAIN = 6.0
"""Cap on predicted log-magnitudes, so an untrained network cannot overflow the filters."""


@dataclass(frozen=True)
class VocoderConfig:
    channels: int = 128
    blocks: int = 4
    expansion: int = 3
    kernel: int = 7


CONFIGS = {
    "debug": VocoderConfig(channels=16, blocks=1, expansion=2),
    "small": VocoderConfig(channels=128, blocks=4),
    "base": VocoderConfig(channels=192, blocks=6),
}
"""Named sizes: ``debug`` trains in seconds for tests; the shipped model is ``base`` (trained with the
``medium`` recipe), ``small`` the earlier, faster one."""


def conditioning(mel: torch.Tensor, f0_filled: torch.Tensor, voiced: torch.Tensor) -> torch.Tensor:
    """Network input ``(B, N_MELS + 2, T)``: normalised mel, normalised log F0, voicing flag."""
    lf0 = (torch.log(f0_filled) - LOG_F0_MEAN) / LOG_F0_STD
    return torch.cat([(mel - MEL_MEAN) / MEL_STD, lf0[:, None], voiced[:, None]], dim=1)


class SourceFilterVocoder(nn.Module):
    """``forward(mel (B, N_MELS, T), f0 (B, T) Hz with 0 = unvoiced, noise (B, T * HOP) or None)
    -> (B, T * HOP)`` waveform, sample ``0`` at the centre of frame ``0``."""

    def __init__(self, config: VocoderConfig = VocoderConfig()):
        super().__init__()
        self.config = config
        c = config.channels
        self.inp = CausalConv1d(N_MELS + 2, c, 3)
        self.blocks = nn.ModuleList(
            CausalConvNeXtBlock(c, config.expansion, config.kernel) for _ in range(config.blocks)
        )
        self.norm = ChannelNorm(c, eps=1e-6)
        self.head = nn.Conv1d(c, 2 * SYN_BINS, 1)
        with torch.no_grad():  # start quiet and mostly harmonic: noise 20 dB below the pulses
            self.head.weight.mul_(0.1)
            self.head.bias.zero_()
            self.head.bias[SYN_BINS:] = -2.3

    def log_gains(self, h: torch.Tensor) -> torch.Tensor:
        """Backbone output ``(B, C, T)`` -> ``(B, T, 2, SYN_BINS)`` log-magnitudes (harmonic, noise)."""
        g = pointwise(self.head, self.norm(h).transpose(1, 2))
        g = MAX_LOG_GAIN - nn.functional.softplus(MAX_LOG_GAIN - g)
        return g.reshape(g.shape[0], g.shape[1], 2, SYN_BINS)

    def backbone(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        for block in self.blocks:
            h = block(h)
        return h

    def synthesise(self, gains: torch.Tensor, pulses: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Filter sources that start at sample ``-HOP`` (``(B, (T + 1) * HOP)`` each) with ``gains``
        ``(B, T, 2, SYN_BINS)``; returns ``(B, (T - 1) * HOP + SYN_FFT)`` from sample ``-HOP`` on."""
        response = minimum_phase(gains)
        spectra = (complex_mul(frame_spectra(pulses), response[:, :, 0])
                   + complex_mul(frame_spectra(noise), response[:, :, 1]))
        return filter_frames(spectra)

    def render(self, cond: torch.Tensor, pulses: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """The learned part and the filtering, without the excitation: what ONNX export holds."""
        return self.synthesise(self.log_gains(self.backbone(cond)), pulses, noise)

    @staticmethod
    def inputs(
        mel: torch.Tensor, f0: torch.Tensor, noise: torch.Tensor | None = None,
        f0_samples: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(cond, pulses, noise)`` for :meth:`render`: sources padded to start at sample ``-HOP``.
        The pulses follow ``f0_samples`` ``(B, T * HOP)``, by default :func:`centred_f0` of ``f0``."""
        b, _, t = mel.shape
        if f0_samples is None:
            f0_samples = centred_f0(f0)
        pulses, _ = harmonic_pulses(f0_samples, torch.zeros(b, dtype=torch.float64, device=mel.device))
        if noise is None:
            noise = torch.randn(b, t * HOP, device=mel.device)
        pad = (HOP, 0)
        cond = conditioning(mel, fill_unvoiced(f0), (f0 > 0).to(mel.dtype))
        return cond, nn.functional.pad(pulses, pad), nn.functional.pad(noise, pad)

    def forward(self, mel: torch.Tensor, f0: torch.Tensor, noise: torch.Tensor | None = None,
                f0_samples: torch.Tensor | None = None) -> torch.Tensor:
        t = mel.shape[-1]
        return self.render(*self.inputs(mel, f0, noise, f0_samples))[:, HOP : HOP + t * HOP]


class VocoderStream:
    """Streaming form of :class:`SourceFilterVocoder`: feed frames in chunks of any size.

    ``process(mel (B, N_MELS, k), f0 (B, k), f0_samples (B, k * HOP), noise (B, k * HOP) or None)
    -> (B, k * HOP)``, where ``f0_samples`` is the pulses' F0 from the centre of the first frame to
    the centre of the one after the last (the caller decides how far it can see; see
    :mod:`~voxmorph.models.excitation`). The output is the offline output delayed by :attr:`delay`
    samples (one frame): after frame ``i`` every sample before ``i * HOP`` is final. Given the same
    sample F0 and noise, stream == offline.
    """

    delay = HOP

    def __init__(self, model: SourceFilterVocoder, batch: int = 1, seed: int = 0):
        self.model = model
        self.conv_states: list[torch.Tensor | None] = [None] * (1 + len(model.blocks))
        self.f0_last: torch.Tensor | None = None
        self.phase = torch.zeros(batch, dtype=torch.float64)
        self.tail_pulses = torch.zeros(batch, HOP)
        self.tail_noise = torch.zeros(batch, HOP)
        self.ola = torch.zeros(batch, 0)
        self.generator = torch.Generator().manual_seed(seed)

    def _backbone(self, x: torch.Tensor) -> torch.Tensor:
        m = self.model
        h, self.conv_states[0] = m.inp.stream(x, self.conv_states[0])
        for i, block in enumerate(m.blocks):
            h, self.conv_states[i + 1] = block.stream(h, self.conv_states[i + 1])
        return h

    def process(self, mel: torch.Tensor, f0: torch.Tensor, f0_samples: torch.Tensor,
                noise: torch.Tensor | None = None) -> torch.Tensor:
        b, _, k = mel.shape
        f0_filled = fill_unvoiced(f0, self.f0_last)
        self.f0_last = f0_filled[:, -1]
        gains = self.model.log_gains(self._backbone(conditioning(mel, f0_filled, (f0 > 0).to(mel.dtype))))
        pulses, self.phase = harmonic_pulses(f0_samples, self.phase)
        if noise is None:
            noise = torch.randn(b, k * HOP, generator=self.generator)
        src_p = torch.cat([self.tail_pulses, pulses], dim=-1)
        src_n = torch.cat([self.tail_noise, noise], dim=-1)
        self.tail_pulses, self.tail_noise = src_p[:, -HOP:], src_n[:, -HOP:]
        frames = self.model.synthesise(gains, src_p, src_n)
        frames[:, : self.ola.shape[-1]] += self.ola
        self.ola = frames[:, k * HOP :]
        return frames[:, : k * HOP]


_FOLDER = ModelFolder(KIND, FORMAT_VERSION, "vocoder")


def save_vocoder(model: SourceFilterVocoder, folder: str | Path, card: dict | None = None) -> None:
    """Write ``model.safetensors`` and ``config.json`` (format version, config, model card)."""
    _FOLDER.save(model, folder, card)


def load_vocoder(folder: str | Path) -> tuple[SourceFilterVocoder, dict]:
    """Build the vocoder a folder describes and load its weights; returns ``(model, meta)``."""
    return _FOLDER.load(folder, lambda config: SourceFilterVocoder(VocoderConfig(**config)))
