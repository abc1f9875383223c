"""F0 trackers behind one interface.

Each tracker maps ``(n,)`` float audio at rate ``sr`` to ``(T,)`` F0 in Hz (0 = unvoiced) on the
WORLD time grid: frame ``i`` at ``i * frame_period_ms``, ``T = n // (sr * period / 1000) + 1``.
Pick one by name from :data:`F0_TRACKERS`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import parselmouth
import pyworld

from voxmorph.audio.constants import F0_CEIL, F0_FLOOR, FRAME_RATE, HOP, SAMPLE_RATE, WORLD_FRAME_PERIOD_MS


class F0Tracker(Protocol):
    name: str

    def __call__(
        self, x: np.ndarray, sr: int, frame_period_ms: float = WORLD_FRAME_PERIOD_MS
    ) -> np.ndarray:
        """``(n,)`` audio -> ``(T,)`` F0 in Hz, 0 where unvoiced."""
        ...


def n_frames(n_samples: int, sr: int, frame_period_ms: float) -> int:
    """Frame count of the WORLD time grid for ``n_samples`` of audio."""
    return int(n_samples / (sr * frame_period_ms / 1000.0)) + 1


class HarvestF0:
    """WORLD Harvest: robust and accurate, the slowest of the three (about 30x real time)."""

    name = "harvest"

    def __call__(self, x, sr, frame_period_ms=WORLD_FRAME_PERIOD_MS):
        xd = np.ascontiguousarray(x, np.float64)
        f0, t = pyworld.harvest(xd, sr, F0_FLOOR, F0_CEIL, frame_period_ms)
        return pyworld.stonemask(xd, f0, t, sr)


class DioF0:
    """WORLD DIO refined by StoneMask: fast, with more voicing errors than Harvest."""

    name = "dio"

    def __call__(self, x, sr, frame_period_ms=WORLD_FRAME_PERIOD_MS):
        xd = np.ascontiguousarray(x, np.float64)
        f0, t = pyworld.dio(xd, sr, F0_FLOOR, F0_CEIL, frame_period=frame_period_ms)
        return pyworld.stonemask(xd, f0, t, sr)


class PraatF0:
    """Praat's autocorrelation pitch (parselmouth), resampled onto the WORLD time grid."""

    name = "praat"

    def __call__(self, x, sr, frame_period_ms=WORLD_FRAME_PERIOD_MS):
        snd = parselmouth.Sound(np.asarray(x, np.float64), sampling_frequency=sr)
        pitch = snd.to_pitch_ac(
            time_step=frame_period_ms / 1000.0, pitch_floor=max(F0_FLOOR, 75.0), pitch_ceiling=F0_CEIL
        )
        times = np.arange(n_frames(len(x), sr, frame_period_ms)) * frame_period_ms / 1000.0
        values = pitch.selected_array["frequency"]
        if values.size == 0:
            return np.zeros_like(times)
        # nearest Praat frame for each WORLD frame: interpolating would smear voicing edges
        idx = np.clip(np.rint((times - pitch.xs()[0]) / pitch.time_step), 0, values.size - 1)
        f0 = values[idx.astype(int)]
        return np.nan_to_num(f0, nan=0.0)


F0_TRACKERS: dict[str, F0Tracker] = {t.name: t for t in (HarvestF0(), DioF0(), PraatF0())}
"""Available trackers by name."""


def get_tracker(name: str) -> F0Tracker:
    try:
        return F0_TRACKERS[name]
    except KeyError:
        from voxmorph.errors import UserError

        raise UserError(f"unknown F0 tracker '{name}'; choose from {', '.join(F0_TRACKERS)}") from None


def mel_frame_f0(tracker: F0Tracker, x: np.ndarray) -> np.ndarray:
    """F0 of 16 kHz ``x`` on the log-mel frame grid: float32, exactly ``x.size // HOP + 1`` frames
    (zero-padded at the end if the tracker returns fewer)."""
    frames = x.size // HOP + 1
    f0 = np.asarray(tracker(x, SAMPLE_RATE, 1000.0 / FRAME_RATE)[:frames], np.float32)
    return np.pad(f0, (0, frames - f0.size))
