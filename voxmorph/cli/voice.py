"""``voxmorph voice``: enrol, list, show, preview and remove voices."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from voxmorph.cli.common import F0Option, ModelOption, make_typer, progress
from voxmorph.errors import UserError

app = make_typer("Enrol, list, show, preview and remove voices.")


@app.command("add")
def voice_add(
    name: Annotated[str, typer.Argument(help="Name of the new voice (letters, digits, . _ -).")],
    files: Annotated[list[Path], typer.Argument(
        metavar="FILE", help="Recordings of the speaker, any format/rate.")],
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
    """List built-in and enrolled voices: kind (built-in, enrolled = calibrated, adapted = with a
    trained decoder adapter), pitch (median F0) and description. Hear one with 'voice preview'."""
    from voxmorph.voices.store import VoiceStore

    store = VoiceStore()
    rows = [_row(store, n) for n in store.names()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no voices")
    for r in rows:
        pitch = f"{_pitch_word(r['f0_median_hz'])} ({r['f0_median_hz']:.0f} Hz)" if r["f0_median_hz"] else "-"
        typer.echo(f"{r['name']:<16} {r['kind']:<9} {pitch:<17} {r['description']}")
    if not store.user_names():
        typer.echo(f"({len(rows)} built-in voices; enrol your own with: voxmorph voice add NAME FILE...)")


def _row(store, name: str) -> dict:
    """One voice for 'voice list'; a voice that no longer loads is listed as damaged, not fatal."""
    from voxmorph.errors import VoiceError

    try:
        s = store.get(name).summary()
    except VoiceError as err:
        return {"name": name, "kind": "damaged", "f0_median_hz": None, "description": str(err)}
    return {"name": name, "kind": s["kind"], "f0_median_hz": s["f0_median_hz"],
            "description": s["description"].split(";")[0]}


def _pitch_word(hz: float) -> str:
    """A listener's word for a median F0: most men speak below 145 Hz, most women above 165."""
    return "low" if hz < 145 else "high" if hz > 165 else "middle"


@app.command("preview")
def voice_preview(
    name: Annotated[str, typer.Argument(help="The voice to hear (see 'voice list').")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", metavar="FILE", help="Write the preview here instead of playing it.")] = None,
    text: Annotated[str | None, typer.Option(help="What to say (default: a short greeting).")] = None,
    model: ModelOption = "neural",
):
    """Hear a voice before using it: a sentence read by the bundled piper voice and converted into
    NAME, played on the sound card (or written with -o)."""
    from voxmorph.audio.constants import SAMPLE_RATE
    from voxmorph.audio.io import save_audio
    from voxmorph.pipeline.preview import PREVIEW_TEXT, preview
    from voxmorph.voices.store import VoiceStore

    if text is not None and not text.strip():
        raise UserError("--text is empty")
    voice = VoiceStore().get(name)
    audio = preview(voice, text or PREVIEW_TEXT, model)
    if output is None:
        from voxmorph.realtime.devices import play

        play(audio, SAMPLE_RATE)
        typer.echo(f"played '{name}' ({audio.size / SAMPLE_RATE:.1f} s)")
    else:
        save_audio(output, audio)
        typer.echo(f"'{name}' preview -> {output}")


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
