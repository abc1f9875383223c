"""A voice heard before it is used: a sentence read by the bundled piper voice, converted into it."""

from __future__ import annotations

import numpy as np

from voxmorph.data.synthetic import Piper, SyntheticVoice
from voxmorph.pipeline.converters import offline_converter
from voxmorph.voices.voice import Voice

PREVIEW_TEXT = ("Hello, this is how I sound. Give me any recording, and I will say it again in my "
                "own voice.")


def preview(voice: Voice, text: str = PREVIEW_TEXT, model: str = "neural") -> np.ndarray:
    """``text`` spoken in ``voice``: ``(n,)`` float32 at 16 kHz."""
    spoken = Piper().speak(text, SyntheticVoice("piper-joe", "piper"))
    return offline_converter(model, voice).convert(spoken)
