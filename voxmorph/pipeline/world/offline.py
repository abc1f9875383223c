"""The no-training baseline converter: WORLD analysis, statistical voice mapping, WORLD synthesis.

Per chunk of source audio: WORLD analysis (F0 tracker of choice, CheapTrick envelope, D4C
aperiodicity); the voice mapping of :mod:`voxmorph.voices.mapping` (log-Gaussian F0,
vocal-tract-length frequency warp of envelope and aperiodicity, per-coefficient mel-cepstral
mean/std mapping applied as a smooth gain curve); synthesis by WORLD or, injected, the neural
vocoder (:meth:`voxmorph.pipeline.vocoder.NeuralVocoder.synthesise_world`).

Source statistics are accumulated from the audio seen so far, so any voice converts without
enrolment and a file of any length streams through in constant memory.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from voxmorph.audio import world
from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.dsp import denoise, peak_limit
from voxmorph.audio.f0 import get_tracker
from voxmorph.pipeline.chunking import ChunkedConverter
from voxmorph.pipeline.options import ConversionOptions
from voxmorph.voices.mapping import VoiceMapping
from voxmorph.voices.statistics import MCEP_ORDER, StatsAccumulator
from voxmorph.voices.voice import Voice


class WorldConverter(ChunkedConverter):
    """Converts any voice to ``target``; ``(n,)`` float32 16 kHz in, same length out."""

    def __init__(self, target: Voice, options: ConversionOptions = ConversionOptions(),
                 synthesise: Callable[[world.WorldFeatures], np.ndarray] = world.synthesise):
        self.mapping = VoiceMapping(target.stats, options.mapping)
        self.synthesise = synthesise
        self.options = options
        self.tracker = get_tracker(options.f0_tracker)
        self.reset()

    def reset(self) -> None:
        """Forget the source statistics (call before a new speaker)."""
        self._source = StatsAccumulator()

    def convert_chunk(self, x: np.ndarray) -> np.ndarray:
        """Convert one piece of audio, updating the running source statistics."""
        o = self.options
        if o.denoise:
            x = denoise(x)
        feats = world.analyse(x, SAMPLE_RATE, self.tracker)
        acc = self._source
        acc.add_f0(feats.f0)
        acc.add_formants(x, feats.voiced, feats.frame_period_ms)
        ratio = self.mapping.warp_ratio(acc.result())
        sp, ap = feats.sp, feats.ap
        if ratio != 1.0:
            sp, ap = world.warp_frequency(sp, ratio), world.warp_frequency(ap, ratio)
        mcep = world.sp_to_mcep(sp, MCEP_ORDER)
        if feats.voiced.any():
            acc.add_mcep(mcep[feats.voiced])
        source = acc.result()
        if source is not None:
            feats.f0 = self.mapping.map_f0(feats.f0, source)
            sp = self.mapping.map_envelope(sp, mcep, source)
        feats.sp, feats.ap = sp, ap
        y = self.synthesise(feats)
        y = np.pad(y[: x.size], (0, max(0, x.size - y.size)))
        return peak_limit(y)

