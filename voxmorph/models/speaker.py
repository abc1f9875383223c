"""Speaker embeddings from the GE2E encoder whose weights ship in the ``resemblyzer`` package.

The network (3-layer LSTM over 40 log-free power-mel bands, 256-dim L2-normalised output) is
rebuilt here and loaded from resemblyzer's bundled ``pretrained.pt``; the mel front-end is
computed with torch, so neither librosa (slow to import and JIT) nor webrtcvad is needed.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np
import torch
from torch import nn

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.features import mel_filterbank

EMBED_DIM = 256
_MEL_BANDS = 40
_WIN = SAMPLE_RATE * 25 // 1000  # the encoder was trained on 25 ms windows
_HOP = SAMPLE_RATE * 10 // 1000  # and a 10 ms step
_PARTIAL_FRAMES = 160  # 1.6 s per partial utterance
_PARTIAL_STEP = 77  # frames between partials (resemblyzer's rate of 1.3 per second)
_MIN_COVERAGE = 0.75


def _weights_path() -> Path:
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the resemblyzer package is not installed (pip install resemblyzer)")
    return Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"


class _GE2E(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(_MEL_BANDS, EMBED_DIM, 3, batch_first=True)
        self.linear = nn.Linear(EMBED_DIM, EMBED_DIM)

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        """``(B, frames, 40)`` power mel -> ``(B, 256)`` unit-norm embeddings."""
        _, (hidden, _) = self.lstm(mels)
        raw = torch.relu(self.linear(hidden[-1]))
        return raw / raw.norm(dim=1, keepdim=True).clamp_min(1e-12)


class SpeakerEncoder:
    """Utterance -> 256-dim unit-norm speaker embedding (resemblyzer's GE2E weights)."""

    _shared: SpeakerEncoder | None = None
    _shared_lock = threading.Lock()

    def __init__(self):
        state = torch.load(_weights_path(), map_location="cpu", weights_only=True)["model_state"]
        self.net = _GE2E()
        self.net.load_state_dict({k: v for k, v in state.items() if not k.startswith("similarity")})
        self.net.eval()

    @classmethod
    def shared(cls) -> SpeakerEncoder:
        """One encoder per process: loading it costs a few hundred milliseconds."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    @staticmethod
    def _mel(x: np.ndarray) -> torch.Tensor:
        spec = torch.stft(
            torch.from_numpy(x), _WIN, _HOP, _WIN, torch.hann_window(_WIN), center=True,
            pad_mode="constant", return_complex=True,
        )
        power = spec.abs() ** 2
        return (mel_filterbank(SAMPLE_RATE, _WIN, _MEL_BANDS) @ power).T  # (frames, 40)

    @torch.inference_mode()
    def embed(self, x: np.ndarray) -> np.ndarray:
        """``(n,)`` float32 speech at 16 kHz (silences removed beforehand) -> ``(256,)``.

        The utterance is cut into overlapping 1.6 s partials whose embeddings are averaged
        and re-normalised, as in resemblyzer's ``embed_utterance``.
        """
        n_frames = int(np.ceil((len(x) + 1) / _HOP))
        starts = list(range(0, max(1, n_frames - _PARTIAL_FRAMES + _PARTIAL_STEP + 1), _PARTIAL_STEP))
        coverage = (len(x) - starts[-1] * _HOP) / (_PARTIAL_FRAMES * _HOP)
        if coverage < _MIN_COVERAGE and len(starts) > 1:
            starts = starts[:-1]
        need = (starts[-1] + _PARTIAL_FRAMES) * _HOP
        x = np.pad(np.asarray(x, np.float32), (0, max(0, need - len(x))))
        mel = self._mel(x)
        batch = torch.stack([mel[s : s + _PARTIAL_FRAMES] for s in starts])
        raw = self.net(batch).mean(dim=0).numpy()
        return (raw / max(np.linalg.norm(raw), 1e-12)).astype(np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings."""
    return float(np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))
