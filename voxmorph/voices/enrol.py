"""Enrolment: recordings of one speaker -> a :class:`Voice` (statistics and embedding)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from voxmorph.audio import world
from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.dsp import normalise_loudness
from voxmorph.audio.f0 import F0Tracker, HarvestF0
from voxmorph.audio.io import iter_blocks, probe
from voxmorph.audio.vad import VoiceActivityDetector
from voxmorph.errors import AudioError, VoiceError
from voxmorph.models.speaker import SpeakerEncoder
from voxmorph.voices import checks
from voxmorph.voices.statistics import StatsAccumulator
from voxmorph.voices.voice import Voice, VoiceInfo, check_name

MIN_SPEECH_S = 3.0
"""Least speech (after removing pauses) a voice can be enrolled from."""

ENROL_BLOCK_S = 20.0
"""Seconds of a recording analysed at a time, so long recordings keep memory flat."""


def enrol_voice(
    name: str,
    files: Sequence[str | Path],
    description: str = "",
    tracker: F0Tracker | None = None,
    vad: VoiceActivityDetector | None = None,
    progress: Callable[[float], None] | None = None,
    check: bool = True,
) -> Voice:
    """Analyse ``files`` (any format, rate and channel count) into a voice named ``name``.

    ``progress`` is called with the seconds of input just processed. Raises
    :class:`AudioError` for an unusable file and :class:`VoiceError` for too little speech or, with
    ``check``, recordings that are clipped, too noisy or hold more than one speaker
    (:mod:`voxmorph.voices.checks`).
    """
    check_name(name)
    if not files:
        raise VoiceError("no recordings given")
    for f in files:
        probe(f)  # fail on a bad file before spending time on the good ones
    vad = vad or VoiceActivityDetector()
    tracker = tracker or HarvestF0()
    acc = StatsAccumulator()
    embeddings, weights = [], []
    speech_s = 0.0
    windows = checks.SpeakerWindows(SpeakerEncoder.shared().embed)
    for f in files:
        file_speech, file_levels = 0, []
        for block in iter_blocks(f, SAMPLE_RATE, ENROL_BLOCK_S):
            segments = vad.speech_regions(block)
            speech = np.concatenate([block[a:b] for a, b in segments]) if segments else block[:0]
            if progress:
                progress(block.size / SAMPLE_RATE)
            if speech.size < SAMPLE_RATE // 2:
                continue
            file_levels.append((speech.size, checks.levels(block, segments)))
            speech = normalise_loudness(speech, SAMPLE_RATE)
            feats = world.analyse(speech, SAMPLE_RATE, tracker, aperiodicity=False)
            acc.add(feats, speech)
            embeddings.append(SpeakerEncoder.shared().embed(speech))
            weights.append(speech.size)
            if check:
                windows.add(speech)
                windows.add_piece(feats.f0, embeddings[-1])
            file_speech += speech.size
        if file_speech == 0:
            raise AudioError(f"{f}: no speech found (silence or noise only)")
        if check:
            _check_levels(f, file_levels)
        speech_s += file_speech / SAMPLE_RATE
    if check and windows.several_speakers():
        raise VoiceError("the recordings sound like more than one speaker; enrol a voice from "
                         "recordings of one person only (or pass --no-checks if they are one person)")
    stats = acc.result()
    if speech_s < MIN_SPEECH_S or stats is None:
        raise VoiceError(
            f"only {speech_s:.1f} s of speech in the recordings; at least {MIN_SPEECH_S:.0f} s "
            "is needed (30 s or more gives a better voice)"
        )
    emb = np.average(np.stack(embeddings), axis=0, weights=np.asarray(weights, float))
    info = VoiceInfo(
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        source_files=len(files),
        speech_seconds=speech_s,
        description=description,
    )
    return Voice(name, stats, (emb / np.linalg.norm(emb)).astype(np.float32), info)


def _check_levels(path: str | Path, blocks: list[tuple[int, checks.RecordingLevels]]) -> None:
    """Refuse a clipped or noisy recording (levels of its blocks, weighted by their speech)."""
    w = np.array([n for n, _ in blocks], float)
    clipped = float(np.average([lv.clipped for _, lv in blocks], weights=w))
    snr = float(np.median([lv.snr_db for _, lv in blocks]))
    if clipped > checks.MAX_CLIPPED:
        raise VoiceError(f"{path}: {clipped:.1%} of the samples are clipped (at full scale); record it "
                         "again with a lower input level")
    if snr < checks.MIN_SNR_DB:
        raise VoiceError(f"{path}: too noisy (speech only {snr:.0f} dB above the background, "
                         f"{checks.MIN_SNR_DB:.0f} dB needed); record somewhere quieter")
