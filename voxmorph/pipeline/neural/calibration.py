"""Calibrating a voice to the neural decoder: a per-band mel correction measured, not trained.

Zero-shot, the decoder renders a voice from its speaker embedding alone, and what it renders has
a steady per-band colour that is not the speaker's (a few dB in some bands: the embedding does not
pin down the recording's spectral balance). Calibration measures it: the decoder rebuilds the
voice's own recordings (their content, F0 and energy, rendered in the zero-shot voice) and the
mean difference from the real log-mel of those recordings, per mel band over the frames that
carry sound, becomes the voice's mel bias. Optionally (``through``) each recording makes a *round
trip* instead: its content is read from its rendering in another voice before being rendered in
this one, which measures the colour of a conversion rather than of a rebuild (on development
pairs +0.006 to +0.012 similarity, but more words lost on one pair, so not the default:
docs/journal/identity.md). Forward passes only, seconds of CPU, no training; the result is
stored like an adapter (zero FiLM offsets, the zero-shot utterance vector), so it is tied to the
decoder it was measured on and streams like one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from voxmorph.audio.constants import N_MELS, SAMPLE_RATE
from voxmorph.audio.f0 import F0Tracker, HarvestF0, mel_frame_f0
from voxmorph.audio.features import MEL_STD, log_mel
from voxmorph.audio.io import iter_blocks
from voxmorph.errors import VoiceError
from voxmorph.models.decoder import frame_conditioning, round_trip, source_frames
from voxmorph.voices.store import VoiceStore
from voxmorph.voices.voice import Voice, VoiceAdapter

if TYPE_CHECKING:
    from voxmorph.pipeline.neural.models import NeuralModels

BLOCK_S = 20.0
"""Seconds of a recording rebuilt at a time (memory stays flat for long recordings)."""

SOUND_RANGE_DB = 40.0
"""Frames within this many dB of a block's loudest frame count; quieter ones (pauses) do not."""

METHOD = "calibration"
"""``VoiceAdapter.info["method"]`` of a calibration (a trained adapter has none)."""

ROUND_TRIPS = 3
"""Other voices each recording is converted into and back from."""


def round_trip_voices(voice: Voice, n: int = ROUND_TRIPS) -> list[Voice]:
    """The ``n`` built-in voices least like ``voice`` (lowest embedding similarity), itself excluded."""
    store = VoiceStore()
    others = [store.get(name) for name in store.builtin_names() if name != voice.name]
    embedding = np.asarray(voice.embedding, np.float64)
    return sorted(others, key=lambda v: float(np.asarray(v.embedding) @ embedding))[:n]


@torch.inference_mode()
def calibrate_voice(voice: Voice, files: Sequence[str | Path], models: NeuralModels,
                    tracker: F0Tracker | None = None,
                    progress: Callable[[float], None] | None = None,
                    through: Sequence[Voice] | None = None) -> Voice:
    """``voice`` with a mel bias measured on ``files`` (its recordings) for ``models``'s decoder,
    from plain rebuilds, or from round trips through the voices ``through`` (e.g.
    :func:`round_trip_voices`).
    ``progress`` gets the seconds of audio done."""
    tracker = tracker or HarvestF0()
    zero_shot = models.zero_shot(voice)
    through = list(through or ())
    away = [(models.zero_shot(v), torch.tensor([v.stats.log_f0_mean - voice.stats.log_f0_mean]))
            for v in through]
    total, frames = torch.zeros(N_MELS), 0
    t0 = time.process_time()
    for f in files:
        for x in iter_blocks(f, SAMPLE_RATE, BLOCK_S):
            if progress:
                progress(x.size / SAMPLE_RATE)
            if x.size < SAMPLE_RATE // 2:
                continue
            f0 = torch.from_numpy(mel_frame_f0(tracker, x))[None]
            n = f0.shape[-1]
            content, energy = source_frames(models.content, x, n)
            cond = frame_conditioning(content, f0, energy)
            sound = energy[0] > energy.max() - SOUND_RANGE_DB
            real = log_mel(x)[:, :n]
            for read in [round_trip(models.content, models.decoder, cond, *a) for a in away] or [cond]:
                total += (real - models.decoder.render(read, zero_shot)[0])[:, sound].sum(-1)
                frames += int(sound.sum())
    if frames == 0:
        raise VoiceError("no sound in the recordings to calibrate the voice on")
    blocks, channels = models.decoder.config.blocks, models.decoder.config.channels
    arrays = {"u": zero_shot.u[0].numpy().copy(), "film": np.zeros((blocks, 2 * channels), np.float32),
              "mel_bias": (total / frames / MEL_STD).numpy()}
    info = {"method": METHOD, "frames": frames, "through": [v.name for v in through],
            "cpu_seconds": round(time.process_time() - t0, 1)}
    return replace(voice, adapter=VoiceAdapter(models.decoder_id, arrays, info))

