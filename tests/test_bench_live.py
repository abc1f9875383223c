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
    from voxmorph.eval.bench_live_report import render_markdown
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
             "degraded_per_min": 0.0, "resyncs": 0, "start_p99_ms": 0.5, "start_max_ms": 3.0}
    quality = {k: {"similarity": 0.7, "mcd": 8.0} for k in ("offline", "streamed", "difference")}
    md = render_markdown({"plan": plan_row, "latency": {"identity": {"end_to_end_ms": 20.0},
                                                        "converter": {"end_to_end_ms": 26.0}},
                          "realtime": {"alone": stats}, "memory": mem, "quality": quality,
                          "identity_plan_ms": 20.0, "bench_seconds": 1.0}, 3.0)
    assert "0.05-minute stream" in md


def test_page_traces_are_aligned_on_the_context_frame_clock():
    """The captured and played traces end at different frames; the overlap is cut out of each."""
    from voxmorph.eval.bench_browser import _aligned

    frames = np.arange(1000, dtype=np.float32)  # the value of each frame is its index
    trace = {"input": {"samples": frames[200:600], "end": 600},
             "output": {"samples": frames[300:650] + 0.5, "end": 650}}
    x, y = _aligned(trace)
    np.testing.assert_array_equal(x, frames[300:600])
    np.testing.assert_array_equal(y, frames[300:600] + 0.5)


def test_the_reference_stream_of_the_same_run_is_compared_in_the_report():
    from voxmorph.eval.bench_live import _quality_summary
    from voxmorph.eval.bench_live_report import render_markdown

    rows = [{"system": s, "similarity": sim, "mcd": m} for s, sim, m in
            [("streamed", 0.70, 7.8), ("offline", 0.72, 7.7), ("reference streamed", 0.71, 7.75)]]
    q = _quality_summary(rows)
    assert q["vs reference"]["similarity"] == pytest.approx(-0.01)
    assert q["vs reference"]["mcd"] == pytest.approx(0.05)
    stats = {"realtime_priority": True, "rtf_mean": 0.2, "rtf_p99": 0.3, "rtf_max": 0.4, "degraded": 0,
             "degraded_per_min": 0.0, "resyncs": 0, "start_p99_ms": 0.5, "start_max_ms": 3.0}
    plan = {"block_ms": 10.0, "jitter_blocks": 1, "lookahead_ms": 30.0, "algorithmic_ms": 40.0,
            "latency_ms": 50.0}
    reference = {"latency_ms": 70.0, "lookahead_ms": 40.0, "latency": {"end_to_end_ms": 71.0},
                 "alone": dict(stats, rtf_mean=0.4, rtf_p99=0.6)}
    md = render_markdown({"plan": plan, "realtime": {"alone": stats}, "quality": q, "reference": reference,
                          "latency": {"identity": {"end_to_end_ms": 20.0},
                                      "converter": {"end_to_end_ms": 51.0}},
                          "memory": {"minutes": 1, "rss_mb": [500.0], "growth_mb": 0.0},
                          "identity_plan_ms": 20.0, "bench_seconds": 60.0}, 60.0)
    assert "| compute RTF mean, alone | 0.200 | 0.400 | x0.50 |" in md
    assert "| planned end to end (ms) | 50.0 | 70.0 | -20.0 |" in md
