"""Single-frame numpy forms of the causal blocks, for live paths that run one 10 ms frame per call.

A torch module call costs microseconds of dispatch per operation whatever the tensor size; on a
single frame that overhead, not the arithmetic, dominates. These steps copy a trained block's
weights into numpy arrays and compute one frame with a handful of numpy calls, keeping their
own left context. They are inference-only twins of :mod:`voxmorph.models.blocks`; tests compare
them with the torch streams.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import erf

from voxmorph.models.blocks import CausalConv1d, CausalConvNeXtBlock


def array(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32).copy()


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm of a ``(C,)`` vector (biased variance, as torch). Sums over the length rather than
    ``mean()``, whose Python-level wrapper costs more than the arithmetic on one frame."""
    inv = np.float32(1.0 / x.shape[-1])
    centred = x - x.sum() * inv
    return centred / np.sqrt(np.dot(centred, centred) * inv + eps) * weight + bias


class ConvStep:
    """One frame of a :class:`~voxmorph.models.blocks.CausalConv1d` (dense or depthwise):
    ``(C_in,) -> (C_out,)``, keeping its own left context."""

    def __init__(self, conv: CausalConv1d):
        self.dilation = conv.dilation[0]
        self.depthwise = conv.groups == conv.in_channels == conv.out_channels
        w = array(conv.weight)  # (C_out, C_in / groups, k)
        self.weight = w[:, 0, :] if self.depthwise else w.transpose(0, 2, 1).reshape(w.shape[0], -1)
        self.bias = array(conv.bias)
        self.state = np.zeros((conv.in_channels, conv.context), np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        full = np.concatenate([self.state, x[:, None]], axis=1)
        self.state = full[:, 1:]
        taps = full[:, :: self.dilation]  # (C_in, k), oldest first
        if self.depthwise:
            return (taps * self.weight).sum(axis=1) + self.bias
        return self.weight @ taps.T.reshape(-1) + self.bias


class ConvNeXtStep:
    """One frame of a :class:`~voxmorph.models.blocks.CausalConvNeXtBlock`: ``(C,) -> (C,)``."""

    def __init__(self, block: CausalConvNeXtBlock):
        self.dwconv = ConvStep(block.dwconv)
        self.norm = (array(block.norm.weight), array(block.norm.bias), block.norm.eps)
        self.w1, self.b1 = array(block.pw1.weight[:, :, 0].T), array(block.pw1.bias)
        self.w2, self.b2 = array(block.pw2.weight[:, :, 0].T), array(block.pw2.bias)
        self.scale = array(block.scale[:, 0])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        h = layer_norm(self.dwconv(x), *self.norm) @ self.w1 + self.b1
        h = 0.5 * h * (1.0 + erf(h * np.float32(1.0 / math.sqrt(2.0))))  # exact GELU, as torch's default
        return x + self.scale * (h @ self.w2 + self.b2)
