"""``voxmorph data``: transcribed synthetic speech and pseudo-transcripts for training."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voxmorph.cli.common import DataOption, LayoutOption, make_typer, progress
from voxmorph.errors import UserError

app = make_typer("Prepare training data.")


@app.command("synth")
def data_synth(
    out: Annotated[Path, typer.Option("--out", help="Corpus folder to write (LibriSpeech layout).")] = Path(
        "runs/data/synthetic"
    ),
    per_voice: Annotated[int, typer.Option(help="Sentences per voice.")] = 100,
    piper_per_voice: Annotated[int | None, typer.Option(
        help="Sentences per piper voice (default: --per-voice).")] = None,
    espeak_voices: Annotated[int, typer.Option(help="espeak-ng voices (random variant, pitch, rate).")] = 24,
    seed: Annotated[int, typer.Option(help="Seed of the sentences and voices.")] = 0,
):
    """Write transcribed synthetic speech for phone training: Faker sentences read by the bundled
    piper joe voice (three speaking rates) and by espeak-ng voices. Existing files are kept, so
    an interrupted run continues where it stopped."""
    from voxmorph.data.synthetic import default_voices, generate

    voices = default_voices(espeak_voices, seed)
    n = generate(out, per_voice, voices, seed, piper_per_voice=piper_per_voice)
    typer.echo(f"{n} utterances by {len(voices)} voices in {out}")


@app.command("transcribe")
def data_transcribe(
    data: DataOption = [],  # noqa: B006
    out: Annotated[Path, typer.Option("--out", help="Transcript file to write (TSV).")] = Path(
        "runs/data/transcripts.tsv"
    ),
    layout: LayoutOption = None,
):
    """Transcribe the untranscribed utterances of corpora with pocketsphinx's bundled English
    model, for 'voxmorph train content --transcripts'. In a parallel corpus (VCC) every reading
    of a sentence gets the readers' consensus. Each line: key, words, and how far the other
    readers' phones are from them (the spread). Interrupted, it continues from OUT.part."""
    from voxmorph.audio.io import load_audio
    from voxmorph.data.transcripts import sentence_groups, transcribe_into
    from voxmorph.eval.asr import Transcriber

    if not data:
        raise UserError("give at least one --data corpus folder")
    groups = sentence_groups(data, layout)
    total = sum(map(len, groups))
    if total == 0:
        raise UserError("every utterance of these corpora already has a transcript")
    asr = Transcriber()
    with progress(total, "transcribing", "files") as bar:
        rows = transcribe_into(out, groups, lambda path: asr(load_audio(path)), progress=bar.update)
    spreads = [r.spread for r in rows if r.spread is not None]
    note = f"; readers' phone spread {sum(spreads) / len(spreads):.2f} on average" if spreads else ""
    typer.echo(f"{len(rows)} of {total} utterances transcribed into {out}{note}")
