"""Set up a training run from user arguments: corpora, manifest, recipe config, resume."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from voxmorph.data.cache import FeatureCache
from voxmorph.data.manifest import collect, read_manifest, summary, write_manifest
from voxmorph.errors import UserError
from voxmorph.train.checkpoint import latest_checkpoint, read_meta
from voxmorph.train.loop import LoopConfig, TrainResult, train
from voxmorph.train.vocoder import RECIPE_CONFIGS, VocoderRecipe, VocoderRecipeConfig

DEFAULT_STEPS = {"debug": 20, "small": 30_000, "base": 100_000}


def run_vocoder_training(
    data: Sequence[Path], out: Path, size: str, resume: bool, steps: int | None, batch_size: int,
    layout: str | None = None, checkpoint_every: int = 500, sample_every: int = 2000, progress: bool = True,
) -> TrainResult:
    out = Path(out)
    manifest = out / "manifest.jsonl"
    if resume:
        found = latest_checkpoint(out)
        if found is None or not manifest.exists():
            raise UserError(f"{out}: no run to resume (no checkpoint or manifest)")
        meta = read_meta(found)
        config = VocoderRecipeConfig(**meta["recipe"])
        utts = read_manifest(manifest)
        steps = steps or meta["loop"]["steps"]
        card = {"data": meta.get("data"), "corpora": meta.get("corpora")}
        batch_size = meta["loop"]["batch_size"]
    else:
        if size not in RECIPE_CONFIGS:
            raise UserError(f"unknown config '{size}'; choose from {', '.join(RECIPE_CONFIGS)}")
        if not data:
            raise UserError("give at least one --data corpus folder")
        config = RECIPE_CONFIGS[size]
        utts = collect(data, layout)
        out.mkdir(parents=True, exist_ok=True)
        if latest_checkpoint(out) is None:
            write_manifest(manifest, utts)
        steps = steps or DEFAULT_STEPS[size]
        card = {"data": summary(utts), "corpora": sorted(str(Path(d).resolve().name) for d in data)}
    missing = [u.path for u in utts if not Path(u.path).exists()]
    if missing:
        raise UserError(f"{missing[0]}: a file of this run's manifest is gone ({len(missing)} missing)")
    recipe = VocoderRecipe(config, utts, FeatureCache())
    loop = LoopConfig(steps=steps, batch_size=batch_size, checkpoint_every=checkpoint_every,
                      sample_every=sample_every, seed=config.seed, log_every=min(50, max(1, steps // 20)))
    return train(recipe, out, loop, resume=resume, progress=progress, extra_meta=card)

