"""Does keeping the source's pitch level (``convert --keep-emotion``, the default) change plain
conversions of neutral read speech? An A/B in one run on VCC2018 (benchmark speakers, neutral
readings): each source speaker's sentences into the four built-in voices with and without it —
how often the kept level is not zero, the converted pitch level, and the similarity to the voice.

    python scripts/keep_emotion_ab.py --out runs/bench/keep_emotion_ab
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from voxmorph.audio.io import load_audio
from voxmorph.eval.bench_emotion import _level_st
from voxmorph.eval.judge import Judge
from voxmorph.eval.metrics import speaker_similarity
from voxmorph.eval.report import write_report
from voxmorph.models.speaker import SpeakerEncoder
from voxmorph.pipeline.neural.models import NeuralModels
from voxmorph.pipeline.neural.offline import NeuralConverter
from voxmorph.pipeline.options import ConversionOptions
from voxmorph.voices.store import VoiceStore

DATA = Path("../shared/data/vcc2018_eval")
SOURCES = ("VCC2SF1", "VCC2SF2", "VCC2SM1", "VCC2SM2")
VOICES = ("vcc-tf1", "vcc-tm1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sentences", type=int, default=5)
    ap.add_argument("--out", type=Path, default=Path("runs/bench/keep_emotion_ab"))
    args = ap.parse_args()
    models, store, encoder, judge = NeuralModels.load(), VoiceStore(), SpeakerEncoder.shared(), Judge()
    rows = {}
    for voice in VOICES:
        ref = judge.reference_embedding(voice)
        for keep in (True, False):
            settings = ConversionOptions(f0_tracker="dio", keep_emotion=keep)
            conv = NeuralConverter(store.get(voice), models, settings)
            sims, levels, kept = [], [], []
            for spk in SOURCES:
                for f in sorted((DATA / spk).glob("*.flac"))[: args.sentences]:
                    conv.reset()
                    y = conv.convert(load_audio(f))
                    sims.append(speaker_similarity(encoder.embed(y), ref))
                    levels.append(_level_st(y))
                    kept.append(conv.kept_level_st)
            rows[f"{voice} keep={keep}"] = {
                "similarity": float(np.mean(sims)), "level_st_mean": float(np.nanmean(levels)),
                "level_st_spread": float(np.nanstd(levels)), "kept_nonzero": float(np.mean(np.abs(kept) > 0)),
                "kept_abs_st": float(np.mean(np.abs(kept))), "files": len(sims)}
            print(voice, keep, rows[f"{voice} keep={keep}"], flush=True)
    table = "\n".join(f"| {k} | {r['similarity']:.3f} | {r['level_st_mean']:.2f} | "
                      f"{r['level_st_spread']:.2f} | {r['kept_nonzero']:.2f} | {r['kept_abs_st']:.2f} |"
                      for k, r in rows.items())
    head = ("# Keeping the source's pitch level on neutral read speech (VCC2018)\n\n| voice | similarity | "
            "level (st re 100 Hz) | its spread | share with a kept level | mean kept (st) |\n"
            "|---|---:|---:|---:|---:|---:|\n")
    write_report(args.out, {"sources": SOURCES, "rows": rows}, head + table + "\n")


if __name__ == "__main__":
    main()
