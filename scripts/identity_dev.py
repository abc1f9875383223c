"""Where does a conversion lose the target's identity, and can inference alone win it back?
Development pairs from the VCC2016 training set (not the VCC2018 benchmark): SM1 -> TF1 and
SF1 -> TM1, the target enrolled (and calibrated) from its first 10 sentences, which are also the
similarity reference, as in ``bench vc``.

Stages: the target's own held-out sentences as recorded, through the vocoder (copy synthesis),
rebuilt by the converter in their own voice (content, pitch and energy all the target's); the
source's sentences converted (the voice calibrated by round trips, and by plain rebuilds,
the default), and unconverted. Then changes to the conversion: the content frames shifted by the
difference of the target's and the source's mean content (everywhere, or only along the 7
directions where speakers differ most: LDA over 8 other speakers), each content frame halfway to
the mean of its 4 nearest target content frames, the decoded mel frames replaced by (or moved
halfway to) the mean of their 4 nearest mel frames of the target's recordings, the content read
back from the conversion and decoded a second time, the speaker vector pushed away from the
source's (``e_t + a (e_t - e_s)``), and an adapter trained on the target's recordings rebuilt
(the shipped recipe) or converted into another voice and back. Similarity (resemblyzer) and CER
of the conversion's transcript against the source's.

    python scripts/identity_dev.py --out runs/bench/identity_dev [--decoder DIR --vocoder DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch
from scipy.linalg import eigh

from voxmorph.audio.f0 import get_tracker, mel_frame_f0
from voxmorph.audio.features import log_mel
from voxmorph.audio.io import load_audio
from voxmorph.data.cache import FeatureCache
from voxmorph.data.corpora import Utterance
from voxmorph.eval.asr import Transcriber
from voxmorph.eval.report import write_report
from voxmorph.models.decoder import (
    VoiceConditioning,
    frame_conditioning,
    load_adapter,
    round_trip,
    source_frames,
)
from voxmorph.models.speaker import SpeakerEncoder
from voxmorph.pipeline.neural.calibration import calibrate_voice, round_trip_voices
from voxmorph.pipeline.neural.models import NeuralModels
from voxmorph.pipeline.neural.offline import NeuralConverter
from voxmorph.pipeline.options import ConversionOptions
from voxmorph.text.distance import cer
from voxmorph.train.adapter import AdapterRecipe, AdapterRecipeConfig
from voxmorph.train.decoder import reconstruction_inputs
from voxmorph.train.loop import LoopConfig, train
from voxmorph.train.recipe import StepOutput
from voxmorph.voices.enrol import enrol_voice
from voxmorph.voices.statistics import StatsAccumulator

PAIRS = (("SM1", "TF1"), ("SF1", "TM1"))
LDA_SPEAKERS = ("vcc2016_train/SF2", "vcc2016_train/SF3", "vcc2016_train/SM2", "vcc2016_train/TF2",
                "vcc2016_train/TM2", "vcc2016_train/TM3", "librispeech/40", "librispeech/78")


class Lab:
    def __init__(self, decoder: Path | None = None, vocoder: Path | None = None):
        self.models, self.enc = NeuralModels.load(decoder=decoder, vocoder=vocoder), SpeakerEncoder.shared()
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
    def convert(self, x: np.ndarray, conv: NeuralConverter, content=lambda c: c, voice=None,
                mel=lambda m: m, passes: int = 1) -> np.ndarray:
        """``x`` converted as ``conv`` does, with ``content`` applied to its content frames, ``mel``
        to the decoded log-mel, and ``passes`` - 1 more decodings of the content read back from the
        decoded mel."""
        f0 = mel_frame_f0(self.tracker, x)
        acc = StatsAccumulator()
        acc.add_f0(f0)
        f0 = torch.from_numpy(np.asarray(conv.mapping.map_f0(f0, acc.result()), np.float32))[None]
        c, energy = source_frames(self.models.content, x, f0.shape[-1])
        cond = frame_conditioning(content(c[0])[None], f0, energy)
        out = self.models.decoder.render(cond, voice or conv.voice)
        for _ in range(passes - 1):
            c, _ = self.models.content(out)
            out = self.models.decoder.render(frame_conditioning(c, f0, energy), voice or conv.voice)
        return self.models.vocoder.synthesise(mel(out[0]), f0[0])


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


def run_pair(lab: Lab, data: Path, source: str, target: str, basis: np.ndarray, n: int,
             adapt_steps: int) -> dict:
    files = sorted((data / "vcc2016_train" / target).glob("*.flac"))
    enrol, held = files[:10], files[10 : 10 + n]
    sources = [load_audio(f) for f in sorted((data / "vcc2016_train" / source).glob("*.flac"))[:n]]
    m = lab.models
    plain_voice = enrol_voice("dev", enrol, check=False, tracker=lab.tracker)
    voice = calibrate_voice(plain_voice, enrol, m, lab.tracker, through=round_trip_voices(plain_voice))
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
    score("convert (calibrated by round trips)", [lab.convert(x, conv) for x in sources])
    rebuilt_bias = NeuralConverter(calibrate_voice(plain_voice, enrol, m, lab.tracker, through=[]), m,
                                   ConversionOptions(f0_tracker="dio"))
    score("convert (calibrated by plain rebuilds: the default)",
          [lab.convert(x, rebuilt_bias) for x in sources])
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
    target_mel = torch.cat([torch.as_tensor(log_mel(load_audio(f))).float() for f in enrol], 1)

    def retrieved(share: float):
        def swap(mel: torch.Tensor) -> torch.Tensor:
            idx = torch.cdist(mel.T, target_mel.T).topk(4, dim=1, largest=False).indices
            return (1 - share) * mel + share * target_mel[:, idx].mean(-1)
        return swap

    score("converted mel frames replaced by their 4 nearest target mel frames",
          [lab.convert(x, conv, mel=retrieved(1.0)) for x in sources])
    score("… halfway to them", [lab.convert(x, conv, mel=retrieved(0.5)) for x in sources])
    score("content read back from the conversion and decoded again",
          [lab.convert(x, conv, passes=2) for x in sources])
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
    if adapt_steps:
        others = [v for v in round_trip_voices(plain_voice, 20) if v.name != f"vcc-{source.lower()}"]
        for share, name in ((0.0, "adapter trained on rebuilds"), (1.0, "adapter trained on round trips")):
            adapted = adapt_round_trips(plain_voice, enrol, m, others, share, adapt_steps)
            score(f"{name} ({adapt_steps} steps)", [lab.convert(x, conv, voice=adapted) for x in sources])
    return out


class RoundTripAdapter(AdapterRecipe):
    """An adapter trained on content read back from the segment's conversion into another voice
    (a ``share`` of the segments; 0: the shipped recipe's rebuilds)."""

    def __init__(self, *args, others: list, share: float, log_f0: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.share, self.log_f0 = share, log_f0
        self.others = (torch.from_numpy(np.stack([np.asarray(v.embedding, np.float32) for v in others])),
                       torch.tensor([v.stats.log_f0_mean for v in others], dtype=torch.float32))

    def step(self, phase, models, batch, carry, step):
        c = self.config
        rng = np.random.default_rng((c.seed, step))
        mel, cond = reconstruction_inputs(self.content, batch, rng, c.warp)
        if self.share > 0:
            with torch.no_grad():
                idx = torch.from_numpy(rng.integers(0, len(self.others[0]), len(cond)))
                z = torch.zeros(len(cond), self.decoder.config.style_dim)
                other = self.decoder.voice(self.others[0][idx], z)
                there = round_trip(self.content, self.decoder, cond, other, self.others[1][idx] - self.log_f0)
                pick = torch.from_numpy(rng.random(len(cond)) < self.share)[:, None, None]
                cond = torch.where(pick, there, cond)
        adapter = models["adapter"]
        offsets = adapter.film.pow(2).mean() + adapter.mel_bias.pow(2).mean()
        return StepOutput({"mel": (self.decoder.render(cond, adapter.conditioning()) - mel).abs().mean(),
                           "offsets": offsets}, {"mel": 1.0, "offsets": c.offset_l2})


def adapt_round_trips(voice, files, models: NeuralModels, others: list, share: float, steps: int):
    utts = [Utterance(Path(f), voice.name, "user") for f in files]
    with tempfile.TemporaryDirectory() as tmp:
        recipe = RoundTripAdapter(AdapterRecipeConfig(), utts, FeatureCache(Path(tmp) / "features"),
                                  models.content, models.decoder, voice.embedding, others=others,
                                  share=share, log_f0=voice.stats.log_f0_mean)
        train(recipe, Path(tmp) / "run", LoopConfig(steps=steps, batch_size=8, checkpoint_every=steps,
                                                    sample_every=steps + 1, log_every=50), progress=False)
        adapter, _ = load_adapter(Path(tmp) / "run" / "model")
    return adapter.conditioning()


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
    ap.add_argument("--vocoder", type=Path, default=None, help="a vocoder folder (default: the shipped one)")
    ap.add_argument("--adapt-steps", type=int, default=300, help="adapter steps per pair (0: none)")
    ap.add_argument("--out", type=Path, default=Path("runs/bench/identity_dev"))
    args = ap.parse_args()
    lab = Lab(args.decoder, args.vocoder)
    basis = speaker_directions(lab, args.data)
    result = {"sentences": args.sentences, "decoder": str(args.decoder or "shipped"),
              "vocoder": str(args.vocoder or "shipped"), "pairs": {
                  f"{s}→{t}": run_pair(lab, args.data, s, t, basis, args.sentences, args.adapt_steps)
                  for s, t in PAIRS}}
    write_report(args.out, result, markdown)
    print(markdown(result))


if __name__ == "__main__":
    main()
