"""Live admission: measure what one stream costs on this machine, admit only as many as fit.

At start the server runs one stream of its converter (and gate) over :data:`PROBE_SECONDS` of a
synthetic voiced signal in 10 ms blocks and times it (the median of three parts): its compute
real-time factor is the share of one core a stream takes. The streams run in the server's one
interpreter, whose frame-sized numpy and torch calls hold the GIL most of the time, so together
they get about one core however many the machine has (measured: two neural streams at 0.42 each
fell seconds behind under HTTP load on two cores, docs/bench/serve_first_rule.md). One stream is
admitted if it costs under :data:`ONE_STREAM`, more if ``floor(live_load / cost)`` says so (or
``--live-streams``); the next connection is refused with a message and close code, so the
streams already running never degrade because one more arrived.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass

import numpy as np

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.pipeline.streaming import StreamingConverter

PROBE_SECONDS = 3.0
WARMUP_SECONDS = 0.5
BLOCK = 160
SLOW_BLOCK_S = 0.05
"""A live message whose reply leaves the server this much later is counted as slow."""
ONE_STREAM = 0.7
"""One stream is admitted whenever it costs less than this share of a core (real time with headroom);
more only as far as ``live_load`` allows."""


def probe_signal(seconds: float, seed: int = 0) -> np.ndarray:
    """A voice-like test signal: a gliding harmonic tone in syllable-long bursts, a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 30) if k * 150 < SAMPLE_RATE / 2)
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2
    return (0.1 * envelope * x + 0.003 * rng.standard_normal(t.size)).astype(np.float32)


def block_size(hop: int) -> int:
    """The smallest multiple of the converter's hop that is at least 10 ms."""
    return hop * math.ceil(BLOCK / hop)


def stream_cost(converter: StreamingConverter, seconds: float = PROBE_SECONDS, gate: bool = True) -> float:
    """Compute real-time factor of one fresh stream of ``converter`` (after a short warm-up), with
    the voice-activity gate when the server runs one (it costs a tenth of a core more)."""
    from voxmorph.realtime.gate import GatedStream, VoiceGate

    block = block_size(converter.hop)
    stream = GatedStream(converter.stream(), VoiceGate() if gate else None)
    warm = probe_signal(WARMUP_SECONDS, seed=1)
    for i in range(0, warm.size - block + 1, block):
        stream.process(warm[i : i + block])
    x = probe_signal(seconds)
    third = (x.size // (3 * block)) * block
    costs = []
    for part in range(3):  # the median of three thirds: one busy moment on a shared machine is not the cost
        start = time.perf_counter()
        for i in range(part * third, (part + 1) * third, block):
            stream.process(x[i : i + block])
        costs.append((time.perf_counter() - start) / (third / SAMPLE_RATE))
    return float(np.median(costs))


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass
class LiveAdmission:
    """Counts live streams against ``capacity``; thread-safe."""

    capacity: int
    cost: float | None = None
    """Measured compute real-time factor of one stream (None when the capacity was given)."""
    live_load: float | None = None

    def __post_init__(self):
        self._lock = threading.Lock()
        self.active = 0
        self.refused = 0
        self.blocks = 0
        self.slow_blocks = 0
        self.slowest_ms = 0.0

    @classmethod
    def measure(cls, converter: StreamingConverter, live_load: float, capacity: int | None = None,
                gate: bool = True):
        if capacity is not None:
            return cls(capacity)
        cost = stream_cost(converter, gate=gate)
        return cls(max(int(cost < ONE_STREAM), int(live_load / max(cost, 1e-6))), cost, live_load)

    def record_block(self, seconds: float) -> None:
        """Time from a live message's arrival to its reply (the server's share of the latency)."""
        with self._lock:
            self.blocks += 1
            self.slow_blocks += seconds > SLOW_BLOCK_S
            self.slowest_ms = max(self.slowest_ms, 1000 * seconds)

    def acquire(self) -> bool:
        with self._lock:
            if self.active >= self.capacity:
                self.refused += 1
                return False
            self.active += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.active -= 1

    def busy_message(self) -> str:
        if self.capacity == 0 and self.cost is None:
            return "live streams are turned off on this server (--live-streams 0)"
        if self.capacity == 0:
            return ("this machine cannot run a live stream of this converter in real time with "
                    f"headroom (one stream measured {self.cost:.2f} of a core)")
        return (f"all {self.capacity} live stream(s) this machine can run in real time are in use; "
                "try again when one ends")

    def status(self) -> dict:
        return {"capacity": self.capacity, "active": self.active, "refused": self.refused,
                "blocks": self.blocks, "slow_blocks": self.slow_blocks,
                "slowest_ms": round(self.slowest_ms, 1),
                "cost_rtf": None if self.cost is None else round(self.cost, 3), "cores": cores()}
