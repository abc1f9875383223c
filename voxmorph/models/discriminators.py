"""Waveform and mel discriminators for GAN training (training only: no inference object holds one).

- :class:`PeriodDiscriminator`: HiFi-GAN's multi-period view, the waveform folded into
  ``(n / p, p)`` so 2-D convolutions see samples one period apart.
- :class:`ResolutionDiscriminator`: UnivNet's multi-resolution view, 2-D convolutions over a log
  magnitude spectrogram.

Each returns ``(logits, feature_maps)``; :class:`Discriminators` runs a list of them. Channel widths
are far below HiFi-GAN's (16..128 instead of 32..1024) so a GAN step fits a CPU budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from voxmorph.audio.features import MEL_MEAN, MEL_STD

Output = tuple[torch.Tensor, list[torch.Tensor]]


@dataclass(frozen=True)
class DiscriminatorConfig:
    periods: tuple[int, ...] = (2, 3, 5, 7, 11)
    period_channels: tuple[int, ...] = (16, 32, 64, 128)
    resolutions: tuple[tuple[int, int], ...] = ((512, 128), (1024, 256), (256, 64))
    """``(n_fft, hop)`` of each spectrogram view (window = n_fft)."""
    resolution_channels: int = 16


def _run_stack(convs: nn.ModuleList, out: nn.Module, h: torch.Tensor) -> Output:
    """Leaky-ReLU conv stack then the logit conv; every layer's output is a feature map."""
    fmaps = []
    for conv in convs:
        h = nn.functional.leaky_relu(conv(h), 0.1)
        fmaps.append(h)
    h = out(h)
    fmaps.append(h)
    return h.flatten(1), fmaps


class PeriodDiscriminator(nn.Module):
    def __init__(self, period: int, channels: tuple[int, ...]):
        super().__init__()
        self.period = period
        chans = (1, *channels)
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(chans[i], chans[i + 1], (5, 1), (3, 1), padding=(2, 0)))
            for i in range(len(channels))
        )
        self.convs.append(weight_norm(nn.Conv2d(chans[-1], chans[-1], (5, 1), 1, padding=(2, 0))))
        self.out = weight_norm(nn.Conv2d(chans[-1], 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x: torch.Tensor) -> Output:
        """``(B, n)`` -> logits ``(B, -1)`` and the feature maps."""
        b, n = x.shape
        if n % self.period:
            x = nn.functional.pad(x, (0, self.period - n % self.period), mode="reflect")
        h = x.reshape(b, 1, -1, self.period)
        return _run_stack(self.convs, self.out, h)


class ResolutionDiscriminator(nn.Module):
    def __init__(self, n_fft: int, hop: int, channels: int):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        c = channels
        self.convs = nn.ModuleList([
            weight_norm(nn.Conv2d(1, c, (7, 5), (2, 2), padding=(3, 2))),
            weight_norm(nn.Conv2d(c, c, (5, 3), (2, 1), padding=(2, 1))),
            weight_norm(nn.Conv2d(c, c, (5, 3), (2, 1), padding=(2, 1))),
            weight_norm(nn.Conv2d(c, c, 3, (2, 1), padding=1)),
            weight_norm(nn.Conv2d(c, c, 3, 1, padding=1)),
        ])
        self.out = weight_norm(nn.Conv2d(c, 1, 3, padding=1))

    def forward(self, x: torch.Tensor) -> Output:
        spec = torch.stft(x, self.n_fft, self.hop, window=self.window, center=True, return_complex=True)
        h = torch.log(spec.abs().clamp(min=1e-5))[:, None]
        return _run_stack(self.convs, self.out, h)


class Discriminators(nn.Module):
    """All views of one waveform: ``(B, n) -> list of (logits, feature_maps)``."""

    def __init__(self, config: DiscriminatorConfig = DiscriminatorConfig()):
        super().__init__()
        self.config = config
        self.views = nn.ModuleList(
            [PeriodDiscriminator(p, config.period_channels) for p in config.periods]
            + [ResolutionDiscriminator(n, h, config.resolution_channels) for n, h in config.resolutions]
        )

    def forward(self, x: torch.Tensor) -> list[Output]:
        return [view(x) for view in self.views]


class MelDiscriminator(nn.Module):
    """The decoder's critic: 2-D convolutions over a log-mel patch (frequency x time), so it judges
    local spectral texture (harmonics, formant detail) that an L1 loss smooths away.
    ``(B, N_MELS, T) -> [(logits, feature_maps)]``, the same form as :class:`Discriminators`."""

    def __init__(self, channels: int = 32):
        super().__init__()
        c = channels
        self.convs = nn.ModuleList([
            weight_norm(nn.Conv2d(1, c, (5, 5), (2, 1), padding=2)),
            weight_norm(nn.Conv2d(c, c, (5, 5), (2, 2), padding=2)),
            weight_norm(nn.Conv2d(c, 2 * c, (5, 5), (2, 2), padding=2)),
            weight_norm(nn.Conv2d(2 * c, 2 * c, 3, 1, padding=1)),
        ])
        self.out = weight_norm(nn.Conv2d(2 * c, 1, 3, padding=1))

    def forward(self, mel: torch.Tensor) -> list[Output]:
        return [_run_stack(self.convs, self.out, (mel[:, None] - MEL_MEAN) / MEL_STD)]


DISCRIMINATOR_CONFIGS = {
    "debug": DiscriminatorConfig(periods=(2, 3), period_channels=(8, 16), resolutions=((256, 64),),
                                 resolution_channels=8),
    "small": DiscriminatorConfig(),
    "base": DiscriminatorConfig(period_channels=(32, 64, 128, 256), resolution_channels=32),
}
