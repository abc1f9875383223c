"""The compiled one-frame step against torch: its GELU, and a whole net frame by frame."""

import numpy as np
import pytest
import torch
from scipy.special import erf

from voxmorph.models.blocks import CausalConv1d, CausalConvNeXtBlock, ChannelNorm
from voxmorph.models.frame_net import FrameNet, _gelu


def test_gelu_matches_the_exact_one_to_float32_precision():
    x = np.linspace(-12.0, 12.0, 100_001, dtype=np.float32)
    got = x.copy()
    _gelu(got)
    want = 0.5 * x.astype(np.float64) * (1.0 + erf(x.astype(np.float64) / np.sqrt(2.0)))
    np.testing.assert_allclose(got, want, atol=2e-6, rtol=1e-5)
    nan = np.array([np.nan], np.float32)
    _gelu(nan)
    assert np.isnan(nan[0])  # a NaN is not hidden by the clamp's fast-math


def _net(c_in=7, c=12, blocks=3, out=5, dilation=1):
    torch.manual_seed(0)
    parts = (CausalConv1d(c_in, c, 3, dilation=dilation),
             [CausalConvNeXtBlock(c, 2, 5) for _ in range(blocks)],
             ChannelNorm(c, eps=1e-6), torch.nn.Conv1d(c, out, 1))
    with torch.no_grad():
        for m in [parts[0], *parts[1], parts[2], parts[3]]:
            for p in m.parameters():
                p.normal_(0.0, 0.3)
    return parts


def test_frames_equal_the_torch_modules_with_film_and_head_bias():
    inp, blocks, norm, head = _net()
    rng = np.random.default_rng(0)
    film = np.stack([1.0 + 0.2 * rng.standard_normal((3, 12)), 0.2 * rng.standard_normal((3, 12))], axis=1)
    bias = rng.standard_normal(5).astype(np.float32)
    x = torch.randn(1, 7, 25)
    with torch.no_grad():
        h = inp(x)
        for b, (s, t) in zip(blocks, film, strict=True):
            scale, shift = (torch.tensor(v, dtype=torch.float32)[:, None] for v in (s, t))
            h = b(h) * scale + shift
        want = (head(norm(h))[0] + torch.from_numpy(bias)[:, None]).numpy().T
    net = FrameNet(inp, blocks, norm, head, film=film.astype(np.float32), head_bias=bias)
    got = np.concatenate([net(x[0, :, i : i + 4].numpy().T) for i in range(0, 25, 4)])  # any split
    assert got.shape == (25, 5)
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)


def test_dilated_convolutions_are_refused():
    inp, blocks, norm, head = _net(dilation=2)
    with pytest.raises(ValueError, match="undilated"):
        FrameNet(inp, blocks, norm, head)


def test_int8_block_weights_stay_close_to_float32():
    inp, blocks, norm, head = _net(c=32, blocks=4)
    x = np.random.default_rng(1).standard_normal((40, 7)).astype(np.float32)
    exact, int8 = FrameNet(inp, blocks, norm, head), FrameNet(inp, blocks, norm, head, int8=True)
    assert int8.w1.dtype == int8.w2.dtype == np.int8 and int8.in_w.dtype == int8.head_w.dtype == np.float32
    want, got = exact(x), int8(x)
    rel = np.sqrt(np.mean((got - want) ** 2) / np.mean(want**2))
    assert 0.0 < rel < 0.02  # the weights did change, by about int8's step
