"""The streaming interface every live-capable converter implements, and helpers around it.

A :class:`StreamingConverter` declares its ``hop`` (block sizes must be multiples of it) and its
``delay`` (look-ahead plus any framing, in samples), and hands out independent :class:`Stream`
objects. A stream holds all left context as explicit state: each ``process`` call costs only the
new audio and returns exactly as many samples as it was given, the output lagging the input by
``delay`` samples. The first ``delay`` output samples are warm-up silence. A converter may also
declare ``headroom_ms``, the jitter buffer the live engine should plan for it by default
(:func:`headroom_ms`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

HEADROOM_MS = 20.0
"""Jitter buffer the live engine plans for a converter that declares none: the WORLD worker's
stalls on this project's 2-core machine need it."""


def headroom_ms(converter) -> float:
    """``converter``'s own ``headroom_ms`` if it declares one (a converter whose blocks cost little
    needs less), else :data:`HEADROOM_MS`."""
    return float(getattr(converter, "headroom_ms", HEADROOM_MS))


class Stream(Protocol):
    def process(self, block: np.ndarray) -> np.ndarray:
        """``(n,)`` float32 with ``n % hop == 0`` -> ``(n,)`` float32, delayed by ``delay``."""
        ...


class StreamingConverter(Protocol):
    sample_rate: int
    hop: int
    delay: int

    def stream(self) -> Stream:
        """A fresh stream with empty state."""
        ...


class PassThrough:
    """The identity as a streaming converter (no delay); the engine's own tests and fallback use it."""

    def __init__(self, sample_rate: int, hop: int = 1):
        self.sample_rate, self.hop, self.delay = sample_rate, hop, 0

    def stream(self) -> PassThrough:
        return self

    def process(self, block: np.ndarray) -> np.ndarray:
        return np.asarray(block, np.float32).copy()


class Chain:
    """Two streaming converters in series: delays add; the hop is the larger (a multiple of both)."""

    def __init__(self, first: StreamingConverter, second: StreamingConverter):
        if first.sample_rate != second.sample_rate or max(first.hop, second.hop) % min(first.hop, second.hop):
            raise ValueError("chained converters need one sample rate and nested hops")
        self.first, self.second = first, second
        self.sample_rate = first.sample_rate
        self.hop = max(first.hop, second.hop)
        self.delay = first.delay + second.delay
        self.headroom_ms = max(headroom_ms(first), headroom_ms(second))

    def stream(self) -> _ChainStream:
        return _ChainStream(self.first.stream(), self.second.stream())


class _ChainStream:
    def __init__(self, a: Stream, b: Stream):
        self.a, self.b = a, b

    def process(self, block: np.ndarray) -> np.ndarray:
        return self.b.process(self.a.process(block))


def run_stream(converter: StreamingConverter, x: np.ndarray, block: int) -> np.ndarray:
    """Push ``(n,)`` audio through a fresh stream in blocks of ``block`` samples and return the
    ``(n,)`` output realigned with the input (the delay removed, the tail flushed with zeros)."""
    if block % converter.hop:
        raise ValueError(f"block {block} is not a multiple of the hop {converter.hop}")
    stream = converter.stream()
    total = x.size + converter.delay
    padded = np.zeros(-(-total // block) * block, np.float32)
    padded[: x.size] = x
    out = [stream.process(padded[i : i + block]) for i in range(0, padded.size, block)]
    y = np.concatenate(out) if out else np.zeros(0, np.float32)
    return y[converter.delay : converter.delay + x.size]
