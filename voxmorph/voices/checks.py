"""Checks on a user's recordings before a voice is enrolled from them.

Each check reads what enrolment computes anyway (the VAD's speech regions, 16 kHz audio, speaker
embeddings of short speech windows) and names the problem in words a user can act on:

- **clipping**: the share of samples at full scale;
- **noise**: the signal-to-noise ratio, speech power against the power between speech regions
  (or, without pauses, the quietest tenth of the speech's 20 ms frames);
- **several speakers**: speaker embeddings of ~3 s windows split into two groups (2-means on the
  unit sphere); two sizeable groups whose centroids differ like two people do mean two voices.
  And, independent of the speaker model, pitch: two sizeable groups of speech whose median F0
  lie further apart than one person's calm and acted emotional speech do (a man and a woman).

Thresholds were set on real recordings (VCC2018, VCTK, LibriSpeech pass; clipped, noisy and
two-speaker versions of them fail): see "Checks on the recordings" in docs/voices.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxmorph.audio.constants import SAMPLE_RATE

CLIP_LEVEL = 0.985
MAX_CLIPPED = 0.001
"""Largest share of samples at or above :data:`CLIP_LEVEL` (of full scale)."""
MIN_SNR_DB = 12.0
WINDOW_S = 3.0
"""Speech per speaker-check window."""
MIN_GROUP = 0.3
"""A second speaker must own at least this share of the windows ..."""
MAX_GROUP_COSINE = 0.83
"""... and the two groups' centroids must be less similar than this."""

MAX_PITCH_SPLIT_ST = 9.0
"""Two groups of speech (each at least :data:`MIN_GROUP` of the voiced frames) whose median F0
lie more than this many semitones apart are two voices. Measured on real recordings (the
journal's "Several speakers by pitch"): one EmoDB actor across seven acted emotions splits by at
most 6.3, a VCC2018 or VCTK speaker's recordings by at most 2.1; a man and a woman of VCC2018,
VCTK or EmoDB by 9.5 to 17."""

_FRAME = SAMPLE_RATE // 50


@dataclass(frozen=True)
class RecordingLevels:
    """What the checks measured on one recording."""

    clipped: float
    snr_db: float


def clipped_fraction(x: np.ndarray) -> float:
    return float(np.mean(np.abs(x) >= CLIP_LEVEL)) if x.size else 0.0


def _frame_power(x: np.ndarray) -> np.ndarray:
    n = x.size // _FRAME
    return np.mean(x[: n * _FRAME].reshape(n, _FRAME).astype(np.float64) ** 2, axis=1)


def snr_db(x: np.ndarray, segments: list[tuple[int, int]]) -> float:
    """Speech-to-noise ratio of ``x`` (16 kHz) given its speech ``segments``; ``inf`` if silent gaps
    are digital silence."""
    mask = np.zeros(x.size, bool)
    for a, b in segments:
        mask[a:b] = True
    speech = _frame_power(x[mask])
    if speech.size == 0:
        return float("nan")
    gaps = _frame_power(x[~mask])
    noise = np.median(gaps) if gaps.size >= 25 else np.percentile(speech, 10)  # >= 0.5 s of pauses
    signal = np.mean(speech)
    return float(10 * np.log10(signal / noise)) if noise > 0 else float("inf")


def levels(x: np.ndarray, segments: list[tuple[int, int]]) -> RecordingLevels:
    return RecordingLevels(clipped_fraction(x), snr_db(x, segments))


def speaker_groups(embeddings: np.ndarray, iterations: int = 20) -> tuple[float, float]:
    """2-means of unit ``embeddings (n, D)``: ``(share of the smaller group, cosine between the two
    centroids)``; ``(0, 1)`` for fewer than 4 windows."""
    e = np.asarray(embeddings, np.float64)
    if len(e) < 4:
        return 0.0, 1.0
    mean = e.mean(0)
    first = int(np.argmin(e @ mean))  # the window least like the rest starts the second group
    centroids = np.stack([mean, e[first]])
    for _ in range(iterations):
        labels = np.argmax(e @ centroids.T, axis=1)
        if labels.min() == labels.max():
            return 0.0, 1.0
        centroids = np.stack([e[labels == k].mean(0) for k in (0, 1)])
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    share = min(np.mean(labels == 0), np.mean(labels == 1))
    return float(share), float(centroids[0] @ centroids[1])


def several_speakers(embeddings: np.ndarray) -> bool:
    share, cos = speaker_groups(embeddings)
    return share >= MIN_GROUP and cos < MAX_GROUP_COSINE


def pitch_split_semitones(chunks: list[tuple[float, int]]) -> float:
    """``chunks``: ``(median log F0, voiced frames)`` per piece of speech -> the largest distance in
    semitones between the weighted mean log F0 of two groups split at one point of the sorted
    medians, each group holding at least :data:`MIN_GROUP` of the voiced frames; 0 if no split
    qualifies (one piece, or pieces too uneven)."""
    if len(chunks) < 2:
        return 0.0
    f0, w = (np.asarray(v, np.float64) for v in zip(*sorted(chunks), strict=True))
    total, best = w.sum(), 0.0
    for k in range(1, len(f0)):
        lo, hi = w[:k].sum(), w[k:].sum()
        if min(lo, hi) >= MIN_GROUP * total:
            gap = np.average(f0[k:], weights=w[k:]) - np.average(f0[:k], weights=w[:k])
            best = max(best, 12.0 * gap / np.log(2.0))
    return float(best)


class SpeakerWindows:
    """Collects speech across recordings and embeds it in :data:`WINDOW_S` windows."""

    def __init__(self, embed):
        self.embed = embed  # (n,) 16 kHz speech -> unit embedding
        self._pending = np.zeros(0, np.float32)
        self.embeddings: list[np.ndarray] = []
        self.pitch: list[tuple[float, int]] = []

    def add_pitch(self, f0: np.ndarray) -> None:
        """The F0 track (Hz, 0 = unvoiced) of one piece of speech."""
        voiced = f0[f0 > 0]
        if voiced.size >= 50:  # 0.25 s of voicing at a 5 ms frame period
            self.pitch.append((float(np.median(np.log(voiced))), int(voiced.size)))

    def add(self, speech: np.ndarray) -> None:
        w = int(WINDOW_S * SAMPLE_RATE)
        self._pending = np.concatenate([self._pending, speech])
        while self._pending.size >= w:
            self.embeddings.append(self.embed(self._pending[:w]))
            self._pending = self._pending[w:]

    def several_speakers(self) -> bool:
        if pitch_split_semitones(self.pitch) > MAX_PITCH_SPLIT_ST:
            return True
        return several_speakers(np.stack(self.embeddings)) if self.embeddings else False
