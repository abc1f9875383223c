"""The vocoder's streaming form for the live path: one utterance, a frame or two a call.

:class:`~voxmorph.models.vocoder.VocoderStream` runs the torch modules on each chunk. A live
converter calls it with one 10 ms frame at a time, where the fixed cost of some 150 small torch
calls outweighs the arithmetic. :class:`FrameVocoder` holds the same weights in a
:class:`~voxmorph.models.frame_net.FrameNet` (one compiled call per frame) and does the
synthesis in numpy; it computes the same thing (tests check it against :class:`VocoderStream`
to float32 precision). After the network, everything a frame needs (its pulses, the two
windowed FFTs of the sources, the minimum-phase filters, the inverse FFT and the overlap-add) is
one more compiled call, :func:`_synthesise`, instead of some twenty numpy calls whose fixed cost
was most of the vocoder's time. It is an inference object only: it cannot be trained, and
its weights are a copy taken when it is built.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from voxmorph.audio.constants import HOP, SAMPLE_RATE
from voxmorph.audio.features import LOG_F0_MEAN, LOG_F0_STD, MEL_MEAN, MEL_STD
from voxmorph.models.excitation import DEFAULT_F0, SYN_BINS, SYN_FFT, SYN_WIN
from voxmorph.models.frame_net import COMPILED, NetForm
from voxmorph.models.vocoder import MAX_LOG_GAIN, SourceFilterVocoder

_TWO_PI = 2.0 * math.pi


def sample_f0(frames: np.ndarray, previous: np.ndarray, hop: int) -> np.ndarray:
    """Numpy twin of :func:`voxmorph.models.excitation.sample_f0`: ``(N, T)`` F0 with ``previous``
    ``(N,)`` as frame ``-1`` -> ``(N, T * hop)``, gliding from the frame before to each frame."""
    before = np.concatenate([previous[:, None], frames[:, :-1]], axis=1)
    start = np.where(before > 0, before, frames)
    end = np.where(frames > 0, frames, before)
    ramp = np.arange(hop, dtype=frames.dtype) / hop
    glide = start[..., None] + (end - start)[..., None] * ramp
    second_half = np.arange(hop) >= hop // 2
    voiced = np.where(second_half, (frames > 0)[..., None], (before > 0)[..., None])
    return np.where(voiced, glide, 0.0).astype(frames.dtype).reshape(len(frames), -1)


@numba.njit(nogil=True, cache=True)
def _pulses(f0, phase):  # pragma: no cover - compiled
    """Band-limited pulses for sample F0 ``(n,)`` from ``phase[0]`` (advanced in place), as
    :func:`~voxmorph.models.excitation.harmonic_pulses` makes them."""
    out = np.empty(f0.shape[0], np.float32)
    acc = phase[0]
    for s in range(f0.shape[0]):
        voiced = f0[s] > 0
        f = np.float64(f0[s]) if voiced else DEFAULT_F0
        acc += _TWO_PI * f / SAMPLE_RATE
        phi = acc % _TWO_PI
        k = math.ceil(SAMPLE_RATE / 2.0 / max(f, 1.0)) - 1.0
        half = math.sin(phi / 2.0)
        d = k if abs(half) < 1e-6 else math.sin((k + 0.5) * phi) / (2.0 * half) - 0.5
        out[s] = 2.0 * math.sqrt(f / SAMPLE_RATE) * d if voiced else 0.0
    phase[0] = acc % _TWO_PI
    return out


@numba.njit(nogil=True, cache=True)
def _synthesise(net_out, f0_samples, noise, window, phase, tail_p, tail_n, ola):  # pragma: no cover
    """The network's raw gains ``(k, 2 * SYN_BINS)`` and the block's sample F0 and noise
    ``(k * HOP,)`` -> ``(k * HOP,)`` samples; the phase, the sources' tails ``(HOP,)`` and the
    overlap-add tail ``(SYN_FFT - HOP,)`` are the state, advanced in place."""
    k = net_out.shape[0]
    n = k * HOP
    src_p = np.empty(HOP + n, np.float32)
    src_n = np.empty(HOP + n, np.float32)
    src_p[:HOP], src_n[:HOP] = tail_p, tail_n
    src_p[HOP:], src_n[HOP:] = _pulses(f0_samples, phase), noise
    tail_p[:], tail_n[:] = src_p[n:], src_n[n:]
    fold = np.zeros(SYN_FFT, np.float32)
    fold[0], fold[SYN_FFT // 2] = 1.0, 1.0
    fold[1 : SYN_FFT // 2] = 2.0
    out = np.zeros((k - 1) * HOP + SYN_FFT, np.float32)
    out[: ola.shape[0]] += ola
    for i in range(k):
        g = net_out[i]
        g = MAX_LOG_GAIN - (np.maximum(MAX_LOG_GAIN - g, 0.0) + np.log1p(np.exp(-np.abs(MAX_LOG_GAIN - g))))
        spectrum = np.zeros(SYN_BINS, np.complex64)
        for j, src in enumerate((src_p, src_n)):
            response = np.exp(np.fft.rfft(np.fft.irfft(g[j * SYN_BINS : (j + 1) * SYN_BINS], SYN_FFT) * fold))
            spectrum += np.fft.rfft(src[i * HOP : i * HOP + SYN_WIN] * window, SYN_FFT) * response
        out[i * HOP : i * HOP + SYN_FFT] += np.fft.irfft(spectrum, SYN_FFT)
    ola[:] = out[n:]
    return out[:n]


class FrameVocoder:
    """Numpy twin of :class:`~voxmorph.models.vocoder.VocoderStream` for a single stream.

    ``process(mel (N_MELS, k), f0 (k,), f0_samples (k * HOP,), noise (k * HOP,) or None) -> (k * HOP,)``
    with the same meaning and the same one-frame delay; given the same noise, the same output.
    """

    delay = HOP

    def __init__(self, model: SourceFilterVocoder, seed: int = 0, form: NetForm = COMPILED):
        self.net = form.net(model.inp, list(model.blocks), model.norm, model.head)
        self.window = np.hanning(SYN_WIN + 1)[:-1].astype(np.float32)  # periodic Hann, as torch
        self.rng = np.random.default_rng(seed)
        self.f0_last = DEFAULT_F0
        self.phase = np.zeros(1)
        self.tail_pulses = np.zeros(HOP, np.float32)
        self.tail_noise = np.zeros(HOP, np.float32)
        self.ola = np.zeros(SYN_FFT - HOP, np.float32)

    def process(self, mel: np.ndarray, f0: np.ndarray, f0_samples: np.ndarray,
                noise: np.ndarray | None = None) -> np.ndarray:
        k = mel.shape[1]
        cond = np.empty((k, mel.shape[0] + 2), np.float32)
        cond[:, :-2] = ((np.asarray(mel, np.float32) - MEL_MEAN) / MEL_STD).T
        for i in range(k):
            voiced = f0[i] > 0
            if voiced:
                self.f0_last = float(f0[i])
            cond[i, -2:] = (math.log(self.f0_last) - LOG_F0_MEAN) / LOG_F0_STD, float(voiced)
        if noise is None:
            noise = self.rng.standard_normal(k * HOP, dtype=np.float32)
        return _synthesise(self.net(cond), np.asarray(f0_samples, np.float32), np.asarray(noise, np.float32),
                           self.window, self.phase, self.tail_pulses, self.tail_noise, self.ola)
