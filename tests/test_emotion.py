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
    report = tmp_path / "judged"
    out = run("eval", "emotion", DATA, "--emotion", "neutral", "--out", report).stdout
    assert out.count("p22") == 3 and "judged neutral:" in out
    assert report.with_suffix(".json").exists()
    assert_user_error(run("eval", "emotion", DATA, "--emotion", "jolly", check=False), "unknown emotion")
    assert_user_error(run("eval", "emotion", tmp_path / "nothing", check=False), "no such file")
    assert_user_error(run("train", "emotion-judge", "--data", DATA, "--out", tmp_path / "j",
                          check=False), "no recordings labelled")
    assert not (tmp_path / "j").exists()
