"""The judge for voice conversion: a table of converted / source / target files -> a report.

``PAIRS.tsv`` has one row per converted file, tab-separated, relative paths resolved against the
TSV's folder, an optional header row starting with ``converted``:

    converted   source   target_ref   [parallel_target]   [seconds]

``target_ref`` is a recording of the target voice, a folder of them (their mean embedding is
the target's identity), or the name of a voice (``voice list``: its enrolled embedding);
``parallel_target`` is the real target saying the same sentence (enables
MCD and F0 against it); ``seconds`` is the compute time spent making the converted file (gives the
real-time factor).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.dsp import normalise_loudness
from voxmorph.audio.io import load_audio
from voxmorph.audio.vad import VoiceActivityDetector
from voxmorph.errors import UserError
from voxmorph.eval import metrics
from voxmorph.eval.asr import Transcriber
from voxmorph.models.speaker import SpeakerEncoder

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".opus")

SUMMARY_COLUMNS = [
    ("similarity", "similarity ↑"),
    ("mcd", "MCD dB ↓"),
    ("f0_corr_source", "F0 corr (src) ↑"),
    ("f0_rmse_target_cents", "F0 RMSE vs tgt (cents) ↓"),
    ("cer", "CER vs src ↓"),
    ("id_target", "ID as target ↑"),
    ("id_source", "ID as source ↓"),
    ("dnsmos_ovrl", "DNSMOS OVRL ↑"),
    ("dnsmos_sig", "SIG ↑"),
    ("dnsmos_bak", "BAK ↑"),
    ("wave_corr", "wave corr"),
    ("rtf", "RTF ↓"),
]


@dataclass(frozen=True)
class Pair:
    converted: Path
    source: Path
    target_ref: Path | tuple[Path, ...] | str  # a file, a folder, several files, or a voice name
    parallel_target: Path | None = None
    seconds: float | None = None


def read_pairs(path: str | Path) -> list[Pair]:
    """Parse a PAIRS.tsv file (see module doc); errors name the line."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such pairs file")
    base = path.parent
    pairs = []
    with open(path, newline="") as f:
        for lineno, row in enumerate(csv.reader(f, delimiter="\t"), 1):
            row = [c.strip() for c in row]
            if not row or not row[0] or row[0].startswith("#") or row[0].lower() == "converted":
                continue
            if len(row) < 3:
                raise UserError(f"{path}:{lineno}: need at least converted, source, target_ref")
            try:
                seconds = float(row[4]) if len(row) > 4 and row[4] else None
            except ValueError:
                raise UserError(f"{path}:{lineno}: seconds '{row[4]}' is not a number") from None
            parallel = base / row[3] if len(row) > 3 and row[3] else None
            pairs.append(Pair(base / row[0], base / row[1], _target(base, row[2], f"{path}:{lineno}"),
                              parallel, seconds))
    if not pairs:
        raise UserError(f"{path}: no pairs found")
    return pairs


def _target(base: Path, ref: str, where: str) -> Path | str:
    """A ``target_ref`` cell: a voice's name where no such path exists and the cell is not shaped
    like a path (no folder, no audio suffix); else a path relative to the TSV."""
    if (base / ref).exists() or "/" in ref or Path(ref).suffix.lower() in AUDIO_SUFFIXES:
        return base / ref
    from voxmorph.voices.store import VoiceStore

    if ref not in VoiceStore().names():
        raise UserError(f"{where}: target_ref '{ref}' is neither a file or folder nor a voice "
                        "(see 'voxmorph voice list')")
    return ref


def reference_files(target_ref: Path | tuple[Path, ...]) -> list[Path]:
    if isinstance(target_ref, tuple):
        return list(target_ref)
    if target_ref.is_dir():
        files = sorted(p for p in target_ref.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
        if not files:
            raise UserError(f"{target_ref}: folder holds no audio files")
        return files
    return [target_ref]


class Judge:
    """Computes every metric for pairs, caching per-file work (audio, analyses, transcripts)."""

    def __init__(self):
        self.vad = VoiceActivityDetector()
        self.asr = Transcriber()
        self.encoder = SpeakerEncoder.shared()

    @lru_cache(maxsize=256)  # noqa: B019 - a Judge lives for one report
    def audio(self, path: Path) -> np.ndarray:
        return load_audio(path)

    @lru_cache(maxsize=256)  # noqa: B019
    def analysis(self, path: Path) -> metrics.Analysis:
        return metrics.Analysis(self.audio(path))

    @lru_cache(maxsize=256)  # noqa: B019
    def transcript(self, path: Path) -> str:
        return self.asr(self.audio(path))

    @lru_cache(maxsize=256)  # noqa: B019
    def embedding(self, path: Path) -> np.ndarray:
        x = self.audio(path)
        speech = self.vad.speech_only(x)
        speech = speech if speech.size >= SAMPLE_RATE // 2 else x
        return self.encoder.embed(normalise_loudness(speech, SAMPLE_RATE))

    @lru_cache(maxsize=64)  # noqa: B019
    def reference_embedding(self, target_ref: Path | tuple[Path, ...] | str) -> np.ndarray:
        if isinstance(target_ref, str):  # a voice: the embedding its enrolment measured
            from voxmorph.voices.store import VoiceStore

            mean = np.asarray(VoiceStore().get(target_ref).embedding, np.float64)
            return mean / np.linalg.norm(mean)
        embs = np.stack([self.embedding(p) for p in reference_files(target_ref)])
        mean = embs.mean(axis=0)
        return mean / np.linalg.norm(mean)

    def judge(self, pair: Pair) -> dict:
        """All metrics of one pair as a flat dict (NaN where a metric does not apply)."""
        conv = self.audio(pair.converted)
        row: dict = {"converted": str(pair.converted), "source": str(pair.source)}
        target = self.reference_embedding(pair.target_ref)
        row["similarity"] = metrics.speaker_similarity(self.embedding(pair.converted), target)
        row["similarity_source"] = metrics.speaker_similarity(self.embedding(pair.source), target)
        a_conv, a_src = self.analysis(pair.converted), self.analysis(pair.source)
        ic, isrc = metrics.align(a_conv, a_src)
        row["f0_corr_source"] = metrics.f0_metrics(a_conv.f0[ic], a_src.f0[isrc])["f0_corr"]
        row["mcd"] = row["f0_rmse_target_cents"] = row["f0_corr_target"] = math.nan
        if pair.parallel_target is not None:
            a_tgt = self.analysis(pair.parallel_target)
            path = metrics.align(a_conv, a_tgt)
            row["mcd"] = metrics.mcd(a_conv, a_tgt, path)
            f0 = metrics.f0_metrics(a_conv.f0[path[0]], a_tgt.f0[path[1]])
            row["f0_rmse_target_cents"] = f0["f0_rmse_cents"]
            row["f0_corr_target"] = f0["f0_corr"]
        row["transcript_source"] = self.transcript(pair.source)
        row["transcript"] = self.transcript(pair.converted)
        row["cer"] = metrics.cer(row["transcript_source"], row["transcript"])
        mos = metrics.dnsmos(conv)
        row.update({f"dnsmos_{k}": v for k, v in mos.items()})
        row["wave_corr"] = metrics.waveform_correlation(conv, self.audio(pair.source))
        duration = self.audio(pair.source).size / SAMPLE_RATE
        row["rtf"] = pair.seconds / duration if pair.seconds is not None else math.nan
        return row


def summarise(rows: Sequence[dict]) -> dict:
    """Mean of every metric over rows (ignoring NaN) and the row count."""
    out: dict = {"n": len(rows)}
    for key, _ in SUMMARY_COLUMNS + [("f0_corr_target", ""), ("similarity_source", "")]:
        values = np.array([r.get(key, math.nan) for r in rows], dtype=float)
        out[key] = float(np.nanmean(values)) if np.isfinite(values).any() else math.nan
    return out


def judge_pairs(
    pairs: Iterable[Pair], judge: Judge | None = None, progress: Callable[[], None] | None = None
) -> list[dict]:
    judge = judge or Judge()
    rows = []
    for pair in pairs:
        rows.append(judge.judge(pair))
        if progress:
            progress()
    return rows


def _fmt(v) -> str:
    if isinstance(v, float):
        return "–" if math.isnan(v) else f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


FILE_COLUMNS = [("similarity_source", "similarity before"), ("similarity", "after"), ("mcd", "MCD dB"),
                ("f0_corr_source", "F0 corr (src)"), ("cer", "CER vs src"), ("dnsmos_ovrl", "DNSMOS")]


def file_table(rows: Sequence[dict]) -> str:
    """One row per converted file: the source's similarity to the target before conversion and
    the converted file's after, and the file's other metrics."""
    lines = ["| converted | " + " | ".join(label for _, label in FILE_COLUMNS) + " |",
             "|---|" + "---:|" * len(FILE_COLUMNS)]
    for r in rows:
        cells = " | ".join(_fmt(r.get(k, math.nan)) for k, _ in FILE_COLUMNS)
        lines.append(f"| {Path(r['converted']).name} | {cells} |")
    return "\n".join(lines) + "\n"


def markdown_table(summaries: dict[str, dict]) -> str:
    """One row per named summary, one column per metric that any summary has."""
    cols = [(k, label) for k, label in SUMMARY_COLUMNS
            if any(not math.isnan(s.get(k, math.nan)) for s in summaries.values())]
    lines = ["| system | n | " + " | ".join(label for _, label in cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for name, s in summaries.items():
        lines.append(f"| {name} | {s['n']} | " + " | ".join(_fmt(s.get(k, math.nan)) for k, _ in cols) + " |")
    return "\n".join(lines) + "\n"
