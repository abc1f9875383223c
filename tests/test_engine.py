"""The live engine on the file clock: alignment, determinism, degradation, resync, the gate."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from conftest import harmonic_tone

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.errors import UserError
from voxmorph.pipeline.streaming import PassThrough, run_stream
from voxmorph.pipeline.world.stream import StreamingWorldConverter
from voxmorph.realtime.clock import reblock, run_clock
from voxmorph.realtime.engine import FADE_MS, LatencyPlan, LiveEngine
from voxmorph.realtime.gate import VAD_WINDOW, SileroStep, VoiceGate
from voxmorph.voices.store import VoiceStore


class SlowConverter:
    """Scales by ``gain``; every ``every``-th block takes ``pause`` seconds, at most ``times``
    times over all its streams (an injected slow worker)."""

    sample_rate, hop, delay = SAMPLE_RATE, 80, 0

    def __init__(self, gain=1.0, every=10, pause=0.05, times=10**9):
        self.gain, self.every, self.pause, self.times, self.n = gain, every, pause, times, 0

    def stream(self):
        return self

    def process(self, block):
        self.n += 1
        if self.n % self.every == 0 and self.times > 0:
            self.times -= 1
            time.sleep(self.pause)
        return (block * self.gain).astype(np.float32)


def _drive(engine, x, speed=None):
    with engine:
        return np.concatenate(list(run_clock(engine, reblock([x], engine.plan.block), speed)))


def test_plan_fits_the_budget():
    conv = StreamingWorldConverter(VoiceStore().get("vcc-tf1"))
    for ms in (25, 40, 100):
        plan = LatencyPlan.for_budget(ms, conv)
        assert plan.latency_ms <= ms and plan.jitter_blocks >= 1
        assert plan.block % conv.hop == 0
    plan = LatencyPlan.for_budget(40, conv)
    assert (plan.block, plan.jitter_blocks) == (80, 4)  # most headroom: 20 ms
    assert LatencyPlan.for_budget(100, conv).block == 160
    with pytest.raises(UserError, match="below this converter's minimum"):
        LatencyPlan.for_budget(15, conv)


def test_pass_through_comes_out_delayed_by_exactly_the_plan():
    x = harmonic_tone(200.0, 1.0)
    plan = LatencyPlan(SAMPLE_RATE, 160, 0, 2)
    engine = LiveEngine(PassThrough(SAMPLE_RATE), plan)
    y = _drive(engine, x)
    lag = plan.jitter_blocks * plan.block
    np.testing.assert_array_equal(y[lag : lag + x.size], x)
    assert engine.stats.degraded == 0


def test_file_clock_equals_the_stream(male_audio):
    conv = StreamingWorldConverter(VoiceStore().get("vcc-tf1"))
    x = male_audio[: 2 * SAMPLE_RATE]
    plan = LatencyPlan.for_budget(40, conv)
    y = _drive(LiveEngine(conv, plan), x)
    lag = plan.jitter_blocks * plan.block + conv.delay
    np.testing.assert_array_equal(y[lag : lag + x.size], run_stream(conv, x, plan.block))


def test_slow_worker_degrades_to_aligned_dry_signal_without_gaps():
    # identity converter: dry fallback must line up sample for sample with the converted path
    x = harmonic_tone(220.0, 2.0)
    plan = LatencyPlan(SAMPLE_RATE, 160, 0, 1)
    engine = LiveEngine(SlowConverter(1.0, every=25, pause=0.03), plan)
    y = _drive(engine, x, speed=4.0)
    assert engine.stats.degraded > 0
    # the block after each 30 ms pause waited for it: the start delays show the stall
    summary = engine.stats.summary(plan.block / SAMPLE_RATE)
    assert summary["start_max_ms"] > 15.0 and summary["rtf_max"] > 2.0
    lag = plan.block
    wrong = np.flatnonzero(np.abs(y[lag : lag + x.size] - x) > 1e-6)
    # only the short ramps right after a switch of path differ from the input
    assert wrong.size > 0
    assert ((wrong % plan.block) < int(FADE_MS * SAMPLE_RATE / 1000)).all()


def test_switching_paths_makes_no_step():
    x = harmonic_tone(220.0, 2.0)
    plan = LatencyPlan(SAMPLE_RATE, 160, 0, 1)
    engine = LiveEngine(SlowConverter(0.3, every=25, pause=0.03), plan)
    y = _drive(engine, x, speed=4.0)
    assert engine.stats.degraded > 0
    # the largest sample-to-sample step stays that of the louder (dry) tone
    assert np.abs(np.diff(y)).max() <= np.abs(np.diff(x)).max() * 1.05


def test_worker_that_falls_a_ring_behind_resyncs_and_recovers():
    x = harmonic_tone(220.0, 3.0)
    plan = LatencyPlan(SAMPLE_RATE, 160, 0, 1)
    engine = LiveEngine(SlowConverter(0.5, every=60, pause=0.5, times=1), plan, max_backlog_s=0.1)
    y = _drive(engine, x, speed=1.0)
    assert engine.stats.resyncs >= 1
    # converted again after the resync: the last second's blocks play at the converter's level
    # (a busy machine may still degrade an odd block to the dry level)
    tail = y[-SAMPLE_RATE - plan.block : -plan.block].reshape(-1, plan.block)
    peaks = np.abs(tail).max(axis=1)
    assert np.mean(np.isclose(peaks, 0.5 * np.abs(x).max(), rtol=0.05)) > 0.8


def test_gate_silence_in_silence_out_and_speech_passes(male_audio):
    conv = StreamingWorldConverter(VoiceStore().get("vcc-tf1"))
    plan = LatencyPlan.for_budget(40, conv)
    rng = np.random.default_rng(0)
    hiss = (rng.standard_normal(SAMPLE_RATE) * 0.003).astype(np.float32)  # -50 dBFS room noise
    x = np.concatenate([hiss, male_audio[: 2 * SAMPLE_RATE] + hiss[0], hiss])
    y = _drive(LiveEngine(conv, plan, VoiceGate()), x)
    lag = plan.jitter_blocks * plan.block + conv.delay
    y = y[lag : lag + x.size]
    assert np.abs(y[: SAMPLE_RATE - 800]).max() == 0.0
    assert np.abs(y[-SAMPLE_RATE // 2 :]).max() == 0.0
    speech = y[SAMPLE_RATE : 3 * SAMPLE_RATE]
    assert np.sqrt(np.mean(speech**2)) > 0.02


def test_gate_opens_before_the_first_syllable_is_lost(male_audio):
    gate = VoiceGate()
    start = int(np.flatnonzero(np.abs(male_audio) > 0.05)[0])
    x = np.concatenate([np.zeros(SAMPLE_RATE // 2, np.float32), male_audio[start:]])
    gains = np.concatenate([gate.gains(b) for b in reblock([x], 160)])
    opened = int(np.flatnonzero(gains > 0.99)[0])
    # the converted signal lags the input by the converter's delay (12.5 ms), which is free pre-roll
    assert opened - SAMPLE_RATE // 2 < 200 + 160


def test_silero_step_equals_the_packages_wrapper(male_audio):
    import torch
    from silero_vad import load_silero_vad

    wrapper, step = load_silero_vad(onnx=True), SileroStep()
    x = np.concatenate([np.zeros(VAD_WINDOW, np.float32), male_audio[: 40 * VAD_WINDOW]])
    got, want = [], []
    for i in range(0, x.size - VAD_WINDOW + 1, VAD_WINDOW):
        got.append(step.step(x[i : i + VAD_WINDOW]))
        want.append(float(wrapper(torch.from_numpy(x[i : i + VAD_WINDOW].copy()), SAMPLE_RATE)))
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert max(want) > 0.5 > min(want)  # both speech and silence were scored


def test_callback_never_waits_for_the_worker():
    plan = LatencyPlan(SAMPLE_RATE, 160, 0, 1)
    engine = LiveEngine(SlowConverter(1.0, every=1, pause=0.2), plan)
    with engine:
        start = time.perf_counter()
        for _ in range(20):
            engine.callback(np.zeros(160, np.float32))
        took = time.perf_counter() - start
    assert took < 0.1
    assert engine.stats.degraded >= 18
    assert threading.active_count() >= 1


def test_default_budget_is_40_ms_unless_the_look_ahead_needs_more():
    from voxmorph.pipeline.streaming import HEADROOM_MS, PassThrough
    from voxmorph.realtime.engine import LatencyPlan

    short, vocoded, long = PassThrough(16000, 80), PassThrough(16000, 80), PassThrough(16000, 160)
    # 12.5 ms (WORLD stream), 20 ms (WORLD stream + neural vocoder), 40 ms (neural stream)
    short.delay, vocoded.delay, long.delay = 200, 320, 640
    assert LatencyPlan.default_budget_ms(short) == 40.0
    assert LatencyPlan.default_budget_ms(vocoded) == 45.0
    assert LatencyPlan.default_budget_ms(long) == 70.0
    for conv in (short, vocoded, long):  # every default plan keeps the full jitter headroom
        plan = LatencyPlan.for_budget(None, conv)
        assert plan.jitter_blocks * plan.block >= HEADROOM_MS * 16
    assert LatencyPlan.for_budget(None, long).latency_ms <= 70.0


def test_a_chain_plans_the_larger_headroom_of_its_parts():
    from voxmorph.pipeline.streaming import HEADROOM_MS, Chain, PassThrough

    light = PassThrough(16000, 160)
    light.headroom_ms = 10.0
    assert Chain(PassThrough(16000, 160), light).headroom_ms == HEADROOM_MS
    assert Chain(light, light).headroom_ms == 10.0
