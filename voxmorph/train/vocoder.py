"""Training recipe for the neural vocoder: copy synthesis of real speech, refined as a GAN.

Until step ``gan_start`` the generator learns from reconstruction alone (mel L1 and
multi-resolution STFT), which gets a source-filter vocoder to clean speech within minutes on a
CPU. From ``gan_start`` on each step first updates the discriminators on detached output
(least-squares loss, accuracy logged), then the generator on reconstruction + adversarial +
feature-matching losses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from voxmorph.audio.constants import HOP, SAMPLE_RATE
from voxmorph.audio.features import log_mel
from voxmorph.data.cache import FeatureCache, Features
from voxmorph.data.corpora import Utterance
from voxmorph.data.segments import SegmentDataset
from voxmorph.models.discriminators import DISCRIMINATOR_CONFIGS, Discriminators
from voxmorph.models.onnx import ONNX_FILE, export_onnx
from voxmorph.models.vocoder import CONFIGS, SourceFilterVocoder, load_vocoder, save_vocoder
from voxmorph.train import losses
from voxmorph.train.recipe import Phase, Sample, StepOutput, start_from

SAMPLE_SECONDS = 4
"""Length of the logged audio samples."""


@dataclass(frozen=True)
class VocoderRecipeConfig:
    size: str = "small"
    segment_frames: int = 48
    gan_start: int = 1000
    lr: float = 2e-4
    loudness: float = 0.0
    """Loudness weighting of the mel loss (see :func:`voxmorph.train.losses.mel_l1`); 0 = none."""
    ema: float = 0.0
    """Decay of the moving average of the generator's weights that gets exported; 0 = none."""
    discriminators: str | None = None
    """Size of the discriminators (a key of ``DISCRIMINATOR_CONFIGS``); None: the generator's size."""
    weights: dict[str, float] = field(
        default_factory=lambda: {"mel": 15.0, "stft": 2.0, "adv": 1.0, "fm": 2.0, "d_adv": 1.0}
    )
    decoder_model: str = ""
    """A trained decoder folder; when given, the generator learns to voice the decoder's rebuild of
    each utterance (see :func:`voxmorph.train.decoder.rebuilt_mels`) instead of its real mel: a
    vocoder for the neural converter, usually fine-tuned from a copy-synthesis run."""
    content_model: str = ""
    """The content encoder that ``decoder_model`` was trained on."""
    sample_count: int = 2
    seed: int = 0
    onnx: bool = True
    init: str | None = None
    """A trained vocoder folder the new run starts from (the shipped one, to fine-tune it)."""
    """Also export ``vocoder.onnx`` beside the weights (about 15 s)."""


RECIPE_CONFIGS = {
    "debug": VocoderRecipeConfig(size="debug", segment_frames=16, gan_start=2, lr=1e-3, onnx=False),
    "small": VocoderRecipeConfig(size="small", gan_start=3000),
    "medium": VocoderRecipeConfig(size="base", discriminators="small", gan_start=8000, loudness=0.3,
                                  ema=0.999),
    "base": VocoderRecipeConfig(size="base", segment_frames=64),
}
"""``medium`` is the ``base`` generator with the ``small`` discriminators, a loudness-weighted mel
loss, a moving average of the generator and a long reconstruction-only start. In its run on two
cores: 9 reconstruction steps a second, 2 to 2.5 GAN steps a second (see docs/vocoder.md)."""


class VocoderRecipe:
    kind = "vocoder"

    def __init__(self, config: VocoderRecipeConfig, utterances: Sequence[Utterance], cache: FeatureCache):
        if config.size not in CONFIGS:
            raise ValueError(f"unknown vocoder size {config.size}")
        self.config = config
        self.utterances = list(utterances)
        self.cache = cache
        self.phases = (
            Phase("disc", ("disc",), lr=config.lr, start=config.gan_start),
            Phase("gen", ("gen",), lr=config.lr, ema=config.ema),
        )
        self._features: list[Features] | None = None
        self._rebuilt: list[np.ndarray] | None = None
        self._started_from: dict | None = None

    def config_dict(self) -> dict:
        return asdict(self.config)

    def build(self) -> dict[str, nn.Module]:
        gen = SourceFilterVocoder(CONFIGS[self.config.size])
        if self.config.init is not None:
            self._started_from = start_from(gen, self.config.init, load_vocoder, "vocoder")
        return {
            "gen": gen,
            "disc": Discriminators(DISCRIMINATOR_CONFIGS[self.config.discriminators or self.config.size]),
        }

    def features(self) -> list[Features]:
        if self._features is None:
            self.cache.prepare(self.utterances)
            self._features = [self.cache[u] for u in self.utterances]
        return self._features

    def dataset(self) -> SegmentDataset:
        if self.config.decoder_model:
            self.rebuilt()  # before training starts, not inside its first step
        return SegmentDataset(self.features(), self.config.segment_frames, self.config.seed)

    def rebuilt(self) -> list[np.ndarray]:
        """The decoder's log-mel of every utterance (computed once)."""
        if self._rebuilt is None:
            from voxmorph.models.content import load_content
            from voxmorph.models.decoder import load_decoder
            from voxmorph.train.decoder import rebuilt_mels

            content, _ = load_content(self.config.content_model)
            decoder, _ = load_decoder(self.config.decoder_model)
            self._rebuilt = rebuilt_mels(self.utterances, self.features(), content.eval(), decoder.eval())
        return self._rebuilt

    def _input_mel(self, batch) -> torch.Tensor:
        """What the generator voices: the segment's real log-mel, or the decoder's rebuild of it
        (moved by the segment's random gain, as the real mel would be)."""
        audio, frames = batch["audio"], batch["f0"].shape[-1]
        if not self.config.decoder_model:
            return log_mel(audio)[..., :frames]
        mels = [self.rebuilt()[int(u)][:, int(s) : int(s) + frames]
                for u, s in zip(batch["utterance"], batch["start"], strict=True)]
        return torch.from_numpy(np.stack(mels)) + torch.log(batch["gain"])[:, None, None]

    def step(self, phase: str, models: Mapping[str, nn.Module], batch, carry: dict, step: int) -> StepOutput:
        audio, f0 = batch["audio"], batch["f0"]
        if "y_hat" not in carry:
            carry["y_hat"] = models["gen"](self._input_mel(batch), f0)
        y_hat, w = carry["y_hat"], self.config.weights
        disc = models["disc"]
        if phase == "disc":
            real, fake = disc(audio), disc(y_hat.detach())
            return StepOutput(
                {"d_adv": losses.discriminator_lsgan(real, fake)}, {"d_adv": w["d_adv"]},
                {"accuracy": losses.discriminator_accuracy(real, fake)},
            )
        out = {"mel": losses.mel_l1(y_hat, audio, self.config.loudness),
               "stft": losses.multi_resolution_stft(y_hat, audio)}
        if step >= self.config.gan_start:
            fake = disc(y_hat)
            with torch.no_grad():
                real = disc(audio)
            out["adv"] = losses.generator_lsgan(fake)
            out["fm"] = losses.feature_matching(real, fake)
        return StepOutput(out, {k: w[k] for k in out})

    @torch.no_grad()
    def samples(self, models: Mapping[str, nn.Module]) -> list[Sample]:
        gen = models["gen"]
        was_training = gen.training
        gen.eval()
        out = []
        pairs = list(zip(self.utterances, self.features(), strict=True))[: self.config.sample_count]
        for i, (utt, feats) in enumerate(pairs):
            pcm = feats.audio[: SAMPLE_SECONDS * SAMPLE_RATE].astype("float32")
            audio = torch.from_numpy(pcm / 32768.0)[None]
            f0 = torch.from_numpy(feats.f0[: audio.shape[-1] // HOP + 1])[None]
            batch = {"audio": audio, "f0": f0, "utterance": [i], "start": [0], "gain": torch.ones(1)}
            y = gen(self._input_mel(batch), f0)[0, : audio.shape[-1]]
            out.append(Sample(Path(utt.path).stem, y.numpy()))
        gen.train(was_training)
        return out

    def export(self, models: Mapping[str, nn.Module], folder: Path, card: dict) -> None:
        card = {**card, "recipe": self.config_dict()}
        if self._started_from is not None:
            card["started_from"] = self._started_from
        if self.config.decoder_model:  # the fingerprint of the decoder whose output it voices
            from voxmorph.models.checkpoint_io import weights_id

            card["decoder"] = weights_id(self.config.decoder_model)
        save_vocoder(models["gen"], folder, card)
        if self.config.onnx:
            export_onnx(models["gen"], folder / ONNX_FILE)
