"""WORLD vocoder analysis/synthesis (pyworld) and mel-cepstra of its spectral envelopes.

Mel-cepstra follow SPTK's convention: ``log|H(w~)| = c0 + sum_m c_m cos(m w~)`` on the all-pass
warped frequency axis ``w~`` with coefficient :data:`MCEP_ALPHA` (0.42 at 16 kHz), so mel-cepstral
distortion computed from them is comparable with published VC numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyworld

from voxmorph.audio.constants import F0_FLOOR, SAMPLE_RATE, WORLD_FRAME_PERIOD_MS
from voxmorph.audio.f0 import F0Tracker, HarvestF0

MCEP_ALPHA = 0.42
"""All-pass constant approximating the mel scale at 16 kHz."""


@dataclass
class WorldFeatures:
    """WORLD parameters of one signal; ``T`` frames every ``frame_period_ms``.

    f0 ``(T,)`` Hz (0 unvoiced), sp ``(T, fft_size // 2 + 1)`` power envelope,
    ap ``(T, fft_size // 2 + 1)`` aperiodicity in [0, 1] (None when analysis skipped it).
    """

    f0: np.ndarray
    sp: np.ndarray
    ap: np.ndarray | None
    sr: int = SAMPLE_RATE
    frame_period_ms: float = WORLD_FRAME_PERIOD_MS

    @property
    def fft_size(self) -> int:
        return (self.sp.shape[1] - 1) * 2

    @property
    def voiced(self) -> np.ndarray:
        return self.f0 > 0


def analyse(
    x: np.ndarray,
    sr: int = SAMPLE_RATE,
    tracker: F0Tracker | None = None,
    frame_period_ms: float = WORLD_FRAME_PERIOD_MS,
    aperiodicity: bool = True,
) -> WorldFeatures:
    """``(n,)`` audio -> WORLD features (F0 by ``tracker``, default Harvest; CheapTrick; D4C).

    D4C costs about three times CheapTrick; statistics and metrics that only read F0 and the
    envelope pass ``aperiodicity=False`` (the result then cannot be synthesised).
    """
    xd = np.ascontiguousarray(x, np.float64)
    f0 = (tracker or HarvestF0())(xd, sr, frame_period_ms)
    t = np.arange(len(f0)) * frame_period_ms / 1000.0
    sp = pyworld.cheaptrick(xd, f0, t, sr, f0_floor=F0_FLOOR)
    ap = pyworld.d4c(xd, f0, t, sr) if aperiodicity else None
    return WorldFeatures(f0, sp, ap, sr, frame_period_ms)


def synthesise(feats: WorldFeatures) -> np.ndarray:
    """WORLD features -> ``(n,)`` float32 waveform."""
    if feats.ap is None:
        raise ValueError("these features were analysed without aperiodicity; cannot synthesise")
    y = pyworld.synthesize(
        np.ascontiguousarray(feats.f0, np.float64),
        np.ascontiguousarray(feats.sp, np.float64),
        np.ascontiguousarray(feats.ap, np.float64),
        feats.sr,
        feats.frame_period_ms,
    )
    return y.astype(np.float32)


@lru_cache(maxsize=8)
def _warp_grid(n_bins: int, alpha: float) -> np.ndarray:
    """Linear frequency (as a fractional bin index) of each uniformly spaced warped frequency."""
    w_warped = np.linspace(0.0, np.pi, n_bins)
    # inverse of the all-pass warping is the same map with -alpha
    w = w_warped + 2 * np.arctan(-alpha * np.sin(w_warped) / (1 + alpha * np.cos(w_warped)))
    return w / np.pi * (n_bins - 1)


def _interp_rows(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Linear interpolation of every row of ``values`` at fractional column ``positions``."""
    lo = np.clip(np.floor(positions).astype(int), 0, values.shape[1] - 2)
    frac = positions - lo
    return values[:, lo] * (1 - frac) + values[:, lo + 1] * frac


def sp_to_mcep(sp: np.ndarray, order: int, alpha: float = MCEP_ALPHA) -> np.ndarray:
    """Power envelope ``(T, bins)`` -> mel-cepstrum ``(T, order + 1)`` (natural-log amplitude)."""
    log_amp = 0.5 * np.log(np.maximum(sp, 1e-16))
    warped = _interp_rows(log_amp, _warp_grid(sp.shape[1], alpha))
    cep = np.fft.irfft(warped, axis=1)[:, : order + 1]
    cep[:, 1:] *= 2.0
    return cep


def mcep_to_log_amp(mcep: np.ndarray, n_bins: int, alpha: float = MCEP_ALPHA) -> np.ndarray:
    """Mel-cepstrum ``(T, order + 1)`` -> log amplitude ``(T, n_bins)`` on the linear axis."""
    return mcep @ _cos_basis(mcep.shape[1], n_bins, alpha)


@lru_cache(maxsize=8)
def _cos_basis(n_coef: int, n_bins: int, alpha: float) -> np.ndarray:
    """``cos(m * w~(w))`` ``(n_coef, n_bins)`` for linear frequencies ``w`` in [0, pi]."""
    w = np.linspace(0.0, np.pi, n_bins)
    w_warped = w + 2 * np.arctan(alpha * np.sin(w) / (1 - alpha * np.cos(w)))
    return np.cos(np.outer(np.arange(n_coef), w_warped))


def mcep_to_sp(mcep: np.ndarray, n_bins: int, alpha: float = MCEP_ALPHA) -> np.ndarray:
    """Inverse of :func:`sp_to_mcep` up to the cepstral truncation: ``(T, bins)`` power."""
    return np.exp(2.0 * mcep_to_log_amp(mcep, n_bins, alpha))


def warp_frequency(values: np.ndarray, ratio: float) -> np.ndarray:
    """Stretch each row of a spectrum ``(T, bins)`` along frequency by ``ratio``.

    ``ratio > 1`` moves spectral features (formants) up: the output at frequency ``f`` is the
    input at ``f / ratio``; beyond the input's top bin the last value is held.
    """
    n = values.shape[1]
    src = np.minimum(np.arange(n) / ratio, n - 1)
    return _interp_rows(values, src)
