"""A voice: a small folder describing one speaker, everything a converter needs.

Layout of ``<voices dir>/<name>/``::

    voice.json   format version, name, provenance, F0 and formant statistics
    stats.npz    speaker embedding (256,), mel-cepstrum mean and std (MCEP_ORDER + 1,)
    adapter.npz  optional: the voice's fit to the neural decoder, a trained adapter
                 (``voice add --adapt``) or a calibration (``voice add``), valid for the decoder
                 named in voice.json

The folder is written to a temporary sibling and renamed into place, so a voice is either
complete or absent. Loading validates every field and reports a damaged voice in one line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from voxmorph.errors import VoiceError
from voxmorph.models.speaker import EMBED_DIM
from voxmorph.voices.statistics import MCEP_ORDER, N_FORMANTS, VoiceStatistics

FORMAT_VERSION = 1
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class VoiceInfo:
    """Provenance of a voice, shown by ``voxmorph voice show``."""

    created: str
    source_files: int
    speech_seconds: float
    description: str = ""
    builtin: bool = False


ADAPTER_KEYS = ("u", "film", "mel_bias")


@dataclass(frozen=True)
class VoiceAdapter:
    """A voice's own decoder conditioning (see :class:`voxmorph.models.decoder.DecoderAdapter`), trained
    (``voxmorph.train.adapter``) or measured (``voxmorph.pipeline.neural.calibration``), valid only for the
    decoder whose weights hash to ``decoder``."""

    decoder: str
    arrays: dict[str, np.ndarray]  # ADAPTER_KEYS
    info: dict = field(default_factory=dict)  # how it was made: method, steps, CPU seconds, losses


@dataclass(frozen=True)
class Voice:
    """One enrolled voice: statistics, speaker embedding and provenance."""

    name: str
    stats: VoiceStatistics
    embedding: np.ndarray  # (EMBED_DIM,) unit norm
    info: VoiceInfo
    path: Path | None = field(default=None, compare=False)
    adapter: VoiceAdapter | None = field(default=None, compare=False)

    @property
    def kind(self) -> str:
        """``built-in``, ``adapted`` (a trained decoder adapter) or ``enrolled`` (calibrated only)."""
        if self.info.builtin:
            return "built-in"
        if self.adapter is not None and "method" not in self.adapter.info:
            return "adapted"
        return "enrolled"

    def summary(self) -> dict:
        """Plain-data view for display and JSON output."""
        s = self.stats
        return {
            "name": self.name,
            "builtin": self.info.builtin,
            "kind": self.kind,
            "description": self.info.description,
            "created": self.info.created,
            "source_files": self.info.source_files,
            "speech_seconds": round(self.info.speech_seconds, 1),
            "f0_median_hz": round(s.f0_median_hz, 1),
            "f0_log_std": round(s.log_f0_std, 3),
            "formants_hz": [round(float(f), 0) for f in s.formants_hz],
            "decoder_fit": self.adapter.info if self.adapter else None,
            "path": str(self.path) if self.path else None,
        }


def check_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise VoiceError(
            f"invalid voice name '{name}': use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def save_voice(voice: Voice, folder: Path) -> Path:
    """Write ``voice`` to ``folder`` atomically (replacing an existing voice there)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        s = voice.stats
        meta = {
            "format_version": FORMAT_VERSION,
            "name": voice.name,
            "info": asdict(voice.info),
            "f0": {"log_mean": s.log_f0_mean, "log_std": s.log_f0_std},
            "log_formants": [float(v) for v in s.log_formants],
            "voiced_frames": s.voiced_frames,
            "mcep_order": MCEP_ORDER,
        }
        if voice.adapter is not None:
            meta["adapter"] = {"decoder": voice.adapter.decoder, **voice.adapter.info}
            with open(tmp / "adapter.npz", "wb") as f:
                np.savez(f, **{k: voice.adapter.arrays[k].astype(np.float32) for k in ADAPTER_KEYS})
        (tmp / "voice.json").write_text(json.dumps(meta, indent=2) + "\n")
        with open(tmp / "stats.npz", "wb") as f:
            np.savez(f, embedding=voice.embedding.astype(np.float32),
                     mcep_mean=s.mcep_mean, mcep_std=s.mcep_std)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def load_voice(folder: Path) -> Voice:
    """Read and validate a voice folder; :class:`VoiceError` names what is wrong."""
    folder = Path(folder)
    name = folder.name
    try:
        meta = json.loads((folder / "voice.json").read_text())
        if not isinstance(meta, dict):
            raise ValueError("voice.json does not hold an object")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"format version {meta.get('format_version')} is not {FORMAT_VERSION}")
        with np.load(folder / "stats.npz", allow_pickle=False) as z:
            arrays = {k: np.asarray(z[k], np.float64) for k in ("embedding", "mcep_mean", "mcep_std")}
        stats = VoiceStatistics(
            log_f0_mean=float(meta["f0"]["log_mean"]),
            log_f0_std=float(meta["f0"]["log_std"]),
            log_formants=np.asarray(meta["log_formants"], np.float64),
            mcep_mean=arrays["mcep_mean"],
            mcep_std=arrays["mcep_std"],
            voiced_frames=int(meta["voiced_frames"]),
        )
        _validate(stats, arrays["embedding"])
        info = VoiceInfo(**meta["info"])
        adapter = _load_adapter(folder, meta.get("adapter"))
    except FileNotFoundError as err:
        raise VoiceError(f"voice '{name}' is damaged: missing {Path(err.filename).name}"
                         f" in {folder}; remove it and enrol it again") from None
    except (ValueError, KeyError, TypeError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise VoiceError(f"voice '{name}' is damaged ({err}); remove it and enrol it again") from None
    return Voice(meta["name"], stats, arrays["embedding"].astype(np.float32), info, folder, adapter)


def _load_adapter(folder: Path, meta: dict | None) -> VoiceAdapter | None:
    if meta is None:
        return None
    if not isinstance(meta, dict):
        raise ValueError("the adapter entry is not an object")
    with np.load(folder / "adapter.npz", allow_pickle=False) as z:
        arrays = {k: np.asarray(z[k], np.float32) for k in ADAPTER_KEYS}
    if not all(np.isfinite(a).all() for a in arrays.values()):
        raise ValueError("non-finite adapter")
    info = {k: v for k, v in meta.items() if k != "decoder"}
    return VoiceAdapter(str(meta["decoder"]), arrays, info)


def _validate(stats: VoiceStatistics, embedding: np.ndarray) -> None:
    shapes = {
        "embedding": (embedding.shape, (EMBED_DIM,)),
        "mcep_mean": (stats.mcep_mean.shape, (MCEP_ORDER + 1,)),
        "mcep_std": (stats.mcep_std.shape, (MCEP_ORDER + 1,)),
        "log_formants": (stats.log_formants.shape, (N_FORMANTS,)),
    }
    for key, (got, want) in shapes.items():
        if got != want:
            raise ValueError(f"{key} has shape {got}, expected {want}")
    values = [stats.log_f0_mean, stats.log_f0_std, embedding, stats.mcep_mean, stats.mcep_std]
    if not all(np.isfinite(v).all() for v in values):
        raise ValueError("non-finite statistics")
    if not (np.log(30.0) < stats.log_f0_mean < np.log(1000.0)) or stats.log_f0_std <= 0:
        raise ValueError("implausible F0 statistics")
