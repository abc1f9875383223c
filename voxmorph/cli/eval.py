"""``voxmorph eval``: the judge on converted audio."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxmorph.cli.common import make_typer, progress

app = make_typer("Judge converted audio with objective metrics.")


@app.command("vc")
def eval_vc(
    pairs: Annotated[
        Path, typer.Option(help="TSV: converted, source, target_ref[, parallel_target[, seconds]].")
    ],
    out: Annotated[Path, typer.Option(help="Report path; writes OUT.json and OUT.md.")],
):
    """Judge converted audio: speaker similarity, MCD, F0, CER, DNSMOS, waveform correlation, RTF."""
    from voxmorph.eval.judge import judge_pairs, markdown_table, read_pairs, summarise
    from voxmorph.eval.report import write_report

    table = read_pairs(pairs)
    with progress(len(table), "judging", unit="pairs") as bar:
        rows = judge_pairs(table, progress=lambda: bar.update(1))
    summary = summarise(rows)
    md = "# voxmorph judge report\n\n" + markdown_table({pairs.name: summary})
    json_path, md_path = write_report(out, {"summary": summary, "rows": rows}, md)
    typer.echo(md.rstrip())
    typer.echo(f"wrote {json_path} and {md_path}")
