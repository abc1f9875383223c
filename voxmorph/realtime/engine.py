"""The live engine: the audio callback moves samples, a worker thread converts.

``callback(block)`` is all a device (or the file clock) calls: it stores the captured block in the
input ring and returns the output block from the jitter buffer, without waiting. The worker takes
input blocks in order, runs the gate and the streaming converter, and stores the result under the
same block number. Output block ``k`` plays converted block ``k - jitter_blocks``; if that block
is not ready in time the engine plays the dry input of the same instant instead, with a short
crossfade in and out, and counts a degradation. A worker that falls further behind than the
input ring holds restarts its stream at the newest block and counts a resync.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from voxmorph.errors import UserError
from voxmorph.pipeline.streaming import StreamingConverter, headroom_ms
from voxmorph.realtime.buffers import BlockRing
from voxmorph.realtime.gate import GatedStream, VoiceGate

PREFERRED_BLOCK_MS = 10.0
SMALL_BLOCK_MS = 5.0
REALTIME_PRIORITY = 10
DEFAULT_BUDGET_MS = 40.0
FADE_MS = 2.5


@dataclass(frozen=True)
class LatencyPlan:
    """Block size, converter delay and jitter buffer that make up one latency budget.

    End to end, a sample waits for its block to be captured (``block``), the converter's
    look-ahead (``converter_delay``) and the jitter buffer (``jitter_blocks`` blocks, at least one:
    the worker's turn); device buffers come on top of that when a real device is used.
    """

    sample_rate: int
    block: int
    converter_delay: int
    jitter_blocks: int

    @property
    def latency_samples(self) -> int:
        return self.block * (1 + self.jitter_blocks) + self.converter_delay

    @property
    def latency_ms(self) -> float:
        return 1000.0 * self.latency_samples / self.sample_rate

    @property
    def algorithmic_ms(self) -> float:
        """Block plus look-ahead: the delay even an infinitely fast worker would have."""
        return 1000.0 * (self.block + self.converter_delay) / self.sample_rate

    def describe(self) -> str:
        ms = 1000.0 / self.sample_rate
        return (f"latency {self.latency_ms:.1f} ms: blocks of {self.block * ms:.0f} ms, look-ahead "
                f"{self.converter_delay * ms:.1f} ms, jitter buffer {self.jitter_blocks} block(s); "
                f"algorithmic {self.algorithmic_ms:.1f} ms")

    @staticmethod
    def default_budget_ms(converter: StreamingConverter) -> float:
        """Room for the converter's look-ahead and ``HEADROOM_MS`` of jitter buffer: for a converter
        that looks ahead at most half of ``DEFAULT_BUDGET_MS``, 5 ms blocks and at least 40 ms (the
        WORLD stream: 40; with the neural vocoder, whose 10 ms frames add 7.5 ms: 45); for one that
        looks further, 10 ms blocks (the neural converter, whose own headroom is 10 ms: 44.7 ms). With
        less headroom the WORLD worker's stalls on this project's 2-core machine degrade blocks
        (15 ms: 334 a minute alone)."""
        delay_ms = 1000.0 * converter.delay / converter.sample_rate
        headroom = headroom_ms(converter)
        if delay_ms <= DEFAULT_BUDGET_MS / 2:
            return max(DEFAULT_BUDGET_MS, delay_ms + SMALL_BLOCK_MS + headroom)
        return delay_ms + PREFERRED_BLOCK_MS + headroom

    @classmethod
    def for_budget(cls, latency_ms: float | None, converter: StreamingConverter) -> LatencyPlan:
        """The largest block (at most about 10 ms) that leaves ``HEADROOM_MS`` of jitter buffer
        within ``latency_ms``; if none does, the plan with the most headroom. At 40 ms this is
        5 ms blocks with 4 jitter blocks rather than 10 ms with 1: on this project's 2-core
        machine, worker spikes above 10 ms under a competing load made the latter degrade."""
        if latency_ms is None:
            latency_ms = cls.default_budget_ms(converter)
        headroom = headroom_ms(converter)
        sr, hop, delay = converter.sample_rate, converter.hop, converter.delay
        budget = int(latency_ms * sr / 1000)
        largest = max(hop, hop * round(PREFERRED_BLOCK_MS * sr / 1000 / hop))
        best = None
        for block in range(largest, 0, -hop):
            jitter = (budget - delay) // block - 1
            if jitter < 1:
                continue
            plan = cls(sr, block, delay, jitter)
            if 1000.0 * jitter * block / sr >= headroom:
                return plan
            if best is None or jitter * block > best.jitter_blocks * best.block:
                best = plan
        if best is None:
            least = 1000.0 * (2 * hop + delay) / sr
            raise UserError(f"--latency-ms {latency_ms:g} is below this converter's minimum "
                            f"of {least:.1f} ms")
        return best


HIST_STEP_S = 1e-4
HIST_BINS = 20000


@dataclass
class TimeHistogram:
    """Durations in a fixed histogram (0.1 ms bins up to 2 s), so hours of streaming keep memory
    flat; the total and the largest are kept exactly."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros(HIST_BINS, np.int64))
    total_s: float = 0.0
    max_s: float = 0.0

    def record(self, seconds: float) -> None:
        self.counts[min(max(int(seconds / HIST_STEP_S), 0), HIST_BINS - 1)] += 1
        self.total_s += seconds
        self.max_s = max(self.max_s, seconds)

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def percentile(self, q: float) -> float:
        """The upper edge of the bin holding the ``q``-th percentile (0 when empty)."""
        n = self.n
        if n == 0:
            return 0.0
        i = int(np.searchsorted(np.cumsum(self.counts), np.ceil(q / 100.0 * n)))
        return (i + 1) * HIST_STEP_S


@dataclass
class EngineStats:
    """Counters of a running engine: worker time per block (``compute``) and how long each block
    waited after its capture before the worker started it (``start``: the worker's wake-up, or
    the previous block still running)."""

    blocks: int = 0
    converted: int = 0
    degraded: int = 0
    resyncs: int = 0
    input_peak: float = 0.0
    output_peak: float = 0.0
    compute: TimeHistogram = field(default_factory=TimeHistogram)
    start: TimeHistogram = field(default_factory=TimeHistogram)
    realtime_priority: bool = False

    def summary(self, block_s: float) -> dict:
        """Counts, compute real-time factors (worker time / block duration) and start delays."""
        n = max(1, self.compute.n)
        minutes = self.blocks * block_s / 60.0
        return {
            "blocks": self.blocks,
            "converted": self.converted,
            "degraded": self.degraded,
            "resyncs": self.resyncs,
            "degraded_per_min": self.degraded / minutes if minutes else 0.0,
            "rtf_mean": self.compute.total_s / n / block_s,
            "rtf_p99": self.compute.percentile(99) / block_s,
            "rtf_max": self.compute.max_s / block_s,
            "start_p99_ms": 1000.0 * self.start.percentile(99),
            "start_max_ms": 1000.0 * self.start.max_s,
            "realtime_priority": self.realtime_priority,
        }


def _request_realtime_priority() -> bool:
    """Ask the OS to run the calling (worker) thread with real-time (FIFO) scheduling, as audio
    servers do. Needs the privilege (root, CAP_SYS_NICE or an ``rtprio`` limit); without it the
    worker keeps normal priority. Under a competing CPU load on 2 cores, a 60 s stream had
    21 degraded blocks at normal priority and none with it."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
    except (AttributeError, PermissionError, OSError):
        return False
    return True


class LiveEngine:
    """Runs ``converter`` live under ``plan``; optional ``gate`` silences non-speech."""

    def __init__(self, converter: StreamingConverter, plan: LatencyPlan,
                 gate: VoiceGate | None = None, max_backlog_s: float = 0.5,
                 realtime_priority: bool = True):
        self.converter, self.plan, self.gate = converter, plan, gate
        self.realtime_priority = realtime_priority
        b = plan.block
        ring = max(4, int(np.ceil(max_backlog_s * plan.sample_rate / b)))
        self._input = BlockRing(ring, b)
        self._captured = np.zeros(ring)  # perf_counter() at each input slot's capture
        self._output = BlockRing(ring, b)
        # dry history long enough to align the input with the converted signal
        self._dry_delay = plan.converter_delay
        self._dry = np.zeros(self._dry_delay + (plan.jitter_blocks + 1) * b + b, np.float32)
        self._fade = np.linspace(0.0, 1.0, max(1, int(FADE_MS * plan.sample_rate / 1000)), dtype=np.float32)
        self._written = 0  # blocks captured
        self._last_out = 0.0
        self._was_wet = True  # the stream starts on the converted path (silent until it speaks)
        self.stats = EngineStats()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._stream: GatedStream | None = None

    # ---- audio side -----------------------------------------------------------------------
    def callback(self, block: np.ndarray) -> np.ndarray:
        """Capture one input block, return one output block; never waits for the worker."""
        b, k = self.plan.block, self._written
        block = np.asarray(block, np.float32).reshape(-1)
        self._captured[k % self._input.size] = time.perf_counter()
        self._input.put(k, block)
        self._written += 1
        self._dry[:-b] = self._dry[b:]  # shift in place: no allocation in the callback
        self._dry[-b:] = block
        wet = self._output.get(k - self.plan.jitter_blocks)
        out = wet if wet is not None else self._dry_aligned()
        if k < self.plan.jitter_blocks:  # nothing converted can be due yet
            out = np.zeros(b, np.float32)
        else:
            if wet is None:
                self.stats.degraded += 1
            if (wet is not None) != self._was_wet:
                out = self._crossfade(out)
            self._was_wet = wet is not None
        self.stats.blocks += 1
        self.stats.input_peak = max(self.stats.input_peak, float(np.abs(block).max(initial=0)))
        self.stats.output_peak = max(self.stats.output_peak, float(np.abs(out).max(initial=0)))
        self._last_out = float(out[-1])
        return out

    def _dry_aligned(self) -> np.ndarray:
        """The input of the instant that output block plays: delayed like the converted signal."""
        b, j = self.plan.block, self.plan.jitter_blocks
        end = self._dry.size - j * b - self._dry_delay
        return self._dry[end - b : end].copy()

    def _crossfade(self, out: np.ndarray) -> np.ndarray:
        """Switching path: ramp from the last sample played into the new path (no step)."""
        n = min(self._fade.size, out.size)
        out = out.copy()
        out[:n] = self._last_out * (1.0 - self._fade[:n]) + out[:n] * self._fade[:n]
        return out

    # ---- worker side ----------------------------------------------------------------------
    def start(self) -> LiveEngine:
        """Build the stream (here, before any block arrives: a neural stream copies its weights,
        which would hold up the first blocks), then start the worker."""
        self._stop.clear()
        self._stream = GatedStream(self.converter.stream(), self.gate)
        self._worker = threading.Thread(target=self._run, name="voxmorph-worker", daemon=True)
        self._worker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=5.0)
            self._worker = None

    def __enter__(self) -> LiveEngine:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_converted(self, index: int, timeout: float = 10.0) -> bool:
        """Block until converted block ``index`` is stored (the file clock's unpaced mode)."""
        return self._output.wait(index, timeout)

    def _run(self) -> None:
        if self.realtime_priority:
            self.stats.realtime_priority = _request_realtime_priority()
        stream = self._stream
        warm_up = 0  # blocks of a restarted stream that still hold its start-up silence
        k = 0
        while not self._stop.is_set():
            if not self._input.wait(k, timeout=0.05):
                continue
            block = self._input.get(k)
            if block is None:  # overwritten: the worker fell a whole ring behind
                k = self._written - 1
                if self.gate is not None:
                    self.gate.reset()
                stream = GatedStream(self.converter.stream(), self.gate)
                warm_up = -(-self.plan.converter_delay // self.plan.block)
                self.stats.resyncs += 1
                continue
            start = time.perf_counter()
            self.stats.start.record(start - self._captured[k % self._input.size])
            y = stream.process(block)
            self.stats.compute.record(time.perf_counter() - start)
            if warm_up:
                warm_up -= 1
            else:
                self._output.put(k, y)
            self.stats.converted += 1
            k += 1
