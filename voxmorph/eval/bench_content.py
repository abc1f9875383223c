"""Content-encoder benchmark: does it hear phones, and does it forget the speaker?

- **PER, held-out synthetic voices**: sentences and voices the encoder never trained on (a new
  Faker seed, piper joe at a rate it did not train at, espeak-ng voices with new settings),
  greedy CTC decoding against the espeak-ng G2P of the text.
- **Cross-speaker phone agreement, real speech**: VCC2018's evaluation set is parallel (every
  speaker reads the same sentences) but has no transcripts. For each sentence, the phone strings
  recognised for different speakers are compared with each other (PER of one against the other,
  averaged over speaker pairs). A content encoder that hears phones and not voices gives the
  same string for every speaker (0); unrelated strings give about 1.
- **Speaker probe**: a logistic-regression probe trained on utterance-mean content of half of
  each VCC2018 speaker's sentences and tested on the rest; chance is 1 / 12. The same probe on
  the utterance-mean log-mel is the baseline in the same run. Lower is better for content.
"""

from __future__ import annotations

import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from voxmorph.audio.features import log_mel
from voxmorph.audio.io import load_audio
from voxmorph.data.corpora import read_corpus
from voxmorph.data.synthetic import SyntheticVoice, generate
from voxmorph.errors import UserError
from voxmorph.eval.report import write_report
from voxmorph.models.content import ContentEncoder, best_path
from voxmorph.text.distance import edit_distance
from voxmorph.text.phonemes import encode, phonemize

HELD_OUT_VOICES = (
    SyntheticVoice("piper-joe-1.05", "piper", length_scale=1.05),
    SyntheticVoice("espeak-en-us-m4-eval", "espeak", voice="en-us+m4", pitch=38, rate=150),
    SyntheticVoice("espeak-en-us-f3-eval", "espeak", voice="en-us+f3", pitch=66, rate=170),
)
HELD_OUT_SEED = 12345
"""Faker seed of the held-out sentences (training corpora use small seeds)."""


def per(reference: list[list[int]], hypothesis: list[list[int]]) -> float:
    """Phone error rate over a set: total edits / total reference phones."""
    edits = sum(edit_distance(h, r) for r, h in zip(reference, hypothesis, strict=True))
    return edits / max(1, sum(len(r) for r in reference))


@torch.inference_mode()
def recognise(model: ContentEncoder, audio: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Phone ids and the utterance-mean content of one recording."""
    content, logits = model(log_mel(audio)[None])
    return best_path(logits[0]), content[0].mean(-1).numpy()


def synthetic_per(model: ContentEncoder, per_voice: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp, per_voice, list(HELD_OUT_VOICES), seed=HELD_OUT_SEED, progress=False)
        utts = read_corpus(tmp)
        refs = [encode(p) for p in phonemize([u.text for u in utts])]
        hyps = [recognise(model, load_audio(u.path))[0] for u in utts]
    return {"utterances": len(utts), "per": per(refs, hyps)}


def _probe_accuracy(features: np.ndarray, labels: np.ndarray, train: np.ndarray) -> float:
    """Held-out accuracy of a multinomial logistic regression (standardised features, L2)."""
    mean, std = features[train].mean(0), features[train].std(0) + 1e-6
    x = torch.from_numpy((features - mean) / std).float()
    y = torch.from_numpy(labels)
    classes = int(labels.max()) + 1
    probe = torch.nn.Linear(x.shape[1], classes)
    opt = torch.optim.LBFGS(probe.parameters(), max_iter=200)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(probe(x[train]), y[train]) + 1e-3 * probe.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float((probe(x[~train]).argmax(-1) == y[~train]).float().mean())


def parallel_agreement(model: ContentEncoder, root: Path, sentences: int) -> dict:
    utts = [u for u in read_corpus(root, "vcc") if int(Path(u.path).stem) < 30001 + sentences]
    if not utts:
        raise UserError(f"{root}: no VCC2018 evaluation utterances")
    speakers = sorted({u.speaker for u in utts})
    phones, means, mels, labels, sentence = [], [], [], [], []
    for u in utts:
        x = load_audio(u.path)
        p, m = recognise(model, x)
        phones.append(p)
        means.append(m)
        mels.append(log_mel(x).mean(-1).numpy())
        labels.append(speakers.index(u.speaker))
        sentence.append(Path(u.path).stem)
    pair_pers = []
    for s in sorted(set(sentence)):
        idx = [i for i, t in enumerate(sentence) if t == s]
        pair_pers += [edit_distance(phones[a], phones[b]) / max(1, len(phones[a]), len(phones[b]))
                      for a, b in itertools.combinations(idx, 2)]
    labels_a = np.array(labels)
    order = np.array([int(t) for t in sentence])
    train = order < np.median(order)
    return {
        "speakers": len(speakers), "sentences": len(set(sentence)), "utterances": len(utts),
        "cross_speaker_per": float(np.mean(pair_pers)),
        "probe_content": _probe_accuracy(np.stack(means), labels_a, train),
        "probe_mel": _probe_accuracy(np.stack(mels), labels_a, train),
        "chance": 1.0 / len(speakers),
    }


def run_bench_content(model: ContentEncoder, meta: dict, data: Path, out: Path, per_voice: int = 15,
                      sentences: int = 20) -> str:
    start = time.perf_counter()
    syn = synthetic_per(model, per_voice)
    real = parallel_agreement(model, data / "vcc2018_eval", sentences)
    card = meta.get("card", {})
    result = {"model": {"step": card.get("steps"), "cpu_hours": card.get("cpu_hours")},
              "synthetic": syn, "vcc2018": real, "seconds": time.perf_counter() - start}
    md = "\n".join([
        "# voxmorph content-encoder benchmark", "",
        f"Model: step {card.get('steps')}, {card.get('cpu_hours')} CPU-hours.", "",
        "| measure | value |", "|---|---:|",
        f"| PER, held-out synthetic voices ({syn['utterances']} utterances) | {syn['per']:.3f} |",
        f"| cross-speaker phone disagreement, VCC2018 ({real['speakers']} speakers x "
        f"{real['sentences']} sentences) | {real['cross_speaker_per']:.3f} |",
        f"| speaker probe on utterance-mean content (chance {real['chance']:.3f}) "
        f"| {real['probe_content']:.3f} |",
        f"| same probe on utterance-mean log-mel (baseline) | {real['probe_mel']:.3f} |",
        "", f"Benchmark time {result['seconds'] / 60:.1f} min.", "",
    ])
    write_report(out, result, md)
    return md
