"""The statistical voice mapping shared by the offline and the streaming WORLD converters.

Given the source's statistics so far and the target's: F0 by a log-Gaussian transform, the
envelope stretched along frequency by the ratio of mean formant frequencies (vocal-tract length),
then its mel-cepstrum mapped per coefficient from the source's mean/std to the target's, applied
as a smooth gain curve (c0, the loudness, is kept).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxmorph.audio import world
from voxmorph.voices.statistics import MCEP_ORDER, VoiceStatistics


@dataclass(frozen=True)
class MappingOptions:
    """``max_warp``: largest frequency-warp ratio either way; ``std_ratio``: clip range of the
    per-coefficient std scaling; ``map_order``: highest mel-cepstral coefficient mapped (higher
    ones keep the source's); ``pitch_shift``: extra semitones on top of the target's pitch;
    ``keep_range``: keep the source's pitch movement in semitones instead of scaling it to the
    target's usual range (an excited take keeps its wider range)."""

    warp: bool = True
    max_warp: float = 1.25
    map_spectrum: bool = True
    std_ratio: tuple[float, float] = (0.8, 1.25)
    map_order: int = MCEP_ORDER
    pitch_shift: float = 0.0
    keep_range: bool = False


class VoiceMapping:
    """Maps frames of a source voice to ``target``; stateless (the caller owns source statistics)."""

    def __init__(self, target: VoiceStatistics, options: MappingOptions = MappingOptions()):
        self.target = target
        self.options = options

    def warp_ratio(self, source: VoiceStatistics | None) -> float:
        """Target-to-source formant ratio, clipped to ``max_warp``; 1 when unknown or disabled."""
        if not self.options.warp or source is None:
            return 1.0
        diff = self.target.log_formants - source.log_formants
        if not np.isfinite(diff).all():
            return 1.0
        limit = np.log(self.options.max_warp)
        return float(np.exp(np.clip(diff.mean(), -limit, limit)))

    def map_f0(self, f0: np.ndarray, source: VoiceStatistics, level: float = 0.0) -> np.ndarray:
        """F0 ``(T,)`` Hz (0 unvoiced) -> the target's range, same shape; ``level`` (log F0) moves
        it off the target's usual level (the source's kept expression)."""
        voiced = f0 > 0
        t = self.target
        scale = 1.0 if self.options.keep_range else t.log_f0_std / max(source.log_f0_std, 1e-3)
        shift = level + self.options.pitch_shift * np.log(2.0) / 12.0
        out = np.zeros_like(f0)
        out[voiced] = np.exp(t.log_f0_mean + shift + (np.log(f0[voiced]) - source.log_f0_mean) * scale)
        return out

    def map_envelope(self, sp: np.ndarray, mcep: np.ndarray, source: VoiceStatistics) -> np.ndarray:
        """Envelope ``(T, bins)`` and its mel-cepstrum ``(T, MCEP_ORDER + 1)`` -> mapped envelope."""
        if not self.options.map_spectrum:
            return sp
        t = self.target
        ratio = np.clip(t.mcep_std / np.maximum(source.mcep_std, 1e-6), *self.options.std_ratio)
        mapped = t.mcep_mean + (mcep - source.mcep_mean) * ratio
        delta = mapped - mcep
        delta[:, 0] = 0.0  # keep the source's frame energy
        delta[:, self.options.map_order + 1 :] = 0.0
        gain = world.mcep_to_log_amp(delta, sp.shape[1])
        return sp * np.exp(2.0 * gain)
