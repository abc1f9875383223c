"""The live neural converter: the numpy frame twins of the content encoder and decoder equal their
torch streams; on untrained debug models the front end equals the offline one and block sizes do
not change the output."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from voxmorph.audio.constants import HOP
from voxmorph.audio.features import energy_db, log_mel
from voxmorph.audio.yin import yin_f0
from voxmorph.models.content import CONFIGS as CONTENT_CONFIGS
from voxmorph.models.content import ContentEncoder
from voxmorph.models.decoder import CONFIGS as DECODER_CONFIGS
from voxmorph.models.decoder import DecoderAdapter, MelDecoder
from voxmorph.models.frame_neural import FrameContent, FrameDecoder
from voxmorph.pipeline.neural.models import NeuralModels
from voxmorph.pipeline.neural.stream import (
    EXACT_AHEAD,
    LIVE_AHEAD,
    PITCH_AHEAD,
    StreamingNeuralConverter,
    StreamingNeuralOptions,
)
from voxmorph.pipeline.streaming import run_stream
from voxmorph.pipeline.vocoder import NeuralVocoder
from voxmorph.voices.enrol import enrol_voice


@pytest.fixture(scope="module")
def converter(female_wav, female_wav2):
    torch.manual_seed(0)
    models = NeuralModels(ContentEncoder(CONTENT_CONFIGS["debug"]).eval(),
                          MelDecoder(DECODER_CONFIGS["debug"]).eval(), NeuralVocoder.load(), "debug")
    return StreamingNeuralConverter(enrol_voice("p225", [female_wav, female_wav2]), models)


def test_the_exact_front_end_equals_the_offline_features(converter, female_wav, female_wav2, male_audio):
    x = male_audio[: 2 * 16000]
    exact = StreamingNeuralConverter(enrol_voice("p225", [female_wav, female_wav2]), converter.models,
                                     options=StreamingNeuralOptions(ahead=EXACT_AHEAD, whole_frames=True))
    assert exact.offset == 0 and exact.delay == HOP * (2 + 2)  # content look-ahead 2, reach 256
    # the live default reads 75 samples ahead: no later than the F0 of the frame after
    assert converter.delay == 2 * HOP + LIVE_AHEAD == HOP + PITCH_AHEAD and converter.offset == LIVE_AHEAD
    stream = exact.stream()
    frames = np.arange(3, x.size // HOP - 3)  # away from the offline front end's edge padding
    stream._buf, stream._buf_start = np.asarray(x, np.float64), 0
    mel, energy = stream._log_mel(frames), stream._pitch(frames)[0]
    np.testing.assert_allclose(mel, log_mel(x)[:, frames].numpy(), atol=2e-3)
    np.testing.assert_allclose(energy, energy_db(x)[frames].numpy(), atol=1e-2)
    want_f0 = yin_f0(x, HOP)  # the same tracker over the whole signal
    stream2 = exact.stream()
    stream2._buf, stream2._buf_start = np.asarray(x, np.float64), 0
    np.testing.assert_allclose(stream2._pitch(np.arange(3, 60))[1][3:], want_f0[6:60], rtol=1e-6)


def test_the_live_log_mel_reads_nothing_past_its_reach(converter, male_audio):
    """Samples past ``ahead`` do not change a frame's log-mel, which stays near the exact one."""
    x = np.asarray(male_audio[: 2 * 16000], np.float64)
    frames = np.arange(5, 150)
    got = []
    for noise in (0.0, 0.5):
        stream = converter.stream()
        for t in frames:  # everything past frame t's reach (its centre: t * HOP - offset) shifted
            stream._buf, stream._buf_start = x.copy(), 0
            stream._buf[t * HOP - converter.offset + converter.ahead :] += noise
            got.append(stream._log_mel(np.array([t]))[:, 0])
    half = len(got) // 2
    np.testing.assert_allclose(np.array(got[:half]), np.array(got[half:]), atol=1e-9)
    mel = np.array(got[:half]).T
    early = np.concatenate([np.zeros(converter.offset, np.float32), male_audio[: 2 * 16000]])
    exact = log_mel(early)[:, frames].numpy()  # the offline frames on the same grid
    loud = exact.mean(0) > np.percentile(exact.mean(0), 50)
    diff = (mel - exact)[:, loud]
    shape = [np.corrcoef(m, e)[0, 1] for m, e in zip(mel[:, loud].T, exact[:, loud].T, strict=True)]
    # natural log: within about 30 % per band, and each frame's spectral shape kept
    assert np.abs(diff).mean() < 0.3 and np.mean(shape) > 0.95


def test_block_size_does_not_change_the_output(converter, male_audio):
    x = male_audio[: 16000]
    a = run_stream(converter, x, HOP)
    b = run_stream(converter, x, 4 * HOP)
    assert a.shape == x.shape and np.isfinite(a).all() and np.abs(a).max() > 0
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_a_decoder_look_ahead_delays_the_stream_by_as_much(converter, male_audio, female_wav, female_wav2):
    torch.manual_seed(0)
    decoder = MelDecoder(replace(DECODER_CONFIGS["debug"], lookahead=3)).eval()
    models = NeuralModels(converter.models.content, decoder, converter.models.vocoder, "debug")
    ahead = StreamingNeuralConverter(enrol_voice("p225", [female_wav, female_wav2]), models)
    assert ahead.delay == converter.delay + 3 * HOP
    x = male_audio[: 16000]
    a = run_stream(ahead, x, HOP)
    b = run_stream(ahead, x, 7 * HOP)
    assert a.shape == x.shape and np.isfinite(a).all() and np.abs(a).max() > 0
    np.testing.assert_allclose(a, b, atol=1e-5)
    raw = ahead.stream().process(x[: 20 * HOP])  # silent for the delay less the vocoder's own frame
    silent = ahead.delay - HOP - ahead.offset  # and less the offset: frame 0 starts that early
    assert np.abs(raw[:silent]).max() == 0 and np.abs(raw[silent:]).max() > 0


def test_the_offset_frame_grid_is_a_whole_frame_stream_of_the_input_delayed(converter, male_audio, female_wav,
                                                                              female_wav2):
    """Frames centred ``offset`` samples before the block grid: sample for sample a whole-frame
    stream fed the input ``offset`` samples late, the delay the offset saves taken off."""
    whole = StreamingNeuralConverter(enrol_voice("p225", [female_wav, female_wav2]), converter.models,
                                     options=replace(converter.options, whole_frames=True))
    assert whole.offset == 0 and whole.delay == HOP * -(-converter.delay // HOP) > converter.delay
    x = male_audio[: 100 * HOP]
    pad = converter.offset
    late = np.concatenate([np.zeros(pad, np.float32), x, np.zeros(HOP - pad, np.float32)])
    a = run_stream_raw(converter, x)
    b = run_stream_raw(whole, late)
    shift = converter.offset + whole.delay - converter.delay
    assert shift == HOP and np.abs(a).max() > 0
    np.testing.assert_array_equal(a[: a.size - shift], b[shift : a.size])


def run_stream_raw(conv, x):
    stream = conv.stream()
    return np.concatenate([stream.process(x[i : i + HOP]) for i in range(0, x.size, HOP)])



def test_numpy_conditioning_equals_the_decoder_s():
    from voxmorph.models.decoder import frame_conditioning
    from voxmorph.models.frame_neural import conditioning

    rng = np.random.default_rng(0)
    content = rng.standard_normal((6, 9)).astype(np.float32)
    f0 = np.where(rng.random(9) > 0.3, rng.uniform(60, 400, 9), 0.0).astype(np.float32)
    energy = rng.uniform(-80, -10, 9).astype(np.float32)
    want = frame_conditioning(*(torch.from_numpy(a)[None] for a in (content, f0, energy)))[0].numpy()
    np.testing.assert_allclose(conditioning(content, list(f0), list(energy)), want, atol=1e-6)


def _randomised(model: torch.nn.Module) -> torch.nn.Module:
    """Fresh weights everywhere (FiLM and layer scales start at zero / small in a new model)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.2)
    return model.eval()


def test_frame_content_equals_the_offline_encoder():
    model = _randomised(ContentEncoder(CONTENT_CONFIGS["small"]))
    mel = torch.randn(1, 80, 30) - 5.0
    with torch.no_grad():
        want = model(mel)[0][0, :, : 30 - model.config.lookahead].numpy()
    frames = FrameContent(model)
    got = np.concatenate([frames.process(mel[0, :, i : i + 3].numpy()) for i in range(0, 30, 3)], axis=1)
    assert got.shape == want.shape == (64, 28)
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("lookahead", [0, 2])
def test_frame_decoder_equals_the_offline_decoder_with_an_adapter(lookahead):
    model = _randomised(MelDecoder(replace(DECODER_CONFIGS["small"], lookahead=lookahead)))
    adapter = _randomised(DecoderAdapter(model.config))
    cond = torch.randn(1, model.config.content_dim + 3, 20)
    with torch.no_grad():
        want = model.render(cond, adapter.conditioning())[0, :, : 20 - lookahead].numpy()
    frames = FrameDecoder(model, adapter.conditioning())
    got = np.concatenate([frames.process(cond[0, :, i : i + 3].numpy()) for i in range(0, 20, 3)], axis=1)
    assert got.shape == want.shape == (80, 20 - lookahead)
    np.testing.assert_allclose(got, want, atol=1e-3, rtol=1e-4)
