"""Training recipe for the emotional prosody model (:mod:`voxmorph.emotion.prosody`): a VAE with
an adversarial critic over aligned pairs of readings.

Data: every emotional take paired with the same speaker's neutral reading of the same sentence
(EmoDB), aligned frame by frame by dynamic time warping over the content encoder's frames (what is
said, not how: the two readings differ in pitch, loudness and pace but not in content). On the
neutral reading's time axis the target is the pitch change (semitones, frames voiced in both) and
the loudness change (dB, frames that are speech in either) the emotion makes.

Generator phase: L1 on both changes, the KL of the latent toward ``N(0, I)`` (ramped in), and from
``gan_start`` on LSGAN and feature matching against a critic that sees the neutral contour, the
change and the emotion. Critic phase: LSGAN on real and generated changes; its accuracy (real
called real, generated called generated, averaged) is logged and reported on held-out speakers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from voxmorph.audio.f0 import get_tracker, mel_frame_f0
from voxmorph.audio.features import energy_db, log_mel
from voxmorph.audio.io import load_audio
from voxmorph.data.corpora import Utterance
from voxmorph.emotion.prosody import (
    CONFIGS,
    LOUDNESS_SCALE_DB,
    N_IN,
    N_OUT,
    PITCH_SCALE_ST,
    SPEECH_RANGE_DB,
    EmotionProsody,
    contour_features,
    save_prosody,
)
from voxmorph.errors import UserError
from voxmorph.models.tts import FrameCritic
from voxmorph.train import losses as L
from voxmorph.train.emotion_style import parallel_takes
from voxmorph.train.recipe import Phase, Sample, StepOutput


@dataclass(frozen=True)
class ProsodyRecipeConfig:
    size: str = "small"
    max_frames: int = 300
    lr: float = 1e-3
    lr_decay: float = 0.998
    """Anneals the rate twentyfold over 1,500 steps: 190 pairs overfit fast (held-out speakers'
    errors, docs/journal/emotion.md)."""
    kl: float = 0.01
    kl_ramp: int = 500
    gan_start: int = 300
    content_model: str = ""
    """The content encoder the readings are aligned with (the shipped one by default)."""
    held_out: tuple[str, ...] = ()
    """CORPUS/SPEAKER left out of training and measured on when the model is exported."""
    weights: dict[str, float] = field(default_factory=lambda: {
        "pitch": 1.0, "loudness": 1.0, "adv": 0.3, "fm": 1.0})
    seed: int = 0


RECIPE_CONFIGS = {
    "debug": ProsodyRecipeConfig(size="debug", max_frames=120, gan_start=2, kl_ramp=2),
    "small": ProsodyRecipeConfig(),
}


@dataclass(frozen=True)
class Pair:
    """One emotional take against its neutral reading, on the neutral time axis."""

    x: np.ndarray  # (N_IN, T) the neutral contour
    y: np.ndarray  # (N_OUT, T) the change, model units
    mask: np.ndarray  # (N_OUT, T) where each change is defined
    emotion: int
    speaker: str


def dtw_path(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Frames of ``b (D, M)`` matched to each frame of ``a (D, N)`` by dynamic time warping on
    cosine distance: ``(N,)`` indices into ``b`` (the median of the matches)."""
    a = a / (np.linalg.norm(a, axis=0, keepdims=True) + 1e-8)
    b = b / (np.linalg.norm(b, axis=0, keepdims=True) + 1e-8)
    cost = 1.0 - a.T @ b
    n, m = cost.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        diag_up = cost[i - 1] + np.minimum(acc[i - 1, :-1], acc[i - 1, 1:])
        row = acc[i]
        left = np.inf
        for j in range(1, m + 1):
            left = min(diag_up[j - 1], cost[i - 1, j - 1] + left)
            row[j] = left
    i, j, matches = n, m, defaultdict(list)
    while i > 0 and j > 0:
        matches[i - 1].append(j - 1)
        step = np.argmin([acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1]])
        i, j = (i - 1, j - 1) if step == 0 else (i - 1, j) if step == 1 else (i, j - 1)
    return np.array([int(np.median(matches[k])) if matches[k] else 0 for k in range(n)])


def _frames(x: np.ndarray, content: nn.Module) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(f0 Hz, energy dB, content (D, T))`` of one recording, cut to a common length."""
    f0 = mel_frame_f0(get_tracker("dio"), x)
    e = energy_db(x).numpy()
    with torch.no_grad():
        c = content(log_mel(x)[None])[0][0].numpy()
    t = min(f0.size, e.size, c.shape[1])
    return f0[:t].astype(np.float32), e[:t], c[:, :t]


def pair_up(neutral: tuple, emotional: tuple, emotion: int, speaker: str) -> Pair:
    """Two readings' :func:`_frames` -> the :class:`Pair` on the neutral reading's time axis."""
    f0_n, e_n, c_n = neutral
    f0_e, e_e, c_e = emotional
    j = dtw_path(c_n, c_e)
    x = contour_features(torch.from_numpy(f0_n)[None], torch.from_numpy(e_n)[None])[0].numpy()
    f0_m, e_m = f0_e[j], e_e[j]
    voiced = (f0_n > 0) & (f0_m > 0)
    pitch = np.where(voiced, 12.0 * np.log2(np.maximum(f0_m, 1) / np.maximum(f0_n, 1)), 0.0)
    speech_n, speech_e = e_n > e_n.max() - SPEECH_RANGE_DB, e_m > e_e.max() - SPEECH_RANGE_DB
    loud = speech_n | speech_e
    y = np.stack([pitch / PITCH_SCALE_ST, np.where(loud, (e_m - e_n) / LOUDNESS_SCALE_DB, 0.0)])
    mask = np.stack([voiced, loud]).astype(np.float32)
    return Pair(x.astype(np.float32), y.astype(np.float32), mask, emotion, speaker)


def prepare_pairs(groups: dict[tuple[str, str], dict[str, list[Utterance]]], emotions: Sequence[str],
                  content: nn.Module, progress: Callable[[int], None] | None = None) -> list[Pair]:
    """Every (neutral, emotional) reading pair of :func:`parallel_takes`' ``groups``, aligned;
    ``progress(n)`` after each sentence's ``n`` recordings are read."""
    pairs = []
    for (speaker, _), takes in groups.items():
        neutral = _frames(load_audio(takes["neutral"][0].path), content)
        found = [(i, u) for i, emotion in enumerate(emotions) for u in takes.get(emotion, [])]
        for i, u in found:
            pairs.append(pair_up(neutral, _frames(load_audio(u.path), content), i, f"{u.corpus}/{speaker}"))
        if progress:
            progress(1 + len(found))
    if not pairs:
        raise UserError("no pairs of a neutral and an emotional reading of the same sentence by the "
                        "same speaker: the prosody model needs parallel recordings (EmoDB)")
    return pairs


class PairDataset(torch.utils.data.Dataset):
    """Item ``i``: pair ``i mod n``, a crop of at most ``max_frames`` at a place fixed by ``i``."""

    def __init__(self, pairs: Sequence[Pair], max_frames: int, seed: int, length: int = 1_000_000):
        self.pairs, self.max_frames, self.seed, self.length = list(pairs), max_frames, seed, length
        self.order = np.random.default_rng(seed).permutation(len(self.pairs))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> dict:
        p = self.pairs[self.order[i % len(self.pairs)]]
        t = p.x.shape[1]
        lo = int(np.random.default_rng((self.seed, i)).integers(0, max(1, t - self.max_frames + 1)))
        sl = slice(lo, lo + self.max_frames)
        return {"x": p.x[:, sl], "y": p.y[:, sl], "mask": p.mask[:, sl], "emotion": p.emotion}


def collate(items: Sequence[dict]) -> dict:
    t = max(it["x"].shape[1] for it in items)

    def pad(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.pad(a, ((0, 0), (0, t - a.shape[1]))))

    return {"x": torch.stack([pad(it["x"]) for it in items]),
            "y": torch.stack([pad(it["y"]) for it in items]),
            "mask": torch.stack([pad(it["mask"]) for it in items]),
            "frames": torch.stack([pad(np.ones((1, it["x"].shape[1]), np.float32)) for it in items]),
            "emotion": torch.tensor([it["emotion"] for it in items])}


def critic_view(x: torch.Tensor, change: torch.Tensor, mask: torch.Tensor, emotion: torch.Tensor,
                n_emotions: int) -> torch.Tensor:
    """What the critic reads: the neutral contour, the change where defined, the emotion."""
    onehot = nn.functional.one_hot(emotion, n_emotions).float()[:, :, None].expand(-1, -1, x.shape[-1])
    frames = mask.amax(1, keepdim=True)
    return torch.cat([x, change * mask, onehot], 1) * frames


def _l1(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return ((a - b).abs() * mask).sum() / mask.sum().clamp(min=1.0)


class ProsodyRecipe:
    kind = "emotion-prosody"

    def __init__(self, config: ProsodyRecipeConfig, utterances: Sequence[Utterance], cache=None):
        """``cache`` unused: the recipe measures its own contours (DIO) and aligns them."""
        if config.size not in CONFIGS:
            raise ValueError(f"unknown prosody model size {config.size}")
        self.config, self.utterances = config, list(utterances)
        self.emotions = CONFIGS[config.size].emotions
        self._pairs: tuple[list[Pair], list[Pair]] | None = None
        self.phases = (Phase("critic", ("critic",), lr=config.lr, start=config.gan_start,
                             lr_decay=config.lr_decay),
                       Phase("gen", ("prosody",), lr=config.lr, lr_decay=config.lr_decay))

    def config_dict(self) -> dict:
        return asdict(self.config)

    def build(self) -> dict[str, nn.Module]:
        from dataclasses import replace

        model = EmotionProsody(replace(CONFIGS[self.config.size], emotions=self.emotions))
        return {"prosody": model, "critic": FrameCritic(N_IN + N_OUT + len(self.emotions), 32)}

    def pairs(self) -> tuple[list[Pair], list[Pair]]:
        """``(fitted, held-out)`` pairs, measured and aligned once."""
        if self._pairs is None:
            from tqdm import tqdm

            from voxmorph.models.content import load_content
            from voxmorph.paths import shipped_model

            content, _ = load_content(self.config.content_model or shipped_model("content"))
            held = set(self.config.held_out)
            missing = held - {f"{u.corpus}/{u.speaker}" for u in self.utterances}
            if missing:
                u = self.utterances[0]
                raise UserError(f"--hold-out {sorted(missing)[0]}: no such speaker in the data "
                                f"(give CORPUS/SPEAKER, e.g. {u.corpus}/{u.speaker})")
            groups = parallel_takes(self.utterances, self.emotions)
            files = sum(1 + sum(len(t.get(e, [])) for e in self.emotions) for t in groups.values())
            with tqdm(total=files, desc="aligning readings", unit="files") as bar:
                pairs = prepare_pairs(groups, self.emotions, content.eval(), bar.update)
            self._pairs = ([p for p in pairs if p.speaker not in held],
                           [p for p in pairs if p.speaker in held])
            if not self._pairs[0]:
                raise UserError("every pair is held out: nothing left to train on")
        return self._pairs

    def dataset(self) -> PairDataset:
        return PairDataset(self.pairs()[0], self.config.max_frames, self.config.seed)

    collate = staticmethod(collate)

    def step(self, phase: str, models: Mapping[str, nn.Module], batch, carry: dict, step: int) -> StepOutput:
        c, model = self.config, models["prosody"]
        x, y, mask, emo = batch["x"], batch["y"], batch["mask"], batch["emotion"]
        if "gen" not in carry:
            mu, logvar = model.encode_posterior(x, y * mask, emo, batch["frames"])
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            carry["gen"] = (model(x, emo, z), mu, logvar)
        out, mu, logvar = carry["gen"]
        real = critic_view(x, y, mask, emo, len(self.emotions))
        fake = critic_view(x, out, mask, emo, len(self.emotions))
        if phase == "critic":
            scored = [models["critic"](real)], [models["critic"](fake.detach())]
            return StepOutput({"critic": L.discriminator_lsgan(*scored)}, {"critic": 1.0},
                              {"critic_accuracy": L.discriminator_accuracy(*scored)})
        w = dict(c.weights)
        out_losses = {"pitch": _l1(out[:, :1], y[:, :1], mask[:, :1]),
                      "loudness": _l1(out[:, 1:], y[:, 1:], mask[:, 1:]), "kl": L.gaussian_kl(mu, logvar)}
        w["kl"] = c.kl * min(1.0, step / max(1, c.kl_ramp))
        if step >= c.gan_start:
            out_losses.update(L.against_critic(models["critic"], real, fake))
        else:
            w["adv"] = w["fm"] = 0.0
        pitch_error = float(out_losses["pitch"].detach()) * PITCH_SCALE_ST
        return StepOutput(out_losses, w, {"pitch_error_st": pitch_error})

    def samples(self, models: Mapping[str, nn.Module]) -> list[Sample]:
        """None: the model makes contours, not sound (``convert --emotion`` renders them)."""
        return []

    def export(self, models: Mapping[str, nn.Module], folder: Path, card: dict) -> None:
        fitted, held = self.pairs()
        measured = held_out(models["prosody"], models["critic"], fitted, held) if held else {}
        save_prosody(models["prosody"], folder, {**card, "pairs": len(fitted), "held_out_speakers":
                                                 list(self.config.held_out), "held_out": measured})


@torch.no_grad()
def held_out(model: EmotionProsody, critic: nn.Module, fitted: Sequence[Pair], held: Sequence[Pair],
             seed: int = 0) -> dict:
    """On pairs of speakers the model never saw, per emotion: the pitch and loudness change's
    error (the model with ``z = 0``; the fitted pairs' mean change, a constant, as the baseline),
    the correlation of the predicted and real pitch-change contours, and the critic's accuracy
    (real changes against the model's with ``z ~ N(0, I)``)."""
    model, critic = model.eval(), critic.eval()
    g = torch.Generator().manual_seed(seed)
    n_emotions = len(model.config.emotions)
    mean = {}
    for k in range(n_emotions):
        ps = [p for p in fitted if p.emotion == k]
        num = sum((p.y * p.mask).sum(1) for p in ps)
        den = sum(p.mask.sum(1) for p in ps)
        mean[k] = num / np.maximum(den, 1.0)
    rows: dict[str, list] = defaultdict(list)
    for p in held:
        x, y, m = (torch.from_numpy(a)[None] for a in (p.x, p.y, p.mask))
        emo = torch.tensor([p.emotion])
        pred = model(x, emo, torch.zeros(1, model.config.latent))
        drawn = model(x, emo, torch.randn(1, model.config.latent, generator=g))
        const = torch.from_numpy(mean[p.emotion].astype(np.float32))[None, :, None].expand_as(y)
        s_real, _ = critic(critic_view(x, y, m, emo, n_emotions))
        s_fake, _ = critic(critic_view(x, drawn, m, emo, n_emotions))
        v = m[0, 0] > 0
        corr = float(np.corrcoef(pred[0, 0][v], y[0, 0][v])[0, 1]) if int(v.sum()) > 10 else float("nan")
        rows[model.config.emotions[p.emotion]].append((
            float(_l1(pred[:, :1], y[:, :1], m[:, :1])) * PITCH_SCALE_ST,
            float(_l1(const[:, :1], y[:, :1], m[:, :1])) * PITCH_SCALE_ST,
            float(_l1(pred[:, 1:], y[:, 1:], m[:, 1:])) * LOUDNESS_SCALE_DB,
            float(_l1(const[:, 1:], y[:, 1:], m[:, 1:])) * LOUDNESS_SCALE_DB,
            corr, float((s_real > 0.5).float().mean()), float((s_fake < 0.5).float().mean())))
    names = ("pitch_error_st", "pitch_error_mean_change_st", "loudness_error_db",
             "loudness_error_mean_change_db", "pitch_contour_correlation", "critic_real_called_real",
             "critic_generated_called_generated")
    out = {e: {"pairs": len(r), **{k: float(np.nanmean(col)) for k, col in zip(names, zip(*r, strict=True),
                                                                                 strict=True)}}
           for e, r in rows.items()}
    for e in out.values():
        e["critic_accuracy"] = 0.5 * (e["critic_real_called_real"] + e["critic_generated_called_generated"])
    return out


def held_out_markdown(held: dict) -> str:
    rows = "\n".join(
        f"| {e} | {m['pairs']} | {m['pitch_error_st']:.2f} | {m['pitch_error_mean_change_st']:.2f} | "
        f"{m['pitch_contour_correlation']:.2f} | {m['loudness_error_db']:.2f} | "
        f"{m['loudness_error_mean_change_db']:.2f} | {m['critic_accuracy']:.2f} |" for e, m in held.items())
    return ("# Emotional prosody model on held-out speakers\n\nPer emotion, against the same speaker's "
            "neutral reading aligned frame by frame: mean absolute error of the pitch change "
            "(semitones) and of the loudness change (dB) for the model (latent 0) and for the mean "
            "change of the training pairs (a constant: what the measured emotion styles apply); "
            "correlation of the predicted and real pitch-change contours; the critic's accuracy "
            "(real against generated with a random latent; 0.5 = it cannot tell).\n\n"
            "| emotion | pairs | pitch error | constant's | contour corr. | loudness error | constant's "
            f"| critic accuracy |\n|---|---:|---:|---:|---:|---:|---:|---:|\n{rows}\n")
