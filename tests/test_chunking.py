"""Overlapping chunked processing of unbounded streams."""

from __future__ import annotations

import numpy as np
import pytest

from voxmorph.pipeline.chunking import process_chunked


@pytest.mark.parametrize("total", [0, 1, 99, 1000, 1001, 4321])
@pytest.mark.parametrize("block", [1, 64, 5000])
def test_identity_transform_is_exact(total, block):
    x = np.random.default_rng(total).standard_normal(total).astype(np.float32)
    blocks = [x[i : i + block] for i in range(0, total, block)]
    out = list(process_chunked(blocks, lambda v: v * 2, chunk=300, context=40, fade=30))
    y = np.concatenate(out) if out else np.zeros(0)
    np.testing.assert_allclose(y, 2 * x, atol=1e-5)


def test_context_is_given_to_the_transform():
    seen = []

    def fn(v):
        seen.append(v.size)
        return v

    x = np.ones(1000, np.float32)
    list(process_chunked([x], fn, chunk=200, context=50, fade=20))
    assert max(seen) == 300  # chunk + both contexts
    assert seen[0] == 250  # no left context at the start


def test_seams_are_crossfaded():
    # a transform that adds a constant offset per call: seams must ramp, not jump
    calls = iter(range(100))

    def fn(v):
        return v + next(calls)

    y = np.concatenate(list(process_chunked([np.zeros(2000, np.float32)], fn, 500, 50, 40)))
    assert np.max(np.abs(np.diff(y))) < 0.1


def test_bad_settings():
    with pytest.raises(ValueError):
        list(process_chunked([np.zeros(10)], lambda v: v, chunk=100, context=10, fade=20))


@pytest.mark.parametrize("stretch", [1.3, 0.8])
def test_a_uniform_stretch_chunked_equals_the_whole(stretch):
    x = np.sin(np.arange(100_000) / 300.0).astype(np.float32)

    def fn(v: np.ndarray) -> np.ndarray:  # linear resampling: a time stretch of a smooth signal
        t = np.arange(round(v.size * stretch)) / stretch
        return np.interp(t, np.arange(v.size), v).astype(np.float32)

    whole = fn(x)
    parts = list(process_chunked([x[:33_333], x[33_333:]], fn, 16_000, 4_000, 800, stretch))
    joined = np.concatenate(parts)
    assert joined.size == round(x.size * stretch) and len(parts) > 3
    np.testing.assert_allclose(joined, whole, atol=1e-5)
