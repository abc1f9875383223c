"""``voxmorph live``, ``devices`` and ``serve``: the live engine on sound cards, files and the browser."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from voxmorph.cli.common import (
    Int8Option,
    ModelOption,
    NetRuntimeOption,
    SynthOption,
    net_form,
    note_adapter,
    progress,
    synthesis,
)
from voxmorph.errors import UserError


def devices(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False):
    """List the sound devices 'voxmorph live' can use (via PortAudio)."""
    from voxmorph.realtime.devices import list_devices

    rows = list_devices()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    elif not rows:
        typer.echo("no audio devices found (files work: voxmorph live --input IN --output OUT)")
    for d in rows:
        typer.echo(f"{d['index']:>3}  {d['name'][:40]:<40} in {d['inputs']:>2}  out {d['outputs']:>2}  "
                   f"{d['default_rate']:>7.0f} Hz  {d['default']}")


def live(
    voice: Annotated[str, typer.Option(help="Target voice (see 'voxmorph voice list').")],
    source_voice: Annotated[str | None, typer.Option(
        help="Your own enrolled voice: converts your first seconds, before statistics of the "
             "live stream take over.")] = None,
    latency_ms: Annotated[float | None, typer.Option(
        help="End-to-end budget (before device buffers); block size, look-ahead and jitter "
             "buffer are derived from it. Default: 44.7 ms for the neural converter (its look-ahead "
             "is 24.7 ms), 40 ms for --model world.")] = None,
    input_device: Annotated[str | None, typer.Option(help="Input device index or name.")] = None,
    output_device: Annotated[str | None, typer.Option(help="Output device index or name.")] = None,
    monitor: Annotated[bool, typer.Option(
        "--monitor", help="Also play the converted voice on the default output device.")] = False,
    gate: Annotated[bool, typer.Option(help="Silence everything that is not speech.")] = True,
    denoise: Annotated[bool, typer.Option(
        "--denoise", help="Suppress steady background noise before converting (+5 ms).")] = False,
    input: Annotated[Path | None, typer.Option(
        "--input", help="Read this file instead of a device (simulated device clock).")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", help="Write the converted stream here (with --input).")] = None,
    speed: Annotated[float, typer.Option(
        help="With --input: 0 runs as fast as possible; 1 paces the clock in real time.")] = 0.0,
    seconds: Annotated[float, typer.Option(help="With devices: stop after this long (0 = Ctrl-C).")] = 0.0,
    int8: Int8Option = None,
    runtime: NetRuntimeOption = "numba",
    vocoder: SynthOption = None,
    model: ModelOption = "neural",
):
    """Convert your voice live, from a microphone or, with --input/--output, from a file on the
    same block-by-block code path."""
    from voxmorph.pipeline.converters import for_streaming, streaming_converter
    from voxmorph.pipeline.denoise import StreamingDenoiser
    from voxmorph.pipeline.streaming import Chain
    from voxmorph.realtime.engine import LatencyPlan, LiveEngine
    from voxmorph.realtime.gate import VoiceGate
    from voxmorph.voices.store import VoiceStore

    if (input is None) != (output is None):
        raise UserError("--input and --output go together")
    store = VoiceStore()
    target = store.get(voice)
    source = store.get(source_voice) if source_voice else None
    for_streaming()
    form = net_form(model, runtime, int8)
    converter = streaming_converter(model, target, source, synthesis(model, vocoder), form=form)
    note_adapter(model, converter, target)
    if denoise:
        converter = Chain(StreamingDenoiser(converter.hop), converter)
    latency_ms = latency_ms or LatencyPlan.default_budget_ms(converter)
    plan = LatencyPlan.for_budget(latency_ms, converter)
    engine = LiveEngine(converter, plan, VoiceGate() if gate else None)
    if input is not None:
        _live_file(engine, input, output, speed)
    else:
        _live_devices(engine, input_device, output_device, monitor, seconds)
    s = engine.stats.summary(plan.block / plan.sample_rate)
    typer.echo(f"{plan.describe()} (budget {latency_ms:.1f} ms)", err=True)
    typer.echo(f"{s['blocks']} blocks, compute RTF mean {s['rtf_mean']:.3f} p99 {s['rtf_p99']:.3f}, "
               f"{s['degraded']} degraded, {s['resyncs']} resyncs; worker at "
               f"{'real-time' if s['realtime_priority'] else 'normal'} priority", err=True)


def _live_file(engine, src: Path, dst: Path, speed: float) -> None:
    from voxmorph.audio.io import probe
    from voxmorph.realtime.clock import run_file

    duration = probe(src).duration
    start = time.perf_counter()
    with progress(duration, src.name) as bar:
        run_file(engine, src, dst, speed or None, progress=bar.update)
    took = time.perf_counter() - start
    typer.echo(f"{src} -> {dst} ({duration:.1f} s audio in {took:.1f} s)")


def _live_devices(engine, input_device, output_device, monitor: bool, seconds: float) -> None:
    from voxmorph.realtime.devices import open_duplex

    with open_duplex(engine, input_device, output_device, monitor) as info:
        typer.echo(f"live: {engine.plan.describe()}; device buffers add "
                   f"{info['device_latency_ms']:.1f} ms; Ctrl-C stops", err=True)
        start = time.monotonic()
        try:
            while not seconds or time.monotonic() - start < seconds:
                time.sleep(0.5)
                s = engine.stats
                typer.echo(f"\r in {s.input_peak:5.2f}  out {s.output_peak:5.2f}  degraded {s.degraded}"
                           f"  xruns {info['xruns']}", nl=False, err=True)
                s.input_peak = s.output_peak = 0.0
        except KeyboardInterrupt:
            pass
        typer.echo("", err=True)
