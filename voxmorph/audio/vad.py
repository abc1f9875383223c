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

    def speech_regions(self, x: np.ndarray, sr: int = SAMPLE_RATE) -> list[tuple[int, int]]:
        """:meth:`segments`, or, where the model finds none but :func:`sounds_like_voice` says the
        audio is voice (shouted, clipped or whispered speech the model can miss), the stretches
        within :data:`VOICE_RANGE_DB` of the loudest frame."""
        found = self.segments(x, sr)
        if found or not sounds_like_voice(x):
            return found
        return _loud_regions(x)

    def speech_only(self, x: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
        """``x`` with everything outside speech regions removed; empty when there is no speech."""
        parts = [x[a:b] for a, b in self.segments(x, sr)]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def trim(self, x: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
        """``x`` from the start of its first speech region to the end of its last."""
        segs = self.segments(x, sr)
        return x[segs[0][0] : segs[-1][1]] if segs else np.zeros(0, np.float32)


VOICE_MIN_S = 0.4
"""Voiced time (s) the second evidence for speech needs."""
VOICE_MIN_LEVEL_DB = -55.0
"""Quieter than this RMS (dBFS) is not speech to the second evidence."""
VOICE_MIN_MOVEMENT_ST, VOICE_MIN_DYNAMICS_DB = 0.5, 3.0
"""Speech moves: its pitch (standard deviation, semitones) and its loudness from frame to frame
(standard deviation, dB) vary more than a hum's, a tone's or a fan's."""
VOICE_RANGE_DB = 35.0
_FRAME = SAMPLE_RATE // 100


def _frame_db(x: np.ndarray) -> np.ndarray:
    n = x.size // _FRAME
    frames = np.asarray(x[: n * _FRAME], np.float64).reshape(n, _FRAME)
    return 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def sounds_like_voice(x: np.ndarray) -> bool:
    """The second evidence for speech, independent of the VAD model: at least
    :data:`VOICE_MIN_S` of voiced frames whose pitch moves, in sound that is loud enough and whose
    loudness moves (syllables)."""
    x = np.asarray(x, np.float32)
    level = 10.0 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-12)
    if x.size < SAMPLE_RATE // 4 or level < VOICE_MIN_LEVEL_DB:
        return False
    from voxmorph.audio.f0 import DioF0

    f0 = DioF0()(x, SAMPLE_RATE, 10.0)
    voiced = f0[f0 > 0]
    if voiced.size / 100.0 < VOICE_MIN_S:
        return False
    db = _frame_db(x)
    loud = db[db > db.max() - VOICE_RANGE_DB]
    moves = np.std(12.0 * np.log2(voiced)) > VOICE_MIN_MOVEMENT_ST
    return bool(moves and np.std(loud) > VOICE_MIN_DYNAMICS_DB)


def _loud_regions(x: np.ndarray) -> list[tuple[int, int]]:
    """Runs of 10 ms frames within :data:`VOICE_RANGE_DB` of the loudest, as sample ranges."""
    db = _frame_db(x)
    on = np.concatenate([[False], db > db.max() - VOICE_RANGE_DB, [False]])
    edges = np.flatnonzero(np.diff(on.astype(np.int8)))
    pairs = zip(edges[::2], edges[1::2], strict=True)
    return [(int(a) * _FRAME, min(int(b) * _FRAME, x.size)) for a, b in pairs]
