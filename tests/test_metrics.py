"""Judge metrics against known values."""

from __future__ import annotations

import numpy as np
import pytest

from voxmorph.eval import metrics
from voxmorph.models.speaker import SpeakerEncoder, cosine


def test_dtw_finds_the_known_alignment():
    a = np.array([[0.0], [1.0], [2.0], [3.0]])
    b = np.array([[0.0], [0.0], [1.0], [2.0], [2.0], [3.0]])
    ia, ib = metrics.dtw_path(a, b)
    np.testing.assert_array_equal(a[ia], b[ib])  # zero-cost path exists and is found
    assert ia[0] == ib[0] == 0 and ia[-1] == 3 and ib[-1] == 5
    assert (np.diff(ia) >= 0).all() and (np.diff(ib) >= 0).all()


def test_dtw_matches_brute_force_cost():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((7, 2)), rng.standard_normal((9, 2))
    cost = np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))
    ref = np.full((8, 10), np.inf)
    ref[0, 0] = 0
    for i in range(1, 8):
        for j in range(1, 10):
            ref[i, j] = cost[i - 1, j - 1] + min(ref[i - 1, j - 1], ref[i - 1, j], ref[i, j - 1])
    ia, ib = metrics.dtw_path(a, b)
    assert cost[ia, ib].sum() == pytest.approx(ref[-1, -1])


def test_identical_audio_scores_perfectly(female_audio):
    a = metrics.Analysis(female_audio)
    assert metrics.mcd(a, a) == pytest.approx(0.0, abs=1e-9)
    f0 = metrics.f0_metrics(a.f0, a.f0)
    assert f0["f0_corr"] == pytest.approx(1.0) and f0["f0_rmse_cents"] == pytest.approx(0.0)
    assert metrics.waveform_correlation(female_audio, female_audio) == pytest.approx(1.0, abs=1e-6)
    enc = SpeakerEncoder.shared()
    e = enc.embed(female_audio)
    assert metrics.speaker_similarity(e, e) == pytest.approx(1.0, abs=1e-6)


def test_mcd_of_a_known_cepstral_offset(female_audio):
    a = metrics.Analysis(female_audio)
    b = metrics.Analysis(female_audio)
    b.mcep = b.mcep.copy()
    b.mcep[:, 3] += 0.1  # one coefficient off by 0.1 on every frame
    path = (np.arange(len(a.mcep)), np.arange(len(a.mcep)))
    expected = 10 / np.log(10) * np.sqrt(2) * 0.1
    assert metrics.mcd(a, b, path) == pytest.approx(expected, rel=1e-6)


def test_pitch_shift_shows_in_f0_rmse():
    f0 = np.array([100.0, 110.0, 0.0, 120.0, 130.0])
    r = metrics.f0_metrics(f0, f0 * 2 ** (100 / 1200))  # one semitone up
    assert r["f0_rmse_cents"] == pytest.approx(100.0)
    assert r["f0_corr"] == pytest.approx(1.0)
    assert r["voiced_frames"] == 4


def test_speaker_similarity_separates_speakers(female_audio, male_audio, female_wav2):
    from voxmorph.audio.io import load_audio

    enc = SpeakerEncoder.shared()
    f1, f2, m = enc.embed(female_audio), enc.embed(load_audio(female_wav2)), enc.embed(male_audio)
    assert cosine(f1, f2) > cosine(f1, m) + 0.1


def test_cer_known_values():
    assert metrics.cer("abc", "abc") == 0.0
    assert metrics.cer("abc", "abd") == pytest.approx(1 / 3)
    assert metrics.cer("hello world", "Hello   World") == 0.0
    assert metrics.cer("ab", "") == 1.0
    assert metrics.edit_distance("kitten", "sitting") == 3


def test_waveform_correlation_finds_a_delay(female_audio):
    delayed = np.concatenate([np.zeros(80, np.float32), female_audio[:-80]])
    assert metrics.waveform_correlation(delayed, female_audio) > 0.95
    noise = np.random.default_rng(0).standard_normal(female_audio.size).astype(np.float32)
    assert metrics.waveform_correlation(noise, female_audio) < 0.1


def test_dnsmos_prefers_clean_speech(female_audio):
    clean = metrics.dnsmos(female_audio)
    assert set(clean) == {"ovrl", "sig", "bak"}
    assert all(1.0 <= v <= 5.0 for v in clean.values())
    noise = 0.1 * np.random.default_rng(0).standard_normal(female_audio.size).astype(np.float32)
    noisy = metrics.dnsmos(female_audio + noise)
    assert noisy["bak"] < clean["bak"] - 0.5
    assert noisy["ovrl"] < clean["ovrl"]


VCTK_P226_003 = ("six spoons of fresh snow peas five thick slabs of blue cheese and maybe a snack "
                 "for her brother bob")


def test_transcriber_hears_words(male_audio):
    from voxmorph.eval.asr import Transcriber

    text = Transcriber()(male_audio)
    assert metrics.cer(VCTK_P226_003, text) < 0.4
