"""Decode any audio file to float32 mono at the model rate, and write audio atomically.

Decoding goes through libsndfile (soundfile), which reads WAV, FLAC, OGG/Vorbis, Opus and MP3.
Long files are read block by block (:func:`iter_blocks`) so memory stays bounded whatever the
file's length. Every write goes to a temporary file beside the target and is renamed into place,
so a failed command never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.dsp import Resampler, to_mono
from voxmorph.errors import AudioError, UserError

READ_BLOCK_S = 10.0
"""Seconds decoded per block when streaming a file."""


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds before decoding it."""

    path: Path
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def probe(path: str | os.PathLike) -> AudioInfo:
    """Check that ``path`` is a readable, non-empty audio file and describe it."""
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: the file is empty")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise AudioError(f"{path}: not a readable audio file ({_reason(err)})") from None
    frames = info.frames
    if frames <= 0 or frames >= 2**62:  # libsndfile reports a huge count for some broken streams
        raise AudioError(f"{path}: the file holds no audio samples")
    return AudioInfo(path, int(info.samplerate), int(info.channels), int(frames))


def _reason(err: Exception) -> str:
    text = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
    return text.split(": ", 1)[-1] if text.startswith("Error opening") else text


def iter_blocks(
    path: str | os.PathLike, sr: int = SAMPLE_RATE, block_s: float = READ_BLOCK_S
) -> Iterator[np.ndarray]:
    """Yield the file as consecutive float32 mono blocks at rate ``sr``.

    Blocks are about ``block_s`` seconds long (resampling makes the exact length vary); their
    concatenation equals :func:`load_audio` of the whole file. Raises :class:`AudioError` on
    NaN/inf samples or a decoding failure part-way through.
    """
    info = probe(path)
    resampler = Resampler(info.sample_rate, sr)
    block = max(1, int(block_s * info.sample_rate))
    try:
        with sf.SoundFile(str(info.path)) as f:
            for raw in f.blocks(blocksize=block, dtype="float32", always_2d=True):
                with np.errstate(over="ignore", invalid="ignore"):  # huge samples: caught just below
                    chunk = to_mono(raw)
                if not np.isfinite(chunk).all():
                    raise AudioError(f"{info.path}: contains NaN or infinite samples")
                yield resampler.process(chunk)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(f"{info.path}: decoding failed ({_reason(err)})") from None
    tail = resampler.flush()
    if tail.size:
        yield tail


def load_audio(path: str | os.PathLike, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Decode a whole file to float32 mono at ``sr``: shape ``(n_samples,)``."""
    blocks = list(iter_blocks(path, sr))
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)


def _check_writable_dir(path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"{path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{path}: cannot write to the folder {parent} (permission denied)")
    if path.is_dir():
        raise UserError(f"{path}: is a folder; give a file name")


def _format_for(path: Path) -> str:
    fmt = path.suffix.lstrip(".").upper() or "WAV"
    if fmt == "OPUS":
        return "OGG"
    if fmt not in sf.available_formats():
        raise UserError(f"{path}: cannot write '{path.suffix}' files; use .wav, .flac or .ogg")
    return fmt


def _temp_beside(path: Path) -> Path:
    """A new empty file beside ``path`` with the permissions ``open()`` would give it (mode 0666
    less the umask; ``tempfile.mkstemp`` makes files private, 0600)."""
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.part"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only if the block succeeds."""
    path = Path(path)
    _check_writable_dir(path)
    tmp = _temp_beside(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def audio_writer(path: str | os.PathLike, sr: int = SAMPLE_RATE) -> Iterator[sf.SoundFile]:
    """Open ``path`` for block-wise writing; the file appears only once it is complete."""
    path = Path(path)
    fmt = _format_for(path)
    subtype = "PCM_16" if fmt in ("WAV", "FLAC") else None
    with atomic_path(path) as tmp:
        with sf.SoundFile(str(tmp), "w", sr, 1, subtype=subtype, format=fmt) as f:
            yield f


def save_audio(path: str | os.PathLike, x: np.ndarray, sr: int = SAMPLE_RATE) -> None:
    """Write mono float audio in [-1, 1] atomically; the format follows the file extension."""
    with audio_writer(path, sr) as f:
        f.write(np.clip(np.asarray(x, np.float32), -1.0, 1.0))
