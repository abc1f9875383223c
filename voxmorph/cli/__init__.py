"""The ``voxmorph`` command: a thin layer over the packages below it, one module per command group.

Every error a user can cause is a :class:`~voxmorph.errors.UserError`; :func:`main` prints it
as one line on stderr and exits with status 1, without a traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import click
import typer

from voxmorph import __version__
from voxmorph.cli import bench, convert, data, emotions, eval, live, serve, speak, train, voice
from voxmorph.cli.common import make_typer
from voxmorph.errors import UserError

app = make_typer("voxmorph: voice conversion and speech synthesis on a CPU, offline. Enrol voices, "
                 "convert recordings, speak text, convert live, and measure the result.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"voxmorph {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False) -> None:
    """voxmorph: voice conversion and speech synthesis on a CPU, offline. Enrol voices, convert
    recordings, speak text, convert live, and measure the result."""


app.add_typer(voice.app, name="voice")
app.command()(convert.convert)
app.command()(speak.speak)
app.command()(emotions.emotions)
app.command()(convert.vocode)
app.command()(convert.transcribe)
app.command()(live.live)
app.command()(live.devices)
app.command()(serve.serve)
app.add_typer(eval.app, name="eval")
app.add_typer(bench.app, name="bench")
app.add_typer(train.app, name="train")
app.add_typer(data.app, name="data")


def _placeholders(command: click.Command) -> None:
    """Name each value's placeholder in --help after its parameter (``--out OUT``, ``FILE...``)
    rather than its Python type (``<path>``, ``<list[Path]>``), unless a module chose one."""
    for param in command.params:
        if param.metavar is None and not getattr(param, "is_flag", False):
            param.metavar = param.name.upper()
    for sub in getattr(command, "commands", {}).values():
        _placeholders(sub)


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit status 1."""
    command = typer.main.get_command(app)
    _placeholders(command)
    try:
        command()
    except UserError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(1)
