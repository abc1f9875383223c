"""The source-filter vocoder: sources, shapes, causality, streaming == offline, ONNX, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from voxmorph.audio.constants import HOP, N_MELS, SAMPLE_RATE
from voxmorph.errors import UserError
from voxmorph.models.excitation import SYN_BINS, centred_f0, fill_unvoiced, harmonic_pulses, sample_f0
from voxmorph.models.frame_vocoder import FrameVocoder
from voxmorph.models.frame_vocoder import sample_f0 as numpy_sample_f0
from voxmorph.models.vocoder import (
    CONFIGS,
    SourceFilterVocoder,
    VocoderStream,
    load_vocoder,
    save_vocoder,
)


def _inputs(t: int = 60, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    mel = torch.randn(1, N_MELS, t, generator=g) - 5.0
    f0 = 110.0 + 40.0 * torch.rand(1, t, generator=g)
    f0[:, 20:30] = 0.0
    noise = torch.randn(1, t * HOP, generator=g)
    return mel, f0, noise


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return SourceFilterVocoder(CONFIGS["small"]).eval()


def test_pulses_are_band_limited_harmonics_with_noise_like_density():
    f0 = torch.full((1, SAMPLE_RATE), 200.0)
    p, _ = harmonic_pulses(f0, torch.zeros(1, dtype=torch.float64))
    spec = np.abs(np.fft.rfft(p[0].numpy()))
    peaks = np.flatnonzero(spec > 0.5 * spec.max())
    assert np.all(peaks % 200 == 0) and peaks.min() == 200 and peaks.max() == 8000 - 200
    # same power per Hz as unit white noise: mean square 1 over the band
    assert abs(float(p.pow(2).mean()) - 1.0) < 0.05


def test_sample_f0_glides_between_voiced_frames_and_switches_voicing_half_way():
    frames = torch.tensor([[100.0, 200.0, 0.0, 150.0]])
    s = sample_f0(frames, torch.tensor([100.0]), hop=4)[0].tolist()
    assert s[:4] == [100.0] * 4  # 100 -> 100
    assert s[4:8] == [100.0, 125.0, 150.0, 175.0]  # 100 -> 200
    assert s[8:12] == [200.0, 200.0, 0.0, 0.0]  # voiced -> unvoiced: held, then silent
    assert s[12:16] == [0.0, 0.0, 150.0, 150.0]
    assert centred_f0(torch.tensor([[100.0, 200.0]]))[0, :HOP].tolist() == pytest.approx(
        list(np.linspace(100.0, 200.0, HOP, endpoint=False)))


def test_unvoiced_frames_hold_the_last_voiced_f0():
    f0 = torch.tensor([[0.0, 100.0, 0.0, 0.0, 150.0, 0.0]])
    assert fill_unvoiced(f0).tolist() == [[120.0, 100.0, 100.0, 100.0, 150.0, 150.0]]


def test_unit_filters_pass_the_sources_unchanged(model):
    mel, f0, noise = _inputs()
    cond, pulses, noise_p = model.inputs(mel, f0, noise)
    t = mel.shape[-1]
    gains = torch.zeros(1, t, 2, SYN_BINS)
    out = model.synthesise(gains, pulses, noise_p)[:, HOP : HOP + (t - 1) * HOP]
    torch.testing.assert_close(out, (pulses + noise_p)[:, HOP : HOP + (t - 1) * HOP], atol=1e-4, rtol=0)


def test_shapes(model):
    mel, f0, noise = _inputs(t=37)
    assert model(mel, f0, noise).shape == (1, 37 * HOP)
    assert model(mel.repeat(3, 1, 1), f0.repeat(3, 1)).shape == (3, 37 * HOP)


def test_causal(model):
    mel, f0, noise = _inputs()
    with torch.no_grad():
        y = model(mel, f0, noise)
        cut = 40
        mel2, f02 = mel.clone(), f0.clone()
        mel2[..., cut:] += 3.0
        f02[:, cut:] *= 1.5
        y2 = model(mel2, f02, noise)
    # frame cut - 1 starts at (cut - 2) * HOP and its pulses glide towards frame cut's F0
    assert torch.equal(y[:, : (cut - 2) * HOP], y2[:, : (cut - 2) * HOP])
    assert not torch.allclose(y[:, cut * HOP :], y2[:, cut * HOP :])


def test_stream_equals_offline(model):
    mel, f0, noise = _inputs(t=80)
    f0_s = centred_f0(f0)
    with torch.no_grad():
        y = model(mel, f0, noise)
        stream = VocoderStream(model)
        outs, i = [], 0
        for k in (1, 3, 7, 2, 19, 48):
            span = slice(i * HOP, (i + k) * HOP)
            outs.append(stream.process(mel[..., i : i + k], f0[:, i : i + k], f0_s[:, span], noise[:, span]))
            i += k
    ys = torch.cat(outs, dim=-1)
    assert ys.shape == y.shape
    torch.testing.assert_close(ys[:, stream.delay :], y[:, : -stream.delay], atol=1e-4, rtol=1e-4)


def test_numpy_frame_vocoder_equals_the_torch_stream(model):
    mel, f0, noise = _inputs(t=40, seed=3)
    f0_s = centred_f0(f0)
    with torch.no_grad():
        torch_stream, numpy_stream = VocoderStream(model), FrameVocoder(model)
        i = 0
        for k in (1, 1, 2, 5, 1, 30):
            frames, span = slice(i, i + k), slice(i * HOP, (i + k) * HOP)
            want = torch_stream.process(mel[..., frames], f0[:, frames], f0_s[:, span], noise[:, span])
            got = numpy_stream.process(mel[0, :, frames].numpy(), f0[0, frames].numpy(),
                                       f0_s[0, span].numpy(), noise[0, span].numpy())
            np.testing.assert_allclose(got, want[0].numpy(), atol=1e-5)
            i += k
    assert np.abs(got).max() > 1e-3  # not trivially silent


def test_numpy_sample_f0_equals_torch():
    frames = torch.tensor([[0.0, 100.0, 120.0, 0.0, 0.0, 90.0], [80.0, 0.0, 150.0, 150.0, 0.0, 0.0]])
    previous = torch.tensor([0.0, 70.0])
    want = sample_f0(frames, previous, 80)
    np.testing.assert_array_equal(numpy_sample_f0(frames.numpy(), previous.numpy(), 80), want.numpy())


def test_save_load_round_trip(model, tmp_path):
    save_vocoder(model, tmp_path / "v", {"note": "test"})
    back, meta = load_vocoder(tmp_path / "v")
    assert meta["card"] == {"note": "test"} and back.config == model.config
    mel, f0, noise = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(back(mel, f0, noise), model(mel, f0, noise))
    with pytest.raises(UserError, match="not a vocoder folder"):
        load_vocoder(tmp_path)


@pytest.mark.slow
def test_onnx_matches_torch(model, tmp_path):
    from voxmorph.models.onnx import OnnxRender, export_onnx

    export_onnx(model, tmp_path / "v.onnx")
    mel, f0, noise = _inputs(t=150, seed=3)  # another length than the export trace
    args = model.inputs(mel, f0, noise)
    with torch.no_grad():
        ref = model.render(*args)
    torch.testing.assert_close(OnnxRender(tmp_path / "v.onnx")(*args), ref, atol=1e-4, rtol=1e-3)


@pytest.mark.slow
def test_shipped_vocoder_rebuilds_an_unseen_speaker(male_wav):
    """The packaged model (VCTK was never trained on): intelligible, same pitch, ONNX == torch."""
    from pystoi import stoi

    from voxmorph.audio.io import load_audio
    from voxmorph.audio.yin import yin_f0
    from voxmorph.pipeline.vocoder import NeuralVocoder

    x = load_audio(male_wav)
    voc = NeuralVocoder.load()
    assert voc.meta["card"]["steps"] > 0
    y = voc.resynthesise(x)
    assert y.shape == x.shape
    assert stoi(x, y, SAMPLE_RATE) > 0.85
    f_in, f_out = yin_f0(x, 80), yin_f0(y, 80)
    both = (f_in > 0) & (f_out > 0)
    assert abs(np.median(f_out[both]) / np.median(f_in[both]) - 1.0) < 0.03
    onnx = NeuralVocoder.load(runtime="onnx")  # exported on first use into the cache
    assert onnx.onnx_path is not None and onnx.onnx_path.exists()
    mel, f0 = voc.analyse(x)
    np.testing.assert_allclose(onnx.synthesise(mel, f0), NeuralVocoder.load().synthesise(mel, f0), atol=1e-3)


def test_long_inputs_synthesise_in_chunks_to_the_same_audio(model):
    from voxmorph.pipeline.vocoder import NeuralVocoder

    mel, f0, _ = _inputs(t=95)
    whole = NeuralVocoder(model, seed=3).synthesise(mel[0], f0[0])
    chunked = NeuralVocoder(model, seed=3, chunk_frames=20).synthesise(mel[0], f0[0])
    assert chunked.shape == whole.shape == (95 * HOP,)
    np.testing.assert_allclose(chunked, whole, atol=1e-4, rtol=1e-4)


def test_the_same_input_gives_the_same_audio_whatever_came_before(model):
    from voxmorph.pipeline.vocoder import NeuralVocoder

    mel, f0, _ = _inputs(t=30)
    other_mel, other_f0, _ = _inputs(t=47, seed=1)
    vocoder = NeuralVocoder(model, seed=3)
    first = vocoder.synthesise(mel[0], f0[0])
    vocoder.synthesise(other_mel[0], other_f0[0])
    np.testing.assert_array_equal(vocoder.synthesise(mel[0], f0[0]), first)
    assert not np.allclose(NeuralVocoder(model, seed=4).synthesise(mel[0], f0[0]), first)
