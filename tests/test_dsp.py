"""Resampling, loudness and denoising."""

from __future__ import annotations

import numpy as np

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.dsp import (
    PEAK_CEILING,
    Resampler,
    denoise,
    loudness,
    normalise_loudness,
    resample,
    to_mono,
)


def test_streaming_resampler_matches_one_shot(female_audio):
    whole = resample(female_audio, SAMPLE_RATE, 22050)
    r = Resampler(SAMPLE_RATE, 22050)
    parts = [r.process(female_audio[i : i + 999]) for i in range(0, female_audio.size, 999)]
    streamed = np.concatenate(parts + [r.flush()])
    assert abs(streamed.size - whole.size) <= 1
    n = min(streamed.size, whole.size)
    np.testing.assert_allclose(streamed[:n], whole[:n], atol=2e-3)


def test_to_mono_shapes():
    assert to_mono(np.ones((5, 2))).shape == (5,)
    assert to_mono(np.ones(5)).shape == (5,)


def test_loudness_normalisation_reaches_target(female_audio):
    quiet = female_audio * 0.05
    y = normalise_loudness(quiet, SAMPLE_RATE, target_lufs=-23.0)
    assert abs(loudness(y, SAMPLE_RATE) + 23.0) < 0.5
    assert np.max(np.abs(y)) <= PEAK_CEILING + 1e-6


def test_loudness_is_peak_limited(female_audio):
    y = normalise_loudness(female_audio, SAMPLE_RATE, target_lufs=0.0)
    assert np.max(np.abs(y)) <= PEAK_CEILING + 1e-6


def test_denoise_lowers_noise_between_words(female_audio):
    rng = np.random.default_rng(0)
    speech = np.concatenate([np.zeros(SAMPLE_RATE, np.float32), female_audio])
    noisy = speech + 0.01 * rng.standard_normal(speech.size).astype(np.float32)
    clean_part = slice(0, SAMPLE_RATE)  # the leading second holds only noise
    before = np.sqrt(np.mean(noisy[clean_part] ** 2))
    out = denoise(noisy)
    assert out.shape == noisy.shape
    after = np.sqrt(np.mean(out[clean_part] ** 2))
    assert after < 0.5 * before
    # speech energy is mostly kept
    assert np.sqrt(np.mean(out**2)) > 0.6 * np.sqrt(np.mean(speech**2))


def test_peak_limit_brings_peaks_under_the_ceiling_and_leaves_the_rest():
    from voxmorph.audio.dsp import peak_limit

    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    quiet = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    assert peak_limit(quiet) is quiet  # nothing over the ceiling: untouched
    loud = quiet.copy()
    loud[8000:8400] *= 3.0  # a 25 ms burst to 1.5
    y = peak_limit(loud)
    assert np.abs(y).max() <= 0.95 + 1e-6
    np.testing.assert_array_equal(y[:7000], loud[:7000])  # far from the burst: unchanged
    assert np.abs(np.diff(y)).max() < 0.2  # a gain, not a clip: no step in the waveform
