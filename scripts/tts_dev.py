"""The speech synthesiser's development check: pocketsphinx WER and DNSMOS on ten sentences that are
neither in training nor in ``bench tts`` (the VCTK elicitation paragraph, the Rainbow and
Grandfather passages), for a text-to-frames model in built-in voices, next to Piper joe and to
``convert`` of Piper's reading into the same voices (the decoder path's own ceiling on this text).
What docs/journal/tts.md's step-by-step figures come from.

    python scripts/tts_dev.py --tts-model runs/tts/model --out runs/bench/tts_dev
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from voxmorph.data.synthetic import Piper, SyntheticVoice
from voxmorph.eval.asr import Transcriber
from voxmorph.eval.bench_tts import wer
from voxmorph.eval.metrics import dnsmos
from voxmorph.eval.report import write_report
from voxmorph.pipeline.converters import offline_converter
from voxmorph.pipeline.speak import SpeakOptions, Synthesiser
from voxmorph.voices.store import VoiceStore

DEV = (
    "Please call Stella and ask her to bring these things with her from the store.",
    "The rainbow is a division of white light into many beautiful colors.",
    "We also need a small plastic snake and a big toy frog for the kids.",
    "She can scoop these things into three red bags, and we will go meet her on Wednesday.",
    "When the sunlight strikes raindrops in the air, they act as a prism and form a rainbow.",
    "My grandfather likes to be modern in his language.",
    "Twice each day he plays skillfully and with zest upon a small organ.",
    "Usually he is wearing a black frock coat, which is buttoned at the neck.",
    "A long beard clings to his chin, giving those who observe him a pronounced feeling of the "
    "utmost respect.",
    "Yet he still thinks as swiftly as ever.",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tts-model", type=Path, default=None, help="default: the shipped one")
    ap.add_argument("--voice", action="append", default=None, help="default: vcc-tm1 and vcc-tf1")
    ap.add_argument("--rate", type=float, default=1.0)
    ap.add_argument("--temperature", type=float, default=0.6)
    ap.add_argument("--references", action="store_true", help="also Piper and convert(Piper)")
    ap.add_argument("--out", type=Path, default=Path("runs/bench/tts_dev"))
    args = ap.parse_args()
    asr, store = Transcriber(), VoiceStore()
    rows = {}

    def score(name: str, audio: list[np.ndarray]) -> None:
        rows[name] = {"wer": float(np.mean([wer(t, asr(y)) for t, y in zip(DEV, audio, strict=True)])),
                      "dnsmos": float(np.mean([dnsmos(y)["ovrl"] for y in audio]))}
        print(f"{name}: WER {rows[name]['wer']:.3f}, DNSMOS {rows[name]['dnsmos']:.3f}", flush=True)

    voices = args.voice or ["vcc-tm1", "vcc-tf1"]
    options = SpeakOptions(rate=args.rate, temperature=args.temperature, seed=0)
    for v in voices:
        synth = Synthesiser.load(store.get(v), args.tts_model, options)
        score(f"speak {v}", [synth.speak(t) for t in DEV])
    if args.references:
        piper = Piper()
        read = [piper.speak(t, SyntheticVoice("piper-joe", "piper")) for t in DEV]
        score("piper joe", read)
        for v in voices:
            converter = offline_converter("neural", store.get(v))
            score(f"convert(piper) {v}", [converter.convert(y) for y in read])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    data = {"model": str(args.tts_model or "shipped"), "rate": args.rate,
            "temperature": args.temperature, "rows": rows}
    table = "\n".join(f"| {k} | {r['wer']:.3f} | {r['dnsmos']:.3f} |" for k, r in rows.items())
    head = "# TTS development check\n\n| system | WER | DNSMOS |\n|---|---:|---:|\n"
    write_report(args.out, data, f"{head}{table}\n")


if __name__ == "__main__":
    main()
