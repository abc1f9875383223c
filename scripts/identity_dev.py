"""Where does a conversion lose the target's identity, and can inference alone win it back?
Development pairs from the VCC2016 training set (not the VCC2018 benchmark): SM1 -> TF1 and
SF1 -> TM1, the target enrolled (and calibrated) from its first 10 sentences, which are also the
similarity reference, as in ``bench vc``.

Stages: the target's own held-out sentences as recorded, through the vocoder (copy synthesis),
rebuilt by the converter in their own voice (content, pitch and energy all the target's); the
source's sentences converted, and unconverted. Then inference-time changes to the conversion:
the content frames shifted by the difference of the target's and the source's mean content
(everywhere, or only along the 7 directions where speakers differ most: LDA over 8 other
speakers), each content frame halfway to the mean of its 4 nearest target content frames, and
the speaker vector pushed away from the source's (``e_t + a (e_t - e_s)``). Similarity
(resemblyzer) and CER of the conversion's transcript against the source's.

    python scripts/identity_dev.py --out runs/bench/identity_dev
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from scipy.linalg import eigh

from voxmorph.audio.f0 import get_tracker, mel_frame_f0
from voxmorph.audio.features import log_mel
from voxmorph.audio.io import load_audio
from voxmorph.eval.asr import Transcriber
from voxmorph.eval.report import write_report
from voxmorph.models.decoder import VoiceConditioning, frame_conditioning, source_frames
from voxmorph.models.speaker import SpeakerEncoder
from voxmorph.pipeline.neural.calibration import calibrate_voice
from voxmorph.pipeline.neural.models import NeuralModels
from voxmorph.pipeline.neural.offline import NeuralConverter
from voxmorph.pipeline.options import ConversionOptions
from voxmorph.text.distance import cer
from voxmorph.voices.enrol import enrol_voice
from voxmorph.voices.statistics import StatsAccumulator

PAIRS = (("SM1", "TF1"), ("SF1", "TM1"))
LDA_SPEAKERS = ("vcc2016_train/SF2", "vcc2016_train/SF3", "vcc2016_train/SM2", "vcc2016_train/TF2",
                "vcc2016_train/TM2", "vcc2016_train/TM3", "librispeech/40", "librispeech/78")


class Lab:
    def __init__(self, decoder: Path | None = None):
        self.models, self.enc = NeuralModels.load(decoder=decoder), SpeakerEncoder.shared()
        self.tracker, self.asr = get_tracker("dio"), Transcriber()

    def sim(self, y: np.ndarray, ref: np.ndarray) -> float:
        e = self.enc.embed(y)
        return float(e @ ref / (np.linalg.norm(e) * np.linalg.norm(ref)))

    @torch.no_grad()
    def speech_content(self, x: np.ndarray) -> torch.Tensor:
        """Content frames ``(D, T)`` within 6 dB of the loudest mel frame."""
        c = source_frames(self.models.content, x, 10**9)[0][0]
        level = log_mel(x)[:, : c.shape[1]].mean(0)
        return c[:, level > level.max() - 6.0]

    @torch.no_grad()
    def convert(self, x: np.ndarray, conv: NeuralConverter, content=lambda c: c, voice=None) -> np.ndarray:
        f0 = mel_frame_f0(self.tracker, x)
        acc = StatsAccumulator()
        acc.add_f0(f0)
        f0 = torch.from_numpy(np.asarray(conv.mapping.map_f0(f0, acc.result()), np.float32))[None]
        c, energy = source_frames(self.models.content, x, f0.shape[-1])
        cond = frame_conditioning(content(c[0])[None], f0, energy)
        mel = self.models.decoder.render(cond, voice or conv.voice)
        return self.models.vocoder.synthesise(mel[0], f0[0])


def speaker_directions(lab: Lab, data: Path, k: int = 7) -> np.ndarray:
    """An orthonormal basis ``(D, k)`` of the top LDA directions of utterance-mean content."""
    means, labels = [], []
    for i, spk in enumerate(LDA_SPEAKERS):
        for f in sorted((data / spk).glob("*.flac"))[:40]:
            means.append(lab.speech_content(load_audio(f)).mean(1).numpy())
            labels.append(i)
    x, y = np.stack(means), np.array(labels)
    mu, d = x.mean(0), x.shape[1]
    sw, sb = np.zeros((d, d)), np.zeros((d, d))
    for c in np.unique(y):
        xc = x[y == c]
        sw += (xc - xc.mean(0)).T @ (xc - xc.mean(0))
        sb += len(xc) * np.outer(xc.mean(0) - mu, xc.mean(0) - mu)
    w, v = eigh(sb, sw + 1e-3 * np.trace(sw) / d * np.eye(d))
    q, _ = np.linalg.qr(v[:, np.argsort(w)[::-1][:k]])
    return q


def run_pair(lab: Lab, data: Path, source: str, target: str, basis: np.ndarray, n: int) -> dict:
    files = sorted((data / "vcc2016_train" / target).glob("*.flac"))
    enrol, held = files[:10], files[10 : 10 + n]
    sources = [load_audio(f) for f in sorted((data / "vcc2016_train" / source).glob("*.flac"))[:n]]
    m = lab.models
    voice = enrol_voice("dev", enrol, check=False, tracker=lab.tracker)
    voice = calibrate_voice(voice, enrol, m, lab.tracker)
    ref = np.mean([lab.enc.embed(load_audio(f)) for f in enrol], 0)
    conv = NeuralConverter(voice, m, ConversionOptions(f0_tracker="dio"))
    out: dict[str, dict] = {}

    def score(name: str, audio: list[np.ndarray], words: bool = True) -> None:
        out[name] = {"similarity": float(np.mean([lab.sim(y, ref) for y in audio]))}
        if words:
            out[name]["cer"] = float(np.mean([cer(s, lab.asr(y)) for s, y in zip(said, audio, strict=True)]))

    said = [lab.asr(x) for x in sources]
    own = [load_audio(f) for f in held]
    out["target, held-out sentences"] = {"similarity": float(np.mean([lab.sim(x, ref) for x in own]))}
    copies = [m.vocoder.synthesise(log_mel(x), torch.from_numpy(mel_frame_f0(lab.tracker, x)).float())
              for x in own]
    out["target through the vocoder"] = {"similarity": float(np.mean([lab.sim(y, ref) for y in copies]))}
    rebuilt = []
    for x in own:
        conv.reset()
        rebuilt.append(conv.convert(x))
    out["target rebuilt in its own voice"] = {
        "similarity": float(np.mean([lab.sim(y, ref) for y in rebuilt]))}
    score("source, unconverted", sources)
    score("convert (calibrated)", [lab.convert(x, conv) for x in sources])
    target_c = torch.cat([lab.speech_content(load_audio(f)) for f in enrol], 1)
    delta = target_c.mean(1) - torch.cat([lab.speech_content(x) for x in sources], 1).mean(1)
    q = torch.from_numpy(basis.astype(np.float32))
    score("content mean shift", [lab.convert(x, conv, lambda c: c + delta[:, None]) for x in sources])
    along = (q @ (q.T @ delta))[:, None]
    score("content mean shift, speaker directions",
          [lab.convert(x, conv, lambda c: c + along) for x in sources])
    unit = target_c / target_c.norm(dim=0, keepdim=True)

    def nearest(c: torch.Tensor) -> torch.Tensor:
        idx = ((c / c.norm(dim=0, keepdim=True)).T @ unit).topk(4, dim=1).indices
        return 0.5 * c + 0.5 * target_c[:, idx].mean(-1)

    score("content halfway to its 4 nearest target frames", [lab.convert(x, conv, nearest) for x in sources])
    e_t = np.asarray(voice.embedding, np.float32)
    z = torch.zeros(1, m.decoder.config.style_dim)
    with torch.no_grad():
        base = m.decoder.voice(torch.from_numpy(e_t)[None], z).u
        pushed = []
        for x in sources:
            e = e_t + 0.5 * (e_t - lab.enc.embed(x).astype(np.float32))
            u = m.decoder.voice(torch.from_numpy(e / np.linalg.norm(e))[None], z).u
            v = VoiceConditioning(conv.voice.u + u - base, conv.voice.film, conv.voice.mel_bias)
            pushed.append(lab.convert(x, conv, voice=v))
    score("speaker vector pushed from the source's (a = 0.5)", pushed)
    return out


def markdown(r: dict) -> str:
    pairs = list(r["pairs"])
    rows = list(r["pairs"][pairs[0]])

    def cell(m: dict | None, k: str) -> str:
        return f"{m[k]:.3f}" if m and k in m else "–"

    lines = ["# Identity on development pairs (VCC2016 training set, not the benchmark)", "",
             f"{r['sentences']} sentences per row; similarity (resemblyzer) to the target's 10 enrolment "
             "sentences, CER of the transcript against the source's.", "",
             "| stage or change | " + " | ".join(f"{p} similarity | {p} CER" for p in pairs) + " |",
             "|---|" + "---:|---:|" * len(pairs)]
    for row in rows:
        cells = (f"{cell(r['pairs'][p].get(row), 'similarity')} | {cell(r['pairs'][p].get(row), 'cer')}"
                 for p in pairs)
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--sentences", type=int, default=8)
    ap.add_argument("--decoder", type=Path, default=None, help="a decoder folder (default: the shipped one)")
    ap.add_argument("--out", type=Path, default=Path("runs/bench/identity_dev"))
    args = ap.parse_args()
    lab = Lab(args.decoder)
    basis = speaker_directions(lab, args.data)
    result = {"sentences": args.sentences, "decoder": str(args.decoder or "shipped"), "pairs": {
        f"{s}→{t}": run_pair(lab, args.data, s, t, basis, args.sentences) for s, t in PAIRS}}
    write_report(args.out, result, markdown)
    print(markdown(result))


if __name__ == "__main__":
    main()
