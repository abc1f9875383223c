"""The vocoder's streaming form for the live path: one utterance, a frame or two a call.

:class:`~voxmorph.models.vocoder.VocoderStream` runs the torch modules on each chunk. A live
converter calls it with one 10 ms frame at a time, where the fixed cost of some 150 small torch
calls outweighs the arithmetic. :class:`FrameVocoder` holds the same weights in a
:class:`~voxmorph.models.frame_net.FrameNet` (one compiled call per frame) and does the
synthesis in numpy; it computes the same thing (tests check it against :class:`VocoderStream`
to float32 precision). It is an inference object only: it cannot be trained, and
its weights are a copy taken when it is built.
"""

from __future__ import annotations

import math

import numpy as np

from voxmorph.audio.constants import HOP, SAMPLE_RATE
from voxmorph.audio.features import LOG_F0_MEAN, LOG_F0_STD, MEL_MEAN, MEL_STD
from voxmorph.models.excitation import DEFAULT_F0, SYN_BINS, SYN_FFT, SYN_WIN
from voxmorph.models.frame_net import COMPILED, NetForm
from voxmorph.models.vocoder import MAX_LOG_GAIN, SourceFilterVocoder


def minimum_phase(log_mag: np.ndarray) -> np.ndarray:
    """``(..., SYN_BINS)`` natural-log magnitudes -> complex minimum-phase response (folded cepstrum)."""
    cep = np.fft.irfft(log_mag, n=SYN_FFT)
    cep[..., 1 : SYN_FFT // 2] *= 2.0
    cep[..., SYN_FFT // 2 + 1 :] = 0.0
    return np.exp(np.fft.rfft(cep))


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
        self.phase = 0.0
        self.tail_pulses = np.zeros(HOP, np.float32)
        self.tail_noise = np.zeros(HOP, np.float32)
        self.ola = np.zeros(0, np.float32)

    def _log_gains(self, cond: np.ndarray) -> np.ndarray:
        """Frames' conditioning ``(k, N_MELS + 2)`` -> log-magnitudes ``(k, 2, SYN_BINS)``."""
        g = self.net(cond)
        g = MAX_LOG_GAIN - np.logaddexp(np.float32(0.0), MAX_LOG_GAIN - g)
        return g.reshape(len(cond), 2, SYN_BINS)

    def _pulses(self, f0: np.ndarray) -> np.ndarray:
        """Band-limited pulses for sample F0 ``(n,)``, as
        :func:`~voxmorph.models.excitation.harmonic_pulses` makes them."""
        voiced = f0 > 0
        f = np.where(voiced, f0, DEFAULT_F0).astype(np.float64)
        phi = self.phase + np.cumsum(2.0 * math.pi * f / SAMPLE_RATE)
        self.phase = float(np.remainder(phi[-1], 2.0 * math.pi))
        phi = np.remainder(phi, 2.0 * math.pi)
        k = np.ceil(SAMPLE_RATE / 2.0 / np.maximum(f, 1.0)) - 1.0
        half = np.sin(phi / 2.0)
        small = np.abs(half) < 1e-6
        with np.errstate(divide="ignore", invalid="ignore"):
            dirichlet = np.where(small, k, np.sin((k + 0.5) * phi) / (2.0 * half) - 0.5)
        return (2.0 * np.sqrt(f / SAMPLE_RATE) * dirichlet * voiced).astype(np.float32)

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
        gains = self._log_gains(cond)
        if noise is None:
            noise = self.rng.standard_normal(k * HOP, dtype=np.float32)
        src_p = np.concatenate([self.tail_pulses, self._pulses(np.asarray(f0_samples))])
        src_n = np.concatenate([self.tail_noise, np.asarray(noise, np.float32)])
        self.tail_pulses, self.tail_noise = src_p[-HOP:], src_n[-HOP:]
        slices = np.lib.stride_tricks.sliding_window_view(np.stack([src_p, src_n]), SYN_WIN, axis=1)[:, ::HOP]
        spectra = np.fft.rfft(slices * self.window, n=SYN_FFT)  # (2, k, SYN_BINS)
        response = minimum_phase(gains)  # (k, 2, SYN_BINS)
        frames = np.fft.irfft(spectra[0] * response[:, 0] + spectra[1] * response[:, 1], n=SYN_FFT)
        out = np.zeros((k - 1) * HOP + SYN_FFT, np.float32)
        for i in range(k):
            out[i * HOP : i * HOP + SYN_FFT] += frames[i]
        out[: len(self.ola)] += self.ola
        self.ola = out[k * HOP :]
        return out[: k * HOP]
