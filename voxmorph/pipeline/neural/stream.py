"""The neural converter as a streaming converter: content encoder -> decoder -> vocoder, frame by frame.

Per 10 ms frame ``t`` (centred at sample ``t * HOP``), once :data:`AHEAD` samples past its centre
have arrived: the log-mel and energy of the offline front end (:func:`voxmorph.audio.features.log_mel`,
:func:`~voxmorph.audio.features.energy_db`, the same windows computed with numpy) and the causal
YIN F0 tracker of :mod:`voxmorph.audio.yin`. The content encoder's stream gives frame ``t``'s
content ``lookahead`` frames later; the decoder's stream turns it, the target-range F0 and the
energy into the target's log-mel (its own look-ahead later, if it has one); the vocoder renders
it. All three run as their numpy frame twins (:mod:`voxmorph.models.frame_neural`,
:class:`FrameVocoder`).
The pulses of frame ``t`` glide to frame ``t + 1``'s F0, which the look-ahead has already seen.

Delay: ``AHEAD`` rounded up to whole frames, plus the content and decoder look-aheads, plus the
vocoder's frame: ``(2 + 2 + 0) * 10 ms = 40 ms`` for the shipped models. Every running quantity
advances frame by frame, so the output does not depend on the block sizes.

Source F0 statistics accumulate from the stream and are refreshed every ``stats_every`` frames;
until there are :data:`PRIOR_FRAMES` voiced frames a given source voice stands in, as in the
streaming WORLD converter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from voxmorph.audio.constants import F0_CEIL, F0_FLOOR, F_MAX, HOP, N_FFT, SAMPLE_RATE, WIN_LENGTH
from voxmorph.audio.dsp import soft_limit
from voxmorph.audio.features import LOG_FLOOR, mel_filterbank
from voxmorph.audio.yin import HALF_SPAN, PitchTracker, yin_curves
from voxmorph.models.decoder import frame_conditioning
from voxmorph.models.frame_neural import FrameContent, FrameDecoder
from voxmorph.models.frame_vocoder import FrameVocoder, sample_f0
from voxmorph.pipeline.neural.models import NeuralModels
from voxmorph.voices.mapping import MappingOptions, VoiceMapping
from voxmorph.voices.statistics import StatsAccumulator
from voxmorph.voices.voice import Voice

AHEAD = max(N_FFT // 2, HALF_SPAN)
"""Samples past a frame's centre that its analysis reads."""
BEHIND = max(N_FFT // 2, HALF_SPAN)
PRIOR_FRAMES = 200
"""Voiced 10 ms frames of running statistics after which a given source voice stops being used."""

_STFT_WINDOW = np.zeros(N_FFT)
_STFT_WINDOW[(N_FFT - WIN_LENGTH) // 2 : (N_FFT + WIN_LENGTH) // 2] = np.hanning(WIN_LENGTH + 1)[:-1]
_ENERGY_WINDOW = np.hanning(WIN_LENGTH + 1)[:-1]


@dataclass(frozen=True)
class StreamingNeuralOptions:
    mapping: MappingOptions = MappingOptions()
    stats_every: int = 25
    seed: int = 0
    int8: bool = False
    """The networks' block weights as int8 (:class:`~voxmorph.models.frame_net.FrameNet`): about half
    the compute per frame."""


class StreamingNeuralConverter:
    """Any voice -> ``target`` through the neural models; 16 kHz, hop 160 samples (10 ms)."""

    sample_rate = SAMPLE_RATE
    hop = HOP

    def __init__(self, target: Voice, models: NeuralModels, source: Voice | None = None,
                 options: StreamingNeuralOptions = StreamingNeuralOptions()):
        self.models = models
        self.voice = models.conditioning(target)
        self.mapping = VoiceMapping(target.stats, options.mapping)
        self.source = source.stats if source is not None else None
        self.options = options
        self.lookahead = models.content.config.lookahead + models.decoder.config.lookahead
        self.ahead_frames = -(-AHEAD // HOP)
        self.delay = (self.ahead_frames + self.lookahead) * HOP
        self.filterbank = mel_filterbank(fmax=F_MAX).numpy().astype(np.float64)

    def stream(self) -> NeuralStream:
        return NeuralStream(self)


class NeuralStream:
    """State of one stream of :class:`StreamingNeuralConverter`."""

    def __init__(self, conv: StreamingNeuralConverter):
        self.conv = conv
        self._buf = np.zeros(BEHIND)
        self._buf_start = -BEHIND  # absolute sample index of _buf[0]; zeros before the signal
        self._next = 0  # next frame to analyse
        self._tracker = PitchTracker()
        self._acc = StatsAccumulator()
        self._source = None
        int8 = conv.options.int8
        self._content = FrameContent(conv.models.content, int8=int8)
        self._decoder = FrameDecoder(conv.models.decoder, conv.voice, int8=int8)
        self._vocoder = FrameVocoder(conv.models.vocoder.model, seed=conv.options.seed, int8=int8)
        self._f0: list[float] = []  # mapped F0 of analysed frames not yet vocoded
        self._energy: list[float] = []  # their energy
        self._pending = 0  # frames in the decoder's look-ahead: conditioned, not yet decoded
        self._out = np.zeros(conv.delay - HOP, np.float32)  # the vocoder adds its own frame

    def _window(self, centre: int, before: int, after: int) -> np.ndarray:
        i = centre - self._buf_start
        return self._buf[i - before : i + after]

    def _analyse(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frames -> log-mel ``(N_MELS, k)``, energy dB ``(k,)`` and source F0 ``(k,)``."""
        centres = frames * HOP
        seg = np.stack([self._window(c, N_FFT // 2, N_FFT // 2) for c in centres])
        mag = np.abs(np.fft.rfft(seg * _STFT_WINDOW, axis=1))
        mel = np.log(np.maximum(self.conv.filterbank @ mag.T, LOG_FLOOR))
        win = np.stack([self._window(c, WIN_LENGTH // 2, WIN_LENGTH // 2) for c in centres])
        power = (win**2 * _ENERGY_WINDOW).sum(1) / _ENERGY_WINDOW.sum()
        energy = 10.0 * np.log10(np.maximum(power, 1e-10))
        curves, rms = yin_curves(np.stack([self._window(c, HALF_SPAN, HALF_SPAN) for c in centres]))
        f0, _ = self._tracker.track(curves, rms)
        return mel, energy, f0

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

    @torch.inference_mode()
    def _convert(self, frames: np.ndarray) -> np.ndarray:
        mel, energy, f0 = self._analyse(frames)
        self._f0 += list(self._map_f0(f0, frames))
        self._energy += list(energy)
        content = self._content.process(mel)
        k, p = content.shape[-1], self._pending
        if k == 0:
            return np.zeros(0, np.float32)
        cond = frame_conditioning(torch.from_numpy(content)[None],
                                  torch.tensor(self._f0[p : p + k], dtype=torch.float32)[None],
                                  torch.tensor(self._energy[p : p + k], dtype=torch.float32)[None])
        mel_hat = self._decoder.process(cond[0].numpy())
        m = mel_hat.shape[-1]
        self._pending = p + k - m
        if m == 0:
            return np.zeros(0, np.float32)
        f0_m = np.asarray(self._f0[: m + 1], np.float32)  # frame m's F0 is known: the look-ahead
        pulses = sample_f0(f0_m[None, 1 : m + 1], f0_m[:1], HOP)[0]
        y = self._vocoder.process(mel_hat, f0_m[:m], pulses)
        del self._f0[:m], self._energy[:m]
        return y

    def process(self, block: np.ndarray) -> np.ndarray:
        n = len(block)
        if n % HOP:
            raise ValueError(f"block of {n} samples is not a multiple of the hop {HOP}")
        self._buf = np.concatenate([self._buf, np.asarray(block, np.float64)])
        end = self._buf_start + self._buf.size
        last = (end - AHEAD) // HOP
        if last >= self._next:
            frames = np.arange(self._next, last + 1)
            self._next = last + 1
            self._out = np.concatenate([self._out, soft_limit(self._convert(frames))])
        keep = BEHIND + AHEAD + HOP
        trim = max(0, self._buf.size - keep)
        self._buf, self._buf_start = self._buf[trim:], self._buf_start + trim
        out, self._out = self._out[:n], self._out[n:]
        return out
