"""File-to-file conversion: input/output planning, streaming through a converter, atomic output."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from voxmorph.audio.constants import MIN_DURATION_S, SAMPLE_RATE
from voxmorph.audio.io import audio_writer, iter_blocks, probe
from voxmorph.audio.vad import VoiceActivityDetector
from voxmorph.errors import AudioError, UserError


class StreamConverter(Protocol):
    """What file conversion needs from a converter."""

    def reset(self) -> None: ...

    def convert_stream(self, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """16 kHz float32 blocks in -> converted blocks out, same total length."""
        ...


def _same_file(a: Path, b: Path) -> bool:
    try:
        return b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def plan_outputs(inputs: Sequence[str | Path], output: str | Path, suffix: str = ".wav"):
    """Pair each input with its output path.

    One input: ``output`` is the file to write, or an existing folder to write ``<stem>.wav``
    into. Several inputs: ``output`` is a folder (created if needed) receiving ``<stem>.wav``.
    """
    inputs = [Path(p) for p in inputs]
    output = Path(output)
    if not inputs:
        raise UserError("no input files given")
    if len(inputs) == 1:  # several: each is checked when its turn comes, so one bad file stops none
        probe(inputs[0])
    if len(inputs) == 1 and not output.is_dir():
        plan = [(inputs[0], output)]
    else:
        if output.exists() and not output.is_dir():
            raise UserError(f"{output}: several inputs need an output folder, and this is a file")
        plan = [(p, output / (p.stem + suffix)) for p in inputs]
        stems = [o.name for _, o in plan]
        dup = {s for s in stems if stems.count(s) > 1}
        if dup:
            raise UserError(f"several inputs would write the same output file: {', '.join(sorted(dup))}")
    for src, dst in plan:
        if src.resolve() == dst.resolve() or _same_file(src, dst):
            raise UserError(f"{dst}: output would overwrite the input; choose another output path")
    return plan


def convert_file(
    converter: StreamConverter,
    src: str | Path,
    dst: str | Path,
    vad: VoiceActivityDetector | None = None,
    progress: Callable[[float], None] | None = None,
) -> None:
    """Convert ``src`` into ``dst`` block by block.

    The output appears only when complete. Raises :class:`AudioError` for input that is too
    short, holds NaN/inf samples, or contains no speech at all.
    """
    info = probe(src)
    if info.duration < MIN_DURATION_S:
        raise AudioError(
            f"{src}: too short ({info.duration:.2f} s); at least {MIN_DURATION_S} s of audio is needed"
        )
    vad = vad or VoiceActivityDetector()
    found_speech = False

    def blocks() -> Iterator[np.ndarray]:
        nonlocal found_speech
        for block in iter_blocks(src):
            # only "is there any speech?" matters, so VAD stops once it has answered yes
            found_speech = found_speech or bool(vad.speech_regions(block))
            if progress:
                progress(block.size / SAMPLE_RATE)
            yield block

    converter.reset()
    with audio_writer(dst) as f:
        for y in converter.convert_stream(blocks()):
            f.write(y)
        if not found_speech:
            raise AudioError(f"{src}: no speech found (silence or noise only)")
