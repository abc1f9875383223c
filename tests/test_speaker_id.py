"""The closed-set speaker identifier behind bench vc's second identity measure."""

from __future__ import annotations

import numpy as np
import pytest

from voxmorph.errors import UserError
from voxmorph.eval.speaker_id import N_CEPS, SpeakerIdentifier, cepstral_stats


def _pieces(x: np.ndarray, n: int, seconds: float = 0.9) -> list[np.ndarray]:
    step = int(seconds * 16_000)
    return [x[i * step : (i + 1) * step] for i in range(n)]


def test_cepstral_stats_ignore_loudness(female_audio):
    a = cepstral_stats(female_audio[:32_000])
    assert a.shape == (3 * N_CEPS,) and np.isfinite(a).all()
    assert np.allclose(a, cepstral_stats(female_audio[:32_000] * 0.25), atol=0.02)


def test_identifies_held_out_speech_of_two_voices(female_audio, male_audio):
    f, m = _pieces(female_audio, 6), _pieces(male_audio, 6)
    ident = SpeakerIdentifier({"f": f[:4], "m": m[:4]})
    assert [ident.identify(x) for x in f[4:] + m[4:]] == ["f", "f", "m", "m"]
    p = ident.probabilities(f[5])
    assert set(p) == {"f", "m"} and abs(sum(p.values()) - 1.0) < 1e-6 and p["f"] > 0.5
    with pytest.raises(UserError, match="two speakers"):
        SpeakerIdentifier({"f": f[:4]})
