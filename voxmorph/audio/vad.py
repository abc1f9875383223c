"""Voice activity detection with the Silero VAD model bundled in the ``silero-vad`` package."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import torch

from voxmorph.audio.constants import SAMPLE_RATE


@dataclass(frozen=True)
class VADOptions:
    """How speech regions are found: ``threshold`` on Silero's speech probability, pauses shorter
    than ``min_silence_ms`` bridged, and ``pad_ms`` of context kept around each region."""

    threshold: float = 0.5
    min_speech_ms: int = 150
    min_silence_ms: int = 300
    pad_ms: int = 60


class VoiceActivityDetector:
    """Finds speech regions in 16 kHz audio. The model loads on first use, from the package."""

    def __init__(self, options: VADOptions = VADOptions()):
        self.options = options
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                from silero_vad import load_silero_vad

                self._model = load_silero_vad()
        return self._model

    def segments(self, x: np.ndarray, sr: int = SAMPLE_RATE) -> list[tuple[int, int]]:
        """Speech regions as ``(start, end)`` sample indices into ``x`` (``(n,)`` at ``sr``)."""
        if sr != SAMPLE_RATE:
            raise ValueError(f"VAD runs at {SAMPLE_RATE} Hz, got {sr}")
        from silero_vad import get_speech_timestamps

        o = self.options
        with torch.inference_mode():
            stamps = get_speech_timestamps(
                torch.from_numpy(np.ascontiguousarray(x, np.float32)),
                self._load(),
                sampling_rate=sr,
                threshold=o.threshold,
                min_speech_duration_ms=o.min_speech_ms,
                min_silence_duration_ms=o.min_silence_ms,
                speech_pad_ms=o.pad_ms,
            )
        return [(int(s["start"]), int(s["end"])) for s in stamps]

    def speech_only(self, x: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
        """``x`` with everything outside speech regions removed; empty when there is no speech."""
        parts = [x[a:b] for a, b in self.segments(x, sr)]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def trim(self, x: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
        """``x`` from the start of its first speech region to the end of its last."""
        segs = self.segments(x, sr)
        return x[segs[0][0] : segs[-1][1]] if segs else np.zeros(0, np.float32)
