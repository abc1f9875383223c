"""Dev check of the live log-mel's reach: the neural stream with the log-mel reading ``--ahead``
samples past each frame's centre, by default the exact analysis (the offline front end's, 256)
against the live default (75, the window tapered), on dev speech; ``--cut`` adds reaches with
the window cut rather than tapered, on whole frames (the live default before: 160).

Per pair, the last ``--files`` recordings of each VCC2016 source (not the benchmark set) stream
through both into a built-in voice: speaker similarity to the voice's embedding, and for a
speaker converted into its own voice, MCD against the input recording (the same sentence: a
reference that real recordings of a different speaker cannot give on non-parallel data).

    python scripts/live_lookahead.py --out runs/bench/live_lookahead [--data DIR] [--files 8]
        [--ahead 256 75] [--cut 160]
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
    ap.add_argument("--ahead", type=int, nargs="+", default=[EXACT_AHEAD, LIVE_AHEAD],
                    help="Log-mel reaches (samples past a frame's centre) to compare, tapered windows.")
    ap.add_argument("--cut", type=int, nargs="*", default=[],
                    help="More reaches, with the Hann window cut there (the window before the taper) "
                         "and the delay in whole frames (the grid before its offset).")
    args = ap.parse_args()
    variants = [(a, False) for a in args.ahead] + [(a, True) for a in args.cut]
    torch.set_num_threads(1)
    store, enc, models = VoiceStore(), SpeakerEncoder.shared(), NeuralModels.load()
    rows, delays = [], {}
    for ahead, cut in variants:
        key = f"{ahead} cut" if cut else f"{ahead}"
        for src, voice_name in PAIRS:
            voice = store.get(voice_name)
            options = StreamingNeuralOptions(ahead=ahead, form=NetForm("numba"), taper=not cut,
                                             whole_frames=cut)
            conv = StreamingNeuralConverter(voice, models, options=options)
            delays[key] = 1000.0 * conv.delay / conv.sample_rate
            files = sorted((args.data / src).glob("*.flac"))[-args.files :]
            ref = np.asarray(voice.embedding)
            for f in files:
                x = load_audio(f)
                y = run_stream(conv, x, conv.hop)
                rows.append({"ahead": key, "delay_ms": delays[key], "pair": f"{src}->{voice_name}",
                             "file": f.name, "similarity": cosine(enc.embed(y), ref),
                             "self_mcd": mcd(Analysis(x), Analysis(y)) if src in SELF else None})
            print(key, src, voice_name, flush=True)
    keys = list(delays)
    names = [f"{k} ({delays[k]:.1f} ms)" for k in keys]
    lines = ["# The live log-mel's reach on dev speech", "",
             f"VCC2016 (dev), the last {args.files} recordings of each source, float32 networks; "
             "columns: samples the log-mel reads past a frame's centre, its window tapered there "
             "(or cut, the delay then in whole frames), and the stream's delay.", "",
             "| pair | " + " | ".join(f"similarity, {n}" for n in names) + " | "
             + " | ".join(f"self-MCD {n} (dB)" for n in names) + " |",
             "|---|" + "---:|" * (2 * len(names))]
    summary = {}
    for src, voice_name in PAIRS:
        pair = f"{src}->{voice_name}"
        got = {k: [r for r in rows if r["pair"] == pair and r["ahead"] == k] for k in keys}
        sim = {k: float(np.mean([r["similarity"] for r in v])) for k, v in got.items()}
        m = {k: (float(np.mean([r["self_mcd"] for r in v])) if src in SELF else None) for k, v in got.items()}
        summary[pair] = {"similarity": sim, "self_mcd": m}
        cells = [f"{sim[k]:.4f}" for k in keys] + [f"{m[k]:.3f}" if m[k] is not None else "-" for k in keys]
        lines.append(f"| {pair} | " + " | ".join(cells) + " |")
    mean_sim = {k: float(np.mean([s["similarity"][k] for s in summary.values()])) for k in keys}
    selfs = [s["self_mcd"] for s in summary.values() if s["self_mcd"][keys[0]] is not None]
    mean_mcd = {k: float(np.mean([s[k] for s in selfs])) for k in keys}
    lines += ["| mean | " + " | ".join([f"{mean_sim[k]:.4f}" for k in keys]
                                        + [f"{mean_mcd[k]:.3f}" for k in keys]) + " |", ""]
    write_report(args.out, {"rows": rows, "summary": summary, "mean_similarity": mean_sim,
                            "mean_self_mcd": mean_mcd, "delay_ms": delays}, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
