"""Training data of the text-to-frames model: transcribed speech -> tokens, durations, frame targets.

Each transcribed utterance is read once:

- **frame targets**: the content encoder's output on its log-mel (what the decoder reads when it
  converts), log F0 normalised by its speaker's mean and spread (so the model learns a contour,
  and a voice's own range is applied at synthesis), a voicing flag, and the frame energy
  normalised as the decoder normalises it;
- **durations** by forced alignment of the transcript's phones with the content encoder's own
  CTC phone head (:func:`voxmorph.train.alignment.align_states`): frames per phone; silence
  inside a word, or shorter than :data:`MIN_PAUSE` between words, goes to the phone before it; a
  longer silence between words becomes a ``PAUSE`` token; the silence before and after the
  utterance the two ``EDGE`` tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from voxmorph.audio.features import energy_db, log_mel
from voxmorph.data.cache import FeatureCache
from voxmorph.data.corpora import Utterance
from voxmorph.data.synthetic import SYNTH_MARK
from voxmorph.data.utterances import EPOCH
from voxmorph.models.content import ContentEncoder
from voxmorph.models.decoder import ENERGY_MEAN, ENERGY_STD
from voxmorph.text.normalise import normalise
from voxmorph.text.phonemes import encode, phonemize_words
from voxmorph.text.tokens import EDGE, from_words
from voxmorph.train.alignment import align_states, silence_probability

MIN_PAUSE = 8
"""Frames (10 ms) of silence between two words that make a ``PAUSE`` token."""


@dataclass(frozen=True)
class TtsItem:
    tokens: np.ndarray  # (N,) int64
    word_start: np.ndarray  # (N,) int64
    durations: np.ndarray  # (N,) int64, summing to T
    frames: np.ndarray  # (content_dim + 3, T) float32: content, log F0 z-score, voiced, energy
    real: bool = True
    """A real recording: its prosody (F0, energy, durations) is learned; synthetic speech teaches
    content only."""


def is_synthetic(utt: Utterance) -> bool:
    """Made by ``voxmorph data synth`` (its corpus folder holds the voices it used)."""
    return (Path(utt.path).parents[2] / SYNTH_MARK).exists()


def durations_from_states(states: np.ndarray, words: list[list[str]]
                          ) -> tuple[list[list[list[str]]], list[int]]:
    """An alignment path (state per frame, as :func:`align_states` gives) over the phones of
    ``words`` -> phrases (words split where a pause was found) and the duration of every token of
    :func:`voxmorph.text.tokens.from_words` on them."""
    n_phones = sum(len(w) for w in words)
    counts = np.bincount(states[states >= 0], minlength=2 * n_phones + 1)
    phone_frames = counts[1::2].tolist()
    gap_frames = counts[0::2].tolist()  # gap i: before phone i; gap n_phones: after the last
    durations = [gap_frames[0]]
    phrases: list[list[list[str]]] = [[]]
    i = 0
    for w, word in enumerate(words):
        for j in range(len(word)):
            d = phone_frames[i]
            after = gap_frames[i + 1]
            last_phone = i + 1 == n_phones
            word_end = j + 1 == len(word)
            if not last_phone and (not word_end or after < MIN_PAUSE):
                d += after  # silence inside a word, or too short to be a pause
            durations.append(d)
            i += 1
        phrases[-1].append(word)
        if w + 1 < len(words) and gap_frames[i] >= MIN_PAUSE:
            durations.append(gap_frames[i])
            phrases.append([])
    durations.append(gap_frames[n_phones])
    return phrases, durations


def speaker_f0_stats(utts: Sequence[Utterance], f0s: Sequence[np.ndarray]) -> dict[str, tuple[float, float]]:
    """``corpus/speaker -> (mean, std)`` of log F0 over all the speaker's voiced frames."""
    logs: dict[str, list[np.ndarray]] = {}
    for u, f in zip(utts, f0s, strict=True):
        logs.setdefault(f"{u.corpus}/{u.speaker}", []).append(np.log(f[f > 0]))
    out = {}
    for spk, v in logs.items():
        x = np.concatenate(v)
        out[spk] = (float(x.mean()), float(max(x.std(), 0.05))) if x.size > 50 else (5.0, 0.2)
    return out


@torch.no_grad()
def prepare_items(utts: Sequence[Utterance], cache: FeatureCache, content: ContentEncoder,
                  batch: int = 16, progress: bool = True) -> list[TtsItem]:
    """The transcribed utterances of ``utts`` -> :class:`TtsItem` (utterances whose transcript
    has no phone, or more phones than frames, are skipped)."""
    utts = [u for u in utts if u.text]
    cache.prepare(utts, progress=progress)
    feats = [cache[u] for u in utts]
    stats = speaker_f0_stats(utts, [f.f0 for f in feats])
    words = phonemize_words([normalise(u.text, check=False) for u in utts])
    items = []
    bar = tqdm(total=len(utts), desc="aligning transcripts", unit="utt", disable=not progress)
    for lo in range(0, len(utts), batch):
        hi = min(lo + batch, len(utts))
        mels = {i: log_mel(feats[i].audio.astype(np.float32) / 32768.0) for i in range(lo, hi)}
        idx = [i for i in range(lo, hi)
               if words[i] and sum(map(len, words[i])) < min(mels[i].shape[-1], len(feats[i].f0))]
        if idx:
            items += _align_batch([utts[i] for i in idx], [feats[i] for i in idx], [mels[i] for i in idx],
                                  [words[i] for i in idx], stats, content)
        bar.update(hi - lo)
    bar.close()
    return items


def _align_batch(utts, feats, mels, words, stats, content: ContentEncoder) -> list[TtsItem]:
    frames = torch.tensor([min(m.shape[-1], len(f.f0)) for m, f in zip(mels, feats, strict=True)])
    t = int(frames.max())
    mel = torch.stack([torch.nn.functional.pad(m[:, :t], (0, t - min(m.shape[-1], t)), value=float(m.min()))
                       for m in mels])
    c, logits = content(mel)
    flat = [[p for w in ws for p in w] for ws in words]
    phones = torch.zeros(len(flat), max(map(len, flat)), dtype=torch.long)
    for b, f in enumerate(flat):
        phones[b, : len(f)] = torch.tensor(encode(f))
    states = align_states(logits, silence_probability(mel, frames), phones,
                          torch.tensor([len(f) for f in flat]), frames).numpy()
    out = []
    for b, (u, f) in enumerate(zip(utts, feats, strict=True)):
        n = int(frames[b])
        phrases, durations = durations_from_states(states[b, :n], words[b])
        tok = from_words(phrases)
        assert len(tok.ids) == len(durations) and sum(durations) == n
        mean, std = stats[f"{u.corpus}/{u.speaker}"]
        f0 = f.f0[:n]
        voiced = f0 > 0
        lf0 = np.where(voiced, (np.log(np.maximum(f0, 1.0)) - mean) / std, 0.0)
        audio = f.audio.astype(np.float32) / 32768.0
        energy = (energy_db(audio)[:n].numpy() - ENERGY_MEAN) / ENERGY_STD
        target = np.concatenate([c[b, :, :n].numpy(), lf0[None], voiced[None], energy[None]])
        target = target.astype(np.float32)
        out.append(TtsItem(np.array(tok.ids), np.array(tok.word_start), np.array(durations), target,
                           real=not is_synthetic(u)))
    return out


class TtsDataset(Dataset):
    """``dataset[i]``: a random utterance (a fixed function of ``i``), cut at token boundaries to at
    most ``max_frames`` frames when longer (the cut keeps an ``EDGE`` token at both ends)."""

    def __init__(self, items: Sequence[TtsItem], max_frames: int, seed: int = 0):
        if not items:
            raise ValueError("no transcribed utterances to train on")
        self.items, self.max_frames, self.seed = list(items), max_frames, seed

    def __len__(self) -> int:
        return EPOCH

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng((self.seed, int(i)))
        it = self.items[rng.integers(len(self.items))]
        tokens, starts, durs, frames = it.tokens, it.word_start, it.durations, it.frames
        if durs.sum() > self.max_frames:
            ends = np.cumsum(durs)
            first = int(rng.integers(1, max(2, len(durs) - 1)))
            first = min(first, int(np.searchsorted(ends, ends[-1] - self.max_frames)) + 1)
            last = int(np.searchsorted(ends, ends[first - 1] + self.max_frames, side="right")) - 1
            last = max(last, first + 1)
            t0, t1 = int(ends[first - 1]), int(ends[last - 1])
            tokens = np.concatenate([[EDGE], tokens[first:last], [EDGE]])
            starts = np.concatenate([[0], starts[first:last], [0]])
            durs = np.concatenate([[0], durs[first:last], [0]])
            frames = frames[:, t0:t1]
        as_long = lambda a: torch.from_numpy(a.astype(np.int64))  # noqa: E731
        return {"tokens": as_long(tokens), "word_start": as_long(starts), "durations": as_long(durs),
                "frames": torch.from_numpy(frames), "real": float(it.real)}


def collate(items: list[dict]) -> dict[str, torch.Tensor]:
    """Pad a batch: tokens with ``PAD`` (0, zero duration), frames with zeros; ``mask (B, 1, T)``,
    ``real (B, 1, 1)`` (1 for a real recording)."""
    n = max(len(it["tokens"]) for it in items)
    t = max(it["frames"].shape[1] for it in items)
    b = len(items)
    out = {"tokens": torch.zeros(b, n, dtype=torch.long), "word_start": torch.zeros(b, n, dtype=torch.long),
           "durations": torch.zeros(b, n, dtype=torch.long),
           "frames": torch.zeros(b, items[0]["frames"].shape[0], t), "mask": torch.zeros(b, 1, t),
           "real": torch.tensor([it["real"] for it in items])[:, None, None]}
    for i, it in enumerate(items):
        k, f = len(it["tokens"]), it["frames"].shape[1]
        out["tokens"][i, :k] = it["tokens"]
        out["word_start"][i, :k] = it["word_start"]
        out["durations"][i, :k] = it["durations"]
        out["frames"][i, :, :f] = it["frames"]
        out["mask"][i, :, :f] = 1.0
    return out

