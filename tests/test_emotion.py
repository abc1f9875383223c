"""Emotion names and intensities, the delivery features, fitting the emotion judge, and the
shipped judge's sense of direction; the CLI's emotion commands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_cli import assert_user_error, run

from voxmorph.audio.io import load_audio
from voxmorph.emotion.features import N_FEATURES, utterance_features
from voxmorph.emotion.judge import JudgeConfig, load_judge, save_judge
from voxmorph.emotion.names import EMOTIONS, check_emotion
from voxmorph.errors import UserError
from voxmorph.train.emotion_judge import fit, held_out_accuracy

DATA = Path(__file__).parent / "data"
AROUSED = ("happy", "angry", "fearful")


def test_emotion_names_and_intensity():
    assert check_emotion("Angry") == ("angry", 1.0)
    assert check_emotion("sad", 0) == ("sad", 0.0)
    assert check_emotion("happy", 1.5) == ("happy", 1.5)
    with pytest.raises(UserError, match="choose from neutral, happy"):
        check_emotion("jolly")
    for bad in (-0.1, 1.6):
        with pytest.raises(UserError, match="from 0"):
            check_emotion("sad", bad)
    assert set(JudgeConfig().classes) == set(EMOTIONS)


def test_features_are_finite_and_level_free():
    x = load_audio(DATA / "p225_003.flac")
    f = utterance_features(x)
    assert f.shape == (N_FEATURES,) and np.isfinite(f).all()
    np.testing.assert_allclose(utterance_features(0.1 * x), f, rtol=1e-3, atol=1e-3)  # gain removed


def _speed(x: np.ndarray, r: float) -> np.ndarray:
    """Played ``r`` times as fast: pitch, pace and brightness together."""
    return np.interp(np.arange(0, x.size - 1, r), np.arange(x.size), x).astype(np.float32)


def test_shipped_judge_hears_arousal():
    model, card = load_judge()
    assert card["held_out"]["accuracy"] > 0.6  # one speaker held out at a time, 5 classes
    sad_slow, sad_fast, aroused_slow, aroused_fast = [], [], [], []
    for name in ("p225_003", "p225_008", "p226_003"):
        x = load_audio(DATA / f"{name}.flac")
        slow, fast = model.probabilities(_speed(x, 0.8)), model.probabilities(_speed(x, 1.25))
        assert slow["sad"] > fast["sad"], name
        sad_slow.append(slow["sad"])
        sad_fast.append(fast["sad"])
        aroused_slow.append(sum(slow[e] for e in AROUSED))
        aroused_fast.append(sum(fast[e] for e in AROUSED))
    assert np.mean(aroused_fast) > np.mean(aroused_slow) + 0.1


def test_fit_and_held_out_accuracy(tmp_path):
    rng = np.random.default_rng(0)
    classes = ("neutral", "happy", "sad", "angry", "fearful")
    centres = rng.normal(size=(5, N_FEATURES)) * 2
    y = np.repeat(np.array(classes), 24)
    speakers = np.tile(np.repeat(np.array(["a", "b", "c"]), 8), 5)
    x = (centres[np.repeat(np.arange(5), 24)] + rng.normal(size=(120, N_FEATURES))).astype(np.float32)
    held = held_out_accuracy(x, y, speakers, classes, c=1.0)
    assert held["accuracy"] > 0.9 and held["speakers"] == 3
    assert sum(map(sum, held["confusion"])) == 120
    noise = held_out_accuracy(rng.normal(size=x.shape).astype(np.float32), y, speakers, classes, c=1.0)
    assert noise["accuracy"] < 0.45  # no signal, no accuracy: the check can fail
    model = fit(x, y, classes, c=1.0)
    save_judge(model, tmp_path / "judge", {"held_out": held})
    again, card = load_judge(tmp_path / "judge")
    assert card["held_out"]["accuracy"] == held["accuracy"]
    import torch

    with torch.no_grad():
        assert (again(torch.from_numpy(x)).argmax(1) == model(torch.from_numpy(x)).argmax(1)).all()
    with pytest.raises(UserError, match="two speakers"):
        held_out_accuracy(x, y, np.full(120, "a"), classes)


@pytest.mark.slow
def test_emotion_commands(tmp_path):
    listed = run("emotions").stdout
    assert all(name in listed for name in EMOTIONS)
    for cmd in (["eval", "emotion"], ["bench", "emotion"], ["train", "emotion-judge"],
                ["train", "emotion-style"], ["train", "pitch-baseline"]):
        assert "Usage" in run(*cmd, "--help").stdout
    report = tmp_path / "judged"
    out = run("eval", "emotion", DATA, "--emotion", "neutral", "--out", report).stdout
    assert out.count("p22") == 3 and "judged neutral:" in out
    assert report.with_suffix(".json").exists()
    assert_user_error(run("eval", "emotion", DATA, "--emotion", "jolly", check=False), "unknown emotion")
    assert_user_error(run("eval", "emotion", tmp_path / "nothing", check=False), "no such file")
    assert_user_error(run("train", "emotion-judge", "--data", DATA, "--out", tmp_path / "j",
                          check=False), "no recordings labelled")
    assert not (tmp_path / "j").exists()


def _emodb_like(folder: Path, female_audio: np.ndarray) -> Path:
    """Two speakers' readings of one sentence: neutral as recorded, 'sad' slower and lower."""
    import soundfile as sf

    folder.mkdir()
    for spk, x in (("03", female_audio[:48_000]), ("08", female_audio[16_000:64_000])):
        sf.write(folder / f"{spk}a01Na.wav", x, 16_000)
        sf.write(folder / f"{spk}a01Ta.wav", _speed(x, 0.8) * 0.5, 16_000)  # 1.25x longer, 4 st lower
    return folder


def test_styles_learn_tempo_and_pitch_from_parallel_takes(tmp_path, female_audio):
    from voxmorph.data.corpora import read_corpus
    from voxmorph.emotion.style import load_styles, save_styles
    from voxmorph.train.emotion_style import fit_styles

    utts = read_corpus(_emodb_like(tmp_path / "emodb", female_audio), "emodb")
    styles = fit_styles(utts, ["neutral", "sad"])
    sad = styles["sad"]
    assert sad.pairs == 2 and abs(np.exp(sad.tempo_log) - 1.25) < 0.1
    assert -5.0 < sad.level_st < -3.0  # 12 log2(0.8) = -3.9 semitones
    assert sad.loudness_db < -3.0  # played at half the amplitude
    assert styles["neutral"].level_st == 0.0 and styles["neutral"].tempo_log == 0.0
    save_styles(styles, tmp_path / "styles")
    assert load_styles(tmp_path / "styles") == styles
    with pytest.raises(UserError, match="parallel recordings"):
        fit_styles([u for u in utts if u.emotion == "sad"], ["sad"])


def test_expression_at_intensity_0_changes_nothing_and_at_1_what_it_learned():
    import torch

    from voxmorph.emotion.style import MAX_LEVEL_ST, Expression, load_styles

    styles = load_styles()
    f0 = torch.tensor([[0.0, 200.0, 210.0, 190.0, 0.0, 180.0]])
    energy = torch.tensor([[-60.0, -20.0, -25.0, -22.0, -50.0, -30.0]])
    mel = torch.zeros(1, 80, 6)
    off = Expression("angry", 0.0, styles)
    assert off.neutral and off.frames_out(100) == 100
    assert torch.equal(off.f0(f0, centre=5.3), f0) and torch.equal(off.energy(energy, centre=-30.0), energy)
    assert Expression.of("angry", 0.0, styles) is None and Expression.of(None) is None
    assert Expression.of("neutral", 1.0, styles) is None and Expression.of("sad", 1.0, styles) is not None
    assert torch.equal(off.stretch(f0), f0)
    sad = Expression("sad", 1.0, styles, learned=False)
    n = sad.frames_out(6)
    assert n == round(6 * np.exp(styles["sad"].tempo_log)) and n > 6
    stretched = sad.stretch(f0, voicing=True)
    assert stretched.shape[-1] == n and stretched[0, 0] == 0 and stretched[0, -1] > 0
    moved = sad.f0(f0, centre=float(np.log(195.0)))
    assert torch.equal(moved == 0, f0 == 0)  # voicing kept
    spread = float(moved[moved > 0].log().std() / f0[f0 > 0].log().std())
    assert abs(spread - np.exp(styles["sad"].range_log)) < 1e-3  # range scaled as learned
    angry = Expression("angry", 1.0, styles, learned=False)
    up = angry.f0(torch.tensor([[195.0]]), centre=float(np.log(195.0)))
    assert abs(12 * np.log2(float(up) / 195.0) - min(styles["angry"].level_st, MAX_LEVEL_ST)) < 1e-3
    assert not torch.equal(Expression("sad", 1.0, styles).mel(mel), mel)


@pytest.mark.slow
def test_convert_with_an_emotion(tmp_path):
    import soundfile as sf

    from voxmorph.emotion.style import Expression

    src = DATA / "p226_003.flac"
    run("convert", src, "--voice", "vcc-tf1", "--emotion", "sad", "-o", tmp_path / "sad.wav", "--f0", "dio")
    ratio = sf.info(tmp_path / "sad.wav").frames / sf.info(src).frames
    assert abs(ratio - Expression("sad").tempo) < 0.01
    run("convert", src, "--voice", "vcc-tf1", "--emotion", "angry", "--learned-prosody", "-o",
        tmp_path / "angry.wav", "--f0", "dio")
    plain = load_audio(tmp_path / "sad.wav")
    angry = load_audio(tmp_path / "angry.wav")
    assert angry.size < plain.size and np.isfinite(angry).all() and np.abs(angry).max() > 0.01
    for args, needle in ((["--intensity", "0.5"], "goes with --emotion"),
                         (["--learned-prosody"], "goes with --emotion"),
                         (["--emotion", "bored"], "unknown emotion"),
                         (["--emotion", "sad", "--model", "world"], "neural converter")):
        assert_user_error(run("convert", src, "--voice", "vcc-tf1", *args, "-o", tmp_path / "x.wav",
                              check=False), needle)
    assert not (tmp_path / "x.wav").exists()
