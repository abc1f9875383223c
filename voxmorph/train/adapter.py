"""Training recipe for a voice adapter: a few CPU minutes that fit the decoder to one user's voice.

The content encoder and the decoder stay frozen. Only the voice's :class:`DecoderAdapter` learns
(its utterance vector, starting from the zero-shot one, a FiLM offset per block and a mel bias)
by rebuilding the user's own recordings, read through the content encoder under a small random
vocal-tract warp as in decoder training. The loss is mel L1 plus a small L2 pull of the offsets
toward zero, so two minutes of audio cannot drag the decoder far from what it learned on
hundreds of speakers.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from voxmorph.data.cache import FeatureCache
from voxmorph.data.corpora import Utterance
from voxmorph.data.segments import SegmentDataset
from voxmorph.models.content import ContentEncoder
from voxmorph.models.decoder import DecoderAdapter, MelDecoder, VoiceConditioning, load_adapter, save_adapter
from voxmorph.train.decoder import reconstruction_inputs
from voxmorph.train.loop import LoopConfig, train
from voxmorph.train.recipe import Phase, Sample, StepOutput
from voxmorph.voices.voice import ADAPTER_KEYS, Voice, VoiceAdapter

EVAL_SEGMENTS = 32
EVAL_SEED = 7_777
"""Fixed segments of the user's audio scored before and after adapting (mel L1, unwarped)."""


@dataclass(frozen=True)
class AdapterRecipeConfig:
    segment_frames: int = 160
    lr: float = 3e-3
    warp: tuple[float, float] = (0.95, 1.05)
    offset_l2: float = 1e-2
    seed: int = 0


class AdapterRecipe:
    kind = "adapter"

    def __init__(self, config: AdapterRecipeConfig, utterances: Sequence[Utterance], cache: FeatureCache,
                 content: ContentEncoder, decoder: MelDecoder, speaker: np.ndarray):
        self.config = config
        self.utterances = list(utterances)
        self.cache = cache
        self.content = content.eval().requires_grad_(False)
        self.decoder = decoder.eval().requires_grad_(False)
        self.speaker = torch.as_tensor(np.asarray(speaker, np.float32))[None]
        self.phases = (Phase("adapter", ("adapter",), lr=config.lr, lr_decay=1.0),)

    def config_dict(self) -> dict:
        return asdict(self.config)

    def build(self) -> dict[str, nn.Module]:
        with torch.no_grad():
            u = self.decoder.voice(self.speaker, torch.zeros(1, self.decoder.config.style_dim)).u
        return {"adapter": DecoderAdapter(self.decoder.config, u)}

    def dataset(self) -> SegmentDataset:
        self.cache.prepare(self.utterances, progress=False)
        return self._segments(self.config.seed)

    def _segments(self, seed: int) -> SegmentDataset:
        return SegmentDataset([self.cache[u] for u in self.utterances], self.config.segment_frames, seed)

    def step(self, phase: str, models: Mapping[str, nn.Module], batch, carry: dict, step: int) -> StepOutput:
        c = self.config
        mel, cond = reconstruction_inputs(self.content, batch, np.random.default_rng((c.seed, step)), c.warp)
        adapter = models["adapter"]
        mel_hat = self.decoder.render(cond, adapter.conditioning())
        offsets = adapter.film.pow(2).mean() + adapter.mel_bias.pow(2).mean()
        return StepOutput({"mel": (mel_hat - mel).abs().mean(), "offsets": offsets},
                          {"mel": 1.0, "offsets": c.offset_l2})

    @torch.no_grad()
    def score(self, voice: VoiceConditioning) -> float:
        """Mean mel L1 (natural-log units) of the decoder in ``voice`` on :data:`EVAL_SEGMENTS` fixed
        segments of the user's audio, read without warp."""
        data = self._segments(EVAL_SEED)
        items = [data[i] for i in range(EVAL_SEGMENTS)]
        batch = {k: torch.stack([torch.as_tensor(it[k]) for it in items]) for k in ("audio", "f0")}
        mel, cond = reconstruction_inputs(self.content, batch, np.random.default_rng(0), (1.0, 1.0))
        return float((self.decoder.render(cond, voice) - mel).abs().mean())

    def samples(self, models: Mapping[str, nn.Module]) -> list[Sample]:
        return []

    def export(self, models: Mapping[str, nn.Module], folder: Path, card: dict) -> None:
        save_adapter(models["adapter"], folder, {**card, "recipe": self.config_dict()})


def adapt_voice(voice: Voice, files: Sequence[str | Path], content: ContentEncoder, decoder: MelDecoder,
                decoder_id: str, steps: int = 300, batch_size: int = 8, progress: bool = True) -> Voice:
    """``voice`` with an adapter trained for ``steps`` steps on ``files`` (recordings of that voice)
    through the training loop; the adapter's card records steps, CPU seconds and the mel L1 on
    fixed segments of the recordings before and after."""
    utts = [Utterance(Path(f), voice.name, "user") for f in files]
    with tempfile.TemporaryDirectory(prefix="voxmorph-adapt-") as tmp:
        recipe = AdapterRecipe(AdapterRecipeConfig(), utts, FeatureCache(Path(tmp) / "features"),
                               content, decoder, voice.embedding)
        loop = LoopConfig(steps=steps, batch_size=batch_size, checkpoint_every=steps, sample_every=steps + 1,
                          log_every=max(1, steps // 10))
        result = train(recipe, Path(tmp) / "run", loop, progress=progress)
        adapter, _ = load_adapter(Path(tmp) / "run" / "model")
        before = recipe.score(recipe.build()["adapter"].conditioning())
        after = recipe.score(adapter.conditioning())
    arrays = {k: getattr(adapter, k).detach().numpy().copy() for k in ADAPTER_KEYS}
    arrays["u"] = arrays["u"].reshape(-1)
    info = {"steps": result.step, "cpu_seconds": round(result.cpu_seconds, 1),
            "mel_l1_before": round(before, 4), "mel_l1_after": round(after, 4)}
    return replace(voice, adapter=VoiceAdapter(decoder_id, arrays, info))
