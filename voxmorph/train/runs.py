"""Set up a training run from user arguments: corpora, manifest, recipe config, resume."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from voxmorph.data.cache import F0_PACK, F0_TRACKER, FeatureCache
from voxmorph.data.corpora import Utterance
from voxmorph.data.manifest import collect, read_manifest, summary, write_manifest
from voxmorph.data.transcripts import read_transcripts, with_transcripts
from voxmorph.errors import UserError
from voxmorph.train import content, decoder, emotion_prosody, tts, vocoder
from voxmorph.train.checkpoint import latest_checkpoint, read_meta
from voxmorph.train.loop import LoopConfig, TrainResult, train
from voxmorph.train.recipe import Recipe


@dataclass(frozen=True)
class Kind:
    """What ``voxmorph train KIND`` needs to know about a recipe."""

    configs: Mapping[str, Any]
    config_type: type
    make: Callable[[Any, list[Utterance], FeatureCache], Recipe]
    default_steps: Mapping[str, int]
    f0_tracker: str | None = F0_TRACKER
    """F0 in the recipe's feature cache (None: audio only)."""


KINDS = {
    "vocoder": Kind(vocoder.RECIPE_CONFIGS, vocoder.VocoderRecipeConfig, vocoder.VocoderRecipe,
                    {"debug": 20, "small": 30_000, "medium": 16_000, "base": 100_000}),
    "content": Kind(content.RECIPE_CONFIGS, content.ContentRecipeConfig, content.ContentRecipe,
                    {"debug": 20, "small": 20_000, "base": 60_000}, f0_tracker=None),
    "decoder": Kind(decoder.RECIPE_CONFIGS, decoder.DecoderRecipeConfig, decoder.DecoderRecipe,
                    {"debug": 20, "small": 20_000, "base": 60_000}),
    # DIO, not Harvest: the synthesiser learns F0 contours, which DIO tracks well enough at a
    # fraction of the cost (minutes, not half an hour, for a few hours of speech)
    "tts": Kind(tts.RECIPE_CONFIGS, tts.TtsRecipeConfig, tts.TtsRecipe, {"debug": 20, "small": 12_000},
                f0_tracker="dio"),
    # measures and aligns its own contours (a few hundred acted takes)
    "emotion-prosody": Kind(emotion_prosody.RECIPE_CONFIGS, emotion_prosody.ProsodyRecipeConfig,
                            emotion_prosody.ProsodyRecipe, {"debug": 20, "small": 1500}, f0_tracker=None),
}


def run_training(
    kind: str, data: Sequence[Path], out: Path, size: str, resume: bool, steps: int | None, batch_size: int,
    layout: str | None = None, checkpoint_every: int = 500, sample_every: int = 2000, progress: bool = True,
    overrides: Mapping[str, Any] | None = None, transcripts: Path | None = None,
    hold_out: Sequence[str] = (),
) -> TrainResult:
    """Start or resume a ``kind`` run in ``out`` on the corpora in ``data`` (see :data:`KINDS`);
    ``overrides`` replace fields of the recipe config (of a resumed run too: e.g. where its frozen
    content encoder now lives); ``transcripts`` (a :mod:`voxmorph.data.transcripts` file) gives
    texts to utterances without one, and the manifest records them. ``hold_out`` names speakers
    (``corpus/speaker``) to leave out; a resumed run drops them from its manifest."""
    spec = KINDS[kind]
    out = Path(out)
    manifest = out / "manifest.jsonl"
    if resume:
        found = latest_checkpoint(out)
        if found is None or not manifest.exists():
            raise UserError(f"{out}: no run to resume (no checkpoint or manifest)")
        meta = read_meta(found)
        config = replace(_config(spec.config_type, meta["recipe"]), **(overrides or {}))
        utts = _transcribed(read_manifest(manifest), transcripts)
        utts, dropped = _held_out(utts, hold_out, resume=True)
        if transcripts is not None or dropped:
            write_manifest(manifest, utts)
        steps = steps or meta["loop"]["steps"]
        card = {"data": summary(utts) if dropped else meta.get("data"), "corpora": meta.get("corpora"),
                "held_out": sorted(set(hold_out) | set(meta.get("held_out") or ()))}
        batch_size = meta["loop"]["batch_size"]
    else:
        if size not in spec.configs:
            raise UserError(f"unknown config '{size}'; choose from {', '.join(spec.configs)}")
        if not data:
            raise UserError("give at least one --data corpus folder")
        config = replace(spec.configs[size], **(overrides or {}))
        utts, _ = _held_out(_transcribed(collect(data, layout), transcripts), hold_out, resume=False)
        out.mkdir(parents=True, exist_ok=True)
        if latest_checkpoint(out) is None:
            write_manifest(manifest, utts)
        steps = steps or spec.default_steps[size]
        card = {"data": summary(utts), "corpora": sorted(str(Path(d).resolve().name) for d in data),
                "held_out": sorted(set(hold_out))}
    missing = [u.path for u in utts if not Path(u.path).exists()]
    if missing:
        raise UserError(f"{missing[0]}: a file of this run's manifest is gone ({len(missing)} missing)")
    cache = FeatureCache(f0_tracker=spec.f0_tracker)
    _prepare_features(cache, utts, out / F0_PACK, progress)
    recipe = spec.make(config, utts, cache)
    loop = LoopConfig(steps=steps, batch_size=batch_size, checkpoint_every=checkpoint_every,
                      sample_every=sample_every, seed=config.seed, log_every=min(50, max(1, steps // 20)))
    return train(recipe, out, loop, resume=resume, progress=progress, extra_meta=card)


def _transcribed(utts: list[Utterance], transcripts: Path | None) -> list[Utterance]:
    if transcripts is None:
        return utts
    utts, filled = with_transcripts(utts, read_transcripts(transcripts))
    if filled == 0:
        raise UserError(f"{transcripts}: gives no text to any untranscribed utterance of this run")
    print(f"{transcripts}: texts for {filled} utterances", file=sys.stderr)
    return utts


def _held_out(utts: list[Utterance], hold_out: Sequence[str], resume: bool) -> tuple[list[Utterance], int]:
    """``utts`` without the speakers named ``corpus/speaker`` in ``hold_out``, and how many were
    dropped. A new run must find each named speaker (a typo would hold out nothing); a resumed
    one may have dropped them already."""
    wanted = set(hold_out)
    if not wanted:
        return utts, 0
    bad = sorted(h for h in wanted if h.count("/") != 1)
    if bad:
        raise UserError(f"--hold-out {bad[0]}: give CORPUS/SPEAKER, e.g. librispeech/40")
    kept = [u for u in utts if f"{u.corpus}/{u.speaker}" not in wanted]
    found = {f"{u.corpus}/{u.speaker}" for u in utts} & wanted
    if not resume and found != wanted:
        example = f" (e.g. {utts[0].corpus}/{utts[0].speaker})" if utts else ""
        raise UserError(f"--hold-out {sorted(wanted - found)[0]}: no such speaker in the data{example}")
    dropped = len(utts) - len(kept)
    if dropped:
        print(f"held out {dropped} utterances of {len(found)} speakers", file=sys.stderr)
    return kept, dropped


def _prepare_features(cache: FeatureCache, utts: list[Utterance], pack: Path, progress: bool) -> None:
    """Fill the feature cache, from the run's F0 pack where it has one, and write the pack for
    the next machine if it has none (runs that need no F0 skip both)."""
    if cache.f0_tracker is None:
        return
    if pack.exists():
        cache.import_f0(utts, pack, progress)
    cache.prepare(utts, progress=progress)
    if not pack.exists():
        cache.export_f0(utts, pack)


def _config(config_type: type, saved: dict) -> Any:
    """A recipe config from its checkpoint form (JSON turned its tuples into lists)."""
    return config_type(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()})
