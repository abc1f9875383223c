"""Named loss functions shared by the training recipes (each returns a scalar tensor)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from voxmorph.audio.features import log_mel

Output = tuple[torch.Tensor, list[torch.Tensor]]

STFT_RESOLUTIONS = ((512, 128, 512), (1024, 256, 1024), (256, 64, 256))
"""``(n_fft, hop, window)`` of the multi-resolution STFT loss."""


def mel_l1(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """L1 between natural-log mel spectrograms of two ``(B, n)`` waveforms."""
    return nn.functional.l1_loss(log_mel(y_hat), log_mel(y))


def multi_resolution_stft(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Spectral convergence plus log-magnitude L1, averaged over :data:`STFT_RESOLUTIONS`."""
    total = y.new_zeros(())
    for n_fft, hop, win in STFT_RESOLUTIONS:
        window = torch.hann_window(win, device=y.device)
        s_hat, s = (
            torch.stft(v, n_fft, hop, win, window, return_complex=True).abs().clamp(min=1e-7)
            for v in (y_hat, y)
        )
        sc = torch.linalg.norm(s - s_hat) / torch.linalg.norm(s).clamp(min=1e-7)
        total = total + sc + nn.functional.l1_loss(torch.log(s_hat), torch.log(s))
    return total / len(STFT_RESOLUTIONS)


def discriminator_lsgan(real: Sequence[Output], fake: Sequence[Output]) -> torch.Tensor:
    """Least-squares D loss: real towards 1, fake towards 0, summed over views."""
    return sum(((1 - r) ** 2).mean() + (f**2).mean() for (r, _), (f, _) in zip(real, fake, strict=True))


def generator_lsgan(fake: Sequence[Output]) -> torch.Tensor:
    """Least-squares G loss: fake towards 1, summed over views."""
    return sum(((1 - f) ** 2).mean() for f, _ in fake)


def feature_matching(real: Sequence[Output], fake: Sequence[Output]) -> torch.Tensor:
    """L1 between D's feature maps on real (detached) and generated audio, summed over layers."""
    total = 0.0
    for (_, fr), (_, ff) in zip(real, fake, strict=True):
        for a, b in zip(fr, ff, strict=True):
            total = total + (a.detach() - b).abs().mean()
    return total


def discriminator_accuracy(real: Sequence[Output], fake: Sequence[Output]) -> float:
    """Share of logits on the right side of 0.5 (real above, fake below), over all views."""
    hits = [((r > 0.5).float().mean() + (f < 0.5).float().mean()) / 2
            for (r, _), (f, _) in zip(real, fake, strict=True)]
    return float(torch.stack(hits).mean())
