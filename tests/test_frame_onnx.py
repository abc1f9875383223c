"""The live networks' exported step graphs (ONNX, onnxruntime) against the compiled step and, through
the whole neural stream, against the stream the engine runs by default."""

import numpy as np
import pytest
import torch
from test_frame_net import _net

from voxmorph.models.frame_net import FrameNet, NetForm
from voxmorph.models.frame_onnx import OnnxFrameNet, step_graph


def _film(rng, blocks, c):
    return np.stack([1.0 + 0.2 * rng.standard_normal((blocks, c)), 0.2 * rng.standard_normal((blocks, c))],
                    axis=1).astype(np.float32)


def test_the_step_graph_equals_the_compiled_step_frame_by_frame():
    inp, blocks, norm, head = _net()
    rng = np.random.default_rng(0)
    kw = {"film": _film(rng, 3, 12), "head_bias": rng.standard_normal(5).astype(np.float32)}
    x = rng.standard_normal((30, 7)).astype(np.float32)
    want = FrameNet(inp, blocks, norm, head, **kw)(x)
    graph = step_graph(FrameNet(inp, blocks, norm, head, **kw))
    assert {i.name for i in graph.graph.input} == {"x", "in_state", "dw_state"}
    net = OnnxFrameNet.of(FrameNet(inp, blocks, norm, head, **kw))
    got = np.concatenate([net(x[i : i + 7]) for i in range(0, 30, 7)])  # the state carries over calls
    np.testing.assert_allclose(got, want, atol=2e-5, rtol=1e-4)


def test_the_int8_graph_stays_close_to_float32():
    inp, blocks, norm, head = _net(c=32, blocks=4)
    x = np.random.default_rng(1).standard_normal((40, 7)).astype(np.float32)
    want = FrameNet(inp, blocks, norm, head)(x)
    got = NetForm("onnx", int8=True).net(inp, blocks, norm, head)(x)
    rel = np.sqrt(np.mean((got - want) ** 2) / np.mean(want**2))
    assert 0.0 < rel < 0.05  # quantised (it moved), by about int8's step


def test_an_unknown_runtime_is_refused():
    with pytest.raises(ValueError, match="unknown runtime"):
        NetForm("tensorrt")


def test_the_neural_stream_through_step_graphs_equals_the_compiled_one(male_audio, female_wav, female_wav2):
    from voxmorph.models.content import CONFIGS as CONTENT_CONFIGS
    from voxmorph.models.content import ContentEncoder
    from voxmorph.models.decoder import CONFIGS as DECODER_CONFIGS
    from voxmorph.models.decoder import MelDecoder
    from voxmorph.pipeline.neural.models import NeuralModels
    from voxmorph.pipeline.neural.stream import StreamingNeuralConverter, StreamingNeuralOptions
    from voxmorph.pipeline.streaming import run_stream
    from voxmorph.pipeline.vocoder import NeuralVocoder
    from voxmorph.voices.enrol import enrol_voice

    torch.manual_seed(0)
    models = NeuralModels(ContentEncoder(CONTENT_CONFIGS["debug"]).eval(),
                          MelDecoder(DECODER_CONFIGS["debug"]).eval(), NeuralVocoder.load(), "debug")
    voice = enrol_voice("p225", [female_wav, female_wav2])
    x = male_audio[:16000]

    def stream(form):
        conv = StreamingNeuralConverter(voice, models, options=StreamingNeuralOptions(form=form))
        return run_stream(conv, x, 160)

    numba, onnx = stream(NetForm("numba")), stream(NetForm("onnx"))
    assert np.abs(numba).max() > 0.01
    np.testing.assert_allclose(onnx, numba, atol=1e-3)
