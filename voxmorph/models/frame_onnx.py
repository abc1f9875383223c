"""A :class:`~voxmorph.models.frame_net.FrameNet`'s one-frame step as an ONNX graph, run by onnxruntime.

The graph takes one frame and the net's left context and returns the output frame and the
advanced context, so any ONNX runtime can run the live networks step by step::

    inputs   x (1, C_in), in_state (ctx, C_in), dw_state (blocks, k - 1, C)
    outputs  y (1, C_out), in_state_next, dw_state_next

It is built with ``onnx.helper`` from the FrameNet's own float32 arrays (the same stacked weights
its compiled step reads, the layer scale already folded in), in standard operators
(MatMul, LayerNormalization, Gelu). ``int8``: onnxruntime's dynamic quantisation of the graph's
MatMuls, weights int8 per output channel, activations quantised per frame.

:class:`OnnxFrameNet` runs it with the FrameNet's call interface (``net(frames (k, C_in)) ->
(k, C_out)``), keeping the context between calls.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from voxmorph.models.frame_net import FrameNet

OPSET = 20
"""Gelu is a standard operator from opset 20."""


class _Graph:
    """Nodes and initialisers of a graph under construction, with fresh names."""

    def __init__(self):
        self.nodes, self.inits, self._n = [], [], 0

    def name(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}"

    def const(self, a, dtype=np.float32) -> str:
        n = self.name("w")
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(a, dtype), n))
        return n

    def op(self, kind: str, *inputs: str, out: str | None = None, **attrs) -> str:
        y = out or self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, list(inputs), [y], **attrs))
        return y

    def dense(self, x: str, w: np.ndarray, scale: np.ndarray, b: np.ndarray) -> str:
        """``x @ w * scale + b`` (``w`` dequantised to float32: the graph holds float weights)."""
        product = self.op("MatMul", x, self.const(w.astype(np.float32) * scale))
        return self.op("Add", product, self.const(b[None]))

    def rows(self, x: str, start: int, end: int) -> str:
        i = lambda v: self.const([v], np.int64)  # noqa: E731
        return self.op("Slice", x, i(start), i(end), i(0))


def step_graph(net: FrameNet) -> onnx.ModelProto:
    """The ONNX model of one step of ``net`` (float32; int8 weights of the net are dequantised)."""
    g = _Graph()
    ctx, c_in = net.in_state.shape
    blocks, k, c = net.dw_w.shape
    eps = float(net.eps)
    # the input convolution: [past frames, this frame] flattened against the stacked taps
    full = g.op("Concat", "in_state", "x", axis=0)
    if ctx:
        g.op("Identity", g.rows(full, 1, ctx + 1), out="in_state_next")
    else:
        g.op("Identity", "in_state", out="in_state_next")
    flat = g.op("Reshape", full, g.const([1, (ctx + 1) * c_in], np.int64))
    h = g.dense(flat, net.in_w, np.ones(c, np.float32), net.in_b)
    nexts = []
    for b in range(blocks):
        past = g.op("Squeeze", g.rows("dw_state", b, b + 1), g.const([0], np.int64))  # (k - 1, C)
        taps = g.op("Concat", past, h, axis=0)  # (k, C)
        nexts.append(g.op("Unsqueeze", g.rows(taps, 1, k), g.const([0], np.int64)))
        d = g.op("Add", g.op("ReduceSum", g.op("Mul", taps, g.const(net.dw_w[b])), g.const([0], np.int64),
                             keepdims=1), g.const(net.dw_b[b][None]))
        n = g.op("LayerNormalization", d, g.const(net.ln_w[b]), g.const(net.ln_b[b]), axis=-1, epsilon=eps)
        u = g.op("Gelu", g.dense(n, net.w1[b], net.s1[b], net.b1[b]))
        v = g.dense(u, net.w2[b], net.s2[b], net.b2[b])
        h = g.op("Add", g.op("Mul", g.op("Add", h, v), g.const(net.film_scale[b][None])),
                 g.const(net.film_shift[b][None]))
    g.op("Concat", *nexts, out="dw_state_next", axis=0)
    n = g.op("LayerNormalization", h, g.const(net.out_w), g.const(net.out_b), axis=-1, epsilon=eps)
    g.op("Identity", g.dense(n, net.head_w, np.ones_like(net.head_b), net.head_b), out="y")
    f = TensorProto.FLOAT
    graph = helper.make_graph(
        g.nodes, "frame_step",
        [helper.make_tensor_value_info("x", f, [1, c_in]),
         helper.make_tensor_value_info("in_state", f, [ctx, c_in]),
         helper.make_tensor_value_info("dw_state", f, [blocks, k - 1, c])],
        [helper.make_tensor_value_info("y", f, [1, net.channels_out]),
         helper.make_tensor_value_info("in_state_next", f, [ctx, c_in]),
         helper.make_tensor_value_info("dw_state_next", f, [blocks, k - 1, c])],
        g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="voxmorph")
    model.ir_version = 10
    onnx.checker.check_model(model)
    return model


def step_model_bytes(net: FrameNet, int8: bool = False) -> bytes:
    """The serialised step graph of ``net``; ``int8``: its MatMuls dynamically quantised."""
    model = step_graph(net)
    if not int8:
        return model.SerializeToString()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the quantiser advises pre-processing on every call
    try:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / "step.onnx", Path(tmp) / "step_int8.onnx"
            onnx.save(model, src)
            quantize_dynamic(src, dst, op_types_to_quantize=["MatMul"], per_channel=True,
                             weight_type=QuantType.QInt8)
            return dst.read_bytes()
    finally:
        quiet.setLevel(level)


class OnnxFrameNet:
    """A step graph (:func:`step_model_bytes`) in onnxruntime, with :class:`FrameNet`'s interface:
    ``net(frames (k, C_in)) -> (k, C_out)``, one session call per frame, on one thread."""

    def __init__(self, model: bytes, in_state: np.ndarray, dw_state: np.ndarray):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        self.in_state = np.zeros_like(in_state)
        self.dw_state = np.zeros_like(dw_state)
        self.channels_out = self.session.get_outputs()[0].shape[1]

    @classmethod
    def of(cls, net: FrameNet, int8: bool = False) -> OnnxFrameNet:
        return cls(step_model_bytes(net, int8), net.in_state, net.dw_state)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        frames = np.ascontiguousarray(frames, np.float32)
        out = np.empty((len(frames), self.channels_out), np.float32)
        run = self.session.run
        for i in range(len(frames)):
            y, self.in_state, self.dw_state = run(None, {"x": frames[i : i + 1], "in_state": self.in_state,
                                                         "dw_state": self.dw_state})
            out[i] = y[0]
        return out
