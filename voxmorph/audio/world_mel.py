"""The log-mel spectrogram that WORLD features describe, rendered without synthesising audio.

The neural vocoder reads log-mel (:func:`voxmorph.audio.features.log_mel`) and F0. Converters that
work on WORLD features (the baseline's mapped envelope, F0 and aperiodicity) reach it through
:func:`render_log_mel`: for each frame, the periodic part puts the envelope's power on every
harmonic of F0, each spread by the analysis window's spectral main lobe, and the aperiodic part
adds the envelope as a smooth noise floor; the mel filterbank then sums the magnitudes as
:func:`log_mel` does. Two gains (harmonic and noise) calibrate WORLD's envelope scale to the STFT
magnitude; they were fitted on real speech and a test checks the rendering against
:func:`log_mel` of the same recording.

Frames are independent, so a stream renders each frame as it arrives.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from voxmorph.audio.constants import N_FFT, SAMPLE_RATE, WIN_LENGTH
from voxmorph.audio.features import LOG_FLOOR, mel_filterbank

HARMONIC_GAIN = 1.0
NOISE_GAIN = 1.0
"""Power gains from WORLD's envelope to STFT power (fitted, see the module docstring)."""

LOBE = 3
"""Bins on each side of a harmonic that its window main lobe reaches."""


@lru_cache(maxsize=1)
def _lobe_table(oversample: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Squared magnitude of the analysis window's spectrum at fractional bin offsets."""
    w = np.hanning(WIN_LENGTH + 1)[:-1]  # periodic Hann, as torch.hann_window
    spec = np.abs(np.fft.rfft(w, N_FFT * oversample)) ** 2
    offsets = np.arange(len(spec)) / oversample
    keep = offsets <= LOBE + 1
    return offsets[keep], spec[keep]


@lru_cache(maxsize=1)
def _filterbank_t() -> np.ndarray:
    """Mel filterbank, transposed, float64: read on every (live) frame, built once."""
    return mel_filterbank().numpy().T.astype(np.float64)


@lru_cache(maxsize=1)
def _window_energy() -> float:
    return float(np.sum(np.hanning(WIN_LENGTH + 1)[:-1] ** 2))


def _lobe(delta: np.ndarray) -> np.ndarray:
    offsets, power = _lobe_table()
    return np.interp(np.abs(delta), offsets, power, right=0.0)


@lru_cache(maxsize=4)
def _grid_weights(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear interpolation from ``n`` bins over [0, Nyquist] to the STFT bins: left index, right
    index and right weight (what ``np.interp`` computes, built once per bin count)."""
    pos = np.linspace(0.0, n - 1.0, N_FFT // 2 + 1)
    left = np.minimum(np.floor(pos).astype(int), n - 2)
    return left, left + 1, pos - left


def to_stft_grid(values: np.ndarray) -> np.ndarray:
    """``(T, any bins)`` spectrum over [0, Nyquist] -> ``(T, N_FFT // 2 + 1)`` by interpolation."""
    n = values.shape[1]
    if n == N_FFT // 2 + 1:
        return values
    left, right, w = _grid_weights(n)
    return values[:, left] * (1.0 - w) + values[:, right] * w


def render_power(f0: np.ndarray, sp: np.ndarray, ap: np.ndarray) -> np.ndarray:
    """WORLD frames (``f0 (T,)``, ``sp``/``ap`` ``(T, any bins)``) -> STFT power ``(T, N_FFT // 2 + 1)``."""
    sp, ap = to_stft_grid(sp), to_stft_grid(ap)
    n_bins = sp.shape[1]
    power = NOISE_GAIN * _window_energy() * sp * np.where(f0[:, None] > 0, ap, 1.0)
    bins = np.arange(n_bins)
    for i in np.flatnonzero(f0 > 0):
        k = np.arange(1, int((SAMPLE_RATE / 2) / f0[i]) + 1)
        pos = k * f0[i] * N_FFT / SAMPLE_RATE  # fractional bin of each harmonic
        amp = np.interp(pos, bins, sp[i] * (1.0 - ap[i]))
        near = np.floor(pos)[:, None].astype(int) + np.arange(-LOBE, LOBE + 2)[None, :]
        ok = (near >= 0) & (near < n_bins)
        contrib = amp[:, None] * _lobe(near - pos[:, None]) * (f0[i] / SAMPLE_RATE)
        np.add.at(power[i], near[ok], HARMONIC_GAIN * contrib[ok])
    return power


def render_log_mel(f0: np.ndarray, sp: np.ndarray, ap: np.ndarray) -> np.ndarray:
    """WORLD frames -> natural-log mel ``(N_MELS, T)``, on the scale of :func:`log_mel`."""
    magnitude = np.sqrt(render_power(f0, sp, ap))
    mel = magnitude @ _filterbank_t()
    return np.log(np.maximum(mel, LOG_FLOOR)).T.astype(np.float32)
