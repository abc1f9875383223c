"""Vocoder benchmark: copy synthesis of unseen speakers, neural vs WORLD, quality and speed.

Quality: every bench utterance (VCC2018 evaluation speakers and VCTK; no file trained on, though
VCC2018's SF1, SM1 and SM2 are VCC2016 training speakers saying other sentences) is
analysed and resynthesised by each vocoder, then scored against the original recording: PESQ
(wide band), STOI, mel-cepstral distance, F0 RMSE (cents; dominated by the few frames where
Harvest jumps an octave on one of the two signals, so the share of frames more than 20 % off is
reported beside it) and DNSMOS. The recordings' own DNSMOS
is the ceiling row.

Speed: synthesis only (features already computed), over the same ~30 s of speech, as x real time,
with 2 threads and with 1, for the neural vocoder in PyTorch and in onnxruntime and for WORLD
synthesis timed in the same run (ratios stay meaningful on a shared, noisy machine); then the whole
copy-synthesis path of each (analysis + synthesis, what ``voxmorph vocode`` runs).
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyworld
import torch

from voxmorph.audio import world
from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.f0 import HarvestF0
from voxmorph.audio.io import load_audio
from voxmorph.errors import UserError
from voxmorph.eval import metrics
from voxmorph.eval.report import write_report
from voxmorph.models.onnx import cached_onnx
from voxmorph.pipeline.vocoder import NeuralVocoder, Vocoder, WorldVocoder

SETS = {"vcc2018_eval": "VCC2018 evaluation speakers", "vctk": "VCTK speakers"}
COLUMNS = (("pesq", "PESQ-wb"), ("stoi", "STOI"), ("mcd", "MCD dB"), ("f0_rmse_cents", "F0 RMSE cents"),
           ("f0_gross", "F0 errors > 20 %"),
           ("ovrl", "DNSMOS OVRL"), ("sig", "DNSMOS SIG"), ("bak", "DNSMOS BAK"))
SPEED_SECONDS = 30.0
REPEATS = 3


def bench_files(data_root: Path, per_speaker: int) -> list[tuple[str, str, Path]]:
    """``(set, speaker, path)`` of the first ``per_speaker`` utterances of every bench speaker."""
    out = []
    for name in SETS:
        root = data_root / name
        if not root.is_dir():
            raise UserError(f"{root}: bench set missing (expected ../shared/data layout)")
        for spk in sorted(p for p in root.iterdir() if p.is_dir()):
            files = sorted(spk.glob("*.flac"))[:per_speaker]
            out += [(name, spk.name, f) for f in files]
    return out


def score(x: np.ndarray, y: np.ndarray, ref: metrics.Analysis) -> dict[str, float]:
    """Metrics of resynthesis ``y`` against the original ``x`` (analysed as ``ref``)."""
    from pesq import pesq
    from pystoi import stoi

    n = min(len(x), len(y))
    try:
        p = float(pesq(SAMPLE_RATE, x[:n], y[:n], "wb"))
    except Exception:  # PESQ refuses inputs it finds no speech in
        p = math.nan
    hyp = metrics.Analysis(y)
    fa, fb = ref.f0[: len(hyp.f0)], hyp.f0[: len(ref.f0)]  # time-aligned by construction
    f0 = metrics.f0_metrics(fa, fb)
    both = (fa > 0) & (fb > 0)
    gross = float(np.mean(np.abs(np.log2(fb[both] / fa[both])) > np.log2(1.2))) if both.any() else math.nan
    return {"pesq": p, "stoi": float(stoi(x[:n], y[:n], SAMPLE_RATE)), "mcd": metrics.mcd(ref, hyp),
            "f0_rmse_cents": f0["f0_rmse_cents"], "f0_gross": gross, **metrics.dnsmos(y)}


def quality_rows(
    files, vocoders: dict[str, Vocoder], progress: Callable[[], None] | None = None
) -> list[dict]:
    rows = []
    for bench_set, speaker, path in files:
        x = load_audio(path)
        ref = metrics.Analysis(x)
        rows.append({"set": bench_set, "speaker": speaker, "file": path.name, "system": "recording",
                     **metrics.dnsmos(x)})
        for name, voc in vocoders.items():
            rows.append({"set": bench_set, "speaker": speaker, "file": path.name, "system": name,
                         **score(x, voc.resynthesise(x), ref)})
        if progress:
            progress()
    return rows


def _best_time(fn: Callable[[], object]) -> float:
    fn()  # warm-up
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def speed(files, neural: NeuralVocoder) -> dict:
    """x real time of synthesis alone, on about :data:`SPEED_SECONDS` of bench speech."""
    x = np.concatenate([load_audio(p) for _, _, p in files])[: int(SPEED_SECONDS * SAMPLE_RATE)]
    dur = len(x) / SAMPLE_RATE
    mel, f0 = neural.analyse(x)
    feats = world.analyse(x, SAMPLE_RATE, HarvestF0())
    out: dict = {"seconds": dur}
    torch_threads = torch.get_num_threads()
    onnx_path = cached_onnx(neural.model, neural.folder) if neural.folder is not None else None
    for threads in (2, 1):
        torch.set_num_threads(threads)
        out[f"neural_torch_{threads}t"] = dur / _best_time(lambda: neural.synthesise(mel, f0))
        if onnx_path is not None:
            onnx = NeuralVocoder(neural.model, runtime="onnx", onnx_path=onnx_path, threads=threads)
            out[f"neural_onnx_{threads}t"] = dur / _best_time(lambda o=onnx: o.synthesise(mel, f0))
    torch.set_num_threads(torch_threads)
    out["world_synthesis"] = dur / _best_time(
        lambda: pyworld.synthesize(feats.f0, feats.sp, feats.ap, SAMPLE_RATE, feats.frame_period_ms)
    )
    out["harvest_analysis"] = dur / _best_time(lambda: HarvestF0()(x, SAMPLE_RATE, 10.0))
    # the whole copy-synthesis path (what `voxmorph vocode` runs): analysis, then synthesis
    world_vocoder = WorldVocoder()
    out["vocode_threads"] = torch.get_num_threads()
    out["neural_vocode"] = dur / _best_time(lambda: neural.resynthesise(x))
    out["world_vocode"] = dur / _best_time(lambda: world_vocoder.resynthesise(x))
    return out


def summarise(rows: list[dict]) -> dict[str, dict[str, dict[str, float]]]:
    """``{set: {system: {metric: mean}}}`` plus an ``all`` set."""
    out: dict = {}
    for bench_set in (*SETS, "all"):
        sub = [r for r in rows if bench_set == "all" or r["set"] == bench_set]
        out[bench_set] = {}
        for system in dict.fromkeys(r["system"] for r in sub):
            srows = [r for r in sub if r["system"] == system]
            out[bench_set][system] = {"n": len(srows), **{
                k: float(np.nanmean([r.get(k, math.nan) for r in srows])) for k, _ in COLUMNS
                if any(k in r and not math.isnan(r[k]) for r in srows)}}
    return out


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"


def render_markdown(summary: dict, sp: dict, card: dict, minutes: float) -> str:
    lines = ["# voxmorph vocoder benchmark", "",
             "Copy synthesis of recordings never trained on (VCC2018's SF1, SM1 and SM2 are VCC2016 "
             f"training speakers saying other sentences). Neural vocoder: {card.get('steps', '?')} steps, "
             f"{card.get('cpu_hours', '?')} CPU-hours of training.", ""]
    for bench_set, systems in summary.items():
        title = SETS.get(bench_set, "all utterances")
        lines += [f"### {title}", "", "| system | n | " + " | ".join(lbl for _, lbl in COLUMNS) + " |",
                  "|---|---:|" + "---:|" * len(COLUMNS)]
        for system, s in systems.items():
            lines.append(f"| {system} | {s['n']} | " + " | ".join(_fmt(s.get(k)) for k, _ in COLUMNS) + " |")
        lines.append("")
    w = sp["world_synthesis"]
    lines += [f"### Speed: synthesis of {sp['seconds']:.0f} s of speech (x real time, best of {REPEATS})", "",
              "| synthesiser | 2 threads | 1 thread | vs WORLD synthesis (2 threads) |",
              "|---|---:|---:|---:|"]
    for name in ("neural_torch", "neural_onnx"):
        if f"{name}_2t" in sp:
            label = name.replace("_", " (") + ")"
            two, one = sp[f"{name}_2t"], sp[f"{name}_1t"]
            lines.append(f"| {label} | {two:.0f} | {one:.0f} | {two / w:.2f} |")
    lines += [f"| WORLD synthesis (pyworld, one thread) | {w:.0f} | {w:.0f} | 1.00 |",
              f"| (Harvest F0 analysis, for scale) | {sp['harvest_analysis']:.0f} | | |", ""]
    if "neural_vocode" in sp:
        nv, wv = sp["neural_vocode"], sp["world_vocode"]
        lines += [f"Whole copy-synthesis path (analysis with Harvest F0, then synthesis; torch at "
                  f"{sp.get('vocode_threads', '?')} threads): neural {nv:.1f}x real time, WORLD {wv:.1f}x; "
                  f"neural / WORLD speed {nv / wv:.2f}.", ""]
    lines += [f"Machine: {platform.machine()}, {torch.get_num_threads()} cores seen by torch. "
              f"Benchmark time {minutes:.1f} min.", ""]
    return "\n".join(lines)


def run_bench_vocoder(data_root: Path, out: Path, per_speaker: int = 4, model: Path | None = None,
                      progress: Callable[[], None] | None = None) -> str:
    start = time.time()
    files = bench_files(Path(data_root), per_speaker)
    neural = NeuralVocoder.load(model)
    rows = quality_rows(files, {"neural": neural, "world": WorldVocoder()}, progress)
    sp = speed(files, neural)
    summary = summarise(rows)
    card = neural.meta.get("card", {})
    md = render_markdown(summary, sp, card, (time.time() - start) / 60)
    write_report(out, {"summary": summary, "speed": sp, "rows": rows, "model_card": card}, md)
    return md
