"""Voice-conversion benchmark on the parallel VCC2018 evaluation set.

For each (source, target) speaker pair: enrol the target from its first :data:`ENROL_UTTS`
sentences, convert the source's remaining sentences, and judge each against the real target
saying the same sentence. Rows per pair type: *unconverted* (the source itself), *world* (the
baseline converter) and *target recording* (the real target: the ceiling for similarity and
the floor for CER/DNSMOS comparisons).
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from voxmorph.audio.io import load_audio, save_audio
from voxmorph.errors import UserError
from voxmorph.eval.judge import Judge, Pair, markdown_table, summarise
from voxmorph.eval.report import write_report

ENROL_UTTS = 10
N_SENTENCES = 35
PAIRS = {
    "cross-gender": [("VCC2SF1", "VCC2TM1"), ("VCC2SM1", "VCC2TF1"),
                     ("VCC2SF2", "VCC2TM2"), ("VCC2SM2", "VCC2TF2")],
    "same-gender": [("VCC2SF1", "VCC2TF1"), ("VCC2SM1", "VCC2TM1")],
}
SYSTEMS = ("unconverted", "world", "target recording")


def _utt(data: Path, speaker: str, i: int) -> Path:
    return data / speaker / f"300{i:02d}.flac"


NEURAL = "world + neural vocoder"


def _run_pair(
    data: Path, src: str, tgt: str, utterances: int, workdir: Path, neural: bool = False
) -> list[dict]:
    """Enrol, convert and judge one pair; returns judged rows tagged with their system."""
    import torch

    from voxmorph.pipeline.enrol import enrol_voice
    from voxmorph.pipeline.world_converter import WorldConverter

    torch.set_num_threads(1)
    enrol_files = tuple(_utt(data, tgt, i) for i in range(1, ENROL_UTTS + 1))
    t0 = time.perf_counter()
    voice = enrol_voice(tgt, enrol_files)
    enrol_s = time.perf_counter() - t0
    converter = WorldConverter(voice)
    neural_converter = None
    if neural:
        from voxmorph.pipeline.vocoder import NeuralVocoder

        neural_converter = WorldConverter(voice, synthesise=NeuralVocoder.load().synthesise_world)
    judge = Judge()
    rows = []
    for i in range(ENROL_UTTS + 1, ENROL_UTTS + 1 + utterances):
        source, target = _utt(data, src, i), _utt(data, tgt, i)
        x = load_audio(source)
        t0 = time.perf_counter()
        converter.reset()
        y = converter.convert(x)
        seconds = time.perf_counter() - t0
        out = workdir / f"{src}_to_{tgt}_{i}.wav"
        save_audio(out, y)
        systems = [
            ("unconverted", source, target, None),
            ("world", out, target, seconds),
            ("target recording", target, None, None),  # MCD against itself would be 0
        ]
        if neural_converter is not None:
            t0 = time.perf_counter()
            neural_converter.reset()
            y = neural_converter.convert(x)
            path = workdir / f"{src}_to_{tgt}_{i}_neural.wav"
            save_audio(path, y)
            systems.insert(2, (NEURAL, path, target, time.perf_counter() - t0))
        for system, converted, parallel, secs in systems:
            row = judge.judge(Pair(converted, source, enrol_files, parallel, secs))
            rows.append({"system": system, "pair": f"{src}->{tgt}", "enrol_seconds": enrol_s, **row})
    return rows


def run_bench_vc(data: Path, out: Path, utterances: int = 25, jobs: int = 2, neural: bool = False) -> str:
    """Run the benchmark, write ``out``.json/.md, and return the markdown."""
    data = Path(data)
    if not (data / "VCC2SF1").is_dir():
        raise UserError(f"{data}: not the vcc2018_eval folder (expected VCC2SF1/, VCC2TM1/, ...)")
    utterances = max(1, min(utterances, N_SENTENCES - ENROL_UTTS))
    tasks = [(kind, s, t) for kind, pairs in PAIRS.items() for s, t in pairs]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="voxmorph-bench-") as tmp, \
            ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [(kind, pool.submit(_run_pair, data, s, t, utterances, Path(tmp), neural))
                   for kind, s, t in tasks]
        rows = [dict(r, kind=kind) for kind, fut in futures for r in fut.result()]
    wall = time.perf_counter() - start
    summaries = {
        f"{kind} / {system}": summarise([r for r in rows if r["kind"] == kind and r["system"] == system])
        for kind in PAIRS for system in SYSTEMS[:2] + ((NEURAL,) if neural else ()) + SYSTEMS[2:]
    }
    world = [r for r in rows if r["system"] == "world"]
    enrol = sorted({(r["pair"], r["enrol_seconds"]) for r in world})
    speed = {
        "conversion_x_real_time": float(1.0 / np.nanmean([r["rtf"] for r in world])),
        "enrol_seconds_mean": float(np.mean([e for _, e in enrol])),
        "wall_seconds": wall,
        "jobs": jobs,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    md = render_markdown(summaries, speed, rows, utterances)
    write_report(out, {"summaries": summaries, "speed": speed, "rows": rows}, md)
    return md


def _pair_table(rows: list[dict]) -> str:
    """Similarity and MCD per speaker pair, unconverted vs converted."""
    lines = ["| pair | similarity: unconverted → world | MCD dB: unconverted → world |",
             "|---|---|---|"]
    for pair in dict.fromkeys(r["pair"] for r in rows):
        s = {sys: summarise([r for r in rows if r["pair"] == pair and r["system"] == sys])
             for sys in ("unconverted", "world")}
        lines.append(f"| {pair} | {s['unconverted']['secs']:.3f} → {s['world']['secs']:.3f} | "
                     f"{s['unconverted']['mcd']:.2f} → {s['world']['mcd']:.2f} |")
    return "\n".join(lines) + "\n"


def render_markdown(summaries: dict, speed: dict, rows: list[dict], utterances: int) -> str:
    """The benchmark's markdown report from its results (also used to re-render saved JSON)."""
    pairs = ", ".join(dict.fromkeys(r["pair"].replace("->", "→") for r in rows))
    return (
        "# Voice conversion benchmark: VCC2018 evaluation set (real recordings)\n\n"
        f"Pairs: {pairs}. Each target enrolled from sentences 30001–300{ENROL_UTTS:02d}; "
        f"{utterances} held-out sentences per pair converted and judged against the real target "
        "saying the same sentence. Similarity: GE2E cosine to the target's enrolment "
        "embedding. CER: pocketsphinx words on the source vs on the output. "
        "`target recording` is the real target: similarity ceiling, and its CER shows what a "
        "perfect conversion costs the recogniser.\n\n"
        + markdown_table(summaries)
        + "\nPer pair:\n\n" + _pair_table(rows)
        + f"\nConversion speed (WORLD baseline, Harvest F0, 1 thread per worker): "
        f"{speed['conversion_x_real_time']:.1f}× real time; enrolment from {ENROL_UTTS} "
        f"utterances: {speed['enrol_seconds_mean']:.1f} s. Whole benchmark: "
        f"{speed['wall_seconds'] / 60:.1f} min with {speed['jobs']} workers on {speed['machine']}.\n"
    )
