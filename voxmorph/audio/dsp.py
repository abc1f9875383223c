"""Signal processing on float32 mono arrays: channel mixing, resampling, loudness, denoise."""

from __future__ import annotations

import numpy as np
import soxr

from voxmorph.audio.constants import HOP, N_FFT, SAMPLE_RATE, WIN_LENGTH

TARGET_LUFS = -23.0
"""Loudness every output is normalised to (EBU R 128 programme level)."""

PEAK_CEILING = 0.98
"""Largest absolute sample value after loudness normalisation."""


def to_mono(x: np.ndarray) -> np.ndarray:
    """``(n,)`` or ``(n, channels)`` -> ``(n,)`` float32, averaging channels."""
    x = np.asarray(x, dtype=np.float32)
    return x.mean(axis=1, dtype=np.float32) if x.ndim == 2 else x


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample a whole signal with soxr's high-quality filter."""
    if sr_in == sr_out:
        return np.asarray(x, np.float32)
    return soxr.resample(x, sr_in, sr_out, quality="HQ").astype(np.float32)


class Resampler:
    """Streaming resampler: feeding blocks through :meth:`process` then :meth:`flush` gives the
    same samples as :func:`resample` on the whole signal (up to soxr's stream tolerance)."""

    def __init__(self, sr_in: int, sr_out: int):
        self.identity = sr_in == sr_out
        self._stream = None if self.identity else soxr.ResampleStream(
            sr_in, sr_out, 1, dtype="float32", quality="HQ"
        )

    def process(self, x: np.ndarray) -> np.ndarray:
        if self._stream is None:
            return np.asarray(x, np.float32)
        return self._stream.resample_chunk(np.asarray(x, np.float32))

    def flush(self) -> np.ndarray:
        if self._stream is None:
            return np.zeros(0, np.float32)
        return self._stream.resample_chunk(np.zeros(0, np.float32), last=True)


def loudness(x: np.ndarray, sr: int) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4); ``-inf`` for silence or very short audio."""
    if x.size < int(0.4 * sr) + 1:  # BS.1770 gating blocks are 400 ms long
        return float("-inf")
    import pyloudnorm  # with scipy.signal about a second to import: only where loudness is measured

    return float(pyloudnorm.Meter(sr).integrated_loudness(x.astype(np.float64)))


def gain_to_loudness(x: np.ndarray, sr: int, target_lufs: float = TARGET_LUFS) -> float:
    """Linear gain that brings ``x`` to ``target_lufs`` without its peak exceeding the ceiling."""
    lufs = loudness(x, sr)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak == 0.0:
        return 1.0
    gain = 10 ** ((target_lufs - lufs) / 20) if np.isfinite(lufs) else 1.0
    return min(gain, PEAK_CEILING / peak)


def normalise_loudness(x: np.ndarray, sr: int, target_lufs: float = TARGET_LUFS) -> np.ndarray:
    """Scale ``x`` to ``target_lufs``, limited so no sample exceeds :data:`PEAK_CEILING`."""
    return (x * gain_to_loudness(x, sr, target_lufs)).astype(np.float32)


def denoise(x: np.ndarray, reduction_db: float = 12.0) -> np.ndarray:
    """Spectral gating: attenuate each STFT bin toward a noise floor estimated per frequency.

    The floor is the 10th percentile of each bin's magnitude over time (speech pauses), so it
    needs no separate noise sample. Gains are smoothed over time to avoid musical noise.
    """
    if x.size < WIN_LENGTH:
        return x
    from scipy import signal

    _, _, spec = signal.stft(x, nperseg=WIN_LENGTH, noverlap=WIN_LENGTH - HOP, nfft=N_FFT)
    mag = np.abs(spec)
    floor = np.percentile(mag, 10, axis=1, keepdims=True)
    snr = mag / (2.0 * floor + 1e-10)
    floor_gain = 10 ** (-reduction_db / 20)
    gain = np.clip((snr - 1.0) / (snr + 1e-10), floor_gain, 1.0)
    gain = signal.lfilter([0.5], [1.0, -0.5], gain, axis=1)  # one-pole smoothing over frames
    _, y = signal.istft(spec * gain, nperseg=WIN_LENGTH, noverlap=WIN_LENGTH - HOP, nfft=N_FFT)
    return y[: x.size].astype(np.float32)


def soft_limit(y: np.ndarray, knee: float = 0.9) -> np.ndarray:
    """Identity below ``knee``; above it, a tanh curve that never reaches 1 (no hard clipping)."""
    a = np.abs(y)
    over = a > knee
    if not over.any():
        return y
    out = y.copy()
    out[over] = np.sign(y[over]) * (knee + (1 - knee) * np.tanh((a[over] - knee) / (1 - knee)))
    return out


def peak_limit(y: np.ndarray, ceiling: float = 0.95, window: int = SAMPLE_RATE // 200) -> np.ndarray:
    """``y`` with its peaks brought under ``ceiling`` by a smooth gain (no waveshaping): the gain
    is ``ceiling`` over the peak within ``window`` samples either side, averaged over a
    ``window``-wide span, so it never exceeds what any sample near a peak needs and moves over
    milliseconds, not samples. Audio already under the ceiling is returned unchanged."""
    a = np.abs(y)
    if a.size == 0 or a.max() <= ceiling:
        return y
    from scipy.ndimage import maximum_filter1d, uniform_filter1d

    gain = np.minimum(1.0, ceiling / np.maximum(maximum_filter1d(a, 2 * window + 1), 1e-9))
    gain = uniform_filter1d(gain, window + 1 - window % 2)  # an odd span within the max filter's reach
    return (y * gain).astype(y.dtype, copy=False)

