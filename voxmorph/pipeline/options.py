"""Settings every file converter takes, whatever its family."""

from __future__ import annotations

from dataclasses import dataclass

from voxmorph.voices.mapping import MappingOptions


@dataclass(frozen=True)
class ConversionOptions:
    """Settings of a file converter (:class:`~voxmorph.pipeline.neural.offline.NeuralConverter`,
    :class:`~voxmorph.pipeline.world.offline.WorldConverter`).

    ``mapping``: the voice mapping (F0 range, pitch shift); ``f0_tracker``: a name in
    :data:`voxmorph.audio.f0.F0_TRACKERS`; ``denoise``: reduce stationary noise first;
    ``chunk_s``, ``context_s``, ``fade_s``: chunking of long inputs (seconds); ``keep_emotion``:
    keep how far the source's pitch level stands from its speaker's predicted neutral one, and
    its pitch range (the neural converter; :mod:`voxmorph.voices.baseline`; off by default: the
    prediction's error is as large as most emotions' effect).
    """

    mapping: MappingOptions = MappingOptions()
    f0_tracker: str = "harvest"
    denoise: bool = False
    chunk_s: float = 10.0
    context_s: float = 0.5
    fade_s: float = 0.05
    keep_emotion: bool = False
