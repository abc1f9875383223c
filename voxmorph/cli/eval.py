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
