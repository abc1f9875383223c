"""Run a length-preserving signal transform over an unbounded stream in overlapping chunks.

Each chunk is processed with ``context`` extra samples on both sides (so the transform sees
enough signal at the edges; ``fade <= context``) and neighbouring outputs are joined with a
raised-cosine crossfade of ``fade`` samples, so no seam clicks. Memory is bounded by about
``chunk + 2 * context`` samples plus one input block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from voxmorph.audio.constants import SAMPLE_RATE

Transform = Callable[[np.ndarray], np.ndarray]
"""``(n,)`` -> ``(n,)``: a transform that keeps the length of its input."""


def _fade_in(n: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)


def process_chunked(
    blocks: Iterable[np.ndarray], fn: Transform, chunk: int, context: int, fade: int, stretch: float = 1.0
) -> Iterator[np.ndarray]:
    """Apply ``fn`` to the concatenation of ``blocks``; yields output blocks of the same total
    length as the input, or ``stretch`` times it when ``fn`` stretches time uniformly (its output
    for ``n`` samples is ``round(n * stretch)`` long; one sample more or less is evened out).
    Requires ``2 <= fade <= context`` and ``fade < chunk``; an odd ``fade`` is rounded down to
    even."""
    fade -= fade % 2
    if not (2 <= fade <= context and fade < chunk):
        raise ValueError("need 2 <= fade <= context and fade < chunk")
    half = fade // 2
    buf = np.zeros(0, np.float32)
    buf_start = 0  # absolute index of buf[0]
    seg = 0  # absolute start of the next chunk to emit
    tail = np.zeros(0, np.float32)  # processed samples waiting to be crossfaded
    total = 0
    ramp = _fade_in(fade)

    def at(i: int) -> int:  # input sample -> output sample
        return round(i * stretch)

    it = iter(blocks)
    done = False
    while True:
        while not done and buf_start + buf.size < seg + chunk + context:
            try:
                b = np.asarray(next(it), np.float32)
            except StopIteration:
                done = True
                break
            buf = np.concatenate([buf, b])
            total += b.size
        if seg >= total:
            break
        end = min(seg + chunk, total)
        if done and total - end < fade:  # too little left for another chunk: take it now
            end = total
        lo, hi = max(0, seg - context), min(total, end + context)
        y = fn(buf[lo - buf_start : hi - buf_start])
        keep_lo = max(0, seg - half) if seg > 0 else 0
        keep_hi = end + half if end < total else end
        y = np.pad(y[: at(hi) - at(lo)], (0, max(0, at(hi) - at(lo) - y.size)))  # output time axis
        out = y[at(keep_lo) - at(lo) : at(keep_hi) - at(lo)]
        if tail.size:
            n = tail.size
            r = ramp if n == ramp.size else _fade_in(n)
            out = out.copy()
            out[:n] = tail * (1 - r) + out[:n] * r
        if end < total:
            n = at(end + half) - at(end - half)  # fade, stretched
            tail, out = out[-n:], out[:-n]
        yield out
        seg = end
        drop = max(0, seg - context) - buf_start
        buf, buf_start = buf[drop:], buf_start + drop


class ChunkedConverter:
    """Mixin for file converters: ``convert_stream`` and ``convert`` from ``convert_chunk`` and the
    ``chunk_s``, ``context_s`` and ``fade_s`` of ``self.options``."""

    stretch = 1.0
    """Output length over input length (a converter that changes the tempo sets it)."""

    def convert_chunk(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def convert_stream(self, blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Convert a stream of blocks (any sizes) in overlapping chunks; same total length out
        (times :attr:`stretch`)."""
        o = self.options
        sr = SAMPLE_RATE
        yield from process_chunked(blocks, self.convert_chunk, int(o.chunk_s * sr), int(o.context_s * sr),
                                   int(o.fade_s * sr), self.stretch)

    def convert(self, x: np.ndarray) -> np.ndarray:
        """Convert a whole signal ``(n,)`` -> ``(n,)``."""
        parts = list(self.convert_stream([x]))
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)
