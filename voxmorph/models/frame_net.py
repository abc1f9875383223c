"""The live networks' one-frame step as a single compiled function.

The content encoder, the decoder and the vocoder share one shape: a causal input convolution,
ConvNeXt blocks (the decoder's each followed by its voice's FiLM scale and shift), a layer norm
and a pointwise head. Run one 10 ms frame at a time as numpy calls, that shape costs a dozen
Python-level calls per block, and their overhead outweighs the arithmetic. :class:`FrameNet`
copies a trained network's weights into a few stacked float32 arrays and computes each frame in
one compiled call (numba; nothing is interpreted per layer, and the call releases the GIL, so
two streams in one process can run on two cores). The weights are read once per frame in the
order they are stored: each matrix-vector product walks its matrix row by row.

Inference only: the weights are a copy taken when the net is built. Tests compare the streams
built on it with the offline torch models.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
import torch

from voxmorph.models.blocks import CausalConv1d, CausalConvNeXtBlock, ChannelNorm

_F32 = np.float32
_MATH = {"contract", "reassoc", "arcp", "nsz"}  # no "nnan"/"ninf": a NaN stays a NaN


def array(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32))


@numba.njit(fastmath=_MATH, nogil=True, cache=True)
def _matvec(x, w, scale, b, out):  # pragma: no cover - compiled
    """``out = (x @ w) * scale + b`` for ``x (I,)``, ``w (I, O)`` (float32, or int8 with a scale
    per output channel), row by row (contiguous, vectorised over O)."""
    for o in range(out.shape[0]):
        out[o] = 0.0
    for i in range(x.shape[0]):
        xi = x[i]
        for o in range(out.shape[0]):
            out[o] += xi * _F32(w[i, o])
    for o in range(out.shape[0]):
        out[o] = out[o] * scale[o] + b[o]


_ERF_P = np.array([-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
                   -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02], np.float32)
_ERF_Q = np.array([-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
                   -1.42647390514189e-02], np.float32)


@numba.njit(fastmath=_MATH, nogil=True, cache=True)
def _gelu(u):  # pragma: no cover - compiled
    """Exact GELU (torch's default) in place, with erf as the rational approximation float32
    libraries use (within 2e-7 of erf; clamped to [-4, 4], past which erf is +-1 in float32).
    Unlike a call to ``math.erf`` per value, it vectorises."""
    p, q = _ERF_P, _ERF_Q
    for i in range(u.shape[0]):
        x = min(max(u[i] * _F32(0.7071067811865476), _F32(-4.0)), _F32(4.0))
        x2 = x * x
        num = p[0]
        for j in range(1, 7):
            num = num * x2 + p[j]
        den = q[0]
        for j in range(1, 5):
            den = den * x2 + q[j]
        u[i] = _F32(0.5) * u[i] * (_F32(1.0) + x * num / den)


@numba.njit(fastmath=_MATH, nogil=True, cache=True)
def _layer_norm(x, w, b, eps, out):  # pragma: no cover - compiled
    n = x.shape[0]
    mean = _F32(0.0)
    for i in range(n):
        mean += x[i]
    mean /= n
    var = _F32(0.0)
    for i in range(n):
        d = x[i] - mean
        var += d * d
    inv = _F32(1.0) / math.sqrt(var / n + eps)
    for i in range(n):
        out[i] = (x[i] - mean) * inv * w[i] + b[i]


@numba.njit(fastmath=_MATH, nogil=True, cache=True)
def _step(x, in_state, in_w, in_b, dw_state, dw_w, dw_b, ln_w, ln_b, w1, s1, b1, w2, s2, b2, film_scale,
          film_shift, out_w, out_b, head_w, head_s, head_b, eps, out):  # pragma: no cover - compiled
    """One frame ``x (C_in,)`` -> ``out (C_out,)``; advances ``in_state`` and ``dw_state`` in place."""
    ctx, c_in = in_state.shape
    blocks, k, c = dw_w.shape
    h = np.empty(c, _F32)
    for o in range(c):
        h[o] = in_b[o]
    for j in range(ctx):  # the input convolution: past frames, oldest first, then this one
        for i in range(c_in):
            xi = in_state[j, i]
            for o in range(c):
                h[o] += xi * in_w[j * c_in + i, o]
    for i in range(c_in):
        xi = x[i]
        for o in range(c):
            h[o] += xi * in_w[ctx * c_in + i, o]
    for j in range(ctx - 1):
        in_state[j] = in_state[j + 1]
    if ctx > 0:
        in_state[ctx - 1] = x
    d = np.empty(c, _F32)
    n = np.empty(c, _F32)
    u = np.empty(w1.shape[2], _F32)
    v = np.empty(c, _F32)
    for blk in range(blocks):
        for o in range(c):  # depthwise causal convolution
            acc = dw_b[blk, o] + h[o] * dw_w[blk, k - 1, o]
            for j in range(k - 1):
                acc += dw_state[blk, j, o] * dw_w[blk, j, o]
            d[o] = acc
        for j in range(k - 2):
            dw_state[blk, j] = dw_state[blk, j + 1]
        dw_state[blk, k - 2] = h
        _layer_norm(d, ln_w[blk], ln_b[blk], eps, n)
        _matvec(n, w1[blk], s1[blk], b1[blk], u)
        _gelu(u)
        _matvec(u, w2[blk], s2[blk], b2[blk], v)  # the block's layer scale is folded into w2 and b2
        for o in range(c):
            h[o] = (h[o] + v[o]) * film_scale[blk, o] + film_shift[blk, o]
    _layer_norm(h, out_w, out_b, eps, n)
    _matvec(n, head_w, head_s, head_b, out)


def _quantised(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(..., I, O)`` float32 -> int8 of the same shape and a scale per output channel ``(..., O)``
    (symmetric: the largest magnitude in each column maps to 127)."""
    scale = np.maximum(np.abs(w).max(axis=-2), 1e-12) / 127.0
    q = np.clip(np.round(w / scale[..., None, :]), -127, 127).astype(np.int8)
    return np.ascontiguousarray(q), scale.astype(_F32)


class FrameNet:
    """Causal input conv -> ConvNeXt blocks (+ per-block scale and shift) -> layer norm -> head,
    one frame per compiled call: ``net(frames (k, C_in)) -> (k, C_out)``, keeping its own left
    context. ``film`` is ``(blocks, 2, C)`` of scales and shifts applied after each block (the
    decoder's voice; none for the other two nets), ``head_bias`` an extra bias on the output.

    ``int8``: the blocks' pointwise matrices (nearly all of the weights) as int8 with a float32
    scale per output channel, activations staying float32: a quarter of the bytes each frame
    reads. The input convolution and the head, a small share of the bytes, stay float32."""

    def __init__(self, inp: CausalConv1d, blocks: list[CausalConvNeXtBlock], norm: ChannelNorm,
                 head: torch.nn.Conv1d, film: np.ndarray | None = None, head_bias: np.ndarray | None = None,
                 int8: bool = False):
        if inp.dilation[0] != 1 or any(b.dwconv.dilation[0] != 1 for b in blocks):
            raise ValueError("FrameNet runs undilated convolutions only")
        if len({b.norm.eps for b in blocks} | {norm.eps}) != 1:
            raise ValueError("FrameNet needs one layer-norm epsilon for the whole net")
        w = array(inp.weight)  # (C, C_in, k): tap j of input channel i at row j * C_in + i
        self.in_w = np.ascontiguousarray(w.transpose(2, 1, 0).reshape(-1, w.shape[0]))
        self.in_b = array(inp.bias)
        self.in_state = np.zeros((inp.context, inp.in_channels), _F32)
        self.dw_w = np.stack([array(b.dwconv.weight[:, 0, :].T) for b in blocks])  # (B, k, C)
        self.dw_b = np.stack([array(b.dwconv.bias) for b in blocks])
        self.dw_state = np.zeros((len(blocks), self.dw_w.shape[1] - 1, self.dw_w.shape[2]), _F32)
        self.ln_w = np.stack([array(b.norm.weight) for b in blocks])
        self.ln_b = np.stack([array(b.norm.bias) for b in blocks])
        self.w1 = np.stack([array(b.pw1.weight[:, :, 0].T) for b in blocks])  # (B, C, E)
        self.b1 = np.stack([array(b.pw1.bias) for b in blocks])
        self.w2 = np.stack([array(b.pw2.weight[:, :, 0].T * b.scale[:, 0]) for b in blocks])  # (B, E, C)
        self.b2 = np.stack([array(b.pw2.bias * b.scale[:, 0]) for b in blocks])
        self.w1, self.s1 = _quantised(self.w1) if int8 else (self.w1, np.ones_like(self.b1))
        self.w2, self.s2 = _quantised(self.w2) if int8 else (self.w2, np.ones_like(self.b2))
        if film is None:
            film = np.stack([np.ones_like(self.dw_b), np.zeros_like(self.dw_b)], axis=1)
        self.film_scale = np.ascontiguousarray(film[:, 0], dtype=_F32)
        self.film_shift = np.ascontiguousarray(film[:, 1], dtype=_F32)
        self.out_w, self.out_b = array(norm.weight), array(norm.bias)
        self.head_w, self.head_b = array(head.weight[:, :, 0].T), array(head.bias)
        if head_bias is not None:
            self.head_b = self.head_b + np.asarray(head_bias, _F32)
        self.head_s = np.ones_like(self.head_b)  # the head stays float32: unit scales
        self.eps = _F32(norm.eps)

    @property
    def channels_in(self) -> int:
        return self.in_state.shape[1]

    @property
    def channels_out(self) -> int:
        return self.head_b.shape[0]

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        frames = np.ascontiguousarray(frames, _F32)
        out = np.empty((len(frames), self.channels_out), _F32)
        for i, x in enumerate(frames):
            _step(x, self.in_state, self.in_w, self.in_b, self.dw_state, self.dw_w, self.dw_b, self.ln_w,
                  self.ln_b, self.w1, self.s1, self.b1, self.w2, self.s2, self.b2, self.film_scale,
                  self.film_shift, self.out_w, self.out_b, self.head_w, self.head_s, self.head_b, self.eps,
                  out[i])
        return out


RUNTIMES = ("numba", "onnx")


@dataclass(frozen=True)
class NetForm:
    """How the live networks run. ``runtime``: ``numba`` (:class:`FrameNet`'s compiled step) or
    ``onnx`` (its step graph in onnxruntime, :mod:`voxmorph.models.frame_onnx`); ``int8``: int8
    weights (FrameNet: the blocks' matrices, weight only; onnx: dynamic quantisation)."""

    runtime: str = "numba"
    int8: bool = False

    def __post_init__(self):
        if self.runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime '{self.runtime}'; choose {' or '.join(RUNTIMES)}")

    @property
    def label(self) -> str:
        if self.runtime == "onnx":
            return "ONNX step graphs in onnxruntime, " + ("int8 (dynamic)" if self.int8 else "float32")
        return "compiled step, " + ("int8 block weights" if self.int8 else "float32")

    def net(self, *parts, **kw):
        """A :class:`FrameNet` of ``parts`` (its arguments) in this form."""
        if self.runtime == "onnx":
            from voxmorph.models.frame_onnx import OnnxFrameNet

            return OnnxFrameNet.of(FrameNet(*parts, **kw), self.int8)
        return FrameNet(*parts, int8=self.int8, **kw)


COMPILED = NetForm()
"""The default form: the compiled step, float32."""
