"""Live-engine benchmark: latency, compute, degradations under load, memory, streamed vs offline.

Everything runs through the real engine on the file clock (``voxmorph live --input`` code path):

* **latency**: the plan's algorithmic and total latency, and the end-to-end latency measured on
  the output — the lag that best aligns the output's energy envelope with the input's, plus the
  capture block — for the identity converter (exact) and the WORLD stream;
* **compute and degradations**: the clock paced in real time over real speech, alone, with a
  CPU-bound process competing for the cores (a minute with the worker at real-time priority, then
  ``load_minutes`` at normal priority, as a user without the privilege runs it, and as long again
  with the identity converter: the engine's floor), and two streams at once (as the server runs
  two connections); worker time per block as a real-time factor (mean, p99), how long blocks
  waited for the worker to start them, and degraded blocks per minute;
* **memory**: resident memory sampled along a long unpaced stream (looped speech);
* **quality**: VCC2018 sources streamed into enrolled VCC2018 targets against ``convert`` of the
  same audio: speaker similarity to the target and MCD against the real target, per utterance.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.io import load_audio
from voxmorph.errors import UserError
from voxmorph.eval.bench_live_report import render_markdown
from voxmorph.eval.report import write_report
from voxmorph.pipeline.streaming import PassThrough
from voxmorph.realtime.clock import reblock, run_clock
from voxmorph.realtime.engine import LatencyPlan, LiveEngine
from voxmorph.realtime.gate import VoiceGate

QUALITY_PAIRS = [("VCC2SF1", "VCC2TM1"), ("VCC2SM1", "VCC2TF1"), ("VCC2SF1", "VCC2TF1"),
                 ("VCC2SM1", "VCC2TM1")]
ENROL_UTTS = 10
ENVELOPE_HOP = 16  # 1 ms


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux /proc)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def envelope_lag(x: np.ndarray, y: np.ndarray, max_lag_s: float = 0.2) -> int:
    """Samples by which ``y`` lags ``x``: the best-correlating shift of 1 ms log-energy envelopes."""
    def env(s):
        n = s.size // ENVELOPE_HOP
        e = np.log((s[: n * ENVELOPE_HOP].reshape(n, ENVELOPE_HOP).astype(np.float64) ** 2).sum(1) + 1e-8)
        return e - e.mean()

    ex, ey = env(x), env(y)
    lags = range(int(max_lag_s * SAMPLE_RATE / ENVELOPE_HOP))
    n = min(ex.size, ey.size) - len(lags)
    scores = [np.dot(ex[:n], ey[k : k + n]) for k in lags]
    return int(np.argmax(scores)) * ENVELOPE_HOP


def drive(engine: LiveEngine, x: np.ndarray, speed: float | None, progress=None) -> np.ndarray:
    """Stream ``x`` through ``engine`` on the file clock; ``progress()`` once per minute of input."""
    per_min = 60 * engine.plan.sample_rate // engine.plan.block

    def on_block(k):
        if progress is not None and k % per_min == 0:
            progress()

    with engine:
        return np.concatenate(list(run_clock(engine, reblock([x], engine.plan.block), speed, on_block)))


def measure_latency(conv, plan: LatencyPlan, x: np.ndarray) -> dict:
    y = drive(LiveEngine(conv, plan), x, None)
    lag = envelope_lag(x, y)
    return {"lag_ms": 1000.0 * lag / SAMPLE_RATE, "end_to_end_ms": 1000.0 * (lag + plan.block) / SAMPLE_RATE}


class CompetingLoad:
    """A CPU-bound process that keeps one core busy while the context is open."""

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def paced_run(conv, plan: LatencyPlan, x: np.ndarray, load: bool, realtime_priority: bool = True,
              progress=None) -> dict:
    engine = LiveEngine(conv, plan, VoiceGate(), realtime_priority=realtime_priority)
    if load:
        with CompetingLoad():
            drive(engine, x, 1.0, progress)
    else:
        drive(engine, x, 1.0, progress)
    return engine.stats.summary(plan.block / plan.sample_rate)


def paced_together(conv, plan: LatencyPlan, x: np.ndarray, streams: int) -> list[dict]:
    """``streams`` engines (each its own stream of ``conv`` and its own worker) paced in real time
    at the same time, as the server runs concurrent connections."""
    engines = [LiveEngine(conv, plan, VoiceGate()) for _ in range(streams)]
    clocks = [threading.Thread(target=drive, args=(e, x, 1.0)) for e in engines]
    for t in clocks:
        t.start()
    for t in clocks:
        t.join()
    return [e.stats.summary(plan.block / plan.sample_rate) for e in engines]


def looped(x: np.ndarray, seconds: float) -> np.ndarray:
    """``x`` repeated to ``seconds`` long."""
    n = int(seconds * SAMPLE_RATE)
    return np.tile(x, -(-n // x.size))[:n]


def memory_run(conv, plan: LatencyPlan, speech: np.ndarray, minutes: float, progress=None) -> dict:
    """Unpaced stream of ``minutes`` of looped speech; RSS sampled every simulated minute."""
    engine = LiveEngine(conv, plan, VoiceGate())
    total = int(minutes * 60 * SAMPLE_RATE)
    per_min = 60 * SAMPLE_RATE // plan.block
    samples = []

    def looped():
        done = 0
        while done < total:
            piece = speech[: total - done]
            done += piece.size
            yield piece

    def on_block(k):
        if k % per_min == 0:
            samples.append(rss_mb())
            if progress:
                progress()

    with engine:
        for _ in run_clock(engine, reblock(looped(), plan.block), None, on_block):
            pass
    if minutes != int(minutes) or not samples:  # a part-minute at the end: sample it too
        samples.append(rss_mb())
    first = samples[min(1, len(samples) - 1)] if samples else float("nan")
    return {"minutes": minutes, "rss_mb": samples, "growth_mb": (samples[-1] - first) if samples else 0.0,
            "degraded": engine.stats.degraded}


REFERENCE_JITTER_BLOCKS = 2


def reference_converter(voice):
    """The neural stream as it was planned before its look-ahead and jitter buffer were cut: the
    exact analysis (as offline) on whole frames, float32 compiled networks; with
    :func:`reference_plan`, 70 ms."""
    from voxmorph.models.frame_net import COMPILED
    from voxmorph.pipeline.neural.models import NeuralModels
    from voxmorph.pipeline.neural.stream import EXACT_AHEAD, StreamingNeuralConverter, StreamingNeuralOptions

    options = StreamingNeuralOptions(ahead=EXACT_AHEAD, form=COMPILED, whole_frames=True)
    return StreamingNeuralConverter(voice, NeuralModels.load(), options=options)


def reference_plan(conv) -> LatencyPlan:
    return LatencyPlan(conv.sample_rate, conv.hop, conv.delay, REFERENCE_JITTER_BLOCKS)


def quality_run(data: Path, progress=None, model: str = "world", vocoder: str = "world",
                form=None, reference: bool = False) -> list[dict]:
    """Per pair: stream the concatenated held-out sentences and convert them offline (and, with
    ``reference``, stream them through :func:`reference_converter` too); judge each sentence
    against the real target's recording of it."""
    from voxmorph.eval.metrics import Analysis, mcd
    from voxmorph.models.speaker import SpeakerEncoder, cosine
    from voxmorph.pipeline.converters import offline_converter, streaming_converter
    from voxmorph.pipeline.neural.calibration import calibrate_voice
    from voxmorph.pipeline.neural.models import NeuralModels
    from voxmorph.voices.enrol import enrol_voice

    enc = SpeakerEncoder.shared()
    rows = []
    utts = range(ENROL_UTTS + 1, 36)
    for src, tgt in QUALITY_PAIRS:
        files = [data / tgt / f"300{i:02d}.flac" for i in range(1, ENROL_UTTS + 1)]
        voice = enrol_voice(tgt, files)
        if model == "neural":  # as `voice add` leaves it
            voice = calibrate_voice(voice, files, NeuralModels.load())
        ref = np.mean([enc.embed(load_audio(f)) for f in files], axis=0)
        xs = [load_audio(data / src / f"300{i:02d}.flac") for i in utts]
        x = np.concatenate(xs)
        conv = streaming_converter(model, voice, vocoder=vocoder, form=form)
        plan = LatencyPlan.for_budget(None, conv)
        lag = plan.jitter_blocks * plan.block + conv.delay
        offline = offline_converter(model, voice, vocoder)
        systems = {
            "streamed": drive(LiveEngine(conv, plan, VoiceGate()), x, None)[lag : lag + x.size],
            "offline": offline.convert(x),
        }
        if reference:
            ref_conv = reference_converter(voice)
            ref_plan = reference_plan(ref_conv)
            ref_lag = ref_plan.jitter_blocks * ref_plan.block + ref_conv.delay
            y = drive(LiveEngine(ref_conv, ref_plan, VoiceGate()), x, None)
            systems["reference streamed"] = y[ref_lag : ref_lag + x.size]
        bounds = np.cumsum([0] + [u.size for u in xs])
        for j, i in enumerate(utts):
            target = Analysis(load_audio(data / tgt / f"300{i:02d}.flac"))
            for name, y in systems.items():
                seg = y[bounds[j] : bounds[j + 1]]
                rows.append({"pair": f"{src}->{tgt}", "utt": i, "system": name,
                             "similarity": cosine(enc.embed(seg), ref), "mcd": mcd(target, Analysis(seg))})
            if progress:
                progress()
    return rows


def _quality_summary(rows: list[dict]) -> dict:
    out = {}
    for name in dict.fromkeys(x["system"] for x in rows):
        r = [x for x in rows if x["system"] == name]
        out[name] = {"similarity": float(np.mean([x["similarity"] for x in r])),
                     "mcd": float(np.mean([x["mcd"] for x in r]))}
    out["difference"] = {k: out["streamed"][k] - out["offline"][k] for k in ("similarity", "mcd")}
    if "reference streamed" in out:
        ref = out["reference streamed"]
        out["vs reference"] = {k: out["streamed"][k] - ref[k] for k in ("similarity", "mcd")}
    return out


def run_bench_live(data: Path, out: Path, seconds: float = 60.0, memory_minutes: float = 30.0,
                   load_minutes: float = 10.0, progress=None, model: str = "world", vocoder: str = "world",
                   form=None, browser: bool = True) -> str:
    """The live benchmark of converter ``model`` (with ``vocoder`` synthesis for the WORLD
    converter; ``form``: how the neural converter's networks run), streamed and, for the quality
    rows, offline."""
    from voxmorph.pipeline.converters import for_streaming, streaming_converter

    if not (data / "VCC2SM1").is_dir():
        raise UserError(f"{data}: not the VCC2018 evaluation set (no VCC2SM1 folder)")
    speech = np.concatenate([load_audio(data / "VCC2SM1" / f"300{i:02d}.flac") for i in range(11, 36)])
    speech = speech[: int(seconds * SAMPLE_RATE)]
    from voxmorph.voices.store import VoiceStore

    for_streaming()
    conv = streaming_converter(model, VoiceStore().get("vcc-tf1"), vocoder=vocoder, form=form)
    plan = LatencyPlan.for_budget(None, conv)
    identity = PassThrough(SAMPLE_RATE, conv.hop)
    identity_plan = LatencyPlan(SAMPLE_RATE, plan.block, 0, plan.jitter_blocks)
    t0 = time.perf_counter()
    page = None
    if browser:  # first (the shortest part that can fail): the page in Chromium, the same converter served
        from voxmorph.eval.bench_browser import run_browser

        page = run_browser(speech[: 30 * SAMPLE_RATE], model, "vcc-tf1", min(seconds, 30.0),
                           out.with_suffix(".server.log"))
    result = {
        "machine": {"cpus": platform.processor() or platform.machine(), "python": platform.python_version()},
        "plan": {"block_ms": 1000.0 * plan.block / SAMPLE_RATE, "jitter_blocks": plan.jitter_blocks,
                 "lookahead_ms": 1000.0 * conv.delay / SAMPLE_RATE, "algorithmic_ms": plan.algorithmic_ms,
                 "latency_ms": plan.latency_ms},
        "latency": {"identity": measure_latency(identity, identity_plan, speech[: 20 * SAMPLE_RATE]),
                    "converter": measure_latency(conv, plan, speech[: 20 * SAMPLE_RATE])},
        "realtime": {"alone": paced_run(conv, plan, speech, load=False),
                     "competing load": paced_run(conv, plan, speech, load=True),
                     f"competing load, {load_minutes:g} min": paced_run(
                         conv, plan, looped(speech, 60 * load_minutes), load=True, realtime_priority=False,
                         progress=progress),
                     # the engine's own floor: the same blocks, gate and load, a converter that
                     # computes nothing; what it degrades, no converter can avoid
                     f"identity converter, competing load, {load_minutes:g} min": paced_run(
                         identity, identity_plan, looped(speech, 60 * load_minutes), load=True,
                         realtime_priority=False, progress=progress)},
    }
    if page is not None:
        result["browser"] = page
    for i, summary in enumerate(paced_together(conv, plan, speech, 2), 1):
        result["realtime"][f"two streams at once, stream {i}"] = summary
    reference = model == "neural"
    if reference:  # the stream before its look-ahead and jitter buffer were cut, in the same run
        ref_conv = reference_converter(VoiceStore().get("vcc-tf1"))
        ref_plan = reference_plan(ref_conv)
        result["reference"] = {"latency_ms": ref_plan.latency_ms,
                               "lookahead_ms": 1000.0 * ref_conv.delay / SAMPLE_RATE,
                               "latency": measure_latency(ref_conv, ref_plan, speech[: 20 * SAMPLE_RATE]),
                               "alone": paced_run(ref_conv, ref_plan, speech, load=False)}
    result["identity_plan_ms"] = identity_plan.latency_ms
    result["memory"] = memory_run(conv, plan, speech, memory_minutes, progress)
    quality_rows = quality_run(data, progress, model, vocoder, form, reference)
    result["quality"] = _quality_summary(quality_rows)
    neural = f"neural ({form.label})" if form is not None else "neural"
    result["converter"] = neural if model == "neural" else "WORLD"
    result["synthesis"] = "neural vocoder" if model == "neural" or vocoder == "neural" else "WORLD"
    result["quality_rows"] = quality_rows
    result["bench_seconds"] = time.perf_counter() - t0
    _, md_path = write_report(out, result, lambda r: render_markdown(r, seconds))
    return md_path.read_text()
