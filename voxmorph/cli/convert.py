"""``voxmorph convert``, ``vocode`` and ``transcribe``: one recording in, audio or text out."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from voxmorph.cli.common import (
    EmotionOption,
    F0Option,
    IntensityOption,
    LearnedProsodyOption,
    ModelOption,
    SynthOption,
    emotion_choice,
    note_adapter,
    progress,
    synthesis,
)
from voxmorph.errors import UserError


def convert(
    inputs: Annotated[list[Path], typer.Argument(
        metavar="FILE", help="Audio file(s) to convert, any format/rate.")],
    voice: Annotated[str, typer.Option("--voice", "-v", help="Target voice (see 'voice list').")],
    output: Annotated[Path, typer.Option(
        "--output", "-o", metavar="PATH", help="Output file; a folder for several inputs.")],
    f0: F0Option = "harvest",
    pitch_shift: Annotated[float, typer.Option(help="Extra pitch shift in semitones.")] = 0.0,
    denoise: Annotated[bool, typer.Option("--denoise", help="Reduce stationary noise first.")] = False,
    vocoder: SynthOption = None,
    model: ModelOption = "neural",
    emotion: EmotionOption = None,
    intensity: IntensityOption = None,
    learned_prosody: LearnedProsodyOption = False,
    keep_emotion: Annotated[bool, typer.Option(
        "--keep-emotion", help="Experimental: keep how far above (or below) its speaker's usual "
        "pitch the source speaks, as predicted from the speaker's voice, and its pitch range, so an "
        "excited take stays higher and livelier in the new voice. Off by default: the prediction "
        "is off by 3-4 semitones for many speakers.")] = False,
):
    """Convert recordings into a voice; with --emotion, also into another feeling (same words:
    pitch, tempo, loudness and timbre re-shaped; the result is longer or shorter by its tempo).

    Output is 16 kHz mono: WAV, or FLAC/OGG by the output's extension. Files of any length
    stream through in constant memory. With several inputs, a file that cannot be converted is
    reported in one line and the others are still converted; the exit status is 1 if any failed.
    """
    from voxmorph.audio.io import probe
    from voxmorph.pipeline.converters import offline_converter
    from voxmorph.pipeline.files import convert_file, plan_outputs
    from voxmorph.voices.mapping import MappingOptions
    from voxmorph.voices.store import VoiceStore

    feeling = emotion_choice(emotion, intensity, learned_prosody)
    plan = plan_outputs(inputs, output)
    target = VoiceStore().get(voice)
    if len(plan) > 1:
        plan[0][1].parent.mkdir(parents=True, exist_ok=True)
    mapping = MappingOptions(pitch_shift=pitch_shift)
    converter = offline_converter(model, target, synthesis(model, vocoder), f0, denoise, mapping,
                                  *(feeling or (None, None)), keep_emotion=keep_emotion,
                                  learned_prosody=learned_prosody)
    note_adapter(model, converter, target)
    failed = []
    for src, dst in plan:
        try:
            duration = probe(src).duration
            start = time.perf_counter()
            with progress(duration, src.name) as bar:
                convert_file(converter, src, dst, progress=bar.update)
        except UserError as err:
            if len(plan) == 1:
                raise
            typer.echo(f"error: {err}", err=True)
            failed.append(src)
            continue
        took = time.perf_counter() - start
        typer.echo(f"{src} -> {dst} ({model} converter, {duration:.1f} s audio in {took:.1f} s, "
                   f"{duration / max(took, 1e-9):.1f}x real time)")
    if failed:
        raise UserError(f"{len(failed)} of {len(plan)} files not converted: {', '.join(map(str, failed))}")


def vocode(
    input: Annotated[Path, typer.Argument(help="Audio file, any format/rate.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output audio file (16 kHz).")],
    vocoder: Annotated[str, typer.Option(help="neural (trained) or world (the WORLD baseline).")] = "neural",
    model: Annotated[Path | None, typer.Option(help="A trained vocoder folder (default: shipped).")] = None,
    runtime: Annotated[str, typer.Option(help="Neural runtime: torch or onnx (onnxruntime).")] = "torch",
    f0: F0Option = "harvest",
):
    """Copy synthesis: analyse a recording and rebuild it with a vocoder, to hear what the vocoder
    alone does to a voice."""
    from voxmorph.audio.io import load_audio, probe, save_audio
    from voxmorph.pipeline.vocoder import get_vocoder

    if vocoder == "world" and (runtime != "torch" or model is not None):
        raise UserError("--runtime and --model choose the neural vocoder's form; --vocoder world has neither")
    duration = probe(input).duration
    voc = get_vocoder(vocoder, model, f0, runtime)
    start = time.perf_counter()
    y = voc.resynthesise(load_audio(input))
    took = time.perf_counter() - start
    save_audio(output, y)
    typer.echo(f"{input} -> {output} ({voc.name} vocoder, {duration:.1f} s audio in {took:.1f} s)")


def transcribe(
    input: Annotated[Path, typer.Argument(help="Audio file, any format/rate.")],
    phones: Annotated[bool, typer.Option("--phones", help="Phones from voxmorph's content encoder "
                                         "instead of words.")] = False,
    model: Annotated[Path | None, typer.Option(help="A content encoder folder (default: shipped).")] = None,
):
    """Print what is said: words through pocketsphinx's bundled US-English model, or with --phones
    the phone string voxmorph's content encoder recognises (espeak-ng phone set)."""
    from voxmorph.audio.io import load_audio

    x = load_audio(input)
    if phones:
        from voxmorph.pipeline.recognise import PhoneRecogniser

        typer.echo(" ".join(PhoneRecogniser.load(model)(x)))
    else:
        from voxmorph.eval.asr import Transcriber

        typer.echo(Transcriber()(x))
