"""Mel filterbank, log-mel, energy and F0 trackers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import harmonic_tone

from voxmorph.audio.constants import HOP, N_FFT, N_MELS, SAMPLE_RATE, WIN_LENGTH
from voxmorph.audio.f0 import F0_TRACKERS, get_tracker, n_frames
from voxmorph.audio.features import energy_db, hz_to_mel, log_mel, mel_filterbank, mel_to_hz
from voxmorph.errors import UserError


def test_constants_are_consistent():
    assert HOP * 100 == SAMPLE_RATE
    assert WIN_LENGTH == 400 and N_FFT == 512 and N_FFT >= WIN_LENGTH


def test_mel_scale_round_trip():
    f = np.array([0.0, 440.0, 1000.0, 4000.0, 8000.0])
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(f)), f, atol=1e-6)
    assert hz_to_mel(1000.0) == pytest.approx(15.0)


def test_filterbank_shape_and_coverage():
    fb = mel_filterbank().numpy()
    assert fb.shape == (N_MELS, N_FFT // 2 + 1)
    assert (fb >= 0).all()
    peaks = fb.argmax(axis=1)
    assert (np.diff(peaks) >= 0).all()  # filters ordered by frequency


def test_log_mel_shape_and_tone_band(female_audio):
    m = log_mel(female_audio)
    assert m.shape == (N_MELS, female_audio.size // HOP + 1)
    assert torch.isfinite(m).all()
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    tone = log_mel(np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    band = int(tone[:, 50].argmax())
    centre = mel_to_hz(np.linspace(hz_to_mel(0), hz_to_mel(8000), N_MELS + 2)[band + 1])
    assert abs(centre - 1000) < 120


def test_energy_of_a_full_scale_sine_is_minus_3_db():
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    e = energy_db(np.sin(2 * np.pi * 440 * t).astype(np.float32))
    assert e.shape == (SAMPLE_RATE // HOP + 1,)
    assert float(e[10:-10].mean()) == pytest.approx(-3.0, abs=0.5)


@pytest.mark.parametrize("name", sorted(F0_TRACKERS))
@pytest.mark.parametrize("f0", [110.0, 220.0])
def test_trackers_find_the_pitch_of_a_tone(name, f0):
    x = harmonic_tone(f0, 1.0)
    track = get_tracker(name)(x, SAMPLE_RATE, 5.0)
    assert track.shape == (n_frames(x.size, SAMPLE_RATE, 5.0),)
    voiced = track[track > 0]
    assert voiced.size > 0.8 * track.size
    assert np.median(voiced) == pytest.approx(f0, rel=0.02)


@pytest.mark.parametrize("name", sorted(F0_TRACKERS))
def test_trackers_on_speech_agree(name, male_audio):
    reference = get_tracker("harvest")(male_audio, SAMPLE_RATE)
    track = get_tracker(name)(male_audio, SAMPLE_RATE)
    assert track.shape == reference.shape
    both = (track > 0) & (reference > 0)
    assert both.sum() > 100
    cents = 1200 * np.abs(np.log2(track[both] / reference[both]))
    assert np.median(cents) < 50
    assert 70 < np.median(track[track > 0]) < 180  # an adult male voice


def test_unknown_tracker():
    with pytest.raises(UserError, match="unknown F0 tracker"):
        get_tracker("crepe")
