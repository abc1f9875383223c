"""An identity measure that shares nothing with the conditioning: a closed-set speaker identifier
over cepstral statistics, no neural speaker model. ``bench vc`` fits it on every VCC2018 speaker's
enrolment sentences and asks of each conversion whether it is identified as the target, and
whether still as the source (the decoder is conditioned on resemblyzer's embedding, so a
similarity from resemblyzer alone could be pleased without the voice changing).

``SpeakerIdentifier({speaker: [recordings]}).probabilities(x) -> {speaker: p}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from scipy.fft import dct

from voxmorph.audio.features import log_mel
from voxmorph.audio.io import load_audio
from voxmorph.errors import UserError

N_CEPS = 20
SPEECH_RANGE = 3.5
"""Frames whose mean log-mel is within this (natural log, about 30 dB) of the loudest count."""
C = 0.1


def cepstral_stats(x: np.ndarray) -> np.ndarray:
    """Mean and spread of cepstra 1..N_CEPS and of their frame-to-frame change over the speech
    frames of ``x`` (16 kHz): ``(3 * N_CEPS,)``. The loudness (cepstrum 0) is left out."""
    mel = log_mel(x).numpy()
    level = mel.mean(0)
    speech = mel[:, level > level.max() - SPEECH_RANGE]
    if speech.shape[1] < 3:
        speech = mel
    ceps = dct(speech, type=2, norm="ortho", axis=0)[1 : N_CEPS + 1]
    delta = np.abs(np.diff(ceps, axis=1)) if ceps.shape[1] > 1 else np.zeros_like(ceps)
    return np.concatenate([ceps.mean(1), ceps.std(1), delta.mean(1)]).astype(np.float64)


class SpeakerIdentifier:
    """A multinomial logistic regression over :func:`cepstral_stats`, fitted on each speaker's
    recordings."""

    def __init__(self, recordings: Mapping[str, Sequence[str | Path | np.ndarray]]):
        from sklearn.linear_model import LogisticRegression

        if len(recordings) < 2 or any(not r for r in recordings.values()):
            raise UserError("the speaker identifier needs recordings of at least two speakers")
        rows, labels = [], []
        for speaker, items in recordings.items():
            for item in items:
                x = item if isinstance(item, np.ndarray) else load_audio(item)
                rows.append(cepstral_stats(x))
                labels.append(speaker)
        feats = np.stack(rows)
        self.mean, self.scale = feats.mean(0), feats.std(0) + 1e-6
        self.model = LogisticRegression(C=C, max_iter=5000).fit((feats - self.mean) / self.scale, labels)
        self.speakers = list(self.model.classes_)

    def probabilities(self, x: np.ndarray) -> dict[str, float]:
        p = self.model.predict_proba(((cepstral_stats(x) - self.mean) / self.scale)[None])[0]
        return dict(zip(self.speakers, map(float, p), strict=True))

    def identify(self, x: np.ndarray) -> str:
        p = self.probabilities(x)
        return max(p, key=p.get)
