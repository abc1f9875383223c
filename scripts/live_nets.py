"""Speed and accuracy of the three live networks in each form: compiled step or ONNX step graph,
float32 or int8.

Real speech goes once through the default live stream (neural converter), and every network's
input frames are recorded. Then each network, in each form, runs those frames from a fresh
state, one frame per call: microseconds per frame (the best of ``--repeats`` passes) and the
relative RMS error of its output against the compiled float32 step on the same frames. Dev
speech (VCC2016, not the benchmark set) by default.

    python scripts/live_nets.py --out runs/bench/live_nets [--data DIR] [--seconds 10]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.io import load_audio
from voxmorph.eval.report import write_report
from voxmorph.models.frame_net import NetForm
from voxmorph.pipeline.converters import streaming_converter
from voxmorph.voices.store import VoiceStore

FORMS = [NetForm("numba"), NetForm("numba", int8=True), NetForm("onnx"), NetForm("onnx", int8=True)]
NETS = ("content encoder", "decoder", "vocoder")


def recorded_inputs(x: np.ndarray, voice: str) -> tuple[dict, dict]:
    """Each network's input frames over one stream of ``x``, and how to build each net in a form."""
    conv = streaming_converter("neural", VoiceStore().get(voice))
    stream = conv.stream()
    twins = {"content encoder": stream._content, "decoder": stream._decoder, "vocoder": stream._vocoder}
    frames = {name: [] for name in NETS}
    for name, twin in twins.items():
        net = twin.net

        def recording(batch, net=net, into=frames[name]):
            into.append(np.array(batch, np.float32))
            return type(net).__call__(net, batch)

        twin.net = recording
    run_stream_on(stream, x)
    models, voice_cond = conv.models, conv.voice
    from voxmorph.models.frame_neural import FrameContent, FrameDecoder
    from voxmorph.models.frame_vocoder import FrameVocoder

    builders = {"content encoder": lambda form: FrameContent(models.content, form).net,
                "decoder": lambda form: FrameDecoder(models.decoder, voice_cond, form).net,
                "vocoder": lambda form: FrameVocoder(models.vocoder.model, form=form).net}
    return {k: np.concatenate(v) for k, v in frames.items()}, builders


def run_stream_on(stream, x: np.ndarray, block: int = 160) -> None:
    for i in range(0, x.size - block + 1, block):
        stream.process(x[i : i + block])


def measure(frames: np.ndarray, build, form: NetForm, repeats: int) -> tuple[float, np.ndarray]:
    best, out = np.inf, None
    for _ in range(repeats):
        net = build(form)  # a fresh state each pass
        start = time.perf_counter()
        got = np.concatenate([net(f[None]) for f in frames])
        best = min(best, (time.perf_counter() - start) / len(frames))
        out = got
    return 1e6 * best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/vcc2016_train"))
    ap.add_argument("--speaker", default="SM1")
    ap.add_argument("--voice", default="vcc-tf1")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    files = sorted((args.data / args.speaker).glob("*.*"))
    x = np.concatenate([load_audio(f) for f in files[-10:]])[: int(args.seconds * SAMPLE_RATE)]
    frames, builders = recorded_inputs(x, args.voice)
    rows = []
    for name in NETS:
        reference = None
        for form in FORMS:
            us, out = measure(frames[name], builders[name], form, args.repeats)
            if reference is None:
                reference, base_us = out, us
            err = float(np.sqrt(np.mean((out - reference) ** 2) / np.mean(reference**2)))
            rows.append({"net": name, "form": form.label, "runtime": form.runtime, "int8": form.int8,
                         "us_per_frame": us, "vs_compiled_float32": us / base_us, "relative_error": err,
                         "frames": len(frames[name])})
            print(f"{name:16s} {form.label:45s} {us:7.0f} us/frame  x{us / base_us:.2f}  error {err:.4f}")
    source = f"{len(x) / SAMPLE_RATE:.0f} s of {args.data.name} {args.speaker} into {args.voice}"
    lines = ["# The live networks in each form: speed and accuracy per frame", "",
             f"{source}; each network's recorded input frames, one frame per call on one thread, best "
             f"of {args.repeats} passes. Error: RMS of the output's difference from the compiled "
             "float32 step, relative to that output's RMS.", "",
             "| network | form | us per frame | vs compiled float32 | relative error |",
             "|---|---|---:|---:|---:|"]
    lines += [f"| {r['net']} | {r['form']} | {r['us_per_frame']:.0f} | {r['vs_compiled_float32']:.2f} | "
              f"{r['relative_error']:.4f} |" for r in rows]
    md = "\n".join(lines) + "\n"
    write_report(args.out, {"source": source, "rows": rows}, md)
    print(md)


if __name__ == "__main__":
    main()
