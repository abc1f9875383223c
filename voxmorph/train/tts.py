"""Training recipe for the text-to-frames model: a VAE with an adversarial critic.

Generator phase: L1 on the frame content, on log F0 (voiced frames), on energy; BCE on voicing;
squared error on log durations; the VAE's KL toward ``N(0, I)`` (ramped in over ``kl_ramp``
steps); from ``gan_start`` on, LSGAN and feature matching against :class:`FrameCritic`. Critic
phase: LSGAN on real and generated frame sequences (generated ones detached). Metrics: the
critic's accuracy (real called real and generated called generated, averaged), the duration
error in frames, voicing accuracy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from voxmorph.data.cache import FeatureCache
from voxmorph.data.corpora import Utterance
from voxmorph.models.blocks import pointwise
from voxmorph.models.content import load_content
from voxmorph.models.tts import CONFIGS, FrameCritic, TextToFrames, load_tts, save_tts
from voxmorph.train import losses as L
from voxmorph.train.recipe import Phase, Sample, StepOutput, start_from
from voxmorph.train.tts_data import TtsDataset, TtsItem, collate, prepare_items

CONTENT_WEIGHT = 2.0
PHONE_WEIGHT = 1.0
"""Weight of the phone loss: the frozen content encoder's own phone head must hear the same
phones (the same posteriors, KL) in the predicted content as in the real one, so the L1 on the
content's 64 numbers does not blur what tells phones apart."""


@dataclass(frozen=True)
class TtsRecipeConfig:
    size: str = "small"
    content_model: str = ""
    """The content encoder whose output the model learns to predict (the shipped one by default)."""
    max_frames: int = 400
    lr: float = 1e-3
    lr_decay: float = 0.99998
    kl: float = 0.02
    kl_ramp: int = 2000
    gan_start: int = 3000
    weights: dict[str, float] = field(default_factory=lambda: {
        "content": CONTENT_WEIGHT, "phones": PHONE_WEIGHT, "f0": 1.0, "voicing": 0.5, "energy": 1.0,
        "duration": 1.0, "adv": 0.5, "fm": 1.0})
    init: str | None = None
    seed: int = 0


RECIPE_CONFIGS = {
    "debug": TtsRecipeConfig(size="debug", max_frames=200, gan_start=2, kl_ramp=2, lr=3e-3),
    "small": TtsRecipeConfig(),
}


def _masked_l1(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference over the frames (and channels) ``mask`` keeps."""
    return ((a - b).abs() * mask).sum() / (mask.sum() * a.shape[1]).clamp(min=1.0)


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1.0)


def critic_view(frames: torch.Tensor, voiced: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """What the critic reads: content, log F0 on voiced frames only, voicing, energy."""
    d = frames.shape[1] - 3
    return torch.cat([frames[:, :d], frames[:, d : d + 1] * voiced, voiced, frames[:, d + 2 :]], 1) * mask


class TtsRecipe:
    kind = "tts"

    def __init__(self, config: TtsRecipeConfig, utterances: Sequence[Utterance], cache: FeatureCache):
        if config.size not in CONFIGS:
            raise ValueError(f"unknown text-to-frames size {config.size}")
        self.config = config
        self.utterances = list(utterances)
        self.cache = cache
        content, _ = load_content(config.content_model)
        self.content = content.eval().requires_grad_(False)
        self.phases = (
            Phase("critic", ("critic",), lr=config.lr, start=config.gan_start, lr_decay=config.lr_decay),
            Phase("gen", ("tts",), lr=config.lr, lr_decay=config.lr_decay),
        )
        self._items: list[TtsItem] | None = None
        self._started_from: dict | None = None

    def config_dict(self) -> dict:
        return asdict(self.config)

    def build(self) -> dict[str, nn.Module]:
        size = CONFIGS[self.config.size]
        if size.content_dim != self.content.config.dim:
            from dataclasses import replace

            size = replace(size, content_dim=self.content.config.dim)
        model = TextToFrames(size)
        if self.config.init is not None:
            self._started_from = start_from(model, self.config.init, load_tts, "text-to-frames model")
        return {"tts": model, "critic": FrameCritic(size.content_dim + 3)}

    def items(self) -> list[TtsItem]:
        if self._items is None:
            self._items = prepare_items(self.utterances, self.cache, self.content)
        return self._items

    def dataset(self) -> TtsDataset:
        return TtsDataset(self.items(), self.config.max_frames, self.config.seed)

    collate = staticmethod(collate)

    def _generate(self, model: TextToFrames, batch: dict) -> dict[str, torch.Tensor]:
        target, mask = batch["frames"], batch["mask"]
        mu, logvar = model.encode_posterior(target, mask)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        out, log_d = model(batch["tokens"], batch["word_start"], batch["durations"], z,
                           frames=target.shape[-1])
        return {"out": out * mask, "log_d": log_d, "mu": mu, "logvar": logvar}

    def _phone_kl(self, real: torch.Tensor, predicted: torch.Tensor, mask: torch.Tensor
                  ) -> torch.Tensor:
        """Per-frame KL(real || predicted) of the content encoder's phone posteriors."""
        head = self.content.phones
        with torch.no_grad():
            p = torch.log_softmax(pointwise(head, real.transpose(1, 2)), -1)
        q = torch.log_softmax(pointwise(head, predicted.transpose(1, 2)), -1)
        kl = (p.exp() * (p - q)).sum(-1)  # (B, T)
        return _masked_mean(kl, mask[:, 0])

    def step(self, phase: str, models: Mapping[str, nn.Module], batch, carry: dict, step: int) -> StepOutput:
        """Content is learned from every utterance; prosody (F0, voicing, energy, durations, the
        critic) from real recordings only (``batch["real"]``)."""
        c = self.config
        target, mask, real_rec = batch["frames"], batch["mask"], batch["real"]
        d = target.shape[1] - 3
        if "gen" not in carry:
            carry["gen"] = self._generate(models["tts"], batch)
        g = carry["gen"]
        out = g["out"]
        real_voiced = target[:, d + 1 : d + 2]
        pmask = mask * real_rec  # frames whose prosody counts
        keep = real_rec[:, 0, 0] > 0
        real = critic_view(target, real_voiced, mask)[keep]
        fake = critic_view(out, torch.sigmoid(out[:, d + 1 : d + 2]), mask)[keep]
        if phase == "critic":
            if not bool(keep.any()):  # no real recording in this batch: nothing to judge
                idle = sum(p.sum() for p in models["critic"].parameters()) * 0.0
                return StepOutput({"critic": idle}, {"critic": 1.0})
            scored = [models["critic"](real)], [models["critic"](fake.detach())]
            return StepOutput({"critic": L.discriminator_lsgan(*scored)}, {"critic": 1.0},
                              {"critic_accuracy": L.discriminator_accuracy(*scored)})
        w = {"phones": PHONE_WEIGHT, **c.weights}  # runs saved before the phone loss get it too
        voiced = real_voiced * pmask
        losses = {
            "content": _masked_l1(out[:, :d], target[:, :d], mask),
            "f0": _masked_l1(out[:, d : d + 1], target[:, d : d + 1], voiced),
            "voicing": _masked_mean(nn.functional.binary_cross_entropy_with_logits(
                out[:, d + 1 : d + 2], real_voiced, reduction="none"), pmask),
            "energy": _masked_l1(out[:, d + 2 :], target[:, d + 2 :], pmask),
            "phones": self._phone_kl(target[:, :d], out[:, :d], mask),
        }
        tmask = (batch["tokens"] != 0).float() * real_rec[:, 0]
        log_target = torch.log1p(batch["durations"].float())
        losses["duration"] = (((g["log_d"] - log_target) ** 2) * tmask).sum() / tmask.sum().clamp(min=1.0)
        losses["kl"] = L.gaussian_kl(g["mu"], g["logvar"])
        w["kl"] = c.kl * min(1.0, step / max(1, c.kl_ramp))
        if step >= c.gan_start and bool(keep.any()):
            losses.update(L.against_critic(models["critic"], real, fake))
        else:
            w["adv"] = w["fm"] = 0.0
        with torch.no_grad():
            predicted = torch.expm1(g["log_d"].clamp(min=0))
            dur_err = _masked_mean((predicted - batch["durations"]).abs(), tmask)
            v_acc = _masked_mean(((out[:, d + 1 : d + 2] > 0).float() == real_voiced).float(), pmask)
        metrics = {"duration_error_frames": float(dur_err), "voicing_accuracy": float(v_acc)}
        return StepOutput(losses, w, metrics)

    def samples(self, models: Mapping[str, nn.Module]) -> list[Sample]:
        """None as audio: the model makes frames, not sound; ``voxmorph speak --tts-model RUN/model``
        renders a run's export in any voice."""
        return []

    def export(self, models: Mapping[str, nn.Module], folder: Path, card: dict) -> None:
        lineage = {"started_from": self._started_from} if self._started_from else {}
        items = self.items()
        save_tts(models["tts"], folder, {**card, **lineage, "content_model": self.config.content_model,
                                         "utterances": len(items),
                                         "frames": int(sum(int(it.durations.sum()) for it in items))})
