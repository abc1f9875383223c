"""Silero voice activity detection."""

from __future__ import annotations

import numpy as np

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.vad import VADOptions, VoiceActivityDetector, sounds_like_voice


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


def test_second_evidence_finds_speech_the_model_misses(female_audio, male_audio):
    """Where the model hears nothing (here a detector that never fires), voiced sound whose pitch
    and loudness move is still speech: shouted and clipped takes are not refused as silence."""
    deaf = VoiceActivityDetector(VADOptions(threshold=1.01))
    shouted = np.clip(male_audio * 30.0, -1.0, 1.0)  # ~30 dB too hot, hard-clipped
    for x in (female_audio, shouted):
        assert deaf.segments(x) == [] and sounds_like_voice(x)
        regions = deaf.speech_regions(x)
        assert 0.4 * x.size < sum(b - a for a, b in regions) <= x.size
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    rng = np.random.default_rng(0)
    not_speech = {
        "silence": np.zeros(t.size),
        "noise": 0.1 * rng.normal(size=t.size),
        "hum": 0.3 * np.sin(2 * np.pi * 50 * t) + 0.1 * np.sin(2 * np.pi * 100 * t),
        "tone with tremolo": 0.3 * np.sin(2 * np.pi * 200 * t) * (1 + 0.9 * np.sin(2 * np.pi * 4 * t)),
        "tone with vibrato": 0.3 * np.sin(2 * np.pi * 200 * t + 20 * np.sin(2 * np.pi * 5 * t)),
        "quiet speech": female_audio * 10 ** (-50 / 20),
    }
    for name, x in not_speech.items():
        assert not sounds_like_voice(x.astype(np.float32)), name
        assert deaf.speech_regions(x.astype(np.float32)) == [], name
