"""The neural vocoder as the live WORLD converter's frame synthesiser.

Drop-in for :class:`~voxmorph.pipeline.world.pulse_synth.PulseSynth`: ``process(f0, sp, ap)`` takes
5 ms WORLD frames and returns 80 samples per frame. Every other frame (the 10 ms grid of the
vocoder) is rendered to log-mel (:func:`voxmorph.audio.world_mel.render_log_mel`) and fed to a
:class:`~voxmorph.models.frame_vocoder.FrameVocoder` (the numpy form of the vocoder stream); its
output is passed through a FIFO.

Timing: after 5 ms frame ``k`` the vocoder has produced audio up to ``floor(k / 2) * 10 ms``, up to
7.5 ms less than the pulse synthesiser, so this synthesiser declares :data:`EXTRA_DELAY` and the
converter adds it to its own delay. The pulses' F0 over a vocoder frame glides from the 5 ms frame
before it to the frame itself and then holds (see :mod:`voxmorph.models.excitation`).
"""

from __future__ import annotations

import numpy as np

from voxmorph.audio.constants import HOP
from voxmorph.audio.world_mel import render_log_mel
from voxmorph.models.frame_vocoder import FrameVocoder, sample_f0
from voxmorph.models.vocoder import SourceFilterVocoder

EXTRA_DELAY = 120
"""Samples of output delay beyond the pulse synthesiser's (7.5 ms)."""


class NeuralFrameSynth:
    """``process(f0 (K,), sp (K, bins), ap (K, bins)) -> (K * frame_hop,)`` through the vocoder;
    its output lags the pulse synthesiser's timeline by :data:`EXTRA_DELAY`."""

    def __init__(self, model: SourceFilterVocoder, frame_hop: int, seed: int = 0):
        if HOP % frame_hop:
            raise ValueError(f"frame hop {frame_hop} does not divide the vocoder hop {HOP}")
        self.step = HOP // frame_hop
        self.frame_hop = frame_hop
        self._stream = FrameVocoder(model, seed=seed)
        self._frame = 0
        self._last_f0 = 0.0
        self._fifo = np.zeros(0, np.float32)

    def _pulse_f0(self, f0: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """Sample F0 over each kept frame's 10 ms: glide from the frame before it, then hold."""
        f0_all = np.concatenate([[self._last_f0], f0]).astype(np.float32)
        pairs = np.repeat(f0_all[keep + 1, None], self.step, axis=1)  # (N, step): the frame, held
        return sample_f0(pairs, f0_all[keep], self.frame_hop).reshape(-1)

    def process(self, f0: np.ndarray, sp: np.ndarray, ap: np.ndarray) -> np.ndarray:
        idx = np.arange(self._frame, self._frame + len(f0))
        keep = np.flatnonzero(idx % self.step == 0)
        self._frame += len(f0)
        if keep.size:
            mel = render_log_mel(f0[keep], sp[keep], ap[keep])
            y = self._stream.process(mel, f0[keep].astype(np.float32), self._pulse_f0(f0, keep))
            self._fifo = np.concatenate([self._fifo, y])
        if len(f0):
            self._last_f0 = float(f0[-1])
        n = len(f0) * self.frame_hop
        out, self._fifo = self._fifo[:n], self._fifo[n:]
        return out
