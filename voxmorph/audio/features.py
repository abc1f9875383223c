"""Frame-level features at :data:`FRAME_RATE`: log-mel spectrogram and energy (torch.stft)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from voxmorph.audio.constants import F_MAX, F_MIN, HOP, N_FFT, N_MELS, SAMPLE_RATE, WIN_LENGTH

LOG_FLOOR = 1e-5
"""Magnitude floor before the log, so silence maps to a finite value (about -11.5)."""
SILENCE_LOG_MEL = float(np.log(LOG_FLOOR))
"""Log-mel of digital silence: what models see as padding and past the end of a file."""

MEL_MEAN, MEL_STD = -5.0, 2.5
"""The models' fixed normalisation of natural-log mel values (silence is about -11.5, loud
speech about 1): every model reads and writes ``(log_mel - MEL_MEAN) / MEL_STD``."""
LOG_F0_MEAN, LOG_F0_STD = 5.0, 0.5
"""The models' fixed normalisation of log F0 in Hz (about 150 Hz +- a factor of 1.6)."""


def hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above (as librosa's default)."""
    f = np.asarray(f, dtype=np.float64)
    lin = f * 3.0 / 200.0
    log = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log, lin)


def mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), m * 200.0 / 3.0)


VTLP_BOUNDARY_HZ = 4800.0
"""Vocal-tract-length warping scales frequencies below about this, and maps the rest linearly
onto what is left of the band so that Nyquist stays Nyquist (Jaitly & Hinton 2013)."""


def vtlp(freqs: np.ndarray, alpha: float, nyquist: float) -> np.ndarray:
    """Piecewise-linear vocal-tract-length warp of ``freqs``: ``alpha > 1`` moves formants up."""
    if alpha == 1.0:
        return freqs
    knee = VTLP_BOUNDARY_HZ * min(alpha, 1.0) / alpha
    upper = nyquist - (nyquist - alpha * knee) * (nyquist - freqs) / (nyquist - knee)
    return np.where(freqs <= knee, alpha * freqs, upper)


@lru_cache(maxsize=64)
def mel_filterbank(
    sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS, fmin: float = F_MIN,
    fmax: float | None = None, warp: float = 1.0,
) -> torch.Tensor:
    """Slaney-normalised triangular filters ``(n_mels, n_fft // 2 + 1)``; ``warp != 1`` reads each
    FFT bin at its :func:`vtlp`-warped frequency (a voice with a shorter or longer vocal tract)."""
    fmax = sr / 2 if fmax is None else fmax
    fft_freqs = vtlp(np.linspace(0.0, sr / 2, n_fft // 2 + 1), warp, sr / 2)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    lower = (fft_freqs[None, :] - edges[:-2, None]) / np.diff(edges)[:-1, None]
    upper = (edges[2:, None] - fft_freqs[None, :]) / np.diff(edges)[1:, None]
    fb = np.maximum(0.0, np.minimum(lower, upper)) * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    with torch.inference_mode(False):  # cached: first made under inference mode, it must still serve training
        return torch.from_numpy(fb).float()


def stft_magnitude(x: torch.Tensor) -> torch.Tensor:
    """``(B, n)`` or ``(n,)`` waveform -> ``(B, N_FFT // 2 + 1, n // HOP + 1)`` magnitude."""
    window = torch.hann_window(WIN_LENGTH, device=x.device)
    spec = torch.stft(x, N_FFT, HOP, WIN_LENGTH, window, center=True, return_complex=True)
    return spec.abs()


def log_mel(x: np.ndarray | torch.Tensor, n_mels: int = N_MELS, warp: float = 1.0) -> torch.Tensor:
    """Waveform ``(..., n)`` at :data:`SAMPLE_RATE` -> natural-log mel ``(..., n_mels, n // HOP + 1)``;
    ``warp`` applies a vocal-tract-length perturbation (training augmentation)."""
    x = torch.as_tensor(x, dtype=torch.float32)
    mel = torch.matmul(mel_filterbank(n_mels=n_mels, fmax=F_MAX, warp=warp), stft_magnitude(x))
    return torch.log(torch.clamp(mel, min=LOG_FLOOR))


def energy_db(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Waveform ``(..., n)`` -> frame energy in dB ``(..., n // HOP + 1)``: Hann-weighted mean
    square of each centred window (a full-scale sine gives -3 dB)."""
    x = torch.as_tensor(x, dtype=torch.float32)
    padded = torch.nn.functional.pad(x.unsqueeze(0), (WIN_LENGTH // 2, WIN_LENGTH // 2)).squeeze(0)
    frames = padded.unfold(-1, WIN_LENGTH, HOP)[..., : x.shape[-1] // HOP + 1, :]
    w = torch.hann_window(WIN_LENGTH)
    power = (frames**2 * w).sum(-1) / w.sum()
    return 10.0 * torch.log10(torch.clamp(power, min=1e-10))
