"""The WORLD baseline as a streaming converter: frame-wise analysis, mapping and synthesis.

Per 5 ms frame, once ``LOOKAHEAD`` samples beyond its centre have arrived: YIN F0 with the causal
tracker of :mod:`voxmorph.audio.yin`; CheapTrick envelope and D4C aperiodicity on a fixed
window around the frame; the voice mapping of :mod:`voxmorph.voices.mapping`; synthesis
by :class:`~voxmorph.pipeline.world.pulse_synth.PulseSynth` or, given a trained vocoder,
:class:`~voxmorph.pipeline.world.neural_synth.NeuralFrameSynth`. Each frame reads a fixed window and every
running quantity (tracker, source statistics, synthesiser) advances frame by frame, so the output
is the same whatever the block sizes.

Source statistics are accumulated from the stream and refreshed every ``stats_every`` frames;
until there are enough of them, a given source voice (the user's own, enrolled) stands in, so the
first syllables are converted too.
The envelope window takes F0 no lower than ``ENVELOPE_MIN_F0``, which bounds the look-ahead at
15 ms; for deeper voices the envelope is slightly less smoothed than offline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyworld

from voxmorph.audio import world
from voxmorph.audio.constants import F0_CEIL, F0_FLOOR, SAMPLE_RATE, WORLD_FRAME_PERIOD_MS
from voxmorph.audio.dsp import soft_limit
from voxmorph.audio.yin import HALF_SPAN, PitchTracker, yin_curves
from voxmorph.models.vocoder import SourceFilterVocoder
from voxmorph.pipeline.world.neural_synth import EXTRA_DELAY, NeuralFrameSynth
from voxmorph.pipeline.world.pulse_synth import PulseSynth
from voxmorph.voices.mapping import MappingOptions, VoiceMapping
from voxmorph.voices.statistics import MCEP_ORDER, StatsAccumulator, VoiceStatistics
from voxmorph.voices.voice import Voice

FRAME_HOP = int(SAMPLE_RATE * WORLD_FRAME_PERIOD_MS / 1000)
ENVELOPE_MIN_F0 = 100.0
ENVELOPE_LOOKAHEAD = int(np.ceil(1.5 * SAMPLE_RATE / ENVELOPE_MIN_F0))
ENVELOPE_CONTEXT = 512
LOOKAHEAD = max(HALF_SPAN, ENVELOPE_LOOKAHEAD)
PRIOR_FRAMES = 400
"""Voiced frames (2 s) of running statistics after which a given source voice stops being used:
enrolled statistics come from Harvest analysis and fit the streaming analysis less well than
the stream's own (VCC2018 SM1 -> TF1: 9.9 dB MCD with the enrolled voice throughout, 8.3 with
running statistics), but they make the first syllables right."""
UNVOICED_AP = 1.0 - 1e-12
STATS_MAX_DIP = 0.8
"""Frames whose YIN dip is below this feed the source's mel-cepstral statistics. The tracker's
stricter voicing left out the weakly periodic frames that Harvest (which enrolled the target)
counts as voiced, and the mismatch cost 1.9 dB MCD on VCC2018 SM1 -> TF1 (0.2 dB with it)."""
FFT_SIZE = 1 << int(np.ceil(np.log2(3 * SAMPLE_RATE / F0_FLOOR)))
"""CheapTrick's FFT size for ``F0_FLOOR``; the same bins as enrolled voices' statistics."""
PULSE_DELAY = FRAME_HOP * int(np.ceil(LOOKAHEAD / FRAME_HOP)) - FRAME_HOP // 2
"""Delay with the pulse synthesiser (12.5 ms): the look-ahead on the frame grid, less half a frame
(a frame's samples are centred on it). The neural synthesiser adds its :data:`EXTRA_DELAY`."""


@dataclass(frozen=True)
class StreamingWorldOptions:
    """``mapping``: the voice mapping; ``stats_every``: frames between refreshes of running
    source statistics; ``seed``: noise generator seed."""

    mapping: MappingOptions = MappingOptions()
    stats_every: int = 50
    seed: int = 0


class StreamingWorldConverter:
    """Any voice -> ``target``, 16 kHz, hop 80 samples, delay 200 samples (12.5 ms); with the
    neural ``vocoder`` as synthesiser, 320 samples (20 ms)."""

    sample_rate = SAMPLE_RATE
    hop = FRAME_HOP
    delay = PULSE_DELAY

    def __init__(self, target: Voice, source: Voice | None = None,
                 options: StreamingWorldOptions = StreamingWorldOptions(),
                 vocoder: SourceFilterVocoder | None = None):
        self.mapping = VoiceMapping(target.stats, options.mapping)
        self.source = source.stats if source is not None else None
        self.options = options
        self.vocoder = vocoder
        if vocoder is not None:  # the neural synthesiser emits later than the pulse synthesiser
            self.delay = PULSE_DELAY + EXTRA_DELAY

    def stream(self) -> WorldStream:
        return WorldStream(self)


class WorldStream:
    """State of one stream of :class:`StreamingWorldConverter`."""

    def __init__(self, conv: StreamingWorldConverter):
        self.conv = conv
        self._keep = ENVELOPE_CONTEXT + LOOKAHEAD + conv.options.stats_every * FRAME_HOP
        self._buf = np.zeros(ENVELOPE_CONTEXT)
        self._buf_start = -ENVELOPE_CONTEXT  # absolute index of _buf[0]
        self._next_frame = 0
        self._tracker = PitchTracker()
        self._acc = StatsAccumulator()
        self._f0_recent = np.zeros(0)
        self._source: VoiceStatistics | None = None
        if conv.vocoder is None:
            self._synth = PulseSynth(SAMPLE_RATE, FRAME_HOP, FFT_SIZE, conv.options.seed)
        else:
            self._synth = NeuralFrameSynth(conv.vocoder, FRAME_HOP, conv.options.seed)
        # pad for the analysis look-ahead only: the neural synthesiser's output carries its own lag
        self._out = np.zeros(PULSE_DELAY + FRAME_HOP // 2, np.float32)
        self._drop = FRAME_HOP // 2  # frame 0's first half lies before the signal

    def _window(self, centre: int, before: int, after: int) -> np.ndarray:
        i = centre - self._buf_start
        return self._buf[i - before : i + after]

    def _analyse(self, frames: np.ndarray):
        centres = frames * FRAME_HOP
        curves, rms = yin_curves(np.stack([self._window(c, HALF_SPAN, HALF_SPAN) for c in centres]))
        f0, dip = self._tracker.track(curves, rms)
        # frames for the spectral statistics: as inclusive as Harvest's voicing in enrolment
        self._stats_frames = (dip < STATS_MAX_DIP) & (rms >= self._tracker.min_rms)
        f0_env = np.where(f0 > 0, np.maximum(f0, ENVELOPE_MIN_F0), 0.0)
        pos = np.array([ENVELOPE_CONTEXT / SAMPLE_RATE])
        sp = np.empty((len(frames), FFT_SIZE // 2 + 1))
        ap = np.full_like(sp, UNVOICED_AP)  # what D4C returns for unvoiced frames, without the call
        for i, (c, f) in enumerate(zip(centres, f0_env, strict=True)):
            seg = np.ascontiguousarray(self._window(c, ENVELOPE_CONTEXT, ENVELOPE_LOOKAHEAD))
            sp[i] = pyworld.cheaptrick(seg, f[None], pos, SAMPLE_RATE, f0_floor=F0_FLOOR)[0]
            if f > 0:
                ap[i] = pyworld.d4c(seg, f[None], pos, SAMPLE_RATE)[0]
        return f0, sp, ap

    def _accumulate(self, f0: np.ndarray, mcep: np.ndarray, last_frame: int) -> None:
        """Add frames to the running source statistics; refresh them after every
        ``stats_every``-th frame (formants from that stretch of audio)."""
        every = self.conv.options.stats_every
        self._acc.add_f0(f0)
        sel = self._stats_frames
        if sel.any():
            self._acc.add_mcep(mcep[sel])
        self._f0_recent = np.concatenate([self._f0_recent, f0])[-every:]
        if (last_frame + 1) % every == 0:
            start = (last_frame + 1 - every) * FRAME_HOP
            audio = self._window(start, 0, every * FRAME_HOP)
            self._acc.add_formants(audio, self._f0_recent > 0, WORLD_FRAME_PERIOD_MS)
            self._source = self._acc.result()

    def _convert_segment(self, frames: np.ndarray) -> np.ndarray:
        """Frames within one statistics period -> ``len(frames) * FRAME_HOP`` samples."""
        f0, sp, ap = self._analyse(frames)
        mapping, source = self.conv.mapping, self._source
        if self.conv.source is not None and (source is None or source.voiced_frames < PRIOR_FRAMES):
            source = self.conv.source
        ratio = mapping.warp_ratio(source)
        if ratio != 1.0:
            sp, ap = world.warp_frequency(sp, ratio), world.warp_frequency(ap, ratio)
        mcep = world.sp_to_mcep(sp, MCEP_ORDER)
        self._accumulate(f0, mcep, int(frames[-1]))
        if source is not None:
            f0 = np.where(f0 > 0, np.clip(mapping.map_f0(f0, source), F0_FLOOR, F0_CEIL), 0.0)
            mapped = mapping.map_envelope(sp, mcep, source)
            # keep each frame's power: early running statistics can tilt the spectrum enough to
            # make loud frames clip
            sp = mapped * (sp.sum(axis=1) / np.maximum(mapped.sum(axis=1), 1e-20))[:, None]
        return self._synth.process(f0, sp, ap)

    def _convert_frames(self, frames: np.ndarray) -> np.ndarray:
        cuts = np.flatnonzero((frames + 1) % self.conv.options.stats_every == 0) + 1
        return np.concatenate([self._convert_segment(seg) for seg in np.split(frames, cuts) if seg.size])

    def process(self, block: np.ndarray) -> np.ndarray:
        n = len(block)
        if n % FRAME_HOP:
            raise ValueError(f"block of {n} samples is not a multiple of the hop {FRAME_HOP}")
        self._buf = np.concatenate([self._buf, np.asarray(block, np.float64)])
        end = self._buf_start + self._buf.size
        last = (end - LOOKAHEAD) // FRAME_HOP
        if last >= self._next_frame:
            frames = np.arange(self._next_frame, last + 1)
            y = self._convert_frames(frames)[self._drop :]
            self._drop = 0
            self._next_frame = last + 1
            self._out = np.concatenate([self._out, soft_limit(y)])
        trim = max(0, self._buf.size - self._keep)
        self._buf, self._buf_start = self._buf[trim:], self._buf_start + trim
        out, self._out = self._out[:n], self._out[n:]
        return out
