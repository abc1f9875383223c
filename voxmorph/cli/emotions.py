"""``voxmorph emotions``: the emotions voxmorph knows."""

from __future__ import annotations

import typer


def emotions():
    """List the emotions --emotion takes, with what each changes in the voice. --intensity runs
    from 0 (neutral) to 1 (as acted), up to 1.5 (exaggerated)."""
    from voxmorph.emotion.names import EMOTIONS

    width = max(map(len, EMOTIONS))
    for name, what in EMOTIONS.items():
        typer.echo(f"{name:<{width}}  {what}")
