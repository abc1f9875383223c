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


def test_a_run_shorter_than_a_minute_still_renders_its_report(male_audio, tmp_path):
    """A part-minute memory stream is sampled at its end; the JSON is written before the markdown."""
    from voxmorph.eval.bench_live import render_markdown
    from voxmorph.eval.report import write_report

    plan = LatencyPlan(SAMPLE_RATE, 160, 0, 1)
    mem = memory_run(PassThrough(SAMPLE_RATE, 80), plan, male_audio, minutes=0.05)
    assert len(mem["rss_mb"]) == 1

    def broken(_):
        raise RuntimeError("render failed")

    with pytest.raises(RuntimeError):
        write_report(tmp_path / "r", {"memory": mem}, broken)
    assert (tmp_path / "r.json").exists() and not (tmp_path / "r.md").exists()
    plan_row = {"block_ms": 10.0, "jitter_blocks": 1, "lookahead_ms": 5.0, "algorithmic_ms": 15.0,
                "latency_ms": 25.0}
    stats = {"realtime_priority": False, "rtf_mean": 0.1, "rtf_p99": 0.2, "rtf_max": 0.3, "degraded": 0,
             "degraded_per_min": 0.0, "resyncs": 0}
    quality = {k: {"similarity": 0.7, "mcd": 8.0} for k in ("offline", "streamed", "difference")}
    md = render_markdown({"plan": plan_row, "latency": {"identity": {"end_to_end_ms": 20.0},
                                                        "converter": {"end_to_end_ms": 26.0}},
                          "realtime": {"alone": stats}, "memory": mem, "quality": quality,
                          "identity_plan_ms": 20.0, "bench_seconds": 1.0}, 3.0)
    assert "0.05-minute stream" in md
