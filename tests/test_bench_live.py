"""Pieces of ``voxmorph bench live`` that must be right for its numbers to mean anything."""

from __future__ import annotations

import numpy as np
import pytest

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.eval.bench_live import envelope_lag, measure_latency, memory_run, rss_mb
from voxmorph.pipeline.streaming import PassThrough
from voxmorph.realtime.engine import LatencyPlan


def test_envelope_lag_finds_a_known_delay(male_audio):
    x = male_audio[: 3 * SAMPLE_RATE]
    for delay in (0, 160, 600):
        y = np.concatenate([np.zeros(delay, np.float32), 0.5 * x])
        assert abs(envelope_lag(x, y) - delay) <= 16  # 1 ms envelope resolution


def test_measured_latency_of_the_identity_is_the_plan(male_audio):
    plan = LatencyPlan(SAMPLE_RATE, 80, 0, 4)
    got = measure_latency(PassThrough(SAMPLE_RATE, 80), plan, male_audio[: 3 * SAMPLE_RATE])
    assert got["end_to_end_ms"] == pytest.approx(plan.latency_ms, abs=1.0)


@pytest.mark.slow
def test_memory_run_samples_every_simulated_minute(male_audio):
    plan = LatencyPlan(SAMPLE_RATE, 160, 0, 1)
    got = memory_run(PassThrough(SAMPLE_RATE, 80), plan, male_audio, minutes=2)
    assert len(got["rss_mb"]) == 2 and all(m > 50 for m in got["rss_mb"])
    assert abs(got["growth_mb"]) < 20
    assert rss_mb() > 50
