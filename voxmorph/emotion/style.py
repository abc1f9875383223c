"""How each emotion changes a voice, as learned from acted speech: relative to the same speaker's
neutral reading of the same sentence, the shift of pitch level (semitones), the scaling of pitch
range, of tempo and of loudness dynamics, the loudness change, and the change of the spectral
envelope (per mel band: tilt, brightness, effort). Language-independent: no phones, no words.

:class:`Expression` applies one emotion at an intensity (0 = unchanged, 1 = as acted, 1.5 =
exaggerated) to what the decoder reads (F0, energy, the frame sequence's length) and to the mel it
renders; ``convert --emotion`` and ``speak --emotion`` both go through it. Pitch and loudness
change by the styles' constants or, asked for, by the learned prosody model's contours
(:mod:`voxmorph.emotion.prosody`); tempo and spectral change come from the styles. Styles
fitted by ``voxmorph train emotion-style`` (:mod:`voxmorph.train.emotion_style`); model cards
docs/models/emotion-style.md and emotion-prosody.md.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from voxmorph.emotion.names import check_emotion
from voxmorph.emotion.prosody import EmotionProsody, latent, load_prosody
from voxmorph.errors import UserError
from voxmorph.models.checkpoint_io import JsonFolder
from voxmorph.paths import shipped_model

KIND, FORMAT_VERSION = "emotion-style", 1
MAX_LEVEL_ST = 3.0
"""The pitch level moves at most this far (semitones, mean over the voiced frames): the actors
moved up to 9, and a voice raised that far is no longer the target's (docs/bench/emotion.md)."""


@dataclass(frozen=True)
class EmotionStyle:
    level_st: float = 0.0
    """Pitch level shift, semitones."""
    range_log: float = 0.0
    """Log of the pitch-range ratio (standard deviation of semitones)."""
    tempo_log: float = 0.0
    """Log of the duration ratio (above 0: slower)."""
    dynamics_log: float = 0.0
    """Log of the ratio of loudness variation over the speech (dB standard deviation)."""
    loudness_db: float = 0.0
    """Overall loudness change, dB."""
    mel: tuple[float, ...] = ()
    """Change of the mean log-mel per band over the speech (loudness removed)."""
    pairs: int = 0
    """Sentence pairs (emotional, neutral) it was learned from."""


_FOLDER = JsonFolder(KIND, FORMAT_VERSION, "emotion-style")


def save_styles(styles: dict[str, EmotionStyle], folder: str | Path, card: dict | None = None) -> None:
    _FOLDER.save({k: asdict(v) for k, v in styles.items()}, folder, card)


def load_styles(folder: str | Path | None = None) -> dict[str, EmotionStyle]:
    values = _FOLDER.load(folder or shipped_model(KIND))
    return {k: EmotionStyle(**{**v, "mel": tuple(v["mel"])}) for k, v in values.items()}


class Expression:
    """One emotion at one intensity, applied to frame sequences (100 frames/s)."""

    def __init__(self, emotion: str, intensity: float | None = None,
                 styles: dict[str, EmotionStyle] | None = None, prosody: EmotionProsody | None = None,
                 learned: bool = False, seed: int = 0):
        """``learned``: pitch and loudness contours from the prosody model (``prosody``, the
        shipped one where none is given; ``seed`` picks its latent) instead of the styles'
        constant changes, which ``bench emotion`` measured no worse (the default)."""
        self.emotion, self.intensity = check_emotion(emotion, intensity)
        styles = styles if styles is not None else load_styles()
        if self.emotion not in styles:
            raise UserError(f"the emotion model has not learned '{self.emotion}'")
        self.style, i = styles[self.emotion], self.intensity
        self.tempo = math.exp(i * self.style.tempo_log)
        """Frames out per frame in (above 1: slower)."""
        self._range = math.exp(i * self.style.range_log)
        self._dynamics = math.exp(i * self.style.dynamics_log)
        mel = np.asarray(self.style.mel, np.float32)
        self._mel = torch.from_numpy(i * mel)[:, None] if mel.size else None
        self.prosody = None
        if learned and not self.neutral:
            self.prosody = prosody if prosody is not None else load_prosody()[0]
            if self.emotion not in self.prosody.config.emotions:
                raise UserError(f"the prosody model has not learned '{self.emotion}'")
            self._z = latent(seed, self.prosody.config.latent)

    @classmethod
    def of(cls, emotion: str | None, intensity: float | None = None,
           styles: dict[str, EmotionStyle] | None = None, **kw) -> Expression | None:
        """The expression to apply, or None where nothing changes (no emotion, neutral, or
        intensity 0): callers then take their plain path, exactly as without an emotion."""
        if emotion is None:
            return None
        e = cls(emotion, intensity, styles, **kw)
        return None if e.neutral else e

    @property
    def neutral(self) -> bool:
        return self.intensity == 0.0 or self.emotion == "neutral"

    def frames_out(self, frames: int) -> int:
        return max(1, round(frames * self.tempo))

    def contour(self, f0: torch.Tensor, energy: torch.Tensor, centre: float, energy_centre: float
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``f0 (B, T)`` Hz (0 unvoiced) and ``energy (B, T)`` dB on the reading's own time axis
        -> the emotion's: the learned contour change (its level held within
        :data:`MAX_LEVEL_ST`) or, without a model, :meth:`f0` and :meth:`energy`."""
        if self.neutral:
            return f0, energy
        if self.prosody is None:
            return self.f0(f0, centre), self.energy(energy, energy_centre)
        pitch, loud = self.prosody.change(f0, energy, self.emotion, self._z)
        pitch, loud = self.intensity * pitch, self.intensity * loud
        voiced = f0 > 0
        n = voiced.sum(-1, keepdim=True).clamp(min=1)
        level = (pitch * voiced).sum(-1, keepdim=True) / n
        pitch = pitch - (level - level.clamp(-MAX_LEVEL_ST, MAX_LEVEL_ST))
        return torch.where(voiced, f0 * torch.exp2(pitch / 12.0), f0), energy + loud

    def f0(self, f0: torch.Tensor, centre: float) -> torch.Tensor:
        """``f0 (..., T)`` Hz (0 unvoiced): range scaled about ``centre`` (log Hz, the voice's mean)
        and level shifted."""
        voiced = f0 > 0
        if self.neutral or not bool(voiced.any()):
            return f0
        lf = torch.log(f0.clamp(min=1.0))
        level_st = max(-MAX_LEVEL_ST, min(MAX_LEVEL_ST, self.intensity * self.style.level_st))
        level = level_st * math.log(2) / 12
        shifted = centre + (lf - centre) * self._range + level
        return torch.where(voiced, torch.exp(shifted), torch.zeros_like(f0))

    def energy(self, energy: torch.Tensor, centre: float) -> torch.Tensor:
        """``energy (..., T)`` dB: variation about ``centre`` scaled, level moved."""
        if self.neutral:
            return energy
        return centre + (energy - centre) * self._dynamics + self.intensity * self.style.loudness_db

    def mel(self, mel: torch.Tensor) -> torch.Tensor:
        """``mel (..., N_MELS, T)``: the emotion's spectral change added."""
        return mel if self._mel is None or self.neutral else mel + self._mel

    def stretch(self, x: torch.Tensor, frames: int | None = None, voicing: bool = False) -> torch.Tensor:
        """``x (..., T)`` resampled to ``frames`` (default :meth:`frames_out`) frames: linear, or
        for F0 (``voicing``) linear inside voiced runs and unvoiced where the nearest frame is."""
        t = x.shape[-1]
        n = frames if frames is not None else self.frames_out(t)
        if n == t:
            return x
        pos = torch.linspace(0, t - 1, n) if n > 1 else torch.zeros(1)
        lo = pos.floor().long().clamp(max=t - 1)
        hi = (lo + 1).clamp(max=t - 1)
        w = pos - lo
        out = x[..., lo] * (1 - w) + x[..., hi] * w
        if voicing:
            nearest = x[..., pos.round().long()]
            out = torch.where((x[..., lo] > 0) & (x[..., hi] > 0), out, nearest)
        return out
