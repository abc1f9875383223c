"""The emotions voxmorph knows, and how a user names one with an intensity."""

from __future__ import annotations

from voxmorph.errors import UserError

EMOTIONS: dict[str, str] = {
    "neutral": "a plain reading: the voice's own level, range and pace",
    "happy": "higher and livelier pitch, wider range, brighter and a little faster",
    "sad": "lower, narrow pitch, quieter and darker, slower with longer pauses",
    "angry": "loud, tense and bright, strong accents, a wide range, clipped pauses",
    "fearful": "high, unsteady pitch, breathy, fast and broken phrasing",
}
"""Name -> what it changes, in a line (the order ``voxmorph emotions`` lists them in)."""

MAX_INTENSITY = 1.5
"""Above 1 is exaggerated: further than the actors went."""


def check_emotion(name: str, intensity: float | None = None) -> tuple[str, float]:
    """``(emotion, intensity)`` as given, validated; the intensity defaults to 1 (0 is neutral)."""
    key = name.strip().lower()
    if key not in EMOTIONS:
        raise UserError(f"unknown emotion '{name}'; choose from {', '.join(EMOTIONS)}")
    value = 1.0 if intensity is None else float(intensity)
    if not 0.0 <= value <= MAX_INTENSITY:
        raise UserError(f"intensity {intensity}: give a number from 0 (neutral) to 1 (as acted), "
                        f"up to {MAX_INTENSITY} for exaggerated")
    return key, value
