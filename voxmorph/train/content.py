"""Training recipe for the content encoder: phone CTC plus an adversarial speaker classifier.

One phase updates both modules. Transcribed utterances (synthetic speech, LJSpeech, any corpus
with text) give the CTC loss through the encoder's linear phone head; every utterance, transcribed
or not, feeds the speaker classifier through gradient reversal, so the encoder is pushed to drop
what identifies the speaker while the classifier tries to find it. The reversal scale ramps up
over ``reversal_ramp`` steps (a strong adversary before the content is phonetic only adds noise).
Metrics: phone error rate of greedy decoding on the batch, and the classifier's accuracy, which
should fall toward chance (``1 / speakers``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from voxmorph.data.cache import FeatureCache
from voxmorph.data.corpora import Utterance
from voxmorph.data.utterances import LabelledUtterance, Perturbation, UtteranceDataset, collate
from voxmorph.models.adversary import SpeakerClassifier, confusion_loss, reverse_gradient
from voxmorph.models.content import CONFIGS, ContentEncoder, best_path, load_content, save_content
from voxmorph.text.distance import edit_distance
from voxmorph.text.phonemes import SYMBOLS, encode, phonemize
from voxmorph.train.alignment import IGNORE, align_phones, silence_probability
from voxmorph.train.recipe import Phase, Sample, StepOutput, start_from


@dataclass(frozen=True)
class ContentRecipeConfig:
    size: str = "small"
    max_frames: int = 1000
    transcribed_share: float = 0.6
    lr: float = 1e-3
    lr_decay: float = 0.999996
    """Learning-rate decay per step (e.g. 0.99885 anneals tenfold over 2,000 steps)."""
    reversal: float = 1.0
    reversal_ramp: int = 2000
    adversary: str = "reversal"
    """How the encoder opposes the speaker classifier: "reversal" or "confusion"
    (:mod:`voxmorph.models.adversary`); ``reversal`` and its ramp scale either."""
    speed: tuple[float, float] = (0.9, 1.1)
    warp: tuple[float, float] = (0.88, 1.12)
    weights: dict[str, float] = field(default_factory=lambda: {"ctc": 1.0, "speaker": 0.5})
    frame_phones: float = 0.0
    """Weight of the frame-level phone loss (0: off): a linear head on the content must name the
    phone of every frame of transcribed speech, labelled by a forced alignment
    (:mod:`voxmorph.train.alignment`), so the content says which phone a frame is in between
    the CTC spikes. Its head is training machinery; the exported encoder does not keep it."""
    init: str | None = None
    """A content encoder (model folder) whose weights a new run starts from."""
    seed: int = 0


RECIPE_CONFIGS = {
    "debug": ContentRecipeConfig(size="debug", max_frames=1000, lr=3e-3, reversal_ramp=5),
    "small": ContentRecipeConfig(),
    "base": ContentRecipeConfig(size="base"),
}


class ContentRecipe:
    kind = "content"

    def __init__(self, config: ContentRecipeConfig, utterances: Sequence[Utterance], cache: FeatureCache):
        if config.size not in CONFIGS:
            raise ValueError(f"unknown content encoder size {config.size}")
        if config.adversary not in ("reversal", "confusion"):
            raise ValueError(f"unknown adversary {config.adversary}")
        self.config = config
        self.utterances = list(utterances)
        self.cache = cache
        self.speakers = sorted({f"{u.corpus}/{u.speaker}" for u in self.utterances})
        modules = ("encoder", "speaker", "frames") if config.frame_phones > 0 else ("encoder", "speaker")
        self.phases = (Phase("main", modules, lr=config.lr, betas=(0.9, 0.98), clip=5.0,
                             lr_decay=config.lr_decay),)
        self._items: list[LabelledUtterance] | None = None
        self._started_from: dict | None = None

    def config_dict(self) -> dict:
        return asdict(self.config)

    def build(self) -> dict[str, nn.Module]:
        encoder = ContentEncoder(CONFIGS[self.config.size])
        if self.config.init is not None:
            self._started_from = start_from(encoder, self.config.init, load_content, "content encoder")
        models = {"encoder": encoder, "speaker": SpeakerClassifier(encoder.config.dim, len(self.speakers))}
        if self.config.frame_phones > 0:
            models["frames"] = nn.Conv1d(encoder.config.dim, len(SYMBOLS), 1)
        return models

    def items(self) -> list[LabelledUtterance]:
        if self._items is None:
            self.cache.prepare(self.utterances)
            texts = [u.text for u in self.utterances if u.text]
            phones = dict(zip(texts, phonemize(texts), strict=True))
            index = {s: i for i, s in enumerate(self.speakers)}
            self._items = [
                LabelledUtterance(self.cache[u], index[f"{u.corpus}/{u.speaker}"],
                                  tuple(encode(phones[u.text])) if u.text else None)
                for u in self.utterances
            ]
        return self._items

    def dataset(self) -> UtteranceDataset:
        c = self.config
        return UtteranceDataset(self.items(), c.max_frames, c.transcribed_share,
                                Perturbation(c.speed, c.warp), c.seed)

    collate = staticmethod(collate)

    def step(self, phase: str, models: Mapping[str, nn.Module], batch, carry: dict, step: int) -> StepOutput:
        c = self.config
        content, logits = models["encoder"](batch["mel"])
        frames, counts = batch["frames"], batch["phone_count"]
        mask = torch.arange(content.shape[-1])[None] < frames[:, None]
        scale = c.reversal * min(1.0, step / max(1, c.reversal_ramp))
        weights = {"speaker": c.weights["speaker"]}
        if c.adversary == "confusion":
            spk_logits = models["speaker"](content.detach(), mask)
            out = {"confusion": confusion_loss(models["speaker"], content, mask)}
            weights["confusion"] = c.weights["speaker"] * scale
        else:
            spk_logits = models["speaker"](reverse_gradient(content, scale), mask)
            out = {}
        out["speaker"] = nn.functional.cross_entropy(spk_logits, batch["speaker"])
        metrics = {"speaker_accuracy": (spk_logits.argmax(-1) == batch["speaker"]).float().mean().item(),
                   "reversal": scale}
        labelled = counts > 0
        if labelled.any():
            log_probs = logits[labelled].log_softmax(1).permute(2, 0, 1)  # (T, B, symbols)
            out["ctc"] = nn.functional.ctc_loss(log_probs, batch["phones"][labelled], frames[labelled],
                                                counts[labelled], blank=0, zero_infinity=True)
            errors = sum(
                edit_distance(best_path(lg[:, : int(n)]), p[:k].tolist())
                for lg, n, p, k in zip(logits[labelled].detach(), frames[labelled], batch["phones"][labelled],
                                       counts[labelled], strict=True)
            )
            metrics["per"] = errors / int(counts[labelled].sum())
            weights["ctc"] = c.weights["ctc"]
        alignable = labelled & (counts <= frames)
        if c.frame_phones > 0 and alignable.any():
            with torch.no_grad():
                silence = silence_probability(batch["mel"][alignable], frames[alignable])
                targets = align_phones(logits[alignable].detach(), silence, batch["phones"][alignable],
                                       counts[alignable], frames[alignable])
            frame_logits = models["frames"](content[alignable])
            out["frame"] = nn.functional.cross_entropy(frame_logits, targets, ignore_index=IGNORE)
            weights["frame"] = c.frame_phones
            scored = targets != IGNORE
            metrics["frame_accuracy"] = (frame_logits.argmax(1) == targets)[scored].float().mean().item()
        return StepOutput(out, weights, metrics)

    def samples(self, models: Mapping[str, nn.Module]) -> list[Sample]:
        return []  # the encoder makes no audio; its progress shows in PER and speaker accuracy

    def export(self, models: Mapping[str, nn.Module], folder: Path, card: dict) -> None:
        lineage = {"started_from": self._started_from} if self._started_from is not None else {}
        save_content(models["encoder"], folder, {**card, "recipe": self.config_dict(),
                                                 "speakers": len(self.speakers), **lineage})
