"""The no-training baseline converter: WORLD analysis, statistical voice mapping, WORLD synthesis.

Per chunk of source audio:

1. WORLD analysis (F0 tracker of choice, CheapTrick envelope, D4C aperiodicity);
2. F0: log-Gaussian transform from the source's running log-F0 mean/std to the target's;
3. envelope and aperiodicity are stretched along frequency by the ratio of the target's to the
   source's mean formant frequencies (vocal-tract length), clipped to ``max_warp``;
4. the warped envelope's mel-cepstrum is mapped per coefficient from the source's running
   mean/std to the target's (c0, the loudness, is kept); the change is applied as a smooth
   gain curve, so detail the truncated cepstrum cannot hold survives;
5. WORLD synthesis.

Source statistics are accumulated from the audio seen so far, so any voice converts without
enrolment and a file of any length streams through in constant memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from voxmorph.audio import world
from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.dsp import denoise
from voxmorph.audio.f0 import get_tracker
from voxmorph.pipeline.analysis import MCEP_ORDER, StatsAccumulator, VoiceStatistics
from voxmorph.pipeline.chunking import process_chunked
from voxmorph.pipeline.voice import Voice


@dataclass(frozen=True)
class WorldConverterOptions:
    """Settings of :class:`WorldConverter`.

    ``f0_tracker``: name in :data:`voxmorph.audio.f0.F0_TRACKERS`; ``max_warp``: largest
    frequency-warp ratio either way; ``std_ratio``: clip range of per-coefficient std scaling;
    ``map_order``: highest mel-cepstral coefficient mapped (higher ones keep the source's);
    ``pitch_shift``: extra semitones on top of the target's pitch; ``chunk_s``, ``context_s``,
    ``fade_s``: chunking of long inputs.
    """

    f0_tracker: str = "harvest"
    warp: bool = True
    max_warp: float = 1.25
    map_spectrum: bool = True
    std_ratio: tuple[float, float] = (0.8, 1.25)
    map_order: int = MCEP_ORDER
    pitch_shift: float = 0.0
    denoise: bool = False
    chunk_s: float = 10.0
    context_s: float = 0.5
    fade_s: float = 0.05


class WorldConverter:
    """Converts any voice to ``target``; ``(n,)`` float32 16 kHz in, same length out."""

    def __init__(self, target: Voice, options: WorldConverterOptions = WorldConverterOptions()):
        self.target = target.stats
        self.options = options
        self.tracker = get_tracker(options.f0_tracker)
        self.reset()

    def reset(self) -> None:
        """Forget the source statistics (call before a new speaker)."""
        self._source = StatsAccumulator()

    def _warp_ratio(self, source: VoiceStatistics | None) -> float:
        if not self.options.warp or source is None:
            return 1.0
        diff = self.target.log_formants - source.log_formants
        if not np.isfinite(diff).all():
            return 1.0
        limit = np.log(self.options.max_warp)
        return float(np.exp(np.clip(diff.mean(), -limit, limit)))

    def _map_f0(self, f0: np.ndarray, source: VoiceStatistics) -> np.ndarray:
        voiced = f0 > 0
        t = self.target
        scale = t.log_f0_std / max(source.log_f0_std, 1e-3)
        shift = self.options.pitch_shift * np.log(2.0) / 12.0
        out = np.zeros_like(f0)
        out[voiced] = np.exp(t.log_f0_mean + shift + (np.log(f0[voiced]) - source.log_f0_mean) * scale)
        return out

    def _map_envelope(self, sp: np.ndarray, mcep: np.ndarray, source: VoiceStatistics):
        t = self.target
        ratio = np.clip(t.mcep_std / np.maximum(source.mcep_std, 1e-6), *self.options.std_ratio)
        mapped = t.mcep_mean + (mcep - source.mcep_mean) * ratio
        delta = mapped - mcep
        delta[:, 0] = 0.0  # keep the source's frame energy
        delta[:, self.options.map_order + 1 :] = 0.0
        gain = world.mcep_to_log_amp(delta, sp.shape[1])
        return sp * np.exp(2.0 * gain)

    def convert_chunk(self, x: np.ndarray) -> np.ndarray:
        """Convert one piece of audio, updating the running source statistics."""
        o = self.options
        if o.denoise:
            x = denoise(x)
        feats = world.analyse(x, SAMPLE_RATE, self.tracker)
        acc = self._source
        acc.add_f0(feats.f0)
        acc.add_formants(x, feats.voiced, feats.frame_period_ms)
        ratio = self._warp_ratio(acc.result())
        sp, ap = feats.sp, feats.ap
        if ratio != 1.0:
            sp, ap = world.warp_frequency(sp, ratio), world.warp_frequency(ap, ratio)
        mcep = world.sp_to_mcep(sp, MCEP_ORDER)
        if feats.voiced.any():
            acc.add_mcep(mcep[feats.voiced])
        source = acc.result()
        if source is not None:
            feats.f0 = self._map_f0(feats.f0, source)
            if o.map_spectrum:
                sp = self._map_envelope(sp, mcep, source)
        feats.sp, feats.ap = sp, ap
        y = world.synthesise(feats)
        y = np.pad(y[: x.size], (0, max(0, x.size - y.size)))
        return np.clip(y, -1.0, 1.0)

    def convert_stream(self, blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Convert a stream of blocks (any sizes) in overlapping chunks; same total length out."""
        o = self.options
        sr = SAMPLE_RATE
        yield from process_chunked(
            blocks, self.convert_chunk, int(o.chunk_s * sr), int(o.context_s * sr), int(o.fade_s * sr)
        )

    def convert(self, x: np.ndarray) -> np.ndarray:
        """Convert a whole signal ``(n,)`` -> ``(n,)``."""
        parts = list(self.convert_stream([x]))
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)
