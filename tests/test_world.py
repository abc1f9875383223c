"""WORLD analysis/synthesis, mel-cepstra and frequency warping."""

from __future__ import annotations

import numpy as np
import pytest

from voxmorph.audio import world
from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.eval.metrics import Analysis, mcd


def test_analysis_shapes(female_audio):
    f = world.analyse(female_audio)
    assert f.sp.shape == f.ap.shape == (f.f0.size, f.fft_size // 2 + 1)
    assert f.voiced.mean() > 0.3
    assert 150 < np.median(f.f0[f.voiced]) < 300  # an adult female voice


def test_resynthesis_is_close(female_audio):
    y = world.synthesise(world.analyse(female_audio))
    assert abs(y.size - female_audio.size) < 0.01 * SAMPLE_RATE
    assert mcd(Analysis(y[: female_audio.size]), Analysis(female_audio)) < 3.0


@pytest.mark.parametrize("order,max_db", [(24, 4.0), (59, 1.5), (120, 0.5)])
def test_mcep_round_trip(female_audio, order, max_db):
    sp = world.analyse(female_audio).sp
    back = world.mcep_to_sp(world.sp_to_mcep(sp, order), sp.shape[1])
    err_db = np.mean(np.abs(10 * np.log10(back / sp)))
    assert err_db < max_db


def test_mcep_of_flat_spectrum_is_gain_only():
    sp = np.full((3, 513), 4.0)  # amplitude 2
    m = world.sp_to_mcep(sp, 24)
    assert m[:, 0] == pytest.approx(np.log(2.0))
    np.testing.assert_allclose(m[:, 1:], 0.0, atol=1e-9)


def test_warp_moves_a_peak():
    bins = np.arange(513)
    spectrum = np.exp(-((bins - 100) / 5.0) ** 2)[None, :]
    assert world.warp_frequency(spectrum, 1.2).argmax() == 120
    assert world.warp_frequency(spectrum, 1 / 1.25).argmax() == 80
    np.testing.assert_allclose(world.warp_frequency(spectrum, 1.0), spectrum)


def test_envelope_only_analysis_matches_and_cannot_be_synthesised(female_audio):
    full = world.analyse(female_audio)
    light = world.analyse(female_audio, aperiodicity=False)
    assert light.ap is None
    np.testing.assert_array_equal(light.sp, full.sp)
    with pytest.raises(ValueError, match="aperiodicity"):
        world.synthesise(light)
