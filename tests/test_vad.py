"""Silero voice activity detection."""

from __future__ import annotations

import numpy as np

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.vad import VoiceActivityDetector


def test_finds_speech_between_silences(female_audio):
    pad = np.zeros(SAMPLE_RATE, np.float32)
    x = np.concatenate([pad, female_audio, pad])
    vad = VoiceActivityDetector()
    segs = vad.segments(x)
    assert segs
    assert segs[0][0] >= SAMPLE_RATE * 0.9
    assert segs[-1][1] <= x.size - SAMPLE_RATE * 0.9
    trimmed = vad.trim(x)
    assert female_audio.size * 0.5 < trimmed.size <= female_audio.size + 0.2 * SAMPLE_RATE


def test_no_speech_in_silence_or_hum():
    vad = VoiceActivityDetector()
    assert vad.segments(np.zeros(2 * SAMPLE_RATE, np.float32)) == []
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    hum = (0.05 * np.sin(2 * np.pi * 50 * t)).astype(np.float32)
    assert vad.speech_only(hum).size == 0
