"""Where the neural converter loses intelligibility and naturalness, stage by stage.

    python scripts/intelligibility_stages.py ../shared/data/vcc2018_eval [--sentences 5]
        [--pairs cross|same] [--stages rebuild,convert] [--content DIR] [--decoder DIR] [--vocoder DIR]
        [--out FILE.json] [--against EARLIER.json]

For VCC2018 sources SF1, SM1, SF2, SM2 (held-out sentences 30011 on; with ``--pairs same``, SM1
and SF1 converted to the same-gender targets of ``bench vc``) it scores, with pocketsphinx
CER against the source's own transcript and DNSMOS OVRL:

- vocoder copy: the source's real mel and F0 through the vocoder alone;
- rebuild: content encoder -> decoder -> vocoder with the source's own voice (zero-shot);
- convert: the same to the paired VCC2018 target (zero-shot), as ``convert --model neural``;
- WORLD convert: the baseline converter to the same target.

Every voice is enrolled from its sentences 30001-30010. Models default to the shipped ones.
It prints each source's means, and with ``--against`` (the ``--out`` of an earlier run on the
same files) the paired per-file differences of every shared stage with their standard errors.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from voxmorph.audio.f0 import get_tracker, mel_frame_f0
from voxmorph.audio.features import log_mel
from voxmorph.audio.io import load_audio
from voxmorph.eval import metrics
from voxmorph.eval.asr import Transcriber
from voxmorph.eval.report import paired_difference
from voxmorph.pipeline.neural.models import NeuralModels
from voxmorph.pipeline.neural.offline import NeuralConverter
from voxmorph.pipeline.world.offline import WorldConverter
from voxmorph.voices.enrol import enrol_voice

PAIRS = {
    "cross": (("VCC2SF1", "VCC2TM1"), ("VCC2SM1", "VCC2TF1"), ("VCC2SF2", "VCC2TM2"), ("VCC2SM2", "VCC2TF2")),
    "same": (("VCC2SM1", "VCC2TM1"), ("VCC2SF1", "VCC2TF1")),
}
STAGES = ("vocoder copy", "rebuild", "convert", "WORLD convert")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", type=Path, help="the vcc2018_eval folder")
    ap.add_argument("--sentences", type=int, default=5, help="held-out sentences per source")
    ap.add_argument("--pairs", choices=sorted(PAIRS), default="cross", help="cross- or same-gender pairs")
    ap.add_argument("--stages", default=",".join(STAGES),
                    help=f"comma-separated stages to score (default: all of {', '.join(STAGES)})")
    ap.add_argument("--content", type=Path)
    ap.add_argument("--decoder", type=Path)
    ap.add_argument("--vocoder", type=Path)
    ap.add_argument("--out", type=Path, help="also write the per-file scores here (JSON)")
    ap.add_argument("--against", type=Path,
                    help="an earlier --out on the same files: print paired differences")
    args = ap.parse_args()
    stages = [s.strip() for s in args.stages.split(",")]
    if unknown := sorted(set(stages) - set(STAGES)):
        ap.error(f"unknown stage {unknown[0]!r}; choose from {', '.join(STAGES)}")
    earlier = json.loads(args.against.read_text()) if args.against else None
    if earlier and [earlier["run"][k] for k in ("sentences", "pairs")] != [str(args.sentences), args.pairs]:
        ap.error(f"{args.against} scored other files (its --sentences/--pairs differ)")
    torch.set_num_threads(1)
    models = NeuralModels.load(args.content, args.decoder, args.vocoder)
    asr, tracker = Transcriber(), get_tracker("harvest")
    voices = {}

    def voice(speaker: str):
        if speaker not in voices:
            files = [args.data / speaker / f"300{i:02d}.flac" for i in range(1, 11)]
            voices[speaker] = enrol_voice(speaker.lower(), files, check=False)
        return voices[speaker]

    def render(stage: str, x: np.ndarray, src: str, tgt: str) -> np.ndarray:
        if stage == "vocoder copy":
            return models.vocoder.synthesise(log_mel(x).numpy(), mel_frame_f0(tracker, x))
        if stage == "WORLD convert":
            return WorldConverter(voice(tgt)).convert(x)
        return NeuralConverter(voice(src if stage == "rebuild" else tgt), models).convert(x)

    scores: dict[str, list[tuple[float, float]]] = {s: [] for s in stages}
    for src, tgt in PAIRS[args.pairs]:
        for i in range(11, 11 + args.sentences):
            x = load_audio(args.data / src / f"300{i:02d}.flac")
            reference = asr(x)
            for stage in stages:
                y = render(stage, x, src, tgt)
                scores[stage].append((metrics.cer(reference, asr(y)), metrics.dnsmos(y)["ovrl"]))
        print(f"{src} -> {tgt} done", flush=True)
    sources = [src for src, _ in PAIRS[args.pairs]]
    print("| stage | n | CER vs source | DNSMOS OVRL | " + " | ".join(sources) + " |")
    print("|---|---|---|---|" + "---|" * len(sources))
    for stage, rows in scores.items():
        a = np.asarray(rows)
        per_source = a.reshape(len(sources), args.sentences, 2).mean(axis=1)
        print(f"| {stage} | {len(a)} | {a[:, 0].mean():.3f} | {a[:, 1].mean():.3f} | "
              + " | ".join(f"{c:.3f} / {m:.2f}" for c, m in per_source) + " |")
    if earlier:
        print(f"\nPaired differences, this run minus {args.against} (mean ± standard error):")
        for stage in (s for s in stages if s in earlier["scores"]):
            d = np.asarray(scores[stage]) - np.asarray(earlier["scores"][stage])
            print(f"- {stage}: CER {paired_difference(d[:, 0])}, DNSMOS {paired_difference(d[:, 1])}")
    if args.out:
        run = {k: str(v) for k, v in vars(args).items()}
        args.out.write_text(json.dumps({"run": run, "scores": scores}, indent=1))


if __name__ == "__main__":
    main()
