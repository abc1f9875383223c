"""Does ``convert`` refuse acted emotional takes as "no speech"? Every EmoDB take through the same
check ``convert`` makes (speech regions block by block: the VAD model, then the second evidence),
and through the VAD model alone, also played 30 dB too hot and hard-clipped.

    python scripts/vad_emotional.py --out runs/bench/vad_emotional
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from voxmorph.audio.io import load_audio
from voxmorph.audio.vad import VoiceActivityDetector
from voxmorph.data.corpora import read_corpus
from voxmorph.eval.report import write_report

BLOCK = 10 * 16_000  # convert's check sees the file in blocks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/emodb"))
    ap.add_argument("--out", type=Path, default=Path("runs/bench/vad_emotional"))
    args = ap.parse_args()
    vad, refused, takes = VoiceActivityDetector(), Counter(), Counter()
    for u in read_corpus(args.data):
        x = load_audio(u.path)
        for form, y in (("as recorded", x), ("30 dB hot, clipped", np.clip(x * 10 ** 1.5, -1.0, 1.0))):
            blocks = [y[i : i + BLOCK] for i in range(0, y.size, BLOCK)]
            takes[form] += 1
            if not any(vad.speech_regions(b) for b in blocks):
                refused[(form, "convert's check")] += 1
            if not any(vad.segments(b) for b in blocks):
                refused[(form, "VAD model alone")] += 1
    rows = {f"{form} / {check}": refused[(form, check)] for form in takes
            for check in ("convert's check", "VAD model alone")}
    md = ("# Emotional takes refused as \"no speech\" (EmoDB)\n\n| takes / check | refused |\n|---|---:|\n"
          + "\n".join(f"| {k} | {v} of {takes[k.split(' / ')[0]]} |" for k, v in rows.items()) + "\n")
    write_report(args.out, {"takes": dict(takes), "refused": rows}, md)
    print(md)


if __name__ == "__main__":
    main()
