"""A voice-activity gate: speech passes, silence becomes silence, never a click.

Silero VAD scores each 32 ms window of the input; a fast level trigger (input more than
``onset_db`` above the tracked noise floor) opens the gate before Silero has a full window of the
onset. The gate stays open for ``hang_ms`` after the last speech, and its gain moves along
ramps (``attack_ms`` up, ``release_ms`` down). The engine applies the gain to the converted
signal, whose delay behind the input makes the converter's look-ahead free pre-roll.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxmorph.audio.constants import SAMPLE_RATE

VAD_WINDOW = 512
"""Samples per Silero VAD call at 16 kHz."""
VAD_CONTEXT = 64
"""Samples of the previous window Silero reads before each window at 16 kHz."""


class SileroStep:
    """Silero VAD's ONNX session, one window a call, its state kept in numpy.

    The package's wrapper computes the same thing, but it moves each window and its state through
    torch tensors on every call, which costs about half as much again as the network itself.
    ``step(window (VAD_WINDOW,)) -> speech probability``."""

    def __init__(self):
        from silero_vad import load_silero_vad

        self._session = load_silero_vad(onnx=True).session  # the model file the package ships
        self._sr = np.array(SAMPLE_RATE, np.int64)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), np.float32)
        self._context = np.zeros((1, VAD_CONTEXT), np.float32)

    def step(self, window: np.ndarray) -> float:
        x = np.concatenate([self._context, np.asarray(window, np.float32)[None]], axis=1)
        prob, self._state = self._session.run(None, {"input": x, "state": self._state, "sr": self._sr})
        self._context = x[:, -VAD_CONTEXT:]
        return float(prob[0, 0])


@dataclass(frozen=True)
class GateOptions:
    threshold: float = 0.5
    onset_db: float = 15.0
    hang_ms: float = 250.0
    attack_ms: float = 5.0
    release_ms: float = 60.0


class VoiceGate:
    """Stateful gate; ``gains(block)`` -> per-sample gain in [0, 1] for that block."""

    def __init__(self, options: GateOptions = GateOptions(), sr: int = SAMPLE_RATE):
        if sr != SAMPLE_RATE:
            raise ValueError(f"the gate runs at {SAMPLE_RATE} Hz, not {sr}")
        self.options = options
        self.sr = sr
        self._vad_step = SileroStep()  # ONNX: 0.2 ms a window against 0.6 ms for TorchScript
        self._pending = np.zeros(0, np.float32)
        self._hang_left = 0
        self._gain = 0.0
        self._floor_db = -60.0
        self.speech_prob = 0.0

    def _vad(self, block: np.ndarray) -> bool:
        self._pending = np.concatenate([self._pending, block])
        speech = False
        while self._pending.size >= VAD_WINDOW:
            window, self._pending = self._pending[:VAD_WINDOW], self._pending[VAD_WINDOW:]
            self.speech_prob = self._vad_step.step(window)
            speech |= self.speech_prob >= self.options.threshold
        return speech

    def _level_onset(self, block: np.ndarray) -> bool:
        level = 10 * np.log10(np.mean(block.astype(np.float64) ** 2) + 1e-12)
        onset = level > self._floor_db + self.options.onset_db
        # the floor follows quiet stretches quickly and loud ones slowly
        rate = 0.2 if level < self._floor_db else 0.002
        self._floor_db += rate * (level - self._floor_db)
        return bool(onset)

    def gains(self, block: np.ndarray) -> np.ndarray:
        o, n = self.options, len(block)
        speech = self._vad(block)
        onset = self._level_onset(block)
        if speech or (onset and self._hang_left > 0) or (onset and self.speech_prob > 0.2):
            self._hang_left = int(o.hang_ms * self.sr / 1000)
        elif onset and self._gain == 0.0:
            self._hang_left = max(self._hang_left, n)
        else:
            self._hang_left = max(0, self._hang_left - n)
        target = 1.0 if self._hang_left > 0 else 0.0
        step = 1000.0 / ((o.attack_ms if target > self._gain else o.release_ms) * self.sr)
        ramp = self._gain + np.sign(target - self._gain) * step * np.arange(1, n + 1)
        g = np.clip(ramp, min(self._gain, target), max(self._gain, target))
        self._gain = float(g[-1])
        return g.astype(np.float32)

    def reset(self) -> None:
        self._vad_step.reset()
        self._pending = np.zeros(0, np.float32)
        self._hang_left, self._gain = 0, 0.0


class GatedStream:
    """A converter stream followed by the gate: each converted block times the gains the gate
    computes from the matching input block (the engine's worker and the server use this)."""

    def __init__(self, stream, gate: VoiceGate | None):
        self.stream, self.gate = stream, gate

    def process(self, block: np.ndarray) -> np.ndarray:
        y = self.stream.process(block)
        if self.gate is not None:
            y = y * self.gate.gains(block)
        return y.astype(np.float32)
