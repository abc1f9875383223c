"""Shared fixtures: real CC BY clips kept in tests/data and speech generated with espeak-ng."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from voxmorph.audio.constants import SAMPLE_RATE
from voxmorph.audio.io import load_audio

DATA = Path(__file__).parent / "data"
SENTENCE = "The quick brown fox jumps over the lazy dog, and then it runs back home again."


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own voice folder, never the user's."""
    monkeypatch.setenv("VOXMORPH_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="session")
def female_wav() -> Path:
    """VCTK p225 (female), 6 s, 16 kHz FLAC."""
    return DATA / "p225_003.flac"


@pytest.fixture(scope="session")
def female_wav2() -> Path:
    return DATA / "p225_008.flac"


@pytest.fixture(scope="session")
def male_wav() -> Path:
    """VCTK p226 (male), 7 s, 16 kHz FLAC."""
    return DATA / "p226_003.flac"


@pytest.fixture(scope="session")
def espeak_wav(tmp_path_factory) -> Path:
    """A sentence spoken by espeak-ng (22.05 kHz WAV)."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed (apt-get install espeak-ng)")
    path = tmp_path_factory.mktemp("espeak") / "espeak.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), SENTENCE], check=True)
    return path


@pytest.fixture(scope="session")
def female_audio(female_wav) -> np.ndarray:
    return load_audio(female_wav)


@pytest.fixture(scope="session")
def male_audio(male_wav) -> np.ndarray:
    return load_audio(male_wav)


def harmonic_tone(f0: float, seconds: float, sr: int = SAMPLE_RATE, n_harmonics: int = 20) -> np.ndarray:
    """A voiced-speech-like tone: harmonics of ``f0`` with 1/k amplitudes."""
    t = np.arange(int(seconds * sr)) / sr
    k = np.arange(1, n_harmonics + 1)
    k = k[k * f0 < sr / 2]
    x = (np.sin(2 * np.pi * f0 * np.outer(t, k)) / k).sum(axis=1)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)
