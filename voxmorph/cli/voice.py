"""``voxmorph voice``: enrol, list, show, preview and remove voices."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from voxmorph.cli.common import F0Option, make_typer, progress
from voxmorph.errors import UserError

app = make_typer("Enrol, list, show, preview and remove voices.")


@app.command("add")
def voice_add(
    name: Annotated[str, typer.Argument(help="Name of the new voice (letters, digits, . _ -).")],
    files: Annotated[list[Path], typer.Argument(help="Recordings of the speaker, any format/rate.")],
    description: Annotated[str, typer.Option(help="A note shown by 'voice show'.")] = "",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing voice.")] = False,
    f0: F0Option = "harvest",
    adapt: Annotated[bool, typer.Option(
        "--adapt", help="Fine-tune a small decoder adapter on these recordings for the neural "
        "converter (a few CPU minutes). Without it the voice is only calibrated: a per-band "
        "correction measured in seconds.")] = False,
    adapt_steps: Annotated[int, typer.Option(help="Adapter training steps (with --adapt).")] = 300,
    checks: Annotated[bool, typer.Option(
        "--checks/--no-checks", help="Refuse clipped or noisy recordings and recordings of several "
        "speakers.")] = True,
):
    """Enrol a voice from recordings of one speaker (at least 3 s of speech; 30 s+ is better).

    The recordings are checked first: too little speech, clipping, heavy noise and more than
    one speaker are refused with the reason.
    """
    from voxmorph.audio.f0 import get_tracker
    from voxmorph.audio.io import probe
    from voxmorph.voices.enrol import enrol_voice
    from voxmorph.voices.store import VoiceStore

    store = VoiceStore()
    if store.exists(name) and not force:  # refuse before minutes of analysis, not after
        raise UserError(f"voice '{name}' already exists; use --force to replace it")
    if adapt_steps < 1:
        raise UserError("--adapt-steps must be at least 1")
    from voxmorph.pipeline.neural.models import NeuralModels

    models = NeuralModels.load()  # fail before the analysis if there is no neural model
    total = sum(probe(f).duration for f in files)
    with progress(total, f"enrolling {name}") as bar:
        voice = enrol_voice(name, files, description, get_tracker(f0), progress=bar.update, check=checks)
    if adapt:
        from voxmorph.train.adapter import adapt_voice

        typer.echo(f"adapting the decoder to '{name}' ({adapt_steps} steps)", err=True)
        voice = adapt_voice(voice, files, models.content, models.decoder, models.decoder_id,
                            steps=adapt_steps)
    else:
        from voxmorph.pipeline.neural.calibration import calibrate_voice

        with progress(total, f"calibrating {name}") as bar:
            voice = calibrate_voice(voice, files, models, get_tracker(f0), progress=bar.update)
    path = store.save(voice, overwrite=force)
    s = voice.summary()
    typer.echo(f"enrolled '{name}': {s['speech_seconds']} s of speech from {len(files)} file(s), "
               f"median F0 {s['f0_median_hz']} Hz -> {path}")
    a = voice.adapter.info
    if adapt:
        typer.echo(f"adapted in {a['cpu_seconds'] / 60:.1f} CPU-min: mel L1 on the recordings "
                   f"{a['mel_l1_before']:.3f} -> {a['mel_l1_after']:.3f}")
    else:
        typer.echo(f"calibrated to the neural decoder in {a['cpu_seconds']:.0f} CPU-s")


@app.command("list")
def voice_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False):
    """List built-in and enrolled voices."""
    from voxmorph.voices.store import VoiceStore

    store = VoiceStore()
    builtin, user = set(store.builtin_names()), set(store.user_names())
    rows = [{"name": n, "kind": "user" if n in user else "built-in"} for n in store.names()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no voices")
    for r in rows:
        typer.echo(f"{r['name']:<24} {r['kind']}")
    if not user:
        typer.echo(f"({len(builtin)} built-in voices; enrol your own with: voxmorph voice add NAME FILE...)")


@app.command("show")
def voice_show(
    name: str, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
):
    """Show a voice's statistics and where it came from."""
    from voxmorph.voices.store import VoiceStore

    summary = VoiceStore().get(name).summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    for key, value in summary.items():
        typer.echo(f"{key:<16} {value}")


@app.command("remove")
def voice_remove(name: str):
    """Delete an enrolled voice (built-in voices cannot be removed)."""
    from voxmorph.voices.store import VoiceStore

    VoiceStore().remove(name)
    typer.echo(f"removed '{name}'")
