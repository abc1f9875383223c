"""The neural converter as a streaming converter: content encoder -> decoder -> vocoder, frame by frame.

Per 10 ms frame ``t`` (centred at sample ``t * HOP - offset``): its log-mel once ``ahead`` samples
past its centre have arrived (the offline front end's window, :func:`voxmorph.audio.features.log_mel`,
computed in a compiled kernel, its right half tapered to ``ahead``), and its energy and causal YIN F0
(:mod:`voxmorph.audio.yin`) once :data:`PITCH_AHEAD` have, exactly as offline. The content
encoder's stream gives frame ``t``'s content ``lookahead`` frames later, by when its energy and
F0 are known; the decoder's stream turns them into the target's log-mel (its own look-ahead
later, if it has one); the vocoder renders it once frame ``t + 1``'s F0, which its pulses glide
to, is known. All three networks run as :class:`~voxmorph.models.frame_net.FrameNet` twins
(:mod:`voxmorph.models.frame_neural`, :class:`FrameVocoder`).

Delay, in samples: the later of the log-mel's reach plus the content and decoder look-aheads,
and the F0's reach plus a frame; ``max(75 + (2 + 0) * 160, 235 + 160) = 395`` samples (24.7 ms)
for the shipped models with :data:`LIVE_AHEAD` (576, 36 ms, with the exact log-mel,
:data:`EXACT_AHEAD`). The vocoder's frame is within it. The frame grid is offset by
``delay % HOP`` so that whole-frame blocks from the first sample end where a frame's last
sample arrives. Every running quantity advances frame by frame, so the output does not depend
on the block sizes.

Source F0 statistics accumulate from the stream and are refreshed every ``stats_every`` frames;
until there are :data:`PRIOR_FRAMES` voiced frames a given source voice stands in, as in the
streaming WORLD converter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from voxmorph.audio.constants import F0_CEIL, F0_FLOOR, F_MAX, HOP, N_FFT, N_MELS, SAMPLE_RATE, WIN_LENGTH
from voxmorph.audio.dsp import soft_limit
from voxmorph.audio.features import LOG_FLOOR, mel_filterbank
from voxmorph.audio.yin import HALF_SPAN, PitchTracker, yin_curves
from voxmorph.models.frame_net import NetForm
from voxmorph.models.frame_neural import FrameContent, FrameDecoder, conditioning
from voxmorph.models.frame_vocoder import FrameVocoder, sample_f0
from voxmorph.pipeline.neural.models import NeuralModels
from voxmorph.voices.mapping import MappingOptions, VoiceMapping
from voxmorph.voices.statistics import StatsAccumulator
from voxmorph.voices.voice import Voice

PITCH_AHEAD = max(WIN_LENGTH // 2, HALF_SPAN)
"""Samples past a frame's centre its energy and YIN F0 read: always as offline, since the content
encoder's look-ahead leaves them the time (frame ``t``'s F0 is needed ``lookahead`` frames later)."""
EXACT_AHEAD = max(N_FFT // 2, PITCH_AHEAD)
"""Samples past a frame's centre the offline log-mel reads (2 frames of look-ahead)."""
LIVE_AHEAD = PITCH_AHEAD - HOP
"""Samples past a frame's centre the live log-mel reads by default (75): no later than the vocoder
already waits for, for the F0 of the frame after (``PITCH_AHEAD`` past that frame's centre). The
window's right half is a shorter taper (:func:`live_window`)."""
BEHIND = max(N_FFT // 2, HALF_SPAN)
"""Samples before a frame's centre its analysis reads."""
LIVE_FORM = NetForm("numba", int8=True)
"""The networks' default form live: the compiled step with int8 block weights, about half the
networks' compute of float32 at the same streamed similarity and MCD (docs/bench/live_int8.md)."""
PRIOR_FRAMES = 200
"""Voiced 10 ms frames of running statistics after which a given source voice stops being used."""

_STFT_WINDOW = np.zeros(N_FFT)
_STFT_WINDOW[(N_FFT - WIN_LENGTH) // 2 : (N_FFT + WIN_LENGTH) // 2] = np.hanning(WIN_LENGTH + 1)[:-1]
_ENERGY_WINDOW = np.hanning(WIN_LENGTH + 1)[:-1]


def live_window(ahead: int, taper: bool = True) -> np.ndarray:
    """The log-mel's ``(N_FFT,)`` window reading ``ahead`` samples past a frame's centre: the
    offline Hann window when it fits; else its left half and, with ``taper``, a cos² fall over
    ``ahead`` samples, scaled to the Hann window's energy (sum of squares), or, without, the Hann
    cut off at ``ahead``, whose step leaks across the spectrum. On dev speech the tapered window
    at 75 converts better than the cut one at 160 (docs/bench/live_window_dev.md)."""
    if ahead >= WIN_LENGTH // 2:  # the Hann window ends 199 samples past the centre
        return _STFT_WINDOW.copy()
    centre, n = N_FFT // 2, np.arange(N_FFT)
    if not taper:
        return _STFT_WINDOW * (n < centre + ahead)
    fall = np.where(n < centre + ahead, np.cos(0.5 * np.pi * (n - centre) / ahead) ** 2, 0.0)
    w = np.where(n < centre, _STFT_WINDOW, fall)
    return w * np.sqrt((_STFT_WINDOW**2).sum() / (w**2).sum())


@numba.njit(nogil=True, cache=True)
def _log_mel_frames(buf, starts, window, filterbank, lo, hi):  # pragma: no cover - compiled
    """Log-mel ``(N_MELS, k)`` of the windows ``buf[s : s + N_FFT]`` for ``s`` in ``starts``
    (samples past the end of ``buf`` are zeros); ``filterbank`` rows are non-zero on ``lo .. hi``."""
    n_fft = window.shape[0]
    out = np.empty((filterbank.shape[0], starts.shape[0]))
    seg = np.zeros(n_fft)
    for f in range(starts.shape[0]):
        for i in range(n_fft):
            j = starts[f] + i
            seg[i] = buf[j] * window[i] if j < buf.shape[0] else 0.0
        mag = np.abs(np.fft.rfft(seg))
        for band in range(filterbank.shape[0]):
            acc = 0.0
            for j in range(lo[band], hi[band]):
                acc += filterbank[band, j] * mag[j]
            out[band, f] = math.log(max(acc, LOG_FLOOR))
    return out


@dataclass(frozen=True)
class StreamingNeuralOptions:
    mapping: MappingOptions = MappingOptions()
    stats_every: int = 25
    seed: int = 0
    ahead: int = LIVE_AHEAD
    """Samples past a frame's centre its log-mel may read: :data:`EXACT_AHEAD` exactly as the
    offline front end; :data:`LIVE_AHEAD` (the default) as little as saves delay."""
    taper: bool = True
    """A reach short of the Hann window's end tapers the window (:func:`live_window`); False cuts it."""
    whole_frames: bool = False
    """Round the delay up to whole frames (the frame grid then starts at the first sample), as the
    stream did before its grid was offset."""
    form: NetForm = LIVE_FORM
    """How the three networks run (:class:`~voxmorph.models.frame_net.NetForm`): the compiled step
    or its ONNX graph, float32 or int8 weights."""


class StreamingNeuralConverter:
    """Any voice -> ``target`` through the neural models; 16 kHz, hop 160 samples (10 ms)."""

    sample_rate = SAMPLE_RATE
    hop = HOP
    headroom_ms = 10.0
    """Jitter buffer the live engine plans for this stream by default: one 10 ms block, where a
    block's compute is 1.6 ms mean and 2.5 ms p99 in ``bench live`` (docs/bench/live_taper.md;
    under a competing load at normal priority, blocks the worker cannot start in time still miss
    it now and then). With the 24.7 ms look-ahead and a 10 ms block: 44.7 ms end to end."""

    def __init__(self, target: Voice, models: NeuralModels, source: Voice | None = None,
                 options: StreamingNeuralOptions = StreamingNeuralOptions()):
        self.models = models
        self.voice = models.conditioning(target)
        self.mapping = VoiceMapping(target.stats, options.mapping)
        self.source = source.stats if source is not None else None
        self.options = options
        self.lookahead = models.content.config.lookahead + models.decoder.config.lookahead
        if not 0 < options.ahead <= EXACT_AHEAD:
            raise ValueError(f"ahead must be within 1..{EXACT_AHEAD} samples")
        self.ahead = options.ahead
        # the vocoder's frame m waits for content m (and the decoder's look-ahead past it) and for
        # the F0 of frame m + 1, which its pulses glide to
        delay = max(HOP * self.lookahead + self.ahead,
                    HOP * max(models.decoder.config.lookahead, 1) + PITCH_AHEAD)
        if options.whole_frames:
            delay = HOP * -(-delay // HOP)
        self.delay = delay
        self.offset = delay % HOP
        """Frame ``t`` is centred at input sample ``t * HOP - offset``: so that the last sample a
        frame waits for ends a block (blocks are whole frames from the first sample)."""
        self.stft_window = live_window(self.ahead, options.taper)
        self.filterbank = mel_filterbank(fmax=F_MAX).numpy().astype(np.float64)
        nonzero = self.filterbank != 0
        self.band_lo = np.where(nonzero.any(1), nonzero.argmax(1), 0)
        self.band_hi = np.where(nonzero.any(1), nonzero.shape[1] - nonzero[:, ::-1].argmax(1), 0)
        # a throwaway stream loads the compiled kernels (compiles them, the first time after an
        # install) here rather than on a live clock's first blocks
        self.stream().process(np.zeros(HOP * (-(-self.delay // HOP) + 4), np.float32))

    def stream(self) -> NeuralStream:
        return NeuralStream(self)


class NeuralStream:
    """State of one stream of :class:`StreamingNeuralConverter`. Frames move through: log-mel ->
    content (``_content_q``); energy and F0 (``_f0``, ``_energy`` from frame ``_vocoded``); the
    decoder once both are known (``_mel_q``); the vocoder once the next frame's F0 is known."""

    def __init__(self, conv: StreamingNeuralConverter):
        self.conv = conv
        self._buf = np.zeros(BEHIND + conv.offset)
        self._buf_start = -BEHIND - conv.offset  # absolute index of _buf[0]; zeros before the signal
        self._next_mel = 0  # next frame whose log-mel to compute
        self._next_pitch = 0  # next frame whose energy and F0 to compute
        self._decoded = 0  # frames given to the decoder
        self._vocoded = 0  # frames given to the vocoder
        self._tracker = PitchTracker()
        self._acc = StatsAccumulator()
        self._source = None
        form = conv.options.form
        self._content = FrameContent(conv.models.content, form)
        self._decoder = FrameDecoder(conv.models.decoder, conv.voice, form)
        self._vocoder = FrameVocoder(conv.models.vocoder.model, seed=conv.options.seed, form=form)
        self._content_q = np.zeros((conv.models.content.config.dim, 0), np.float32)  # not yet decoded
        self._mel_q = np.zeros((N_MELS, 0), np.float32)  # decoded, not yet vocoded
        self._f0: list[float] = []  # mapped F0 of frames _vocoded, _vocoded + 1, ... (analysed)
        self._energy: list[float] = []  # their energy
        # the vocoder adds its own frame: its first output starts a frame before frame 0's centre
        self._out = np.zeros(conv.delay - HOP - conv.offset, np.float32)

    def _log_mel(self, frames: np.ndarray) -> np.ndarray:
        """Frames -> log-mel ``(N_MELS, k)``, reading ``ahead`` samples past each centre."""
        conv = self.conv
        starts = frames * HOP - conv.offset - N_FFT // 2 - self._buf_start
        return _log_mel_frames(self._buf, starts, conv.stft_window, conv.filterbank,
                               conv.band_lo, conv.band_hi)

    def _pitch(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Frames -> energy dB ``(k,)`` and source F0 ``(k,)``, as offline."""
        win, y, c = WIN_LENGTH // 2, HALF_SPAN, PITCH_AHEAD  # c: a frame's centre in its span
        centres = frames * HOP - self.conv.offset - self._buf_start
        seg = np.lib.stride_tricks.sliding_window_view(self._buf, 2 * c)[centres - c]
        power = seg[:, c - win : c + win] ** 2 @ _ENERGY_WINDOW / _ENERGY_WINDOW.sum()
        energy = 10.0 * np.log10(np.maximum(power, 1e-10))
        f0, _ = self._tracker.track(*yin_curves(seg[:, c - y : c + y]))
        return energy, f0

    def _map_f0(self, f0: np.ndarray, frames: np.ndarray) -> np.ndarray:
        conv, out = self.conv, np.zeros_like(f0)
        for i, (f, t) in enumerate(zip(f0, frames, strict=True)):
            self._acc.add_f0(np.array([f]))
            if (t + 1) % conv.options.stats_every == 0:
                self._source = self._acc.result()
            source = self._source
            if conv.source is not None and (source is None or source.voiced_frames < PRIOR_FRAMES):
                source = conv.source
            if f > 0 and source is not None:
                out[i] = np.clip(conv.mapping.map_f0(np.array([f]), source)[0], F0_FLOOR, F0_CEIL)
            else:
                out[i] = f
        return out

    def _analyse(self, end: int) -> None:
        """Log-mel (into the content encoder) and energy and F0 of every frame ``end`` allows."""
        end += self.conv.offset  # on the frame grid
        last = (end - self.conv.ahead) // HOP
        if last >= self._next_mel:
            frames = np.arange(self._next_mel, last + 1)
            self._next_mel = last + 1
            content = self._content.process(self._log_mel(frames))
            self._content_q = np.concatenate([self._content_q, content], axis=1)
        last = (end - PITCH_AHEAD) // HOP
        if last >= self._next_pitch:
            frames = np.arange(self._next_pitch, last + 1)
            self._next_pitch = last + 1
            energy, f0 = self._pitch(frames)
            self._f0 += list(self._map_f0(f0, frames))
            self._energy += list(energy)

    def _render(self) -> np.ndarray:
        """Decode the frames whose content, energy and F0 are known; vocode those whose next
        frame's F0 is known too."""
        k = min(self._content_q.shape[1], self._next_pitch - self._decoded)
        if k > 0:
            i = self._decoded - self._vocoded
            cond = conditioning(self._content_q[:, :k], self._f0[i : i + k], self._energy[i : i + k])
            self._mel_q = np.concatenate([self._mel_q, self._decoder.process(cond)], axis=1)
            self._content_q = self._content_q[:, k:]
            self._decoded += k
        m = min(self._mel_q.shape[1], self._next_pitch - 1 - self._vocoded)
        if m <= 0:
            return np.zeros(0, np.float32)
        f0_m = np.asarray(self._f0[: m + 1], np.float32)  # frame m's F0 is known: the look-ahead
        pulses = sample_f0(f0_m[None, 1 : m + 1], f0_m[:1], HOP)[0]
        y = self._vocoder.process(self._mel_q[:, :m], f0_m[:m], pulses)
        self._mel_q = self._mel_q[:, m:]
        del self._f0[:m], self._energy[:m]
        self._vocoded += m
        return soft_limit(y)

    def process(self, block: np.ndarray) -> np.ndarray:
        n = len(block)
        if n % HOP:
            raise ValueError(f"block of {n} samples is not a multiple of the hop {HOP}")
        self._buf = np.concatenate([self._buf, np.asarray(block, np.float64)])
        end = self._buf_start + self._buf.size
        self._analyse(end)
        self._out = np.concatenate([self._out, self._render()])
        keep = BEHIND + max(self.conv.ahead, PITCH_AHEAD) + HOP
        trim = max(0, self._buf.size - keep)
        self._buf, self._buf_start = self._buf[trim:], self._buf_start + trim
        out, self._out = self._out[:n], self._out[n:]
        return out
