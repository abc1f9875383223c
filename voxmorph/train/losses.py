"""Named loss functions shared by the training recipes (each returns a scalar tensor)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from voxmorph.audio.features import log_mel

Output = tuple[torch.Tensor, list[torch.Tensor]]

STFT_RESOLUTIONS = ((512, 128, 512), (1024, 256, 1024), (256, 64, 256))
"""``(n_fft, hop, window)`` of the multi-resolution STFT loss."""


def mel_l1(y_hat: torch.Tensor, y: torch.Tensor, loudness: float = 0.0) -> torch.Tensor:
    """L1 between natural-log mel spectrograms of two ``(B, n)`` waveforms.

    With ``loudness`` > 0 each frame's error is weighted by the target frame's power raised to
    that exponent (0.3: Stevens' loudness), normalised to mean 1 over the batch. Unweighted, a
    quiet frame counts as much as a loud one, and a model can trade accuracy on loud voiced
    frames (what listeners and PESQ hear) for the noise floor of silences.
    """
    target = log_mel(y)
    err = (log_mel(y_hat) - target).abs()
    if loudness == 0.0:
        return err.mean()
    with torch.no_grad():
        w = torch.exp(2.0 * target).sum(dim=1, keepdim=True).pow(loudness)
        w = w / w.mean()
    return (err * w).mean()


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


def against_critic(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
    """A generator's ``adv`` (LSGAN) and ``fm`` (feature matching, mean over layers) against a
    one-view critic of frame sequences (the text-to-frames and prosody recipes)."""
    scored_fake = [critic(fake)]
    with torch.no_grad():
        scored_real = [critic(real)]
    return {"adv": generator_lsgan(scored_fake),
            "fm": feature_matching(scored_real, scored_fake) / len(scored_real[0][1])}


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL of ``N(mu, exp(logvar))`` from ``N(0, I)``, summed over the latent, mean over the batch."""
    return 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(1).mean()


def discriminator_accuracy(real: Sequence[Output], fake: Sequence[Output]) -> float:
    """Share of logits on the right side of 0.5 (real above, fake below), over all views."""
    hits = [((r > 0.5).float().mean() + (f < 0.5).float().mean()) / 2
            for (r, _), (f, _) in zip(real, fake, strict=True)]
    return float(torch.stack(hits).mean())
