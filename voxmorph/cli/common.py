"""What every command group shares: the Typer factory, options written once, progress bars and
the checks that turn a bad combination of options into one line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperCommand

from voxmorph.errors import UserError

_TYPE_MARK = re.compile(r"^(  \S+) <[\w\[\]|]+>", re.MULTILINE)  # "  FILE <list[Path]>"
_REQUIRED_MARK = re.compile(r"\{([A-Z_]+)\}")  # "{FILE}..." in the usage line


class _PlainCommand(TyperCommand):
    """Help and usage without Typer's internal type marks: `FILE...`, not `{FILE}... <list[Path]>`."""

    def get_usage(self, ctx: typer.Context) -> str:
        return _REQUIRED_MARK.sub(r"\1", super().get_usage(ctx))

    def get_help(self, ctx: typer.Context) -> str:
        return _TYPE_MARK.sub(r"\1", _REQUIRED_MARK.sub(r"\1", super().get_help(ctx)))


class _Typer(typer.Typer):
    def command(self, *args, **kwargs):
        kwargs.setdefault("cls", _PlainCommand)
        return super().command(*args, **kwargs)


def make_typer(help: str) -> typer.Typer:
    return _Typer(help=help, no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False, rich_markup_mode=None)


F0Option = Annotated[
    str, typer.Option("--f0", help="F0 tracker: harvest (accurate), dio (fast) or praat.")
]
SynthOption = Annotated[
    str | None, typer.Option("--vocoder", help="Synthesis for --model world: world (WORLD, its "
                             "default) or neural (the trained vocoder). The neural converter has "
                             "its own vocoder.")
]
ModelOption = Annotated[
    str, typer.Option("--model", help="Converter: neural (content encoder + VAE decoder + neural "
                      "vocoder) or world (the no-training WORLD baseline: lighter, less faithful).")
]

Int8Option = Annotated[bool | None, typer.Option(
    "--int8/--float32", help="Neural converter: its networks' weights as int8 (the default: about "
    "half their compute per frame, the same quality in docs/bench/live_int8.md) or float32.")]
NetRuntimeOption = Annotated[str, typer.Option(
    "--runtime", help="Neural converter: how its networks run frame by frame: numba (the "
                      "compiled step, fastest here) or onnx (the exported step graphs in "
                      "onnxruntime).")]


def net_form(model: str, runtime: str, int8: bool | None):
    """The :class:`~voxmorph.models.frame_net.NetForm` ``--runtime`` and ``--int8/--float32``
    chose (int8 unless ``--float32``)."""
    if model != "neural" and (runtime != "numba" or int8 is not None):
        raise UserError("--runtime and --int8/--float32 apply to the neural converter (--model neural)")
    from voxmorph.models.frame_net import NetForm

    try:
        return NetForm(runtime, int8 is not False)
    except ValueError as err:
        raise UserError(f"--runtime: {err}") from None


def synthesis(model: str, vocoder: str | None) -> str:
    """The synthesis ``--vocoder`` chose: only the WORLD baseline has a choice."""
    if vocoder is not None and model == "neural":
        raise UserError("--vocoder chooses the synthesis of --model world; the neural converter "
                        "always uses its own vocoder")
    return vocoder or "world"


def progress(total: float, desc: str, unit: str = "s"):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=None, leave=False,
                bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} {unit} [{elapsed}<{remaining}]")


def trained_model(folder: Path, what: str) -> str:
    """The resolved path of a trained model folder a run reads or starts from; a one-line error
    if there is none."""
    if not (folder / "config.json").exists():
        raise UserError(f"{folder}: no trained {what} there (a model folder holds config.json)")
    return str(folder.resolve())


def note_adapter(model: str, converter, target) -> None:
    """Tell the user when a voice's adapter does not fit the decoder ``converter`` loaded."""
    if model == "neural" and converter.models.adapted(target) is False:
        typer.echo(f"note: voice '{target.name}' was fitted to another decoder; converting zero-shot "
                   f"(enrol it again to fit this one: voxmorph voice add {target.name} FILES... --force "
                   "[--adapt])", err=True)


DataOption = Annotated[list[Path], typer.Option(
    "--data", help="A corpus folder (repeat for several): VCTK, LibriSpeech/LibriTTS, LJSpeech, VCC, "
    "EmoDB, ESD, CREMA-D, or any folder of speaker folders.")]
LayoutOption = Annotated[str | None, typer.Option(help="Corpus layout, if detection guesses wrong.")]


EmotionOption = Annotated[str | None, typer.Option(
    help="Speak with this emotion (see 'voxmorph emotions'): neutral, happy, sad, angry, fearful.")]
IntensityOption = Annotated[float | None, typer.Option(
    help="How strongly, with --emotion: 0 neutral, 1 as acted (default), up to 1.5 exaggerated.")]


LearnedProsodyOption = Annotated[bool, typer.Option(
    "--learned-prosody", help="With --emotion: shape pitch and loudness with the learned prosody "
    "model (contours that vary with the take) instead of the measured constant changes. Off by "
    "default: 'bench emotion' measured it no better.")]


def emotion_choice(emotion: str | None, intensity: float | None, learned: bool = False
                   ) -> tuple[str, float] | None:
    """The checked ``(emotion, intensity)``, or None without --emotion; a one-line error for an
    intensity or --learned-prosody alone, an unknown emotion or an intensity out of range."""
    if emotion is None:
        if intensity is not None:
            raise UserError("--intensity goes with --emotion")
        if learned:
            raise UserError("--learned-prosody goes with --emotion")
        return None
    from voxmorph.emotion.names import check_emotion

    return check_emotion(emotion, intensity)
