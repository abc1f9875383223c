"""Causal building blocks with an explicit streaming state.

Every block runs in two ways that give the same numbers:

- offline: ``block(x)`` on a whole ``(B, C, T)`` sequence, left-padded with zeros;
- streaming: ``block.stream(x, state) -> (y, state)`` on consecutive chunks of any length, where
  ``state`` carries the left context (``None`` at the start of a stream).

Frame ``t`` of the output depends only on input frames ``<= t``.
"""

from __future__ import annotations

import torch
from torch import nn


class CausalConv1d(nn.Conv1d):
    """``Conv1d`` that looks only at the past: ``(B, C_in, T) -> (B, C_out, T)``."""

    @property
    def context(self) -> int:
        return (self.kernel_size[0] - 1) * self.dilation[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(nn.functional.pad(x, (self.context, 0)))

    def stream(self, x: torch.Tensor, state: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        if state is None:
            state = x.new_zeros(x.shape[0], x.shape[1], self.context)
        full = torch.cat([state, x], dim=-1)
        # a stream brings a frame or two per call: windows times weights beats a conv1d call there
        windows = full.unfold(-1, self.kernel_size[0], self.dilation[0])  # (B, C_in, T, k)
        if self.groups == self.in_channels == self.out_channels:  # depthwise
            y = (windows * self.weight[:, 0, None, :]).sum(-1) + self.bias[:, None]
        else:
            flat = windows.permute(0, 2, 1, 3).flatten(2)  # (B, T, C_in * k)
            y = nn.functional.linear(flat, self.weight.flatten(1), self.bias).transpose(1, 2)
        return y, full[..., full.shape[-1] - self.context:]


def pointwise(conv: nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
    """A kernel-1 ``Conv1d`` applied to ``(B, T, C_in) -> (B, T, C_out)`` as one matrix product
    (much cheaper than ``conv1d`` on the few frames of a stream; same weights, same result)."""
    return nn.functional.linear(x, conv.weight[:, :, 0], conv.bias)


class LeadIn:
    """The first ``frames`` outputs of a stream whose model looks ``frames`` ahead describe frames
    before the start: ``drop(n)`` is how many of the next ``n`` outputs to discard."""

    def __init__(self, frames: int):
        self.left = frames

    def drop(self, n: int) -> int:
        d = min(self.left, n)
        self.left -= d
        return d


class ChannelNorm(nn.LayerNorm):
    """LayerNorm over the channel axis of ``(B, C, T)``: per frame, so it is causal."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class CausalConvNeXtBlock(nn.Module):
    """ConvNeXt block (as in Vocos) with a causal depthwise convolution: ``(B, C, T) -> (B, C, T)``.

    Depthwise conv (kernel 7) -> LayerNorm -> pointwise ``C -> expansion*C`` -> GELU -> ``-> C``,
    scaled by a learned per-channel factor and added to the input.
    """

    def __init__(self, channels: int, expansion: int = 3, kernel: int = 7, layer_scale: float = 0.1):
        super().__init__()
        self.dwconv = CausalConv1d(channels, channels, kernel, groups=channels)
        self.norm = ChannelNorm(channels, eps=1e-6)
        self.pw1 = nn.Conv1d(channels, expansion * channels, 1)
        self.pw2 = nn.Conv1d(expansion * channels, channels, 1)
        self.scale = nn.Parameter(torch.full((channels, 1), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pw2(nn.functional.gelu(self.pw1(self.norm(self.dwconv(x)))))
        return x + self.scale * h

    def stream(self, x: torch.Tensor, state: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        h, state = self.dwconv.stream(x, state)
        h = self.norm(h).transpose(1, 2)  # on a few frames, matrix products beat conv1d calls
        h = pointwise(self.pw2, nn.functional.gelu(pointwise(self.pw1, h)))
        return x + self.scale * h.transpose(1, 2), state
