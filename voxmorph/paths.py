"""Where voxmorph's files are: the weights and voices it ships, and the user's own folders.

The user's folders follow platformdirs (``~/.local/share/voxmorph`` and ``~/.cache/voxmorph`` on
Linux); the ``VOXMORPH_HOME`` environment variable moves both under one folder (tests use it).
This is the only place that reads it.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

PACKAGE_DIR = Path(__file__).resolve().parent
WEIGHTS_DIR = PACKAGE_DIR / "models" / "weights"
"""The shipped models, one self-describing folder each (safetensors + config.json)."""
BUILTIN_VOICES_DIR = PACKAGE_DIR / "voices" / "builtin"


def shipped_model(name: str) -> Path:
    """The folder of the shipped model ``name`` (content, decoder, vocoder, vocoder-converter)."""
    return WEIGHTS_DIR / name


def _home() -> Path | None:
    home = os.environ.get("VOXMORPH_HOME")
    return Path(home) if home else None


def user_data_dir() -> Path:
    """The user's voices and settings."""
    home = _home()
    return home if home else Path(platformdirs.user_data_dir("voxmorph", appauthor=False))


def user_cache_dir() -> Path:
    """What can be rebuilt: training features, derived model forms (ONNX)."""
    home = _home()
    return home / "cache" if home else Path(platformdirs.user_cache_dir("voxmorph", appauthor=False))
