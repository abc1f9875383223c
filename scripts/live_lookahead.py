"""Dev check of the live log-mel's reach: the neural stream with the exact analysis (the offline
front end's, 40 ms) against the live default (the log-mel one frame ahead, 30 ms), on dev speech.

Per pair, the last ``--files`` recordings of each VCC2016 source (not the benchmark set) stream
through both into a built-in voice: speaker similarity to the voice's embedding, and for a
speaker converted into its own voice, MCD against the input recording (the same sentence: a
reference that real recordings of a different speaker cannot give on non-parallel data).

    python scripts/live_lookahead.py --out runs/bench/live_lookahead [--data DIR] [--files 8]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from voxmorph.audio.io import load_audio
from voxmorph.eval.metrics import Analysis, mcd
from voxmorph.eval.report import write_report
from voxmorph.models.frame_net import NetForm
from voxmorph.models.speaker import SpeakerEncoder, cosine
from voxmorph.pipeline.neural.models import NeuralModels
from voxmorph.pipeline.neural.stream import (
    EXACT_AHEAD,
    LIVE_AHEAD,
    StreamingNeuralConverter,
    StreamingNeuralOptions,
)
from voxmorph.pipeline.streaming import run_stream
from voxmorph.voices.store import VoiceStore

PAIRS = [("TF1", "vcc-tf1"), ("TM1", "vcc-tm1"), ("SM1", "vcc-tf1"), ("SF1", "vcc-tm1"),
         ("SM2", "vcc-tf2"), ("SF2", "vcc-tm2")]
SELF = {"TF1", "TM1"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/vcc2016_train"))
    ap.add_argument("--files", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(1)
    store, enc, models = VoiceStore(), SpeakerEncoder.shared(), NeuralModels.load()
    rows = []
    for name, ahead in (("exact", EXACT_AHEAD), ("live", LIVE_AHEAD)):
        for src, voice_name in PAIRS:
            voice = store.get(voice_name)
            options = StreamingNeuralOptions(ahead=ahead, form=NetForm("numba"))
            conv = StreamingNeuralConverter(voice, models, options=options)
            files = sorted((args.data / src).glob("*.flac"))[-args.files :]
            ref = np.asarray(voice.embedding)
            for f in files:
                x = load_audio(f)
                y = run_stream(conv, x, conv.hop)
                rows.append({"analysis": name, "delay_ms": 1000.0 * conv.delay / conv.sample_rate,
                             "pair": f"{src}->{voice_name}", "file": f.name,
                             "similarity": cosine(enc.embed(y), ref),
                             "self_mcd": mcd(Analysis(x), Analysis(y)) if src in SELF else None})
            print(name, src, voice_name, flush=True)
    lines = ["# The live log-mel's reach on dev speech: exact analysis against one frame ahead", "",
             f"VCC2016 (dev), the last {args.files} recordings of each source, float32 networks.", "",
             "| pair | similarity, exact (40 ms) | similarity, live (30 ms) | self-MCD exact (dB) | "
             "self-MCD live (dB) |", "|---|---:|---:|---:|---:|"]
    summary = {}
    for src, voice_name in PAIRS:
        pair = f"{src}->{voice_name}"
        got = {a: [r for r in rows if r["pair"] == pair and r["analysis"] == a] for a in ("exact", "live")}
        sim = {a: float(np.mean([r["similarity"] for r in v])) for a, v in got.items()}
        m = {a: (float(np.mean([r["self_mcd"] for r in v])) if src in SELF else None) for a, v in got.items()}
        summary[pair] = {"similarity": sim, "self_mcd": m}
        cells = [f"{m[a]:.3f}" if m[a] is not None else "-" for a in ("exact", "live")]
        lines.append(f"| {pair} | {sim['exact']:.4f} | {sim['live']:.4f} | {cells[0]} | {cells[1]} |")
    mean_sim = {a: float(np.mean([s["similarity"][a] for s in summary.values()])) for a in ("exact", "live")}
    selfs = [s["self_mcd"] for s in summary.values() if s["self_mcd"]["exact"] is not None]
    mean_mcd = {a: float(np.mean([s[a] for s in selfs]))
                for a in ("exact", "live")}
    lines += [f"| mean | {mean_sim['exact']:.4f} | {mean_sim['live']:.4f} | {mean_mcd['exact']:.3f} | "
              f"{mean_mcd['live']:.3f} |", ""]
    write_report(args.out, {"rows": rows, "summary": summary, "mean_similarity": mean_sim,
                            "mean_self_mcd": mean_mcd}, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
