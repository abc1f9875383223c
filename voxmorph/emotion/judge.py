"""The built-in emotion judge: which emotion an utterance is spoken with, from its delivery
(:mod:`voxmorph.emotion.features`) by a linear model over standardised features, trained on acted
speech with whole speakers held out (``voxmorph train emotion-judge``; model card
docs/models/emotion-judge.md).

A development aid: it says whether generated or converted speech carries an emotion the way the
actors it learned from did; an independent classifier is the one to believe.

Inference only: no training machinery is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from voxmorph.emotion.features import N_FEATURES, utterance_features
from voxmorph.models.checkpoint_io import ModelFolder
from voxmorph.paths import shipped_model

KIND, FORMAT_VERSION = "emotion-judge", 1


@dataclass(frozen=True)
class JudgeConfig:
    classes: tuple[str, ...] = ("neutral", "happy", "sad", "angry", "fearful")
    features: int = N_FEATURES


class EmotionJudge(nn.Module):
    """``forward(features (B, F)) -> logits (B, classes)``; :meth:`probabilities` takes audio."""

    def __init__(self, config: JudgeConfig = JudgeConfig()):
        super().__init__()
        self.config = config
        self.register_buffer("mean", torch.zeros(config.features))
        self.register_buffer("scale", torch.ones(config.features))
        self.linear = nn.Linear(config.features, len(config.classes))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear((features - self.mean) / self.scale)

    @torch.no_grad()
    def probabilities(self, x: np.ndarray) -> dict[str, float]:
        """Emotion -> probability for 16 kHz audio ``x``."""
        logits = self(torch.from_numpy(utterance_features(x))[None])[0]
        return dict(zip(self.config.classes, logits.softmax(0).tolist(), strict=True))


_FOLDER = ModelFolder(KIND, FORMAT_VERSION, "emotion judge")


def save_judge(model: EmotionJudge, folder: str | Path, card: dict | None = None) -> None:
    _FOLDER.save(model, folder, card)


def load_judge(folder: str | Path | None = None) -> tuple[EmotionJudge, dict]:
    """The judge in ``folder`` (the shipped one by default) and its card."""

    def build(config: dict) -> EmotionJudge:
        return EmotionJudge(JudgeConfig(tuple(config["classes"]), int(config["features"])))

    model, meta = _FOLDER.load(Path(folder or shipped_model(KIND)), build)
    return model, meta.get("card", {})
