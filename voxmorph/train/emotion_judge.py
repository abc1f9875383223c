"""Fitting the emotion judge (:mod:`voxmorph.emotion.judge`): utterance features of acted speech,
a multinomial logistic regression on them, and its accuracy on speakers it was not fitted on
(leave one speaker out), which goes into the model card and a report.

A linear model fitted in closed form by scikit-learn, not a network: the training loop is for
networks; this has a few hundred numbers and fits in a second.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from voxmorph.audio.io import load_audio
from voxmorph.data.corpora import Utterance
from voxmorph.emotion.features import utterance_features
from voxmorph.emotion.judge import EmotionJudge, JudgeConfig
from voxmorph.errors import UserError

C = 0.03
"""Inverse regularisation strength (strong: few speakers, and the judge must generalise)."""


def corpus_features(utterances: Sequence[Utterance], classes: Sequence[str],
                    progress: Callable[[], None] | None = None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(features (N, F), emotion labels (N,), speakers (N,))`` of the utterances in ``classes``."""
    keep = [u for u in utterances if u.emotion in classes]
    rows = []
    for u in keep:
        rows.append(utterance_features(load_audio(u.path)))
        if progress:
            progress()
    return (np.stack(rows) if rows else np.zeros((0, 0), np.float32),
            np.array([u.emotion for u in keep]), np.array([u.speaker for u in keep]))


def fit(x: np.ndarray, y: np.ndarray, classes: Sequence[str], c: float = C) -> EmotionJudge:
    """A judge fitted on ``x`` and labels ``y``."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(0), x.std(0) + 1e-6
    clf = LogisticRegression(C=c, max_iter=5000).fit((x - mean) / scale, y)
    order = [list(clf.classes_).index(k) for k in classes]
    model = EmotionJudge(JudgeConfig(tuple(classes), x.shape[1]))
    with torch.no_grad():
        model.mean.copy_(torch.from_numpy(mean))
        model.scale.copy_(torch.from_numpy(scale))
        model.linear.weight.copy_(torch.from_numpy(clf.coef_[order]))
        model.linear.bias.copy_(torch.from_numpy(clf.intercept_[order]))
    return model.eval()


def held_out_accuracy(x: np.ndarray, y: np.ndarray, speakers: np.ndarray, classes: Sequence[str],
                      c: float = C) -> dict:
    """Leave one speaker out: accuracy, per-class recall and the confusion matrix (rows: true)."""
    if len(set(speakers)) < 2:
        raise UserError("the emotion judge needs recordings of at least two speakers (one is held out)")
    guess = np.empty_like(y)
    for s in np.unique(speakers):
        out = speakers == s
        model = fit(x[~out], y[~out], classes, c)
        with torch.no_grad():
            idx = model(torch.from_numpy(x[out])).argmax(1).numpy()
        guess[out] = np.array(classes)[idx]
    confusion = [[int(((y == a) & (guess == b)).sum()) for b in classes] for a in classes]
    recall = {a: float((guess[y == a] == a).mean()) if (y == a).any() else None for a in classes}
    return {"accuracy": float((guess == y).mean()), "recall": recall, "confusion": confusion,
            "utterances": int(y.size), "speakers": int(len(set(speakers)))}


def held_out_markdown(held: dict, classes: Sequence[str]) -> str:
    """:func:`held_out_accuracy`'s result as a report: accuracy, recall and confusion per class."""
    rows = "\n".join(f"| {a} | {held['recall'][a]:.3f} | " + " | ".join(map(str, row)) + " |"
                     for a, row in zip(classes, held["confusion"], strict=True))
    return (f"# Emotion judge, one speaker held out at a time\n\nAccuracy {held['accuracy']:.3f} over "
            f"{held['utterances']} recordings of {held['speakers']} speakers.\n\n"
            f"| true \\ judged | recall | {' | '.join(classes)} |\n"
            f"|---|---:|{'---:|' * len(classes)}\n{rows}\n")
