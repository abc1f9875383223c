"""Where the default live stream (neural converter, voice-activity gate) spends its time, per part.

Real speech goes through one stream in 10 ms blocks on one torch thread (as ``live`` and ``serve``
run it); each part's calls are timed in place: the gate, the front end (log-mel, energy, YIN F0),
the F0 mapping, the content encoder, the decoder and the vocoder (their frame twins), and
the whole block. Each is reported as compute real-time factor (seconds of compute per second of
audio) and share of the block's time.

    python scripts/live_profile.py --out runs/bench/live_profile [--data DIR] [--seconds 30]
        [--int8] [--runtime numba|onnx]
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
from voxmorph.models.frame_net import RUNTIMES, NetForm
from voxmorph.pipeline.converters import streaming_converter
from voxmorph.realtime.gate import GatedStream, VoiceGate
from voxmorph.voices.store import VoiceStore

BLOCK = 160


def timed(owner, name: str, totals: dict, label: str) -> None:
    """Replace ``owner.name`` by a wrapper adding its wall time to ``totals[label]``."""
    inner = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            totals[label] += time.perf_counter() - start

    setattr(owner, name, wrapper)


def profile(x: np.ndarray, voice: str, form: NetForm) -> dict:
    conv = streaming_converter("neural", VoiceStore().get(voice), form=form)
    gate = VoiceGate()
    stream = GatedStream(conv.stream(), gate)
    inner = stream.stream
    parts = ("gate", "front end", "F0 mapping", "content encoder", "decoder", "vocoder")
    totals = dict.fromkeys(parts, 0.0)
    timed(gate, "gains", totals, "gate")
    timed(inner, "_log_mel", totals, "front end")
    timed(inner, "_pitch", totals, "front end")
    timed(inner, "_map_f0", totals, "F0 mapping")
    timed(inner._content, "process", totals, "content encoder")
    timed(inner._decoder, "process", totals, "decoder")
    timed(inner._vocoder, "process", totals, "vocoder")
    per_block = []
    for i in range(0, x.size - BLOCK + 1, BLOCK):
        start = time.perf_counter()
        stream.process(x[i : i + BLOCK])
        per_block.append(time.perf_counter() - start)
    audio_s = len(per_block) * BLOCK / SAMPLE_RATE
    block = np.asarray(per_block) / (BLOCK / SAMPLE_RATE)
    total = float(np.sum(per_block))
    return {"audio_s": audio_s, "rtf_mean": float(block.mean()), "rtf_p99": float(np.percentile(block, 99)),
            "parts": {p: {"rtf": totals[p] / audio_s, "share": totals[p] / total} for p in parts},
            "other": {"rtf": (total - sum(totals.values())) / audio_s,
                      "share": (total - sum(totals.values())) / total}}


def render(r: dict, source: str) -> str:
    lines = ["# Where the live neural stream spends its time", "",
             f"{r['audio_s']:.0f} s of {source} through one gated neural stream in 10 ms blocks, one "
             f"torch thread: compute RTF {r['rtf_mean']:.3f} mean, {r['rtf_p99']:.3f} p99.", "",
             "| part | compute RTF | share of the block |", "|---|---:|---:|"]
    for name, p in [*r["parts"].items(), ("other (buffers, conditioning, limiter)", r["other"])]:
        lines.append(f"| {name} | {p['rtf']:.3f} | {100 * p['share']:.0f} % |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--voice", default="vcc-tf1")
    ap.add_argument("--int8", action="store_true", help="the networks with int8 weights")
    ap.add_argument("--runtime", choices=RUNTIMES, default="numba")
    args = ap.parse_args()
    torch.set_num_threads(1)
    files = sorted((args.data / "vcc2018_eval" / "VCC2SM1").glob("*.*"))
    x = np.concatenate([load_audio(f) for f in files[:20]])[: int(args.seconds * SAMPLE_RATE)]
    form = NetForm(args.runtime, args.int8)
    r = profile(x, args.voice, form)
    source = f"VCC2018 SM1 speech, networks: {form.label}"
    md = render(r, source)
    write_report(args.out, {"source": source, "voice": args.voice, **r}, md)
    print(md)


if __name__ == "__main__":
    main()
