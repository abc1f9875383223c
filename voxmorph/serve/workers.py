"""HTTP jobs (convert, speak, enrol) in a bounded pool of worker processes.

Each worker is a separate process (spawned, so it shares no torch state with the server), started
at a lower scheduling priority with one torch thread: the live streams in the server process keep
their real-time share of the CPU whatever the HTTP load. At most ``workers`` jobs run and
``queue`` wait; one more is refused at once with 429 and a ``Retry-After`` estimated from the
recent job times. A job's user errors come back as :class:`~voxmorph.serve.limits.HttpError` or
:class:`~voxmorph.errors.UserError`; a worker that dies is replaced and its job answered 503.

The job functions run in the workers; each loads the neural models once. They take the user
voice folder from the server (``voices``), so a worker and the server always mean the same voices.
"""

from __future__ import annotations

import asyncio
import functools
import io
import math
import multiprocessing as mp
import os
import queue as queue_module
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import soundfile as sf

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.serve.limits import HttpError

WORKER_NICE = 10
"""How much lower the workers' scheduling priority is than the server's (``nice``)."""
ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Set (unless already set) before the workers are spawned, which read them at start."""
SPEAK_CHUNK_TIMEOUT_S = 600.0
"""Longest wait for the next sentence of a spoken text before the request is given up."""


class WorkPool:
    """``await pool.run(fn, *args)`` runs a job function in a worker; ``await pool.stream(fn, *args)``
    gives an async iterator of the chunks a streaming job (``fn(job_id, *args)``) puts on the
    shared results queue, routed to it by a thread. Both refuse with 429 when the pool is full."""

    def __init__(self, workers: int, queue: int):
        self.workers, self.queue = workers, queue
        cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        split = len(cpus) - max(1, min(workers, len(cpus) - 1))
        # the workers keep to the last cores (one per worker, the first core always left), so the
        # server's live streams have the others to themselves; one core: no split
        self.worker_cpus = set(cpus[split:]) if len(cpus) > 1 else set()
        self.server_cpus = set(cpus[:split]) if len(cpus) > 1 else set()
        self._ctx = mp.get_context("spawn")
        self._results = self._ctx.Queue()  # (job id, chunk or None at the end) from streaming jobs
        self._streams: dict[int, queue_module.Queue] = {}
        self._next_id = 0
        self._executor = self._new_executor()
        self._lock = threading.Lock()
        threading.Thread(target=self._route, daemon=True, name="job-results").start()
        self.in_flight = 0
        self.refused = 0
        self._mean_s = 5.0

    def _new_executor(self) -> ProcessPoolExecutor:
        for name in ONE_THREAD:  # the workers' numeric libraries start with one thread each
            os.environ.setdefault(name, "1")
        return ProcessPoolExecutor(self.workers, mp_context=self._ctx, initializer=_init_worker,
                                   initargs=(WORKER_NICE, self._results, self.worker_cpus))

    def _route(self) -> None:
        """Hand each streamed chunk to the request waiting for it (runs in a thread)."""
        while True:
            job, item = self._results.get()
            if job is None:
                return
            target = self._streams.get(job)
            if target is not None:
                target.put(item)

    def warm(self) -> None:
        """Start every worker now (and load its models), not on the first request."""
        for f in [self._executor.submit(_warm) for _ in range(self.workers)]:
            f.result()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._results.put((None, None))

    def _admit(self) -> None:
        with self._lock:
            if self.in_flight >= self.workers + self.queue:
                self.refused += 1
                wait = max(1, math.ceil(self._mean_s * self.in_flight / self.workers))
                raise HttpError(429, f"the server is busy: {self.workers} job(s) running and "
                                f"{self.queue} waiting (its limit); try again in {wait} s",
                                {"Retry-After": str(wait)})
            self.in_flight += 1

    def _done(self, started: float) -> None:
        with self._lock:
            self.in_flight -= 1
            self._mean_s = 0.8 * self._mean_s + 0.2 * (time.monotonic() - started)

    def _broken(self) -> HttpError:
        with self._lock:  # replace the pool once, whichever job noticed first
            self._executor = self._new_executor()
        return HttpError(503, "a worker process failed on this request and was restarted; try again",
                         {"Retry-After": "5"})

    async def run(self, fn: Callable, *args):
        self._admit()
        started = time.monotonic()
        try:
            return await asyncio.wrap_future(self._executor.submit(fn, *args))
        except BrokenProcessPool:
            raise self._broken() from None
        finally:
            self._done(started)

    async def stream(self, fn: Callable, *args) -> AsyncIterator[bytes]:
        """Admit now (so a full pool is refused before any response starts), then iterate."""
        self._admit()
        started = time.monotonic()
        with self._lock:
            job, self._next_id = self._next_id, self._next_id + 1
        q = self._streams[job] = queue_module.Queue()
        try:
            future = self._executor.submit(fn, job, *args)
        except BaseException:
            self._streams.pop(job, None)
            self._done(started)
            raise
        return self._drain(job, q, future, started)

    async def _drain(self, job: int, q: queue_module.Queue, future, started: float) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + SPEAK_CHUNK_TIMEOUT_S
        try:
            while True:
                try:
                    item = await loop.run_in_executor(None, functools.partial(q.get, timeout=1.0))
                except queue_module.Empty:
                    if future.done() or time.monotonic() > deadline:
                        break
                    continue
                if item is None:
                    break
                deadline = time.monotonic() + SPEAK_CHUNK_TIMEOUT_S
                yield item
            await asyncio.wrap_future(future)  # a failure part-way ends the stream early
        finally:
            self._streams.pop(job, None)
            self._done(started)


_RESULTS = None
"""In a worker: the queue streaming jobs put their chunks on."""


def _init_worker(nice: int, results, cpus: set[int]) -> None:
    global _RESULTS
    _RESULTS = results
    os.nice(nice)
    if cpus:
        os.sched_setaffinity(0, cpus)
    import torch

    torch.set_num_threads(1)


@functools.cache
def _models():
    from voxmorph.pipeline.neural.models import NeuralModels

    return NeuralModels.load()


def _warm() -> int:
    _models()
    return os.getpid()


def wav_bytes(x: np.ndarray) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def streaming_wav_header() -> bytes:
    """A 16-bit mono WAV header of unknown length (sizes 0xFFFFFFFF), for a chunked response."""
    import struct

    rate, width = SAMPLE_RATE, 2
    return (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * width, width, 16)
            + b"data" + struct.pack("<I", 0xFFFFFFFF))


def pcm16(x: np.ndarray) -> bytes:
    return (np.clip(x, -1.0, 32767 / 32768) * 32768).astype("<i2").tobytes()


def convert_job(voices: str, path: str, voice: str, model: str, pitch_shift: float, denoise: bool,
                emotion: str | None, intensity: float | None) -> bytes:
    from voxmorph.pipeline.converters import offline_converter
    from voxmorph.pipeline.files import convert_file
    from voxmorph.voices.mapping import MappingOptions
    from voxmorph.voices.store import VoiceStore

    converter = offline_converter(model, VoiceStore(Path(voices)).get(voice), "world", "harvest", denoise,
                                  MappingOptions(pitch_shift=pitch_shift), emotion, intensity,
                                  models=_models() if model == "neural" else None)
    out = Path(path).parent / "converted.wav"
    convert_file(converter, path, out)
    return out.read_bytes()


def speak_job(job: int, voices: str, voice: str, text: str, emotion: str | None, intensity: float | None,
              rate: float, seed: int | None) -> None:
    from voxmorph.pipeline.speak import SpeakOptions, Synthesiser
    from voxmorph.voices.store import VoiceStore

    try:
        synth = Synthesiser.load(VoiceStore(Path(voices)).get(voice), options=SpeakOptions(
            rate, seed=seed, emotion=emotion, intensity=intensity), models=_models())
        for part in synth.stream(text):
            _RESULTS.put((job, pcm16(part)))
    finally:
        _RESULTS.put((job, None))


def enrol_job(voices: str, name: str, paths: list[str], description: str, replace: bool) -> dict:
    from voxmorph.audio.f0 import get_tracker
    from voxmorph.pipeline.neural.calibration import calibrate_voice
    from voxmorph.voices.enrol import enrol_voice
    from voxmorph.voices.store import VoiceStore

    voice = enrol_voice(name, paths, description, get_tracker("harvest"))
    voice = calibrate_voice(voice, paths, _models(), get_tracker("harvest"))
    VoiceStore(Path(voices)).save(voice, overwrite=replace)
    return voice.summary()
