"""Checks on a user's recordings before a voice is enrolled from them.

Each check reads what enrolment computes anyway (the VAD's speech regions, 16 kHz audio, speaker
embeddings of short speech windows) and names the problem in words a user can act on:

- **clipping**: the share of samples at full scale;
- **noise**: the signal-to-noise ratio, speech power against the power between speech regions
  (or, without pauses, the quietest tenth of the speech's 20 ms frames);
- **several speakers**: speaker embeddings of ~3 s windows split into two groups (2-means on the
  unit sphere); two sizeable groups whose centroids differ like two people do mean two voices.
  With little speech (a few windows) that split has too little to go on, so the pieces of speech
  are also grouped by pitch: two sizeable groups far apart in median F0 whose voices' embeddings
  also differ more than one person's calm and acted emotional speech do are two voices (a man and
  a woman).

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

PITCH_SPLITS = ((4.0, 0.72), (12.0, 0.80))
"""``(semitones, cosine)``: two pitch groups of speech (each at least :data:`MIN_GROUP` of the
voiced frames) more than ``semitones`` apart in median F0 whose mean embeddings are less similar
than ``cosine`` are two voices. Set on one speaker's recordings (docs/journal/voices.md, "Several
speakers by pitch"): the ten EmoDB actors across seven acted emotions split by up to 11.1
semitones with groups as dissimilar as 0.75, VCC2018 and VCTK speakers by at most 3.7 at 0.93 or
more; no single speaker is refused. It catches every man-and-woman mix of VCC2018 (36), VCTK (4)
and espeak-ng (3) tried, and 9 of 25 EmoDB ones (acted emotion overlaps a man and a woman)."""

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


def pitch_groups(pieces: list[tuple[float, int, np.ndarray]]) -> tuple[float, float]:
    """``pieces``: ``(median log F0, voiced frames, unit embedding)`` per piece of speech -> the
    widest split of the sorted medians into two groups each holding at least :data:`MIN_GROUP` of
    the voiced frames: ``(semitones between their weighted mean log F0, cosine between their mean
    embeddings)``; ``(0, 1)`` if no split qualifies (one piece, or pieces too uneven)."""
    if len(pieces) < 2:
        return 0.0, 1.0
    pieces = sorted(pieces, key=lambda p: p[0])
    f0 = np.array([p[0] for p in pieces])
    w = np.array([p[1] for p in pieces], np.float64)
    emb = np.stack([p[2] for p in pieces]).astype(np.float64)
    best = (0.0, 1.0)
    for k in range(1, len(pieces)):
        if min(w[:k].sum(), w[k:].sum()) < MIN_GROUP * w.sum():
            continue
        gap = 12.0 * (np.average(f0[k:], weights=w[k:]) - np.average(f0[:k], weights=w[:k])) / np.log(2.0)
        if gap > best[0]:
            a, b = emb[:k].mean(0), emb[k:].mean(0)
            best = (float(gap), float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))))
    return best


def split_by_pitch(pieces: list[tuple[float, int, np.ndarray]]) -> bool:
    gap, cos = pitch_groups(pieces)
    return any(gap > semitones and cos < cosine for semitones, cosine in PITCH_SPLITS)


class SpeakerWindows:
    """Collects speech across recordings and embeds it in :data:`WINDOW_S` windows."""

    def __init__(self, embed):
        self.embed = embed  # (n,) 16 kHz speech -> unit embedding
        self._pending = np.zeros(0, np.float32)
        self.embeddings: list[np.ndarray] = []
        self.pieces: list[tuple[float, int, np.ndarray]] = []

    def add_piece(self, f0: np.ndarray, embedding: np.ndarray) -> None:
        """One piece of speech: its F0 track (Hz, 0 = unvoiced) and its unit embedding."""
        voiced = f0[f0 > 0]
        if voiced.size >= 50:  # 0.25 s of voicing at a 5 ms frame period
            self.pieces.append((float(np.median(np.log(voiced))), int(voiced.size), embedding))

    def add(self, speech: np.ndarray) -> None:
        w = int(WINDOW_S * SAMPLE_RATE)
        self._pending = np.concatenate([self._pending, speech])
        while self._pending.size >= w:
            self.embeddings.append(self.embed(self._pending[:w]))
            self._pending = self._pending[w:]

    def several_speakers(self) -> bool:
        if split_by_pitch(self.pieces):
            return True
        return several_speakers(np.stack(self.embeddings)) if self.embeddings else False
