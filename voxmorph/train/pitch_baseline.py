"""Fitting :class:`~voxmorph.voices.baseline.PitchBaseline`: per utterance of neutral read speech,
the speaker embedding of its speech and its log-F0 mean (DIO), then a ridge regression in closed
form; its error on speakers held out (folds by speaker) goes in the card.

Measured, not trained by the training loop: a linear map of a few hundred numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from voxmorph.audio.f0 import get_tracker, mel_frame_f0
from voxmorph.audio.io import load_audio
from voxmorph.audio.vad import VoiceActivityDetector
from voxmorph.data.corpora import Utterance
from voxmorph.errors import UserError
from voxmorph.models.speaker import SpeakerEncoder
from voxmorph.voices.baseline import PitchBaseline

ALPHA = 1.0
FOLDS = 5


def utterance_rows(utterances: Sequence[Utterance], progress: Callable[[], None] | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(embeddings (N, E), log-F0 means (N,), speakers (N,))``; utterances with under half a
    second of voicing are skipped."""
    vad, encoder, dio = VoiceActivityDetector(), SpeakerEncoder.shared(), get_tracker("dio")
    x_rows, y_rows, speakers = [], [], []
    for u in utterances:
        x = load_audio(u.path)
        f0 = mel_frame_f0(dio, x)
        if progress:
            progress()
        if (f0 > 0).sum() < 50:
            continue
        speech = vad.speech_only(x)
        x_rows.append(encoder.embed(speech if speech.size >= 8000 else x))
        y_rows.append(float(np.log(f0[f0 > 0]).mean()))
        speakers.append(u.speaker)
    if not x_rows:
        raise UserError("no voiced speech in the recordings given")
    return np.stack(x_rows), np.asarray(y_rows), np.asarray(speakers)


def fit(x: np.ndarray, y: np.ndarray, alpha: float = ALPHA) -> PitchBaseline:
    mx, my = x.mean(0), y.mean(0)
    xc = x - mx
    w = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ (y - my))
    return PitchBaseline(w, float(my - w @ mx))


def held_out_error(x: np.ndarray, y: np.ndarray, speakers: np.ndarray, alpha: float = ALPHA) -> dict:
    """Folds of whole speakers: mean and spread of the prediction's error in semitones, with the
    spread of the levels themselves for scale."""
    names = np.unique(speakers)
    if names.size < FOLDS:
        raise UserError(f"the pitch baseline needs recordings of at least {FOLDS} speakers")
    fold_of = {s: i % FOLDS for i, s in enumerate(np.random.default_rng(0).permutation(names))}
    fold = np.array([fold_of[s] for s in speakers])
    pred = np.zeros_like(y)
    for k in range(FOLDS):
        model = fit(x[fold != k], y[fold != k], alpha)
        pred[fold == k] = [model.predict(e) for e in x[fold == k]]
    err = (pred - y) * 12.0 / np.log(2.0)
    return {"level_error_st": float(np.std(err)), "level_bias_st": float(np.mean(err)),
            "level_spread_st": float(np.std(y * 12.0 / np.log(2.0))),
            "utterances": int(len(y)), "speakers": int(names.size)}
