"""The learned emotional prosody: alignment of two readings, the pairs it learns from, a training
run of the tiny config through the one loop, and how :class:`Expression` applies it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_cli import assert_user_error, run
from test_emotion import _emodb_like

from voxmorph.emotion.prosody import EmotionProsody, ProsodyConfig, contour_features, load_prosody


def test_dtw_follows_a_time_warp():
    from voxmorph.train.emotion_prosody import dtw_path

    rng = np.random.default_rng(0)
    a = rng.standard_normal((16, 40))
    idx = np.repeat(np.arange(40), 2)  # b is a at half speed
    path = dtw_path(a, a[:, idx])
    assert path.shape == (40,)
    assert np.all(np.abs(path - 2 * np.arange(40)) <= 1)


def test_pairs_measure_what_the_emotion_changed(female_audio):
    from voxmorph.emotion.prosody import PITCH_SCALE_ST
    from voxmorph.models.content import load_content
    from voxmorph.paths import shipped_model
    from voxmorph.train.emotion_prosody import _frames, pair_up

    content, _ = load_content(shipped_model("content"))
    x = female_audio[:32_000]
    neutral = _frames(x, content)
    lower = _frames(np.interp(np.arange(0, x.size, 0.8), np.arange(x.size), x).astype(np.float32) * 0.5,
                    content)  # 1.25x longer, 3.9 semitones lower, 6 dB quieter
    p = pair_up(neutral, lower, emotion=1, speaker="s")
    assert p.x.shape == (4, neutral[0].size) and p.y.shape == (2, neutral[0].size)
    pitch = p.y[0][p.mask[0] > 0] * PITCH_SCALE_ST
    assert pitch.size > 50 and -5.0 < np.median(pitch) < -3.0


def test_contour_features_are_level_free():
    f0 = torch.tensor([[0.0, 200.0, 220.0, 180.0, 0.0]])
    e = torch.tensor([[-70.0, -20.0, -22.0, -25.0, -60.0]])
    a, b = contour_features(f0, e), contour_features(f0 * 1.5, e + 10)
    assert torch.allclose(a, b, atol=1e-5) and a.shape == (1, 4, 5)
    assert torch.equal(a[0, 1], torch.tensor([0.0, 1.0, 1.0, 1.0, 0.0]))


def test_expression_with_a_prosody_model():
    from voxmorph.emotion.style import MAX_LEVEL_ST, Expression, load_styles

    torch.manual_seed(0)
    model = EmotionProsody(ProsodyConfig(channels=8, dilations=(1,))).eval()
    with torch.no_grad():
        model.out.bias.copy_(torch.tensor([2.0, 0.5]))  # +12 semitones, +5 dB everywhere
    styles = load_styles()
    f0 = torch.tensor([[0.0, 200.0, 210.0, 190.0, 0.0, 180.0]])
    e = torch.tensor([[-60.0, -20.0, -25.0, -22.0, -50.0, -30.0]])
    assert Expression.of("angry", 0.0, styles, prosody=model, learned=True) is None
    plain = Expression("angry", 1.0, styles, prosody=model)  # the styles unless asked
    assert plain.prosody is None
    up = Expression("angry", 1.0, styles, prosody=model, learned=True)
    f1, e1 = up.contour(f0, e, centre=5.3, energy_centre=-30.0)
    assert torch.equal(f1 == 0, f0 == 0)  # voicing kept
    level = float((12 * torch.log2(f1[f0 > 0] / f0[f0 > 0])).mean())
    assert abs(level - MAX_LEVEL_ST) < 0.3  # capped, not +12
    assert float((e1 - e).mean()) > 2.0
    half = Expression("angry", 0.5, styles, prosody=model, learned=True)
    half = half.contour(f0, e, centre=5.3, energy_centre=-30.0)
    assert 0 < float((half[1] - e).mean()) < float((e1 - e).mean())
    with pytest.raises(Exception, match="not learned"):
        Expression("angry", 1.0, styles, prosody=EmotionProsody(ProsodyConfig(emotions=("sad",))),
                   learned=True)


def test_shipped_prosody_model_raises_angry_and_lowers_sad():
    model, meta = load_prosody()
    assert set(model.config.emotions) >= {"happy", "sad", "angry", "fearful"}
    assert meta["card"]["held_out"]["angry"]["pairs"] > 0
    t = torch.linspace(0, 6.28, 200)
    f0 = (180 + 20 * torch.sin(t))[None]
    e = (-25 + 5 * torch.sin(3 * t))[None]
    z = torch.zeros(1, model.config.latent)
    angry, _ = model.change(f0, e, "angry", z)
    sad, _ = model.change(f0, e, "sad", z)
    assert float(angry.mean()) > 2.0 > float(sad.mean())


def test_train_emotion_prosody_tiny(tmp_path, female_audio):
    corpus = _emodb_like(tmp_path / "emodb", female_audio)
    out = tmp_path / "run"
    run("train", "emotion-prosody", "--data", corpus, "--layout", "emodb", "--config", "debug",
        "--steps", "3", "--batch-size", "2", "--out", out, "--hold-out", "emodb/emodb08")
    model, meta = load_prosody(out / "model")
    assert meta["card"]["held_out"]["sad"]["pairs"] == 1
    assert 0.0 <= meta["card"]["held_out"]["sad"]["critic_accuracy"] <= 1.0
    assert "critic accuracy" in (out / "report.md").read_text()
    assert_user_error(run("train", "emotion-prosody", "--data", corpus, "--layout", "emodb",
                          "--config", "debug", "--out", tmp_path / "x", "--hold-out", "emodb/nobody",
                          check=False), "no such speaker")
