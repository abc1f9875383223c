"""A streaming WORLD-style synthesiser: pulses and noise shaped by minimum-phase responses.

It follows WORLD's synthesis (one response per excitation pulse; the periodic part is the
minimum-phase response of ``sp * (1 - ap^2)`` scaled by the square root of the pulse interval,
the aperiodic part is white noise of one pulse interval filtered by ``sp * ap^2``; unvoiced
stretches place noise pulses at 500 Hz), but consumes one 5 ms frame at a time. Minimum-phase
responses are causal, so a sample is final once every pulse at or before it has been placed:
the synthesiser adds no look-ahead. Pulse phase, the overlap tail and the noise generator are
its state, so output does not depend on how frames are grouped into calls.
"""

from __future__ import annotations

import numpy as np

UNVOICED_PULSE_HZ = 500.0


def minimum_phase(log_amp: np.ndarray) -> np.ndarray:
    """Log amplitude ``(K, bins)`` -> minimum-phase complex spectrum ``(K, bins)``."""
    n_fft = (log_amp.shape[1] - 1) * 2
    cep = np.fft.irfft(log_amp, n_fft, axis=1)
    cep[:, 1 : n_fft // 2] *= 2.0
    cep[:, n_fft // 2 + 1 :] = 0.0
    return np.exp(np.fft.rfft(cep, axis=1))


class PulseSynth:
    """Frames of (f0, sp, ap) -> ``hop`` samples each; frame ``k`` covers samples
    ``[k * hop - hop // 2, k * hop + hop // 2)`` of the output timeline."""

    def __init__(self, sr: int, hop: int, fft_size: int, seed: int = 0):
        self.sr, self.hop, self.fft_size = sr, hop, fft_size
        self._phase = 0.0  # fraction of a cycle elapsed since the last pulse
        self._since_pulse = 0  # samples since the last pulse
        self._tail = np.zeros(fft_size + hop)
        self._rng = np.random.default_rng(seed)
        self._omega = np.pi * np.arange(fft_size // 2 + 1) / (fft_size // 2)

    def _pulses(self, f0: np.ndarray):
        """Place pulses by integrating F0 per sample. Returns, per pulse, its position within the
        call, its frame, its fractional delay in samples and the interval since the last pulse."""
        hz = np.where(f0 > 0, f0, UNVOICED_PULSE_HZ)
        rate = np.repeat(hz / self.sr, self.hop)
        cycles = self._phase + np.cumsum(rate)
        pos = np.flatnonzero(np.diff(np.floor(np.concatenate([[self._phase], cycles]))) > 0)
        frac = (cycles[pos] - np.floor(cycles[pos])) / rate[pos]
        edges = np.concatenate([[-1 - self._since_pulse], pos])
        interval = np.diff(edges)
        n = rate.size
        self._since_pulse = n - 1 - pos[-1] if pos.size else self._since_pulse + n
        self._phase = cycles[-1] - np.floor(cycles[-1])
        return pos, pos // self.hop, frac, interval

    def process(self, f0: np.ndarray, sp: np.ndarray, ap: np.ndarray) -> np.ndarray:
        """``f0 (K,)`` Hz, ``sp``/``ap`` ``(K, fft_size // 2 + 1)`` -> ``(K * hop,)`` float32."""
        k = len(f0)
        out = np.zeros(k * self.hop + self.fft_size)
        out[: self._tail.size] += self._tail
        if k:
            pos, frame, frac, interval = self._pulses(np.asarray(f0, np.float64))
            if pos.size:
                out += self._responses(sp, ap, pos, frame, frac, interval, out.size)
        y = out[: k * self.hop]
        self._tail = out[k * self.hop :].copy()
        return y.astype(np.float32)

    def _responses(self, sp, ap, pos, frame, frac, interval, size) -> np.ndarray:
        sp = np.maximum(np.asarray(sp, np.float64), 1e-16)
        ap = np.clip(np.asarray(ap, np.float64), 0.001, 0.999)
        periodic = minimum_phase(0.5 * np.log(sp * (1.0 - ap**2)))
        aperiodic = minimum_phase(0.5 * np.log(sp * ap**2))
        noise = np.zeros((len(pos), self.fft_size))
        for i, n in enumerate(np.minimum(interval, self.fft_size)):
            seg = self._rng.standard_normal(n)
            noise[i, :n] = seg - seg.mean()
        noise_spec = np.fft.rfft(noise, axis=1)
        shift = np.exp(-1j * np.outer(frac, self._omega))
        spec = periodic[frame] * shift * np.sqrt(interval)[:, None] + aperiodic[frame] * noise_spec
        resp = np.fft.irfft(spec, self.fft_size, axis=1)
        out = np.zeros(size)
        for p, r in zip(pos, resp, strict=True):
            out[p : p + self.fft_size] += r
        return out
