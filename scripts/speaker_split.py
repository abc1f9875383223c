"""How the several-speakers check's pitch groups separate one person from two (what set
``voxmorph.voices.checks.PITCH_SPLITS``).

Each recording is one piece of speech, analysed as enrolment analyses it (speech only, loudness
normalised, Harvest F0, GE2E embedding). One speaker's recordings (EmoDB actors across seven
acted emotions, VCC2018 and VCTK speakers, espeak-ng voices) and man-and-woman mixes of them go
through :func:`voxmorph.voices.checks.pitch_groups`; the report lists each group's pitch gap and
embedding cosine and whether :func:`~voxmorph.voices.checks.split_by_pitch` calls it two voices.

    python scripts/speaker_split.py --data ../shared/data --out runs/bench/speaker_split
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.dsp import normalise_loudness, resample
from voxmorph.audio.f0 import HarvestF0
from voxmorph.audio.io import load_audio
from voxmorph.audio.vad import VoiceActivityDetector
from voxmorph.eval.report import write_report
from voxmorph.models.speaker import SpeakerEncoder
from voxmorph.voices.checks import pitch_groups, split_by_pitch

ESPEAK = [("en-us+m3", 40), ("en-us", 50), ("en-us+f3", 70), ("en-us+f2", 60)]
TEXTS = ["The quick brown fox jumps over the lazy dog near the river bank.",
         "Please call Stella and ask her to bring these things with her from the store.",
         "Six spoons of fresh snow peas, five thick slabs of blue cheese.",
         "We also need a small plastic snake and a big toy frog for the kids."]
EMODB_MEN, EMODB_WOMEN = ["03", "10", "11", "12", "15"], ["08", "09", "13", "14", "16"]


class Pieces:
    def __init__(self):
        self.vad, self.f0, self.encoder = VoiceActivityDetector(), HarvestF0(), SpeakerEncoder.shared()

    def __call__(self, x: np.ndarray) -> tuple[float, int, np.ndarray]:
        segments = self.vad.segments(x)
        speech = np.concatenate([x[a:b] for a, b in segments]) if segments else x
        speech = normalise_loudness(speech, SAMPLE_RATE)
        f0 = self.f0(speech, SAMPLE_RATE, 5.0)
        voiced = f0[f0 > 0]
        return float(np.median(np.log(voiced))), int(voiced.size), self.encoder.embed(speech)


def _espeak(voice: str, pitch: int, text: str) -> np.ndarray:
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-w", tmp.name, text], check=True)
        x, sr = sf.read(tmp.name, dtype="float32")
    return resample(x, sr, SAMPLE_RATE)


def speakers(data: Path, piece: Pieces) -> dict[str, list]:
    out: dict[str, list] = {}
    for path in sorted((data / "emodb" / "wav").glob("*.flac")):
        out.setdefault(f"emodb {path.name[:2]}", []).append(piece(load_audio(path)))
    for folder in sorted(p for p in (data / "vcc2018_eval").iterdir() if p.is_dir()):
        out[f"vcc2018 {folder.name}"] = [piece(load_audio(folder / f"300{i:02d}.flac")) for i in range(1, 11)]
    for spk in ("p225", "p226", "p227", "p228"):
        out[f"vctk {spk}"] = [piece(load_audio(p)) for p in sorted((data / "vctk" / spk).glob("*.flac"))]
    for voice, pitch in ESPEAK:
        out[f"espeak {voice}"] = [piece(_espeak(voice, pitch, t)) for t in TEXTS]
    return out


def mixes(s: dict[str, list]) -> dict[str, list]:
    vcc = sorted(k for k in s if k.startswith("vcc2018"))
    women, men = [k for k in vcc if "F" in k.split()[1]], [k for k in vcc if "M" in k.split()[1]]
    pairs = [(w, m, 5) for w, m in itertools.product(women, men)]
    pairs += [(f"vctk {w}", f"vctk {m}", 5) for w, m in itertools.product(("p225", "p228"), ("p226", "p227"))]
    pairs += [(f"emodb {w}", f"emodb {m}", 10) for w, m in itertools.product(EMODB_WOMEN, EMODB_MEN)]
    pairs += [("espeak en-us+f3", "espeak en-us+m3", 4), ("espeak en-us+f2", "espeak en-us", 4),
              ("espeak en-us+f3", "espeak en-us", 4)]
    return {f"{w} + {m.split()[1]}": s[w][:n] + s[m][:n] for w, m, n in pairs}


def _rows(groups: dict[str, list]) -> list[dict]:
    rows = []
    for name, pieces in groups.items():
        gap, cos = pitch_groups(pieces)
        rows.append({"name": name, "pieces": len(pieces), "semitones": gap, "cosine": cos,
                     "two_voices": split_by_pitch(pieces)})
    return rows


def render(r: dict) -> str:
    lines = ["# Several speakers by pitch", "",
             "Each recording one piece of speech; the widest pitch split into two groups (each at least "
             "30 % of the voiced frames): semitones between them, cosine of their mean GE2E embeddings, and "
             "whether the check calls it two voices.", ""]
    for title, key in (("One speaker (must pass)", "one"), ("A man and a woman (should be caught)", "two")):
        rows = r[key]
        caught = sum(x["two_voices"] for x in rows)
        lines += [f"## {title}: {caught} of {len(rows)} called two voices", "",
                  "| recordings | pieces | semitones | cosine | two voices |", "|---|---:|---:|---:|---|"]
        lines += [f"| {x['name']} | {x['pieces']} | {x['semitones']:.1f} | {x['cosine']:.3f} | "
                  f"{'yes' if x['two_voices'] else 'no'} |" for x in rows]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--out", type=Path, default=Path("runs/bench/speaker_split"))
    args = ap.parse_args()
    s = speakers(args.data, Pieces())
    _, md = write_report(args.out, {"one": _rows(s), "two": _rows(mixes(s))}, render)
    print(md.read_text())


if __name__ == "__main__":
    main()
