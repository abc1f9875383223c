"""``voxmorph speak``: text to speech in any voice."""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from voxmorph.cli.common import EmotionOption, IntensityOption, LearnedProsodyOption, emotion_choice
from voxmorph.errors import UserError


def _read_text_file(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as err:
        raise UserError(f"{path}: cannot read ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text (byte {err.start}); save it as UTF-8") from None


def _lines_mode(text_file: Path | None, output: str | None) -> bool:
    """With --text-file, an output that is a folder (exists as one, or ends in '/') means one file
    per line."""
    if output is None or text_file is None:
        return False
    return Path(output).is_dir() or output.endswith(("/", "\\"))


def speak(
    text: Annotated[str | None, typer.Argument(
        metavar="TEXT", help="What to say; '-' reads it from standard input.")] = None,
    voice: Annotated[str, typer.Option("--voice", "-v", help="The voice (see 'voice list'): built-in, "
                                       "enrolled or adapted.")] = "vcc-tf1",
    output: Annotated[str | None, typer.Option(
        "--output", "-o", metavar="PATH", help="Audio file to write (WAV, FLAC or OGG by extension); "
        "with --text-file, a folder ('dir/') gets one WAV per non-empty line.")] = None,
    text_file: Annotated[Path | None, typer.Option(help="Read the text from this UTF-8 file.")] = None,
    play: Annotated[bool, typer.Option("--play", help="Play on the sound card as it is made (the "
                                       "first sentence plays while the rest is made).")] = False,
    rate: Annotated[float, typer.Option(help="Speaking rate: 1 normal, 1.2 faster, 0.8 slower.")] = 1.0,
    seed: Annotated[int | None, typer.Option(help="Seed of the reading's variation: the same seed "
                                             "gives the same take. Default: a new take each time.")] = None,
    temperature: Annotated[float, typer.Option(help="How much the reading varies (0: the same "
                                               "average reading every time).")] = 0.6,
    tts_model: Annotated[Path | None, typer.Option(help="A text-to-frames model folder "
                                                   "(default: the shipped one).")] = None,
    emotion: EmotionOption = None,
    intensity: IntensityOption = None,
    learned_prosody: LearnedProsodyOption = False,
):
    """Speak text in a voice: numbers, dates, times, money, abbreviations and addresses are read
    out; commas pause, questions rise. Long texts are made sentence by sentence in bounded memory.

    Output is 16 kHz mono. Give -o, --play or both.
    """
    from voxmorph.audio.constants import SAMPLE_RATE
    from voxmorph.audio.io import audio_writer
    from voxmorph.pipeline.speak import SpeakOptions, Synthesiser
    from voxmorph.voices.store import VoiceStore

    feeling = emotion_choice(emotion, intensity, learned_prosody) or (None, None)
    if text is not None and text_file is not None:
        raise UserError("give the text or --text-file, not both")
    if text is None and text_file is None:
        raise UserError("give the text to speak, '-' for standard input, or --text-file FILE")
    if output is None and not play:
        raise UserError("give -o FILE to write, --play to listen, or both")
    if text == "-":
        try:
            text = sys.stdin.buffer.read().decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise UserError(f"standard input: not UTF-8 text (byte {err.start})") from None
    elif text_file is not None:
        text = _read_text_file(text_file)
    lines = _lines_mode(text_file, output)
    output = Path(output) if output is not None else None
    if lines and play:
        raise UserError("--play goes with one output file, not a folder of lines")
    pieces = [ln for ln in text.splitlines() if ln.strip()] if lines else [text]
    found = []
    for n, piece in enumerate(pieces, 1):  # every line checked before anything is written
        try:
            found.append(Synthesiser.sentences(piece))
        except UserError as err:
            raise UserError(f"line {n}: {err}" if lines else str(err)) from None
    target = VoiceStore().get(voice)
    synth = Synthesiser.load(target, tts_model, SpeakOptions(rate, temperature, seed, *feeling,
                                                             learned_prosody=learned_prosody))
    start = time.perf_counter()
    if lines:
        output.mkdir(parents=True, exist_ok=True)
        width = max(4, len(str(len(found))))
        for n, sentences in enumerate(found, 1):
            with audio_writer(output / f"{n:0{width}d}.wav") as f:
                for part in synth.stream_sentences(sentences):
                    f.write(part)
        typer.echo(f"{len(found)} lines -> {output}/ in {time.perf_counter() - start:.1f} s")
        return
    made = 0
    with ExitStack() as stack:
        writer = stack.enter_context(audio_writer(output)) if output is not None else None

        def parts():
            nonlocal made
            for part in synth.stream_sentences(found[0]):
                made += part.size
                if writer is not None:
                    writer.write(part)
                yield part

        if play:
            from voxmorph.realtime.devices import play_stream

            play_stream(parts(), SAMPLE_RATE)
        else:
            for _ in parts():
                pass
    took = time.perf_counter() - start
    audio_s = made / SAMPLE_RATE
    where = f" -> {output}" if output else ""
    typer.echo(f"{audio_s:.1f} s of speech in '{voice}'{where} ({took:.1f} s, "
               f"{audio_s / max(took, 1e-9):.1f}x real time)")
