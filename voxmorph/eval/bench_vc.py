"""Voice-conversion benchmark on real recordings.

**VCC2018** (parallel: every speaker reads the same 35 sentences). For each target: enrol it from
its first :data:`ENROL_UTTS` sentences (and, as a second row, from its first
:data:`FEW_UTTS`), convert each paired source's held-out sentences, and judge each against the
real target saying the same sentence. Systems: *unconverted* (the source itself), *world* (the
baseline converter), optionally *world + neural vocoder*, *neural zero-shot* (the neural
converter with the voice's speaker embedding), *neural calibrated* (the same with the mel
calibration ``voice add`` measures), *neural adapted* (after ``voice add --adapt`` instead), and
*target recording* (the real target: the ceiling for similarity, and what a perfect conversion
costs the recogniser).

**Unseen targets** (optional): VCTK p225–p228 and LibriSpeech 40/78 as targets for VCC2018 source
sentences; no parallel target, so similarity, CER and DNSMOS only. Unseen means not in the
models' training data: LibriSpeech 40/78 are, unless the models were trained with ``--hold-out``
on them; and VCC2018's SF1, SM1 and SM2 are the VCC2016 training speakers of those names.

Similarity is always judged against the target's :data:`ENROL_UTTS`-sentence enrolment set, so
the few-shot rows are scored against the same reference as the others. A second identity measure
shares nothing with resemblyzer (:mod:`voxmorph.eval.speaker_id`): a speaker identifier over the
12 VCC2018 speakers' enrolment sentences, asked whether each output is the target or the source.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voxmorph.audio.io import load_audio, save_audio
from voxmorph.errors import UserError
from voxmorph.eval.judge import Judge, Pair, markdown_table, summarise
from voxmorph.eval.report import write_report

ENROL_UTTS = 10
FEW_UTTS = 3
N_SENTENCES = 35
PAIRS = {
    "cross-gender": [("VCC2SF1", "VCC2TM1"), ("VCC2SM1", "VCC2TF1"),
                     ("VCC2SF2", "VCC2TM2"), ("VCC2SM2", "VCC2TF2")],
    "same-gender": [("VCC2SF1", "VCC2TF1"), ("VCC2SM1", "VCC2TM1")],
}
UNSEEN_TARGETS = {"vctk": ("p225", "p226", "p227", "p228"), "librispeech": ("40", "78")}
UNSEEN_SOURCES = ("VCC2SF1", "VCC2SM1")
UNSEEN_SENTENCES = 5
"""VCC2018 sentences per source converted into each unseen target (fewer if ``utterances`` is)."""

WORLD, VOCODER = "world", "world + neural vocoder"
ZERO_SHOT, CALIBRATED, ADAPTED = "neural zero-shot", "neural calibrated", "neural adapted"
UNCONVERTED, TARGET = "unconverted", "target recording"


@dataclass(frozen=True)
class BenchOptions:
    utterances: int = 25
    neural: bool = True
    """Run the neural converter (zero-shot, calibrated and adapted)."""
    neural_vocoder: bool = False
    """Also run the WORLD converter with the neural vocoder as its synthesiser."""
    adapt_steps: int = 300
    few_shot: bool = True
    """Also enrol each VCC2018 target from :data:`FEW_UTTS` sentences."""
    unseen: bool = True
    models: tuple[str | None, str | None, str | None] = (None, None, None)
    """The neural converter's content encoder, decoder and vocoder folders (None: the shipped one)."""


def _utt(data: Path, speaker: str, i: int) -> Path:
    return data / speaker / f"300{i:02d}.flac"


def _converters(tgt: str, files: Sequence[Path], options: BenchOptions, suffix: str = ""
                ) -> tuple[list, dict]:
    """``[(system name, converter)]`` for a target enrolled from ``files``, and timings."""
    from voxmorph.pipeline.world.offline import WorldConverter
    from voxmorph.voices.enrol import enrol_voice

    t0 = time.perf_counter()
    voice = enrol_voice(tgt, files)
    timing = {"enrol_seconds": time.perf_counter() - t0}
    systems = [(WORLD + suffix, WorldConverter(voice))]
    if options.neural_vocoder:
        from voxmorph.pipeline.vocoder import NeuralVocoder

        synthesise = NeuralVocoder.load().synthesise_world
        systems.append((VOCODER + suffix, WorldConverter(voice, synthesise=synthesise)))
    if options.neural:
        from voxmorph.pipeline.neural.calibration import calibrate_voice
        from voxmorph.pipeline.neural.models import NeuralModels
        from voxmorph.pipeline.neural.offline import NeuralConverter
        from voxmorph.train.adapter import adapt_voice

        models = NeuralModels.load(*options.models)
        systems.append((ZERO_SHOT + suffix, NeuralConverter(voice, models)))
        calibrated = calibrate_voice(voice, files, models)
        timing["calibrate_cpu_seconds"] = calibrated.adapter.info["cpu_seconds"]
        systems.append((CALIBRATED + suffix, NeuralConverter(calibrated, models)))
        t0 = time.process_time()
        adapted = adapt_voice(voice, files, models.content, models.decoder, models.decoder_id,
                              steps=options.adapt_steps, progress=False)
        timing["adapt_cpu_seconds"] = time.process_time() - t0
        timing["adapt_mel_l1"] = (adapted.adapter.info["mel_l1_before"], adapted.adapter.info["mel_l1_after"])
        systems.append((ADAPTED + suffix, NeuralConverter(adapted, models)))
    return systems, timing


def _convert_and_judge(judge: Judge, systems: list, source: Path, reference: tuple[Path, ...],
                       parallel: Path | None, out_stem: Path) -> list[dict]:
    x = load_audio(source)
    rows = [dict(system=UNCONVERTED, **judge.judge(Pair(source, source, reference, parallel)))]
    for name, converter in systems:
        t0 = time.perf_counter()
        converter.reset()
        y = converter.convert(x)
        seconds = time.perf_counter() - t0
        tag = "".join(c if c.isalnum() else "_" for c in name)
        path = out_stem.with_name(f"{out_stem.name}_{tag}.wav")
        save_audio(path, y)
        rows.append(dict(system=name, **judge.judge(Pair(path, source, reference, parallel, seconds))))
    return rows


def _run_target(data: Path, tgt: str, sources: list[tuple[str, str]], options: BenchOptions,
                workdir: Path) -> tuple[list[dict], dict]:
    """Enrol ``tgt`` (10 and 3 sentences), convert every ``(kind, source)`` paired with it, judge."""
    import torch

    torch.set_num_threads(1)
    enrol = tuple(_utt(data, tgt, i) for i in range(1, ENROL_UTTS + 1))
    systems, timing = _converters(tgt, enrol, options)
    timings = {f"{ENROL_UTTS} utts": timing}
    if options.few_shot:
        few, timings[f"{FEW_UTTS} utts"] = _converters(tgt, enrol[:FEW_UTTS], options, f" ({FEW_UTTS} utts)")
        systems += few
    judge = Judge()
    identifier = _identifier(data)
    rows = []
    for kind, src in sources:
        for i in range(ENROL_UTTS + 1, ENROL_UTTS + 1 + options.utterances):
            source, target = _utt(data, src, i), _utt(data, tgt, i)
            found = _convert_and_judge(judge, systems, source, enrol, target, workdir / f"{src}_to_{tgt}_{i}")
            found.append(dict(system=TARGET, **judge.judge(Pair(target, source, enrol, None))))
            rows += [dict(r, kind=kind, pair=f"{src}->{tgt}", **_identified(identifier, judge, r, src, tgt))
                     for r in found]
    return rows, {tgt: timings}


def _identifier(data: Path):
    """The closed-set speaker identifier over every VCC2018 speaker's enrolment sentences: an
    identity measure sharing nothing with the decoder's conditioning."""
    from voxmorph.eval.speaker_id import SpeakerIdentifier

    speakers = sorted(p.name for p in data.iterdir() if p.is_dir() and p.name.startswith("VCC2"))
    return SpeakerIdentifier({s: [_utt(data, s, i) for i in range(1, ENROL_UTTS + 1)] for s in speakers})


def _identified(identifier, judge: Judge, row: dict, source: str, target: str) -> dict:
    """Whether ``row``'s output is identified as the target and as the source (1 or 0); the
    audio from the judge's cache."""
    found = identifier.identify(judge.audio(Path(row["converted"])))
    return {"id_target": float(found == target), "id_source": float(found == source)}


def _unseen_files(root: Path, corpus: str, speaker: str) -> list[Path]:
    files = sorted((root / corpus / speaker).glob("*.flac"))
    if len(files) < 8:
        raise UserError(f"{root / corpus / speaker}: expected at least 8 recordings")
    return files


def _run_unseen(root: Path, corpus: str, tgt: str, options: BenchOptions, workdir: Path
                ) -> tuple[list[dict], dict]:
    """An unseen target: enrol from all but its last 3 recordings (VCTK) or its first 10
    (LibriSpeech); convert VCC2018 source sentences; judge similarity, CER and DNSMOS."""
    import torch

    torch.set_num_threads(1)
    files = _unseen_files(root, corpus, tgt)
    n_enrol = min(ENROL_UTTS, len(files) - 3)
    sentences = min(UNSEEN_SENTENCES, options.utterances)
    enrol, held_out = tuple(files[:n_enrol]), files[n_enrol : n_enrol + sentences]
    systems, timing = _converters(tgt, enrol, options)
    judge = Judge()
    rows = []
    vcc = root / "vcc2018_eval"
    for src in UNSEEN_SOURCES:
        for i in range(ENROL_UTTS + 1, ENROL_UTTS + 1 + sentences):
            found = _convert_and_judge(judge, systems, _utt(vcc, src, i), enrol, None,
                                       workdir / f"{src}_to_{corpus}_{tgt}_{i}")
            rows += [dict(r, kind=corpus, pair=f"{src}->{tgt}") for r in found]
    for f in held_out:
        rows.append(dict(system=TARGET, kind=corpus, pair=f"{tgt} held out",
                         **judge.judge(Pair(f, f, enrol, None))))
    return rows, {f"{corpus}/{tgt}": {f"{n_enrol} utts": timing}}


def run_bench_vc(data: Path, out: Path, options: BenchOptions = BenchOptions(), jobs: int = 2) -> str:
    """Run the benchmark on ``data`` (the vcc2018_eval folder; its parent holds vctk/ and
    librispeech/ for the unseen targets), write ``out``.json/.md, and return the markdown."""
    data = Path(data)
    if not (data / "VCC2SF1").is_dir():
        raise UserError(f"{data}: not the vcc2018_eval folder (expected VCC2SF1/, VCC2TM1/, ...)")
    options = BenchOptions(**{**options.__dict__,
                              "utterances": max(1, min(options.utterances, N_SENTENCES - ENROL_UTTS))})
    by_target: dict[str, list[tuple[str, str]]] = {}
    for kind, pairs in PAIRS.items():
        for s, t in pairs:
            by_target.setdefault(t, []).append((kind, s))
    root = data.parent
    if options.unseen:
        for corpus, speakers in UNSEEN_TARGETS.items():
            for spk in speakers:
                _unseen_files(root, corpus, spk)  # fail before hours of work
    start = time.perf_counter()
    rows, timings = [], {}
    with tempfile.TemporaryDirectory(prefix="voxmorph-bench-") as tmp, \
            ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_run_target, data, t, srcs, options, Path(tmp))
                   for t, srcs in by_target.items()]
        if options.unseen:
            futures += [pool.submit(_run_unseen, root, corpus, spk, options, Path(tmp))
                        for corpus, speakers in UNSEEN_TARGETS.items() for spk in speakers]
        for fut in futures:
            found, timing = fut.result()
            rows += found
            timings.update(timing)
    wall = time.perf_counter() - start
    systems = list(dict.fromkeys(r["system"] for r in rows if r["system"] not in (UNCONVERTED, TARGET)))
    order = [UNCONVERTED, *systems, TARGET]
    summaries = {}
    for kind in dict.fromkeys(r["kind"] for r in rows):
        for system in order:
            chosen = [r for r in rows if r["kind"] == kind and r["system"] == system]
            if chosen:
                summaries[f"{kind} / {system}"] = summarise(chosen)
    speed = {
        "x_real_time": {s: float(1.0 / np.nanmean([r["rtf"] for r in rows if r["system"] == s]))
                        for s in systems},
        "wall_seconds": wall,
        "jobs": jobs,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "timings": timings,
    }
    md = render_markdown(summaries, speed, rows, options)
    write_report(out, {"summaries": summaries, "speed": speed, "options": options.__dict__, "rows": rows}, md)
    return md


def _pair_table(rows: list[dict], systems: Sequence[str]) -> str:
    """Similarity and MCD per VCC2018 speaker pair and system."""
    head = " / ".join(systems)
    lines = [f"| pair | similarity: unconverted / {head} | MCD dB: unconverted / {head} |", "|---|---|---|"]
    for pair in dict.fromkeys(r["pair"] for r in rows if r["kind"] in PAIRS):
        s = [summarise([r for r in rows if r["pair"] == pair and r["system"] == sys])
             for sys in (UNCONVERTED, *systems)]
        lines.append(f"| {pair} | " + " / ".join(f"{x['similarity']:.3f}" for x in s) + " | "
                     + " / ".join(f"{x['mcd']:.2f}" for x in s) + " |")
    return "\n".join(lines) + "\n"


def _models_line(options: BenchOptions) -> str:
    """Which neural models were scored (nothing when the neural converter was not run)."""
    if not options.neural:
        return ""
    stages = ("content encoder", "decoder", "vocoder")
    named = [f"{stage} `{path}`" for stage, path in zip(stages, options.models, strict=True) if path]
    return " Neural models: " + ("shipped, except " + ", ".join(named) if named else "shipped") + "."


def render_markdown(summaries: dict, speed: dict, rows: list[dict], options: BenchOptions) -> str:
    """The benchmark's markdown report from its results (also used to re-render saved JSON)."""
    pairs = ", ".join(dict.fromkeys(r["pair"].replace("->", "→") for r in rows if r["kind"] in PAIRS))
    systems = list(speed["x_real_time"])
    speeds = "; ".join(f"{s}: {v:.1f}×" for s, v in speed["x_real_time"].items())
    timing_lines = []
    for target, by_size in speed["timings"].items():
        for size, t in by_size.items():
            line = f"- {target}, {size}: enrolment {t['enrol_seconds']:.1f} s"
            if "calibrate_cpu_seconds" in t:
                line += f"; calibration {t['calibrate_cpu_seconds']:.1f} CPU-s"
            if "adapt_cpu_seconds" in t:
                before, after = t["adapt_mel_l1"]
                line += (f"; adaptation {t['adapt_cpu_seconds'] / 60:.1f} CPU-min "
                         f"(mel L1 on the enrolment audio {before:.3f} → {after:.3f})")
            timing_lines.append(line)
    return (
        "# Voice conversion benchmark (real recordings)\n\n"
        f"VCC2018 pairs: {pairs}. Each target enrolled from sentences 30001–300{ENROL_UTTS:02d} "
        f"(rows marked '({FEW_UTTS} utts)': from 30001–300{FEW_UTTS:02d}); {options.utterances} held-out "
        "sentences per pair converted and judged against the real target saying the same sentence. "
        "Unseen targets (vctk, librispeech): VCC2018 sentences of SF1 and SM1 converted, no parallel "
        "target; they are unseen only by models trained with --hold-out on them (the LibriSpeech "
        "speakers are in the data of models trained without it), and VCC2018's SF1, SM1 and SM2 are "
        "VCC2016 speakers. Similarity: GE2E cosine to the target's enrolment embedding. CER: pocketsphinx "
        "words on the source vs on the output. `target recording` is the real target (held-out "
        f"sentences). Neural adaptation: {options.adapt_steps} steps.{_models_line(options)}\n\n"
        + markdown_table(summaries)
        + "\nPer VCC2018 pair:\n\n" + _pair_table(rows, systems)
        + f"\nConversion speed (1 thread per worker, both cores busy): {speeds}. Whole benchmark: "
        f"{speed['wall_seconds'] / 60:.1f} min with {speed['jobs']} workers on {speed['machine']}.\n\n"
        "Enrolment and adaptation per target:\n\n" + "\n".join(timing_lines) + "\n"
    )
