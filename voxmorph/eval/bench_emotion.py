"""``voxmorph bench emotion``: does conversion keep an emotion, and does ``convert --emotion`` give one?

Acted emotional speech (EmoDB) in two folds of speakers: the emotion judge and the emotion styles
are fitted on one fold and everything is measured on the other, so neither has heard the speakers
it is judged on. Per fold and voice:

- the judge on the original takes (its ceiling on these speakers);
- plain conversion of the same takes (is the emotion kept? ratio to the originals, per emotion);
- the fold's neutral takes converted with each emotion at several intensities (share judged as
  that emotion, mean probability: does it rise with intensity?), once with the measured styles'
  constant pitch and loudness changes and once with the learned prosody model trained on the fold
  (its held-out errors and critic accuracy recorded);
- how far the actors' own emotional takes are from their neutral voice (speaker similarity), the
  yardstick for what an emotion costs in identity.

And with the shipped models: on English read speech (VCTK), ``convert --emotion`` at intensity 1
against plain ``convert`` — CER of the transcript against the source's, similarity to the target
voice, DNSMOS; and ``speak --emotion`` on Harvard sentences at intensities 0.5, 1 and 1.5 — the
share the shipped judge hears as the emotion, WER and DNSMOS against the neutral reading.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import product
from pathlib import Path

import numpy as np

from voxmorph.audio.io import load_audio
from voxmorph.data.corpora import read_corpus
from voxmorph.emotion.judge import EmotionJudge, JudgeConfig
from voxmorph.emotion.names import EMOTIONS
from voxmorph.emotion.style import Expression
from voxmorph.errors import UserError

FEELINGS = ("happy", "sad", "angry", "fearful")


@dataclass(frozen=True)
class EmotionBenchOptions:
    voices: tuple[str, ...] = ("vcc-tf1", "vcc-tm1")
    intensities: tuple[float, ...] = (0.5, 1.0)
    per_speaker: int = 0
    """Takes per speaker and emotion (0: all)."""
    english: int = 3
    """VCTK recordings per speaker for the English part (0: skip it)."""
    sentences: int = 10
    """Harvard sentences ``speak`` reads in each emotion (0: skip it)."""
    f0: str = "dio"
    prosody_steps: int = 1500
    """Training steps of each fold's prosody model (0: the measured styles only)."""


def _folds(speakers: Sequence[str]) -> list[tuple[set[str], set[str]]]:
    s = sorted(speakers)
    a, b = set(s[0::2]), set(s[1::2])
    return [(a, b), (b, a)]


def _fold_prosody(utts: Sequence, test: set[str], steps: int) -> tuple[object, dict]:
    """The prosody model trained on the fold's speakers (the other fold held out and measured on)
    through the training loop, in a scratch folder -> ``(model, its held-out measurements)``."""
    import tempfile

    from voxmorph.emotion.prosody import load_prosody
    from voxmorph.train.emotion_prosody import RECIPE_CONFIGS, ProsodyRecipe
    from voxmorph.train.loop import LoopConfig, train

    held = tuple(sorted({f"{u.corpus}/{u.speaker}" for u in utts if u.speaker in test}))
    recipe = ProsodyRecipe(replace(RECIPE_CONFIGS["small"], held_out=held), utts)
    with tempfile.TemporaryDirectory() as run:
        train(recipe, run, LoopConfig(steps=steps, batch_size=16, checkpoint_every=steps,
                                      sample_every=10 * steps, log_every=max(1, steps // 10)), progress=False)
        model, meta = load_prosody(Path(run) / "model")
    return model, meta["card"]["held_out"]


def actors_similarity(utts: Sequence, bar) -> dict[str, float]:
    """Per emotion, the speaker similarity of the actors' takes to their own neutral voice (the
    mean embedding of their other neutral takes)."""
    from voxmorph.models.speaker import SpeakerEncoder

    enc, emb = SpeakerEncoder.shared(), defaultdict(list)
    for u in utts:
        emb[u.speaker].append((u.emotion, enc.embed(load_audio(u.path))))
        bar.update(1)
    sims = defaultdict(list)
    for takes in emb.values():
        for k, (emotion, e) in enumerate(takes):
            refs = [r for j, (y, r) in enumerate(takes) if y == "neutral" and j != k]
            if not refs:
                continue
            ref = np.mean(refs, 0)
            sims[emotion].append(float(e @ ref / (np.linalg.norm(e) * np.linalg.norm(ref) + 1e-9)))
    return {k: float(np.mean(v)) for k, v in sorted(sims.items())}


def _converter(models, voice: str, options: EmotionBenchOptions, expression: Expression | None,
               keep_emotion: bool = False):
    from voxmorph.pipeline.neural.offline import NeuralConverter
    from voxmorph.pipeline.options import ConversionOptions
    from voxmorph.voices.store import VoiceStore

    settings = ConversionOptions(f0_tracker=options.f0, keep_emotion=keep_emotion)
    return NeuralConverter(VoiceStore().get(voice), models, settings, expression)


def _level_st(x: np.ndarray) -> float:
    """Median pitch of the voiced frames, semitones re 100 Hz (NaN without voicing)."""
    from voxmorph.audio.f0 import get_tracker, mel_frame_f0

    f0 = mel_frame_f0(get_tracker("dio"), x)
    return float(np.median(12.0 * np.log2(f0[f0 > 0] / 100.0))) if (f0 > 0).sum() > 10 else float("nan")


def _elevation(levels: Sequence[float], held: Sequence) -> dict[str, float]:
    """Per emotion, the mean pitch level of its takes above the same speaker's neutral takes of
    the same sentence (semitones)."""
    from voxmorph.train.emotion_style import sentence_key

    neutral = defaultdict(list)
    for lv, u in zip(levels, held, strict=True):
        if u.emotion == "neutral":
            neutral[(u.speaker, sentence_key(u))].append(lv)
    per = defaultdict(list)
    for lv, u in zip(levels, held, strict=True):
        ref = neutral.get((u.speaker, sentence_key(u)))
        if ref and u.emotion != "neutral":
            per[u.emotion].append(lv - float(np.nanmean(ref)))
    return {k: float(np.nanmean(v)) for k, v in sorted(per.items())}


def _convert_all(converter, audio: Sequence[np.ndarray], bar) -> list[np.ndarray]:
    out = []
    for x in audio:
        converter.reset()  # each take is its own speaker statistics
        out.append(converter.convert(x))
        bar.update(1)
    return out


def _first(utts: Sequence, n: int) -> list:
    """At most ``n`` takes per speaker and emotion (all for 0), in corpus order."""
    if not n:
        return list(utts)
    seen: dict = defaultdict(int)
    out = []
    for u in utts:
        seen[(u.speaker, u.emotion)] += 1
        if seen[(u.speaker, u.emotion)] <= n:
            out.append(u)
    return out


def _judged(judge: EmotionJudge, audio: Sequence[np.ndarray]) -> list[dict[str, float]]:
    return [judge.probabilities(x) for x in audio]


def _accuracy(probs: Sequence[dict[str, float]], labels: Sequence[str]) -> dict:
    per = defaultdict(list)
    for p, y in zip(probs, labels, strict=True):
        per[y].append(max(p, key=p.get) == y)
    return {"all": float(np.mean([v for vs in per.values() for v in vs])),
            **{k: float(np.mean(v)) for k, v in sorted(per.items())}}


def emodb_part(data: Path, models, options: EmotionBenchOptions, bar) -> dict:
    from voxmorph.train.emotion_judge import corpus_features, fit
    from voxmorph.train.emotion_style import fit_styles

    classes = JudgeConfig().classes
    utts = [u for u in read_corpus(data / "emodb") if u.emotion in classes]
    out: dict = {"folds": []}
    for train, test in _folds({u.speaker for u in utts}):
        fitted = [u for u in utts if u.speaker in train]
        x, y, _ = corpus_features(fitted, classes)
        judge = fit(x, y, classes)
        styles = fit_styles(fitted, list(EMOTIONS))
        variants = {"styles": {"learned": False}}
        if options.prosody_steps:
            prosody, prosody_held = _fold_prosody(utts, test, options.prosody_steps)
            variants["learned"] = {"prosody": prosody, "learned": True}
        held = _first([u for u in utts if u.speaker in test], options.per_speaker)
        audio = [load_audio(u.path) for u in held]
        labels = [u.emotion for u in held]
        fold = {"fitted_on": sorted(train), "judged_on": sorted(test),
                "originals": _accuracy(_judged(judge, audio), labels),
                "elevation": _elevation([_level_st(a) for a in audio], held), "voices": {}}
        if options.prosody_steps:
            fold["prosody_held_out"] = prosody_held
        neutral = [a for a, y in zip(audio, labels, strict=True) if y == "neutral"]
        for voice in options.voices:
            plain = _convert_all(_converter(models, voice, options, None), audio, bar)
            kept = _convert_all(_converter(models, voice, options, None, keep_emotion=True), audio, bar)
            row = {"plain": _accuracy(_judged(judge, plain), labels),
                   "plain_keep_emotion": _accuracy(_judged(judge, kept), labels),
                   "elevation": _elevation([_level_st(a) for a in plain], held),
                   "elevation_keep_emotion": _elevation([_level_st(a) for a in kept], held),
                   "re-emoted": {}}
            for (variant, kw), feeling, intensity in product(variants.items(), FEELINGS, options.intensities):
                conv = _converter(models, voice, options, Expression(feeling, intensity, styles, **kw))
                probs = _judged(judge, _convert_all(conv, neutral, bar))
                row["re-emoted"][f"{feeling} {intensity:g} {variant}"] = {
                    "judged": float(np.mean([max(p, key=p.get) == feeling for p in probs])),
                    "probability": float(np.mean([p[feeling] for p in probs])),
                    "judged_neutral": float(np.mean([max(p, key=p.get) == "neutral" for p in probs]))}
            fold["voices"][voice] = row
        out["folds"].append(fold)
    return out


def english_part(data: Path, models, options: EmotionBenchOptions, bar) -> dict:
    from voxmorph.eval.asr import Transcriber
    from voxmorph.eval.judge import Judge
    from voxmorph.eval.metrics import dnsmos, speaker_similarity
    from voxmorph.models.speaker import SpeakerEncoder
    from voxmorph.text.distance import cer

    files = []
    for spk in sorted((data / "vctk").iterdir()):
        files += sorted(spk.glob("*.flac"))[: options.english]
    if not files:
        raise UserError(f"{data / 'vctk'}: no recordings there")
    asr, encoder, judge = Transcriber(), SpeakerEncoder.shared(), Judge()
    sources = [load_audio(f) for f in files]
    said = [asr(x) for x in sources]
    out = {}
    for voice in options.voices:
        ref = judge.reference_embedding(voice)
        for feeling, learned in ((None, False), *product(FEELINGS, (False, True))):
            conv = _converter(models, voice, options, Expression.of(feeling, 1.0, learned=learned))
            rows = [(cer(text, asr(y)), speaker_similarity(encoder.embed(y), ref), dnsmos(y)["ovrl"])
                    for y, text in zip(_convert_all(conv, sources, bar), said, strict=True)]
            cers, sims, mos = zip(*rows, strict=True)
            name = f"{feeling} {'learned' if learned else 'styles'}" if feeling else "plain"
            out[f"{voice} {name}"] = {
                "cer": float(np.mean(cers)), "similarity": float(np.mean(sims)),
                "dnsmos": float(np.mean(mos)), "files": len(rows)}
    return out


def speak_part(options: EmotionBenchOptions, bar) -> dict:
    from voxmorph.emotion.judge import load_judge
    from voxmorph.eval.asr import Transcriber
    from voxmorph.eval.bench_tts import HARVARD, wer
    from voxmorph.eval.metrics import dnsmos
    from voxmorph.pipeline.speak import SpeakOptions, Synthesiser
    from voxmorph.voices.store import VoiceStore

    judge, _ = load_judge()
    asr, texts, out = Transcriber(), HARVARD[: options.sentences], {}
    for voice in options.voices:
        for feeling in (None, *FEELINGS):
            for intensity in ((None,) if feeling is None else (0.5, 1.0, 1.5)):
                synth = Synthesiser.load(VoiceStore().get(voice), options=SpeakOptions(
                    seed=0, emotion=feeling, intensity=intensity))
                audio = []
                for t in texts:
                    audio.append(synth.speak(t))
                    bar.update(1)
                probs = _judged(judge, audio)
                row = {"wer": float(np.mean([wer(t, asr(y)) for t, y in zip(texts, audio, strict=True)])),
                       "dnsmos": float(np.mean([dnsmos(y)["ovrl"] for y in audio])),
                       "judged": {k: float(np.mean([max(p, key=p.get) == k for p in probs]))
                                  for k in JudgeConfig().classes}}
                if feeling:
                    row["probability"] = float(np.mean([p[feeling] for p in probs]))
                out[f"{voice} {feeling or 'neutral'}{f' {intensity:g}' if feeling else ''}"] = row
    return out


def run_bench_emotion(data: Path, options: EmotionBenchOptions = EmotionBenchOptions(),
                      progress: bool = True) -> dict:
    from tqdm import tqdm

    from voxmorph.pipeline.neural.models import NeuralModels

    if not (data / "emodb").is_dir():
        raise UserError(f"{data / 'emodb'}: no EmoDB there; give --data the folder holding emodb/ and vctk/")
    utts = _first([u for u in read_corpus(data / "emodb") if u.emotion in JudgeConfig().classes],
                  options.per_speaker)
    neutral = sum(u.emotion == "neutral" for u in utts)
    variants = 2 if options.prosody_steps else 1
    total = len(utts) + len(options.voices) * (
        2 * len(utts) + variants * neutral * len(FEELINGS) * len(options.intensities))
    vctk_speakers = sum(p.is_dir() for p in (data / "vctk").iterdir()) if options.english else 0
    total += len(options.voices) * (1 + 2 * len(FEELINGS)) * vctk_speakers * options.english
    total += len(options.voices) * (1 + 3 * len(FEELINGS)) * options.sentences
    models = NeuralModels.load()
    with tqdm(total=total, desc="bench emotion", unit="conversions", disable=not progress) as bar:
        result = {"options": options.__dict__, "actors_similarity": actors_similarity(utts, bar),
                  "emodb": emodb_part(data, models, options, bar)}
        if options.english:
            result["english"] = english_part(data, models, options, bar)
        if options.sentences:
            result["speak"] = speak_part(options, bar)
    return result


def summarise(r: dict) -> dict:
    """Fold means: the judge on originals and on plain conversions (and their ratio) per emotion;
    each re-emoted emotion and intensity per voice."""
    folds = r["emodb"]["folds"]
    voices = list(folds[0]["voices"])
    keys = list(folds[0]["originals"])

    def mean(get) -> float:
        return float(np.mean([get(f) for f in folds]))

    originals = {k: mean(lambda f, k=k: f["originals"][k]) for k in keys}
    out = {"originals": originals, "plain": {}, "re-emoted": {}}
    feelings = list(folds[0]["elevation"])
    out["elevation"] = {k: mean(lambda f, k=k: f["elevation"][k]) for k in feelings}
    out["plain_keep_emotion"] = {}
    for v in voices:
        for name in ("plain", "plain_keep_emotion"):
            acc = {k: mean(lambda f, k=k, v=v, name=name: f["voices"][v][name][k]) for k in keys}
            elev = "elevation" if name == "plain" else "elevation_keep_emotion"
            out[name][v] = {k: {"accuracy": a, "kept": a / max(originals[k], 1e-9)} for k, a in acc.items()}
            for k in feelings:
                out[name][v][k]["elevation"] = mean(lambda f, k=k, v=v, e=elev: f["voices"][v][e][k])
        out["re-emoted"][v] = {
            name: {m: mean(lambda f, v=v, name=name, m=m: f["voices"][v]["re-emoted"][name][m])
                   for m in ("judged", "probability", "judged_neutral")}
            for name in folds[0]["voices"][v]["re-emoted"]}
    return out


def markdown(r: dict) -> str:
    s, folds = summarise(r), r["emodb"]["folds"]
    keys = list(s["originals"])
    def cells(values) -> str:
        return " | ".join(f"{v:.3f}" for v in values)

    lines = ["# Emotion benchmark", "",
             "EmoDB in two folds of speakers: the judge and the emotion styles fitted on one, measured "
             "on the other (means of the two folds). Judge accuracy, 5 classes (chance 0.2):", "",
             f"| | {' | '.join(keys)} |", f"|---|{'---:|' * len(keys)}",
             f"| originals | {cells(s['originals'][k] for k in keys)} |"]
    for name, label in (("plain", "convert"), ("plain_keep_emotion", "convert --keep-emotion")):
        for v, row in s[name].items():
            lines.append(f"| {label} → {v} | {cells(row[k]['accuracy'] for k in keys)} |")
            lines.append(f"| kept (ratio) | {cells(row[k]['kept'] for k in keys)} |")
    feelings = list(s["elevation"])
    lines += ["", "Pitch level above the same actor's neutral take of the same sentence (semitones, "
              "DIO median):", "", f"| | {' | '.join(feelings)} |", f"|---|{'---:|' * len(feelings)}",
              f"| originals | {cells(s['elevation'][k] for k in feelings)} |"]
    for name, label in (("plain", "convert"), ("plain_keep_emotion", "convert --keep-emotion")):
        for v, row in s[name].items():
            lines.append(f"| {label} → {v} | {cells(row[k]['elevation'] for k in feelings)} |")
    if "actors_similarity" in r:
        sim = r["actors_similarity"]
        lines += ["", "The actors' own takes: speaker similarity to their neutral voice (mean embedding of "
                  "their other neutral takes), what an emotion costs in identity when a person feels it:",
                  "", f"| {' | '.join(sim)} |", f"|{'---:|' * len(sim)}", f"| {cells(sim.values())} |"]
    if "prosody_held_out" in folds[0]:
        lines += ["", "Learned prosody model on the fold it was not trained on (pitch-change error in "
                  "semitones against the constant change the styles apply; the critic's accuracy, "
                  "0.5 = it cannot tell generated from real):", "",
                  "| fold | emotion | pairs | pitch error | constant's | contour corr. | loudness error (dB) "
                  "| constant's | critic accuracy |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for i, f in enumerate(folds):
            lines += [f"| {i + 1} | {e} | {m['pairs']} | {m['pitch_error_st']:.2f} | "
                      f"{m['pitch_error_mean_change_st']:.2f} | {m['pitch_contour_correlation']:.2f} | "
                      f"{m['loudness_error_db']:.2f} | {m['loudness_error_mean_change_db']:.2f} | "
                      f"{m['critic_accuracy']:.2f} |" for e, m in f["prosody_held_out"].items()]
    lines += ["", "Neutral takes converted with an emotion (`convert --emotion E --intensity I`; "
              "styles: constant pitch and loudness changes; learned: the prosody model):", "",
              "| voice | emotion intensity | judged as it | its probability | judged neutral |",
              "|---|---|---:|---:|---:|"]
    for v, rows in s["re-emoted"].items():
        lines += [f"| {v} | {name} | {m['judged']:.3f} | {m['probability']:.3f} | {m['judged_neutral']:.3f} |"
                  for name, m in rows.items()]
    if "english" in r:
        lines += ["", "English read speech (VCTK), shipped models, intensity 1:", "",
                  "| voice emotion | CER vs source | similarity to voice | DNSMOS |", "|---|---:|---:|---:|"]
        lines += [f"| {k} | {m['cer']:.3f} | {m['similarity']:.3f} | {m['dnsmos']:.3f} |"
                  for k, m in r["english"].items()]
    if "speak" in r:
        lines += ["", "`speak --emotion` on Harvard sentences, shipped models and judge:", "",
                  "| voice emotion intensity | judged as it | its probability | judged neutral | WER "
                  "| DNSMOS |", "|---|---:|---:|---:|---:|---:|"]
        for k, m in r["speak"].items():
            feeling = k.split()[1]
            lines.append(f"| {k} | {m['judged'][feeling]:.3f} | {m.get('probability', float('nan')):.3f} | "
                         f"{m['judged']['neutral']:.3f} | {m['wer']:.3f} | {m['dnsmos']:.3f} |")
    return "\n".join(lines) + "\n"
