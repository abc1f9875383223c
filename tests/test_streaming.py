"""The streaming WORLD converter and its parts: block-size invariance, causality, F0, synthesis."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import harmonic_tone

from voxmorph.audio import world
from voxmorph.audio.constants import HOP, SAMPLE_RATE
from voxmorph.audio.f0 import HarvestF0
from voxmorph.audio.world_mel import render_log_mel
from voxmorph.audio.yin import PitchTracker, yin_f0
from voxmorph.models.excitation import SYN_BINS
from voxmorph.models.vocoder import CONFIGS, SourceFilterVocoder
from voxmorph.pipeline.streaming import run_stream
from voxmorph.pipeline.world.neural_synth import EXTRA_DELAY, NeuralFrameSynth
from voxmorph.pipeline.world.pulse_synth import PulseSynth
from voxmorph.pipeline.world.stream import FFT_SIZE, FRAME_HOP, StreamingWorldConverter
from voxmorph.voices.store import VoiceStore


@pytest.fixture(scope="module", params=["pulse", "neural"])
def converter(request):
    """The WORLD stream with its own pulse synthesiser and with a (debug-size) neural vocoder."""
    vocoder = None
    if request.param == "neural":
        torch.manual_seed(0)
        vocoder = SourceFilterVocoder(CONFIGS["debug"]).eval()
    return StreamingWorldConverter(VoiceStore().get("vcc-tf1"), vocoder=vocoder)


@pytest.fixture(scope="module")
def clip(male_audio):
    return male_audio[: 2 * SAMPLE_RATE]


def test_block_size_does_not_change_output(converter, clip):
    ref = run_stream(converter, clip, FRAME_HOP)
    atol = 1e-6 if converter.vocoder is None else 1e-5  # float32 FFTs batched differently
    for block in (2 * FRAME_HOP, 37 * FRAME_HOP, clip.size // FRAME_HOP * FRAME_HOP + 4 * FRAME_HOP):
        np.testing.assert_allclose(run_stream(converter, clip, block), ref, atol=atol)


def test_output_is_causal_up_to_the_declared_delay(converter, clip):
    t = SAMPLE_RATE
    changed = clip.copy()
    changed[t:] = np.random.default_rng(1).standard_normal(clip.size - t) * 0.1
    a, b = run_stream(converter, clip, 160), run_stream(converter, changed, 160)
    # aligned output m reads input up to m + delay: everything before t - delay is unchanged
    np.testing.assert_array_equal(a[: t - converter.delay], b[: t - converter.delay])
    assert np.abs(a[t:] - b[t:]).max() > 0.01


def test_stream_returns_what_it_is_given_delayed(converter, clip):
    stream = converter.stream()
    out = np.concatenate([stream.process(clip[i : i + 160]) for i in range(0, 1600, 160)])
    assert out.shape == (1600,)
    if converter.vocoder is None:
        assert np.all(out[: converter.delay] == 0.0)
    else:  # the last 7.5 ms hold the wrapped-around tail of the first frame's filters, far below the voice
        assert np.all(out[: converter.delay - EXTRA_DELAY] == 0.0)
        assert np.abs(out[: converter.delay]).max() < 1e-3 * np.abs(out[converter.delay :]).max()
    with pytest.raises(ValueError, match="multiple of the hop"):
        stream.process(np.zeros(100, np.float32))


def test_neural_delay_is_the_pulse_delay_plus_the_vocoder_lag(converter):
    assert converter.delay == 200 + (EXTRA_DELAY if converter.vocoder is not None else 0)


def _glide_then_hold(f0: np.ndarray) -> np.ndarray:
    """Sample F0 the live synthesiser uses: per 10 ms, glide over 5 ms from the frame before, then hold."""
    out = []
    for i in range(0, len(f0), 2):
        before = f0[i - 1] if i else 0.0
        if before == 0:
            glide = np.where(np.arange(FRAME_HOP) < FRAME_HOP // 2, 0.0, f0[i])
        else:
            glide = before + (f0[i] - before) * np.arange(FRAME_HOP) / FRAME_HOP
        out += [glide, np.full(FRAME_HOP, f0[i])]
    return np.concatenate(out)


def test_neural_frame_synth_is_the_offline_vocoder_delayed_one_hop(male_audio):
    torch.manual_seed(0)
    model = SourceFilterVocoder(CONFIGS["small"]).eval()
    with torch.no_grad():
        model.head.bias[SYN_BINS:] = -40.0  # mute the noise branch: the rest is deterministic
    feats = world.analyse(male_audio[SAMPLE_RATE // 2 : 3 * SAMPLE_RATE // 2], tracker=HarvestF0())
    voiced = feats.f0 > 0
    feats.f0 = np.where(voiced, feats.f0, 120.0)  # all voiced: the expected pulses F0 stays simple
    synth = NeuralFrameSynth(model, FRAME_HOP)
    starts = np.arange(0, 200, 7)  # 200 frames in chunks of 7 (and a last one of 4)
    out = np.concatenate([synth.process(feats.f0[i : min(i + 7, 200)], feats.sp[i : min(i + 7, 200)],
                                        feats.ap[i : min(i + 7, 200)]) for i in starts])
    f0, sp, ap = feats.f0[:200:2], feats.sp[:200:2], feats.ap[:200:2]
    f0_s = torch.from_numpy(_glide_then_hold(feats.f0[:200])).float()[None]
    with torch.no_grad():
        mel = torch.from_numpy(render_log_mel(f0, sp, ap))[None]
        ref = model(mel, torch.from_numpy(f0).float()[None], f0_samples=f0_s)[0]
    n = len(out) - HOP
    np.testing.assert_allclose(out[HOP:], ref.numpy()[:n], atol=1e-4, rtol=1e-4)


def test_stream_moves_pitch_to_the_target(male_audio):
    converter = StreamingWorldConverter(VoiceStore().get("vcc-tf1"))
    y = run_stream(converter, male_audio, 160)
    f_in, f_out = yin_f0(male_audio, FRAME_HOP), yin_f0(y, FRAME_HOP)
    ratio = np.median(f_out[f_out > 0]) / np.median(f_in[f_in > 0])
    assert ratio > 1.5  # VCTK male -> VCC female


@pytest.mark.parametrize("f0", [90.0, 150.0, 240.0])
def test_yin_finds_the_pitch_of_a_tone(f0):
    track = yin_f0(harmonic_tone(f0, 0.5), FRAME_HOP)
    assert np.median(track[5:-5]) == pytest.approx(f0, rel=0.01)
    assert (track[5:-5] > 0).mean() > 0.95


def test_yin_calls_silence_and_noise_unvoiced():
    assert not yin_f0(np.zeros(8000, np.float32), FRAME_HOP).any()
    noise = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    assert (yin_f0(noise, FRAME_HOP) > 0).mean() < 0.1


def test_yin_curves_equal_yin_s_difference_function_summed_directly(female_audio):
    from voxmorph.audio.yin import HALF_SPAN, MAX_LAG, YIN_WINDOW, yin_curves

    x = female_audio[4000:12000].astype(np.float64)
    frames = np.stack([x[i : i + 2 * HALF_SPAN] for i in range(0, 6000, 1000)])
    lags = np.arange(1, MAX_LAG + 1)
    for frame, curve, rms in zip(frames, *yin_curves(frames), strict=True):
        w = frame[:YIN_WINDOW]
        d = np.array([((w - frame[lag : lag + YIN_WINDOW]) ** 2).sum() for lag in lags])
        np.testing.assert_allclose(curve[1:], d * lags / np.cumsum(d), rtol=1e-7, atol=1e-10)
        assert curve[0] == 1.0 and rms == pytest.approx(np.sqrt((w ** 2).mean()))


def test_pitch_tracker_state_carries_across_calls(female_audio):
    from voxmorph.audio.yin import HALF_SPAN, yin_curves

    x = np.pad(female_audio[:16000].astype(np.float64), (HALF_SPAN, HALF_SPAN + FRAME_HOP))
    idx = (np.arange(200) * FRAME_HOP)[:, None] + np.arange(2 * HALF_SPAN)[None, :]
    curves, rms = yin_curves(x[idx])
    whole = PitchTracker().track(curves, rms)[0]
    t = PitchTracker()
    parts = np.concatenate([t.track(curves[i : i + 7], rms[i : i + 7])[0] for i in range(0, 200, 7)])
    np.testing.assert_array_equal(parts, whole)


def test_pulse_synth_makes_the_requested_pitch():
    k, bins = 100, FFT_SIZE // 2 + 1
    sp = np.full((k, bins), 1e-4)
    ap = np.full((k, bins), 0.01)
    synth = PulseSynth(SAMPLE_RATE, FRAME_HOP, FFT_SIZE)
    parts = [synth.process(np.full(5, 180.0), sp[i : i + 5], ap[i : i + 5]) for i in range(0, k, 5)]
    y = np.concatenate(parts)
    assert y.shape == (k * FRAME_HOP,)
    track = yin_f0(y, FRAME_HOP)
    assert np.median(track[10:-10]) == pytest.approx(180.0, rel=0.01)


def test_pulse_synth_unvoiced_frames_are_noise_at_the_envelope_level():
    bins = FFT_SIZE // 2 + 1
    synth = PulseSynth(SAMPLE_RATE, FRAME_HOP, FFT_SIZE)
    quiet = synth.process(np.zeros(50), np.full((50, bins), 1e-8), np.ones((50, bins)))
    loud = PulseSynth(SAMPLE_RATE, FRAME_HOP, FFT_SIZE).process(
        np.zeros(50), np.full((50, bins), 1e-4), np.ones((50, bins)))
    ratio_db = 10 * np.log10(np.mean(loud**2) / np.mean(quiet**2))
    assert ratio_db == pytest.approx(40.0, abs=1.0)
    assert (yin_f0(loud, FRAME_HOP) > 0).mean() < 0.1


def _noisy_tone(seconds: float = 2.0):
    rng = np.random.default_rng(3)
    tone = harmonic_tone(200.0, seconds)
    tone[: SAMPLE_RATE // 2] = 0.0  # half a second of noise alone first
    noise = (rng.standard_normal(tone.size) * 0.02).astype(np.float32)
    return tone, noise


def test_denoiser_removes_steady_noise_and_keeps_the_tone():
    from voxmorph.pipeline.denoise import StreamingDenoiser

    tone, noise = _noisy_tone()
    d = StreamingDenoiser()
    y = run_stream(d, tone + noise, 160)
    noise_only = slice(SAMPLE_RATE // 4, SAMPLE_RATE // 2)
    db = lambda s: 10 * np.log10(np.mean(s.astype(np.float64) ** 2))  # noqa: E731
    assert db(y[noise_only]) < db(noise[noise_only]) - 8
    voiced = slice(SAMPLE_RATE, 2 * SAMPLE_RATE - 200)
    assert abs(db(y[voiced]) - db(tone[voiced])) < 1.5
    np.testing.assert_allclose(run_stream(d, tone + noise, 80 * 7), y, atol=1e-6)


def test_chain_adds_delays_and_equals_running_both():
    from voxmorph.pipeline.denoise import StreamingDenoiser
    from voxmorph.pipeline.streaming import Chain

    tone, noise = _noisy_tone(1.0)
    conv = StreamingWorldConverter(VoiceStore().get("vcc-tf1"))
    chain = Chain(StreamingDenoiser(), conv)
    assert chain.delay == conv.delay + 80 and chain.hop == 80
    x = tone + noise
    # inside the chain the converter hears the denoiser's output with its 80-sample delay
    denoised = np.concatenate([np.zeros(80, np.float32), run_stream(StreamingDenoiser(), x, 160)])
    two_steps = run_stream(conv, denoised, 160)[80:]
    # equal up to the end, where the chain also converts the denoiser's flushed tail
    end = x.size - conv.delay
    np.testing.assert_allclose(run_stream(chain, x, 160)[:end], two_steps[:end], atol=1e-5)


def test_neural_stream_output_sits_at_its_declared_delay(male_audio):
    """The aligned output's energy follows the input's: the converter's delay already counts
    the vocoder's own lag, so the stream must not pad for it a second time (that put the voice
    7.5 ms late)."""
    from voxmorph.eval.bench_live import envelope_lag
    from voxmorph.pipeline.vocoder import NeuralVocoder

    conv = StreamingWorldConverter(VoiceStore().get("vcc-tf1"), vocoder=NeuralVocoder.load().model)
    y = run_stream(conv, male_audio, 2 * FRAME_HOP)
    assert envelope_lag(male_audio, y) <= 0.006 * SAMPLE_RATE  # 3 ms here; 7.5 ms more when padded twice
