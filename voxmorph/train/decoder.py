"""Training recipe for the VAE decoder: rebuild real speech from its content, pitch, energy and voice.

Each item is a segment of a real recording. The frozen content encoder reads it with a random
vocal-tract warp (so the decoder cannot rely on the source's formants reaching it through the
content), and the decoder must rebuild the unwarped log-mel from that content, the segment's
Harvest F0 and energy, its speaker's embedding (the mean resemblyzer embedding of the speaker's
utterances) and a style latent sampled from the posterior of the target mel. Losses: mel L1, KL
(ramped in over ``kl_ramp`` steps), and from ``gan_start`` on LSGAN + feature matching against a
mel discriminator (D first, on detached output).

With ``consistency`` > 0 the decoder also learns what conversion asks of it, which mel L1 cannot
teach (there is no real target for a conversion): each segment is also rendered in the voice of
another segment of the batch (its speaker's embedding, the F0 moved by the two speakers' mean log
F0, style latent 0), and the frozen content encoder must hear the same phones in that conversion
and in the rebuild as in the real segment: KL(source phone posteriors || output's), gradient
through the frozen encoder into the decoder. Conversions also meet the discriminator as fakes.

With ``shift`` > 0 a share of the segments is read, instead, from the decoder's own conversion of
the segment into the next segment's voice (a timbre shift), while the target stays the real
segment: the source speaker left in the content no longer matches the mel to rebuild.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.features import energy_db, log_mel
from voxmorph.data.cache import FeatureCache, Features
from voxmorph.data.corpora import Utterance
from voxmorph.data.segments import SegmentDataset
from voxmorph.models.content import ContentEncoder, load_content
from voxmorph.models.decoder import (
    CONFIGS,
    MelDecoder,
    VoiceConditioning,
    frame_conditioning,
    load_decoder,
    rebuild_mel,
    round_trip,
    save_decoder,
    shift_pitch,
)
from voxmorph.models.discriminators import MelDiscriminator
from voxmorph.models.speaker import SpeakerEncoder
from voxmorph.train import losses
from voxmorph.train.recipe import Phase, Sample, StepOutput, start_from

EMBED_UTTERANCES = 10
"""Utterances per speaker averaged into its training embedding."""


@dataclass(frozen=True)
class DecoderRecipeConfig:
    size: str = "small"
    content_model: str = ""
    """Folder of the trained content encoder (frozen here)."""
    segment_frames: int = 160
    gan_start: int = 2000
    lr: float = 5e-4
    lr_decay: float = 0.999996
    """Learning-rate decay per step, both phases."""
    warp: tuple[float, float] = (0.9, 1.1)
    kl_ramp: int = 2000
    disc_channels: int = 32
    lookahead: int = 0
    """The decoder's look-ahead in frames (:attr:`DecoderConfig.lookahead`)."""
    consistency: float = 0.0
    """Weight of the phone-consistency loss on rebuilds and batch-internal conversions (0: off)."""
    shift: float = 0.0
    """Share of segments whose content is read from the decoder's own conversion of the segment
    into another speaker's voice instead of from the segment itself (0: off)."""
    weights: dict[str, float] = field(
        default_factory=lambda: {"mel": 10.0, "kl": 0.02, "adv": 1.0, "fm": 2.0, "d_adv": 1.0}
    )
    seed: int = 0
    init: str | None = None
    """A trained decoder folder the new run starts from (the shipped one, to fine-tune it)."""


RECIPE_CONFIGS = {
    "debug": DecoderRecipeConfig(size="debug", segment_frames=48, gan_start=2, lr=2e-3, kl_ramp=2,
                                 disc_channels=8),
    "small": DecoderRecipeConfig(),
    "base": DecoderRecipeConfig(size="base"),
}


def speaker_embeddings(utterances: Sequence[Utterance], features: Sequence[Features],
                       progress: bool = True) -> np.ndarray:
    """``(len(utterances), EMBED_DIM)``: each utterance gets its speaker's mean embedding over up to
    :data:`EMBED_UTTERANCES` of that speaker's utterances."""
    encoder = SpeakerEncoder.shared()
    by_speaker: dict[str, list[int]] = {}
    for i, u in enumerate(utterances):
        by_speaker.setdefault(f"{u.corpus}/{u.speaker}", []).append(i)
    means = {}
    for spk, idx in tqdm(by_speaker.items(), desc="speaker embeddings", unit="speaker", disable=not progress):
        embs = [encoder.embed(features[i].audio.astype(np.float32) / 32768.0) for i in idx[:EMBED_UTTERANCES]]
        mean = np.mean(embs, axis=0)
        means[spk] = mean / max(np.linalg.norm(mean), 1e-12)
    return np.stack([means[f"{u.corpus}/{u.speaker}"] for u in utterances]).astype(np.float32)


def speaker_log_f0(utterances: Sequence[Utterance], features: Sequence[Features]) -> np.ndarray:
    """``(len(utterances),)``: each utterance's speaker's mean log F0 over all its voiced frames."""
    by_speaker: dict[str, list[np.ndarray]] = {}
    for u, f in zip(utterances, features, strict=True):
        by_speaker.setdefault(f"{u.corpus}/{u.speaker}", []).append(np.log(f.f0[f.f0 > 0]))
    means = {spk: float(np.concatenate(v).mean()) if sum(map(len, v)) else 0.0
             for spk, v in by_speaker.items()}
    return np.array([means[f"{u.corpus}/{u.speaker}"] for u in utterances], dtype=np.float32)


def phone_kl(source_logits: torch.Tensor, output_logits: torch.Tensor) -> torch.Tensor:
    """Mean per-frame KL(source || output) of phone posteriors, logits ``(B, symbols, T)``."""
    p = torch.log_softmax(source_logits, dim=1)
    q = torch.log_softmax(output_logits, dim=1)
    return (p.exp() * (p - q)).sum(1).mean()


@torch.no_grad()
def rebuilt_mels(utterances: Sequence[Utterance], features: Sequence[Features], content: ContentEncoder,
                 decoder: MelDecoder, progress: bool = True) -> list[np.ndarray]:
    """Each utterance's log-mel ``(N_MELS, frames)`` as the decoder rebuilds it when converting: the
    content read from its own (unwarped) mel, its F0 and energy, its speaker's mean embedding and
    the style latent 0 (what a vocoder for the neural converter is fine-tuned on)."""
    embeddings = torch.from_numpy(speaker_embeddings(utterances, features, progress))
    zero = torch.zeros(1, decoder.config.style_dim)
    out = []
    for i, f in enumerate(tqdm(features, desc="decoding", unit="utt", disable=not progress)):
        f0 = torch.from_numpy(f.f0.astype(np.float32))[None]
        voice = decoder.voice(embeddings[i : i + 1], zero)
        out.append(rebuild_mel(content, decoder, f.audio.astype(np.float32) / 32768.0, f0, voice)[0].numpy())
    return out


def reconstruction_inputs(content: ContentEncoder, batch: dict, rng: np.random.Generator,
                          warp: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of segments -> ``(target log-mel (B, N_MELS, T), decoder conditioning (B, D + 3, T))``.
    The content is read from each segment under a random vocal-tract warp drawn from ``rng``, so
    the decoder cannot take the speaker's formants from it."""
    audio, f0 = batch["audio"], batch["f0"]
    frames = f0.shape[-1]
    mels = [log_mel(a, warp=round(float(rng.uniform(*warp)), 2)) for a in audio]
    with torch.no_grad():
        feats, _ = content(torch.stack(mels))
    cond = frame_conditioning(feats[..., :frames], f0, energy_db(audio)[..., :frames])
    return log_mel(audio)[..., :frames], cond


class DecoderRecipe:
    kind = "decoder"

    def __init__(self, config: DecoderRecipeConfig, utterances: Sequence[Utterance], cache: FeatureCache,
                 content: ContentEncoder | None = None):
        if config.size not in CONFIGS:
            raise ValueError(f"unknown decoder size {config.size}")
        self.config = config
        self.utterances = list(utterances)
        self.cache = cache
        if content is None:
            content, _ = load_content(config.content_model)
        self.content = content.eval().requires_grad_(False)
        self.phases = (
            Phase("disc", ("disc",), lr=config.lr, start=config.gan_start, lr_decay=config.lr_decay),
            Phase("gen", ("decoder",), lr=config.lr, lr_decay=config.lr_decay),
        )
        self._features: list[Features] | None = None
        self._embeddings: torch.Tensor | None = None
        self._log_f0: torch.Tensor | None = None
        self._started_from: dict | None = None

    def config_dict(self) -> dict:
        return asdict(self.config)

    def build(self) -> dict[str, nn.Module]:
        size = replace(CONFIGS[self.config.size], content_dim=self.content.config.dim,
                       lookahead=self.config.lookahead)
        decoder = MelDecoder(size)
        if self.config.init is not None:
            self._started_from = start_from(decoder, self.config.init, load_decoder, "decoder")
        return {"decoder": decoder, "disc": MelDiscriminator(self.config.disc_channels)}

    def features(self) -> list[Features]:
        if self._features is None:
            self.cache.prepare(self.utterances)
            self._features = [self.cache[u] for u in self.utterances]
            self._embeddings = torch.from_numpy(speaker_embeddings(self.utterances, self._features))
            self._log_f0 = torch.from_numpy(speaker_log_f0(self.utterances, self._features))
        return self._features

    def dataset(self) -> SegmentDataset:
        return SegmentDataset(self.features(), self.config.segment_frames, self.config.seed)

    def _generate(self, models, batch, step: int) -> dict[str, torch.Tensor]:
        c = self.config
        rng = np.random.default_rng((c.seed, step))
        mel, cond = reconstruction_inputs(self.content, batch, rng, c.warp)
        frames = mel.shape[-1]
        decoder = models["decoder"]
        if c.shift > 0:
            cond = self._shifted(decoder, batch, cond, torch.from_numpy(rng.random(len(cond)) < c.shift))
        mask = torch.ones(mel.shape[0], frames, dtype=torch.bool)
        mean, log_var = decoder.posterior(mel, mask)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * log_var)
        speaker = self._embeddings[batch["utterance"]]
        out = {"mel": mel, "mel_hat": decoder(cond, speaker, z), "mean": mean, "log_var": log_var}
        if c.consistency > 0:
            out["mel_conv"] = self._convert(decoder, batch, cond)
        return out

    @torch.no_grad()
    def _shifted(self, decoder: MelDecoder, batch, cond: torch.Tensor, pick: torch.Tensor) -> torch.Tensor:
        """``cond`` with the content of the ``pick``ed segments read back from their conversion to
        another speaker (:func:`round_trip` into :meth:`_other_voice`): whatever of the source
        speaker survives in the content then belongs to someone else than the mel to rebuild, so
        the decoder learns to take the voice from the speaker embedding alone (the "timbre shift"
        of zero-shot converters)."""
        if not pick.any():
            return cond
        voice, log_ratio = self._other_voice(decoder, batch)
        there = round_trip(self.content, decoder, cond, voice, log_ratio)
        return torch.where(pick[:, None, None], there, cond)

    def _other_voice(self, decoder: MelDecoder, batch) -> tuple[VoiceConditioning, torch.Tensor]:
        """For each segment, the voice of the next segment of the batch (that speaker's embedding,
        style latent 0) and the log-F0 ratio of the two speakers' means."""
        utt = batch["utterance"]
        other = utt.roll(1)
        voice = decoder.voice(self._embeddings[other], torch.zeros(len(utt), decoder.config.style_dim))
        return voice, self._log_f0[other] - self._log_f0[utt]

    def _convert(self, decoder: MelDecoder, batch, cond: torch.Tensor) -> torch.Tensor:
        """Each segment rendered in the voice of the next segment of the batch, its F0 moved by the
        difference of the speakers' mean log F0."""
        voice, log_ratio = self._other_voice(decoder, batch)
        return decoder.render(shift_pitch(cond, log_ratio), voice)

    def step(self, phase: str, models: Mapping[str, nn.Module], batch, carry: dict, step: int) -> StepOutput:
        if "mel_hat" not in carry:
            carry.update(self._generate(models, batch, step))
        mel, mel_hat, w = carry["mel"], carry["mel_hat"], self.config.weights
        outputs = [mel_hat, carry["mel_conv"]] if "mel_conv" in carry else [mel_hat]
        disc = models["disc"]
        if phase == "disc":
            real, fake = disc(mel), disc(torch.cat(outputs).detach())
            return StepOutput({"d_adv": losses.discriminator_lsgan(real, fake)}, {"d_adv": w["d_adv"]},
                              {"accuracy": losses.discriminator_accuracy(real, fake)})
        kl = losses.gaussian_kl(carry["mean"], carry["log_var"])
        out = {"mel": (mel_hat - mel).abs().mean(), "kl": kl}
        weights = {"mel": w["mel"], "kl": w["kl"] * min(1.0, step / max(1, self.config.kl_ramp))}
        if len(outputs) > 1:
            with torch.no_grad():
                _, source = self.content(mel)
            _, heard = self.content(torch.cat(outputs))
            out["consistency"] = phone_kl(source.repeat(len(outputs), 1, 1), heard)
            weights["consistency"] = self.config.consistency
        if step >= self.config.gan_start:
            fake = disc(mel_hat)
            with torch.no_grad():
                real = disc(mel)
            out["adv"], out["fm"] = losses.generator_lsgan(fake), losses.feature_matching(real, fake)
            weights.update(adv=w["adv"], fm=w["fm"])
            if len(outputs) > 1:  # a conversion has no real counterpart to match features with
                out["adv_conv"] = losses.generator_lsgan(disc(outputs[1]))
                weights["adv_conv"] = w["adv"]
        return StepOutput(out, weights, {"kl_nats": kl.item()})

    def samples(self, models: Mapping[str, nn.Module]) -> list[Sample]:
        return []  # mel only; listening goes through the converter benchmark

    def export(self, models: Mapping[str, nn.Module], folder: Path, card: dict) -> None:
        lineage = {"started_from": self._started_from} if self._started_from is not None else {}
        save_decoder(models["decoder"], folder, {**card, "recipe": self.config_dict(),
                                                 "sample_rate": SAMPLE_RATE, **lineage})
