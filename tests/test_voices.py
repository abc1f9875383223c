"""Enrolment, voice folders, the store and built-in voices."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.errors import AudioError, VoiceError
from voxmorph.voices.enrol import enrol_voice
from voxmorph.voices.store import VoiceStore
from voxmorph.voices.voice import load_voice, save_voice


@pytest.fixture(scope="module")
def female_voice(female_wav, female_wav2):
    return enrol_voice("p225", [female_wav, female_wav2], description="test")


def test_enrolled_statistics_are_plausible(female_voice):
    s = female_voice.stats
    assert 150 < s.f0_median_hz < 300
    assert 0.05 < s.log_f0_std < 0.5
    f1, f2, f3 = s.formants_hz
    assert 300 < f1 < f2 < f3 < 4000
    assert female_voice.embedding.shape == (256,)
    assert np.linalg.norm(female_voice.embedding) == pytest.approx(1.0, abs=1e-5)
    assert 8 < female_voice.info.speech_seconds < 13


def test_male_and_female_differ(female_voice, male_wav):
    m = enrol_voice("p226", [male_wav])
    assert m.stats.f0_median_hz < 0.7 * female_voice.stats.f0_median_hz
    f1, f2, f3 = m.stats.formants_hz
    assert 250 < f1 < f2 < f3 < 4000


def test_save_load_round_trip(tmp_path, female_voice):
    save_voice(female_voice, tmp_path / "p225")
    back = load_voice(tmp_path / "p225")
    assert back.name == "p225" and back.info == female_voice.info
    np.testing.assert_allclose(back.embedding, female_voice.embedding)
    np.testing.assert_allclose(back.stats.mcep_std, female_voice.stats.mcep_std)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p225"]  # no temp folders left


@pytest.mark.parametrize("damage", ["no_stats", "bad_json", "bad_shape", "old_version", "nan"])
def test_damaged_voice_is_reported(tmp_path, female_voice, damage):
    folder = save_voice(female_voice, tmp_path / "v")
    meta = json.loads((folder / "voice.json").read_text())
    if damage == "no_stats":
        (folder / "stats.npz").unlink()
    elif damage == "bad_json":
        (folder / "voice.json").write_text("{not json")
    elif damage == "bad_shape":
        np.savez(folder / "stats.npz", embedding=np.zeros(3), mcep_mean=np.zeros(40),
                 mcep_std=np.ones(40))
    elif damage == "old_version":
        meta["format_version"] = 0
        (folder / "voice.json").write_text(json.dumps(meta))
    elif damage == "nan":
        meta["f0"]["log_mean"] = float("nan")
        (folder / "voice.json").write_text(json.dumps(meta))
    with pytest.raises(VoiceError, match="damaged"):
        load_voice(folder)


def test_store_add_list_remove(female_voice):
    store = VoiceStore()
    assert "p225" not in store.names()
    store.save(female_voice)
    assert "p225" in store.user_names()
    assert store.get("p225").stats.voiced_frames == female_voice.stats.voiced_frames
    with pytest.raises(VoiceError, match="already exists"):
        store.save(female_voice)
    store.remove("p225")
    with pytest.raises(VoiceError, match="unknown voice"):
        store.get("p225")


def test_invalid_and_unknown_names():
    store = VoiceStore()
    with pytest.raises(VoiceError, match="invalid voice name"):
        store.get("../etc")
    with pytest.raises(VoiceError, match="unknown voice 'nobody'"):
        store.get("nobody")


def test_builtin_voices_load_and_are_protected():
    store = VoiceStore()
    names = store.builtin_names()
    assert len(names) >= 4
    for name in names:
        v = store.get(name)
        assert v.info.builtin and 60 < v.stats.f0_median_hz < 400
    with pytest.raises(VoiceError, match="built-in"):
        store.remove(names[0])


def test_enrol_refuses_silence_and_too_little_speech(tmp_path, female_audio):
    sf.write(tmp_path / "silence.wav", np.zeros(3 * SAMPLE_RATE), SAMPLE_RATE)
    with pytest.raises(AudioError, match="no speech"):
        enrol_voice("x", [tmp_path / "silence.wav"])
    sf.write(tmp_path / "short.wav", female_audio[SAMPLE_RATE : 3 * SAMPLE_RATE], SAMPLE_RATE)
    with pytest.raises(VoiceError, match="speech"):
        enrol_voice("x", [tmp_path / "short.wav"])


def test_enrol_refuses_clipped_and_noisy_recordings(tmp_path, female_audio):
    x = female_audio / np.abs(female_audio).max()
    sf.write(tmp_path / "clipped.wav", np.clip(2.0 * x, -1.0, 1.0), SAMPLE_RATE)
    with pytest.raises(VoiceError, match="clipped"):
        enrol_voice("x", [tmp_path / "clipped.wav"])
    noise = np.random.default_rng(0).standard_normal(x.size) * np.sqrt(np.mean(x**2) / 10 ** 0.5)  # 5 dB
    sf.write(tmp_path / "noisy.wav", 0.5 * (x + noise), SAMPLE_RATE)
    with pytest.raises(VoiceError, match="too noisy"):
        enrol_voice("x", [tmp_path / "noisy.wav"])
    assert enrol_voice("x", [tmp_path / "noisy.wav"], check=False).name == "x"  # the user may insist


def test_enrol_refuses_two_speakers_but_not_one(female_wav, female_wav2, male_wav):
    with pytest.raises(VoiceError, match="more than one speaker"):
        enrol_voice("x", [female_wav, female_wav2, male_wav, male_wav])
    assert enrol_voice("x", [female_wav, female_wav2, female_wav, female_wav2]).name == "x"


def test_speaker_groups_split_two_clusters_only():
    from voxmorph.voices.checks import several_speakers, speaker_groups

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(256), rng.standard_normal(256)

    def around(c, n):
        e = c + 0.3 * np.linalg.norm(c) / 16 * rng.standard_normal((n, 256))
        return e / np.linalg.norm(e, axis=1, keepdims=True)

    one = around(a, 12)
    two = np.concatenate([around(a, 6), around(b, 6)])
    assert not several_speakers(one) and several_speakers(two)
    share, cos = speaker_groups(two)
    assert share == 0.5 and cos < 0.2


def _espeak(path, voice: str, pitch: int, text: str):
    import subprocess

    subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-w", str(path), text], check=True)
    return path


def test_a_man_and_a_woman_with_little_speech_are_refused_by_pitch(tmp_path):
    """Two espeak-ng voices, a low man and a high woman, one take each: too few windows for the
    embedding split, so the pitch groups decide; two takes of one voice pass."""
    texts = ["Six spoons of fresh snow peas and five thick slabs of blue cheese for the party.",
             "We also need a small plastic snake and a big toy frog for the kids tomorrow."]
    man = [_espeak(tmp_path / f"m{i}.wav", "en-us+m3", 40, t) for i, t in enumerate(texts)]
    woman = _espeak(tmp_path / "f.wav", "en-us+f3", 70, texts[1])
    with pytest.raises(VoiceError, match="more than one speaker"):
        enrol_voice("pair", [man[0], woman])
    assert enrol_voice("one", man).name == "one"


def test_pitch_groups_need_both_a_pitch_gap_and_a_different_voice():
    from voxmorph.voices.checks import pitch_groups, split_by_pitch

    rng = np.random.default_rng(1)
    a = rng.standard_normal(256)
    b = a + 1.2 * rng.standard_normal(256)  # cosine about 0.64 to a
    unit = [v / np.linalg.norm(v) for v in (a, b)]
    low, high = np.log(110.0), np.log(220.0)  # an octave: 12 semitones
    gap, cos = pitch_groups([(low, 100, unit[0]), (high, 100, unit[1])])
    assert gap == pytest.approx(12.0) and cos < 0.72
    assert split_by_pitch([(low, 100, unit[0]), (high, 100, unit[1])])  # man and woman
    assert not split_by_pitch([(low, 100, unit[0]), (high, 100, unit[0])])  # one voice, calm and shouting
    assert not split_by_pitch([(low, 100, unit[0]), (low + 0.05, 100, unit[1])])  # no pitch gap
    assert not split_by_pitch([(low, 100, unit[0]), (high, 10, unit[1])])  # a stray piece is not a group
