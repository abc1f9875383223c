"""The file clock: a simulated sound card that feeds the live engine from a file.

It calls :meth:`LiveEngine.callback` block by block, exactly as a device would. ``speed=None``
runs as fast as the worker allows (before each callback it waits until the block that callback
will play is converted), so the output is deterministic; ``speed=1.0`` paces callbacks in real
time (2.0 twice as fast, ...), so a slow worker shows up as degraded blocks, as it would live.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from voxmorph.realtime.engine import LiveEngine


def run_clock(engine: LiveEngine, blocks: Iterable[np.ndarray], speed: float | None = None,
              on_block: Callable[[int], None] | None = None) -> Iterator[np.ndarray]:
    """Drive ``engine`` with input ``blocks`` (each ``plan.block`` samples; the last may be
    short and is zero-padded); yields output blocks, then enough more to flush the latency."""
    b = engine.plan.block
    j = engine.plan.jitter_blocks
    flush = -(-(engine.plan.converter_delay) // b) + j
    period = b / engine.plan.sample_rate / speed if speed else 0.0
    start = time.perf_counter()
    k = 0

    def tick(block: np.ndarray) -> np.ndarray:
        nonlocal k
        if speed:
            delay = start + (k + 1) * period - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        elif k >= j:
            engine.wait_converted(k - j)
        out = engine.callback(block)
        k += 1
        if on_block is not None:
            on_block(k)
        return out

    for block in blocks:
        if block.size < b:
            block = np.pad(block, (0, b - block.size))
        yield tick(block)
    for _ in range(flush):
        yield tick(np.zeros(b, np.float32))


def reblock(blocks: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """Regroup a stream of arrays of any lengths into blocks of ``size`` (the last may be short)."""
    pending = np.zeros(0, np.float32)
    for b in blocks:
        pending = np.concatenate([pending, b])
        n = pending.size // size * size
        for i in range(0, n, size):
            yield pending[i : i + size]
        pending = pending[n:]
    if pending.size:
        yield pending


def run_file(engine: LiveEngine, src: str | Path, dst: str | Path, speed: float | None = None,
             progress: Callable[[float], None] | None = None) -> int:
    """Stream ``src`` through ``engine`` on the file clock into ``dst`` (atomically).

    The written file is aligned with the input (the engine's latency removed) and as long as it.
    Returns the number of input samples.
    """
    from voxmorph.audio.io import audio_writer, iter_blocks

    plan = engine.plan
    lag = plan.jitter_blocks * plan.block + plan.converter_delay
    n_in = 0

    def counted() -> Iterator[np.ndarray]:
        nonlocal n_in
        for block in reblock(iter_blocks(src), plan.block):
            n_in += block.size
            if progress:
                progress(block.size / plan.sample_rate)
            yield block

    written, skipped = 0, 0
    with engine, audio_writer(dst, plan.sample_rate) as f:
        for out in run_clock(engine, counted(), speed):
            drop = min(out.size, lag - skipped)
            skipped += drop
            out = out[drop:][: max(0, n_in - written)]
            written += out.size
            f.write(out)
    return n_in
