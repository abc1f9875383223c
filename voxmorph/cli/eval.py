"""``voxmorph eval``: the judge on converted audio."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxmorph.cli.common import make_typer, progress

app = make_typer("Judge converted audio with objective metrics.")


@app.command("vc")
def eval_vc(
    pairs: Annotated[Path, typer.Option(help="The pairs file (TSV; see above).")],
    out: Annotated[Path, typer.Option(help="Report path: writes OUT.json and OUT.md.")],
):
    """Judge converted audio: speaker similarity (before and after conversion), MCD, F0, CER,
    DNSMOS, waveform correlation, real-time factor.

    PAIRS is a tab-separated file, one converted file per line (an optional header line starts
    with 'converted'; paths are relative to the file's folder):

    \b
        converted  source  target_ref  [parallel_target]  [seconds]

    target_ref: a recording of the target voice, a folder of them, or a voice name from 'voice
    list'. parallel_target: the real target saying the same sentence (adds MCD and F0 against
    it). seconds: compute time spent on the conversion (adds the real-time factor). The report
    has the averages and one row per file.
    """
    from voxmorph.eval.judge import file_table, judge_pairs, markdown_table, read_pairs, summarise
    from voxmorph.eval.report import write_report

    table = read_pairs(pairs)
    with progress(len(table), "judging", unit="pairs") as bar:
        rows = judge_pairs(table, progress=lambda: bar.update(1))
    summary = summarise(rows)
    md = ("# voxmorph judge report\n\n" + markdown_table({f"all ({pairs.name})": summary})
          + "\n## Per file\n\n" + file_table(rows))
    json_path, md_path = write_report(out, {"summary": summary, "rows": rows}, md)
    typer.echo(md.rstrip())
    typer.echo(f"wrote {json_path} and {md_path}")


@app.command("emotion")
def eval_emotion(
    inputs: Annotated[list[Path], typer.Argument(metavar="PATH...", help="Audio files or folders of them.")],
    emotion: Annotated[str | None, typer.Option(help="The emotion the audio should carry: adds the "
                                                "share judged so.")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write a report: OUT.json and OUT.md.")] = None,
    judge: Annotated[Path | None, typer.Option(help="An emotion-judge model folder (default: the "
                                               "shipped one).")] = None,
):
    """Which emotion each recording is spoken with, by the built-in emotion judge (a development
    aid: trained on acted German speech, it hears delivery, not words)."""
    from voxmorph.audio.io import load_audio
    from voxmorph.data.corpora import AUDIO_SUFFIXES
    from voxmorph.emotion.judge import load_judge
    from voxmorph.emotion.names import check_emotion
    from voxmorph.errors import UserError
    from voxmorph.eval.report import write_report

    if emotion is not None:
        emotion, _ = check_emotion(emotion)
    files = []
    for p in inputs:
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.suffix.lower() in AUDIO_SUFFIXES)
        elif p.exists():
            files.append(p)
        else:
            raise UserError(f"{p}: no such file or folder")
    if not files:
        raise UserError("no audio files found (.wav, .flac, .ogg, .mp3)")
    model, _ = load_judge(judge)
    rows = []
    with progress(len(files), "judging", unit="files") as bar:
        for f in files:
            probs = model.probabilities(load_audio(f))
            best = max(probs, key=probs.get)
            rows.append({"file": str(f), "judged": best, "confidence": probs[best], "probabilities": probs})
            bar.update(1)
    lines = [f"{r['file']}\t{r['judged']}\t{r['confidence']:.2f}" for r in rows]
    summary = {"files": len(rows)}
    if emotion is not None:
        summary["emotion"] = emotion
        summary["share_judged"] = sum(r["judged"] == emotion for r in rows) / len(rows)
        summary["mean_probability"] = sum(r["probabilities"][emotion] for r in rows) / len(rows)
        lines.append(f"judged {emotion}: {summary['share_judged']:.3f} of {len(rows)} files "
                     f"(mean probability {summary['mean_probability']:.3f})")
    typer.echo("\n".join(lines))
    if out is not None:
        table = "\n".join(f"| {r['file']} | {r['judged']} | {r['confidence']:.2f} |" for r in rows)
        md = f"# Emotion judge\n\n{summary}\n\n| file | judged | confidence |\n|---|---|---:|\n{table}\n"
        write_report(out, {"summary": summary, "rows": rows}, md)
