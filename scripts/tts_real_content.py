"""The synthesiser's second attempt, measured: each predicted content frame replaced at synthesis by
the mean of its k nearest real content frames (over a bank from training recordings, optionally
only frames of the same phone), plus two pitch diagnostics, on the development sentences of
``scripts/tts_dev.py``. What docs/journal/tts.md's "Second attempt" table comes from.

    python scripts/tts_real_content.py --out runs/bench/tts_real_content
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from voxmorph.audio.features import log_mel
from voxmorph.audio.io import load_audio
from voxmorph.eval.asr import Transcriber
from voxmorph.eval.bench_tts import wer
from voxmorph.eval.metrics import dnsmos
from voxmorph.eval.report import write_report
from voxmorph.pipeline import speak
from voxmorph.pipeline.neural.models import NeuralModels
from voxmorph.voices.store import VoiceStore

sys.path.insert(0, str(Path(__file__).parent))
from tts_dev import DEV  # noqa: E402

DATA = Path("../shared/data")
HELD_OUT = ("40", "78")  # LibriSpeech speakers bench tts enrols


@torch.no_grad()
def bank(models: NeuralModels, stride: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Content frames ``(N, D)`` and their phone-head labels ``(N,)`` from training recordings."""
    files = [f for f in sorted(DATA.glob("librispeech/*/*.flac")) if f.parent.name not in HELD_OUT]
    files += sorted(DATA.glob("vcc2016_train/*/*.flac"))
    feats, labels = [], []
    for f in tqdm(files, desc="bank", unit="file"):
        c, logits = models.content(log_mel(load_audio(f))[None])
        feats.append(c[0].T[::stride])
        labels.append(logits[0].argmax(0)[::stride])
    return torch.cat(feats), torch.cat(labels)


def variant(frames, name: str, feats: torch.Tensor, labels: torch.Tensor, k: int):
    """``frames`` (the shipped ``Synthesiser.frames``) with the change ``name`` applied to its output."""
    normed = feats / feats.norm(dim=1, keepdim=True)

    def changed(self, tok, index):
        content, f0, energy = frames(self, tok, index)
        mean = self.log_f0[0]
        if name == "flat":
            f0 = torch.where(f0 > 0, torch.full_like(f0, float(np.exp(mean))), f0)
        elif name == "halved":
            f0 = torch.where(f0 > 0, torch.exp(mean + 0.5 * (f0.clamp(min=1).log() - mean)), f0)
        elif name in ("knn", "knn-phone"):
            q = content[0].T
            sim = (q / q.norm(dim=1, keepdim=True)) @ normed.T
            if name == "knn-phone":
                head = self.models.content.phones
                lab = torch.nn.functional.conv1d(content, head.weight, head.bias)[0].argmax(0)
                sim = torch.where(labels[None] == lab[:, None], sim, sim - 10.0)
            content = feats[sim.topk(k, dim=1).indices].mean(1).T[None]
        return content, f0, energy

    return changed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--out", type=Path, default=Path("runs/bench/tts_real_content"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    feats, labels = bank(NeuralModels.load())
    asr, store, rows = Transcriber(), VoiceStore(), {}
    frames = speak.Synthesiser.frames
    for name in ("shipped", "knn", "knn-phone", "flat", "halved"):
        changed = variant(frames, name, feats, labels, args.k)
        speak.Synthesiser.frames = frames if name == "shipped" else changed
        for v in ("vcc-tm1", "vcc-tf1"):
            synth = speak.Synthesiser.load(store.get(v), None, speak.SpeakOptions(seed=0))
            audio = [synth.speak(t) for t in DEV]
            rows[f"{name} {v}"] = {
                "wer": float(np.mean([wer(t, asr(y)) for t, y in zip(DEV, audio, strict=True)])),
                "dnsmos": float(np.mean([dnsmos(y)["ovrl"] for y in audio]))}
            print(name, v, rows[f"{name} {v}"], flush=True)
    speak.Synthesiser.frames = frames
    data = {"bank_frames": len(feats), "k": args.k, "rows": rows}
    table = "\n".join(f"| {k} | {r['wer']:.3f} | {r['dnsmos']:.3f} |" for k, r in rows.items())
    head = (f"# Real content at synthesis\n\nBank: {len(feats)} content frames; k = {args.k}; "
            "ten development sentences, seed 0.\n\n| system voice | WER | DNSMOS |\n|---|---:|---:|\n")
    write_report(args.out, data, f"{head}{table}\n")


if __name__ == "__main__":
    main()
