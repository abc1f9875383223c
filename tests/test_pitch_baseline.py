"""The pitch baseline (a speaker's neutral pitch from their embedding) and the expression a
conversion keeps against it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voxmorph.errors import UserError
from voxmorph.train.pitch_baseline import fit, held_out_error
from voxmorph.voices.baseline import (
    LEVEL_DEADBAND_ST,
    PitchBaseline,
    kept_level,
    load_baseline,
    save_baseline,
)

ST = math.log(2.0) / 12.0


def test_kept_level_ignores_the_prediction_error_and_keeps_the_rest():
    base = math.log(120.0)
    assert kept_level(base, base) == 0.0
    assert kept_level(base + 2.0 * ST, base) == 0.0 and kept_level(base - 2.0 * ST, base) == 0.0
    assert kept_level(base + 9 * ST, base) == pytest.approx((9 - LEVEL_DEADBAND_ST) * ST)  # angry
    assert kept_level(base - 4 * ST, base) == pytest.approx(-(4 - LEVEL_DEADBAND_ST) * ST)  # low, sad


def test_fit_recovers_a_linear_map_and_reports_held_out_error(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 16))
    w = rng.normal(size=16) * 0.05
    y = x @ w + math.log(150.0) + rng.normal(size=200) * 0.01
    speakers = np.repeat(np.arange(20).astype(str), 10)
    model = fit(x, y, alpha=0.1)
    np.testing.assert_allclose(model.weights, w, atol=0.01)
    held = held_out_error(x, y, speakers, alpha=0.1)
    assert held["level_error_st"] < 0.5 * held["level_spread_st"] and held["speakers"] == 20
    noise = held_out_error(x, rng.normal(size=200) * 0.3, speakers, alpha=0.1)
    assert noise["level_error_st"] > 0.9 * noise["level_spread_st"]  # nothing to learn, nothing learned
    save_baseline(model, tmp_path / "b")
    assert load_baseline(tmp_path / "b").predict(x[0]) == pytest.approx(model.predict(x[0]), abs=1e-5)
    with pytest.raises(UserError, match="at least 5 speakers"):
        held_out_error(x, y, np.repeat(np.arange(2).astype(str), 100))
    assert isinstance(load_baseline(), PitchBaseline)  # the shipped one loads


def test_conversion_keeps_a_raised_pitch_that_the_per_take_mapping_erases(female_audio):
    import pyworld

    from voxmorph.audio.constants import SAMPLE_RATE
    from voxmorph.pipeline.neural.models import NeuralModels
    from voxmorph.pipeline.neural.offline import NeuralConverter
    from voxmorph.pipeline.options import ConversionOptions
    from voxmorph.voices.store import VoiceStore

    x = np.asarray(female_audio[: 4 * SAMPLE_RATE], np.float64)
    f0, sp, ap = pyworld.wav2world(x, SAMPLE_RATE)
    excited = pyworld.synthesize(f0 * 2 ** (8 / 12), sp, ap, SAMPLE_RATE).astype(np.float32)  # +8 st

    def level(y: np.ndarray) -> float:
        g, _ = pyworld.dio(np.asarray(y, np.float64), SAMPLE_RATE)
        return float(np.median(12 * np.log2(g[g > 0])))

    models, voice = NeuralModels.load(), VoiceStore().get("vcc-tm1")
    levels = {}
    for keep in (True, False):
        conv = NeuralConverter(voice, models, ConversionOptions(f0_tracker="dio", keep_emotion=keep))
        raised = level(conv.convert(excited))
        conv.reset()  # a new take
        levels[keep] = raised - level(conv.convert(x.astype(np.float32)))
    assert levels[False] < 2.0  # the per-take mapping lands both on the target's neutral level
    assert levels[True] > levels[False] + 3.0  # the raised take stays raised


def test_keep_range_keeps_the_source_pitch_movement():
    from voxmorph.voices.mapping import MappingOptions, VoiceMapping
    from voxmorph.voices.statistics import VoiceStatistics

    def stats(mean: float, std: float) -> VoiceStatistics:
        return VoiceStatistics(mean, std, np.zeros(3), np.zeros(25), np.ones(25), 100)

    target, source = stats(math.log(200.0), 0.1), stats(math.log(120.0), 0.3)
    f0 = np.array([0.0, 120.0 * 2 ** (4 / 12), 120.0, 0.0])  # 4 semitones above the source's mean
    scaled = VoiceMapping(target).map_f0(f0, source)
    kept = VoiceMapping(target, MappingOptions(keep_range=True)).map_f0(f0, source)
    assert np.array_equal(kept == 0, f0 == 0)
    assert abs(12 * np.log2(kept[1] / 200.0) - 4.0) < 1e-6  # the movement kept
    assert abs(12 * np.log2(scaled[1] / 200.0) - 4.0 / 3) < 1e-6  # scaled by 0.1 / 0.3
    assert abs(kept[2] - 200.0) < 1e-6
