"""WORLD features rendered to log-mel match the log-mel of the recording they came from."""

from __future__ import annotations

import numpy as np

from voxmorph.audio import world
from voxmorph.audio.f0 import HarvestF0
from voxmorph.audio.features import log_mel
from voxmorph.audio.io import load_audio
from voxmorph.audio.world_mel import render_log_mel


def test_rendered_mel_matches_the_recording(female_wav, male_wav):
    for path in (female_wav, male_wav):
        x = load_audio(path)
        feats = world.analyse(x, tracker=HarvestF0(), frame_period_ms=10.0)
        rendered = render_log_mel(feats.f0, feats.sp, feats.ap)
        real = log_mel(x).numpy()
        assert rendered.shape == real.shape
        speech = real.max(axis=0) > real.max() - 4.0
        voiced = speech & (feats.f0 > 0)
        diff = real[:, voiced] - rendered[:, voiced]
        assert abs(np.median(diff)) < 0.15, np.median(diff)  # same scale: no calibration offset
        assert np.abs(diff).mean() < 0.6, np.abs(diff).mean()  # about 4 dB: the envelope's smoothing
        # a wrong F0 puts the harmonics elsewhere and the low bands no longer match
        wrong = render_log_mel(feats.f0 * 1.5, feats.sp, feats.ap)
        assert np.abs(real[:20, voiced] - wrong[:20, voiced]).mean() > np.abs(diff[:20]).mean()
