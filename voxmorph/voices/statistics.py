"""Voice statistics: what the WORLD converter needs to know about a voice.

:class:`VoiceStatistics` summarises speech as log-F0 mean/std, mean log formant frequencies
(F1-F3) and per-coefficient mel-cepstrum mean/std over voiced frames. :class:`StatsAccumulator`
builds it incrementally, chunk by chunk, so enrolment and long-file conversion keep memory flat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import parselmouth

from voxmorph.audio.constants import FRAME_RATE, SAMPLE_RATE
from voxmorph.audio.world import WorldFeatures, sp_to_mcep

MCEP_ORDER = 39
"""Mel-cepstral order of the spectral statistics (40 coefficients with c0)."""

N_FORMANTS = 3
FORMANT_CEILINGS_HZ = (5000.0, 5500.0)
LOW_VOICE_F0_HZ = 165.0
"""Burg formant search ceiling: Praat's usual 5000 Hz for low (adult male) voices and 5500 Hz
for higher ones, chosen by the speaker's median F0 so far. One ceiling for every voice put
male formants above female ones on VCTK recordings, inverting the frequency warp."""


@dataclass(frozen=True)
class VoiceStatistics:
    """Summary statistics of a voice; arrays are float64."""

    log_f0_mean: float
    log_f0_std: float
    log_formants: np.ndarray  # (N_FORMANTS,) mean log Hz of F1..F3 over voiced frames
    mcep_mean: np.ndarray  # (MCEP_ORDER + 1,)
    mcep_std: np.ndarray  # (MCEP_ORDER + 1,)
    voiced_frames: int

    @property
    def f0_median_hz(self) -> float:
        return float(np.exp(self.log_f0_mean))

    @property
    def formants_hz(self) -> np.ndarray:
        return np.exp(self.log_formants)


def formant_tracks(
    x: np.ndarray, f0_median_hz: float, sr: int = SAMPLE_RATE
) -> tuple[np.ndarray, np.ndarray]:
    """``(n,)`` audio -> frame times ``(K,)`` s and F1..F3 ``(K, 3)`` Hz (NaN where undefined)."""
    low, high = FORMANT_CEILINGS_HZ
    ceiling = low if f0_median_hz < LOW_VOICE_F0_HZ else high
    snd = parselmouth.Sound(np.asarray(x, np.float64), sampling_frequency=sr)
    fm = snd.to_formant_burg(
        time_step=1.0 / FRAME_RATE, max_number_of_formants=5, maximum_formant=ceiling
    )
    times = np.asarray(fm.xs())
    values = np.array(
        [[fm.get_value_at_time(k, t) for k in range(1, N_FORMANTS + 1)] for t in times]
    ).reshape(-1, N_FORMANTS)
    return times, values


class _Moments:
    """Running count, sum and sum of squares of vectors."""

    def __init__(self, dim: int):
        self.n = np.zeros(dim)
        self.s = np.zeros(dim)
        self.ss = np.zeros(dim)

    def add(self, values: np.ndarray) -> None:
        """``values`` ``(K, dim)``; NaNs are skipped per column."""
        ok = np.isfinite(values)
        v = np.where(ok, values, 0.0)
        self.n += ok.sum(axis=0)
        self.s += v.sum(axis=0)
        self.ss += (v * v).sum(axis=0)

    def mean(self) -> np.ndarray:
        return self.s / np.maximum(self.n, 1)

    def std(self) -> np.ndarray:
        return np.sqrt(np.maximum(self.ss / np.maximum(self.n, 1) - self.mean() ** 2, 1e-12))


class StatsAccumulator:
    """Collects :class:`VoiceStatistics` over any number of analysed chunks."""

    def __init__(self):
        self._f0 = _Moments(1)
        self._formants = _Moments(N_FORMANTS)
        self._mcep = _Moments(MCEP_ORDER + 1)

    @property
    def voiced_frames(self) -> int:
        return int(self._f0.n[0])

    def add_f0(self, f0: np.ndarray) -> None:
        """F0 track ``(T,)`` in Hz; unvoiced (0) frames are skipped."""
        voiced = f0 > 0
        self._f0.add(np.log(f0[voiced])[:, None])

    def add_formants(self, x: np.ndarray, voiced: np.ndarray, frame_period_ms: float,
                     sr: int = SAMPLE_RATE) -> None:
        """Formants of audio ``x`` ``(n,)`` over the frames marked ``voiced`` ``(T,)``; call
        :meth:`add_f0` first, as the search ceiling depends on the speaker's F0."""
        if not voiced.any() or self.voiced_frames == 0:
            return
        times, formants = formant_tracks(x, float(np.exp(self._f0.mean()[0])), sr)
        frame = np.clip(np.rint(times * 1000.0 / frame_period_ms).astype(int), 0, len(voiced) - 1)
        self._formants.add(np.log(formants[voiced[frame]]))

    def add_mcep(self, mcep: np.ndarray) -> None:
        """Mel-cepstra ``(K, MCEP_ORDER + 1)`` of voiced frames."""
        self._mcep.add(mcep)

    def add(self, feats: WorldFeatures, x: np.ndarray) -> None:
        """Add one chunk of audio ``x`` ``(n,)`` and its WORLD features."""
        voiced = feats.voiced
        self.add_f0(feats.f0)
        self.add_formants(x, voiced, feats.frame_period_ms, feats.sr)
        if voiced.any():
            self.add_mcep(sp_to_mcep(feats.sp[voiced], MCEP_ORDER))

    def result(self) -> VoiceStatistics | None:
        """The statistics so far, or None before any voiced frame was seen."""
        if self.voiced_frames == 0:
            return None
        return VoiceStatistics(
            log_f0_mean=float(self._f0.mean()[0]),
            log_f0_std=float(self._f0.std()[0]),
            log_formants=np.where(self._formants.n > 0, self._formants.mean(), np.nan),
            mcep_mean=self._mcep.mean(),
            mcep_std=self._mcep.std(),
            voiced_frames=self.voiced_frames,
        )
